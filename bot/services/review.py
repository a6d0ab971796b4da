"""审批立项: admins approve (立项, with a number) or return (退回修改, with a reason).

In one stage (the default) any admin above the organization decides. In two stages an
application first goes to the nearest level above it that has admins (预审: pass up or
return), then to the configured top level (审定: 立项 or return); where only the top level is
above, it goes straight to 审定. The stage and the level deciding it are recorded when the
application is sent (storage/routes.py), so a level gaining an admin meanwhile neither makes
the buttons sent stale nor hands the decision to someone else. Who may act is asked of
bot/services/scopes.py at every press and every typed reason, so an admin removed meanwhile
changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.services import scopes
from bot.services.calendar import ReportCalendar
from bot.services.conversation import SideStep, leave
from bot.services.months import Month
from storage import admins, checks, dialogs, orgs, people, projects, routes
from storage.db import Connection, Database
from storage.rows import Milestone, Org, Person, Project, Reader, Review, ts

FLOW = "return_reason"
REASON_LIMIT = 500
# 退回修改's reason: a one-question side-step; its step is the decision (_step below).
REASON: SideStep = SideStep(FLOW, SideStep.asking("reason", REASON_LIMIT))
# 四看 (seed 000): 内容是否符合实际、目标是否过高或过低、要求是否具体实在、实施后能否解决实际问题.
CHECKS = ("reality", "targets", "concrete", "solves")


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project with what is shown beside it."""

    project: Project
    org: Org
    milestones: list[Milestone]
    reviews: list[Review] = field(default_factory=list)
    secretary: Person | None = None
    stage: str = "final"  # while submitted: pre (预审) or final (审定, or the one stage)
    # 四看 failed, by round and stage ('final' for one stage)
    checks: dict[tuple[int, str], list[str]] = field(default_factory=dict)

    @property
    def failed(self) -> list[str]:
        """The 四看 marked failed on the current round at its current stage."""
        return self.checks.get((self.project.round, self.stage), [])

    @property
    def pre_failed(self) -> list[str]:
        """At 审定: the 四看 the 预审 marked failed on this round."""
        return self.checks.get((self.project.round, "pre"), []) if self.stage == "final" else []


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    # approved | passed | returned | asking_reason | stale | empty | too_long | no_dialog
    # | not_admin | hidden (outside the admin's subtree) | own (their own organization's)
    kind: str
    view: ProjectView | None = None
    params: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class Recipients:
    """Who gets an application now: the stage and the admins' user ids."""

    stage: str
    admin_ids: list[int]
    level: Org | None = None  # the level deciding this stage (None: the top level)
    pre_level: Org | None = None  # at 审定 after 预审: the level that passed it up


@dataclass(frozen=True, slots=True)
class Route:
    """The stage an application is at and the level deciding it (None: the top level)."""

    stage: str
    level_id: int | None


async def secretary_of(conn: Reader, project: Project) -> int | None:
    """The user id of the project's organization's secretary: never a decider of it."""
    secretary = await people.secretary_of(conn, project.org_id)
    return secretary.user_id if secretary else None


async def deciding_level(conn: Reader, project: Project) -> tuple[int | None, list[int]]:
    """The nearest level above the organization with an admin other than the project's own
    secretary, and those admins; (None, []) when only the top level is left. A village
    secretary who is the only admin of the town above does not get their own application:
    it goes on up."""
    mine = await secretary_of(conn, project)
    level_id: int | None = project.org_id
    while level_id is not None:
        level_id, ids = await scopes.nearest_level(conn, level_id)
        others = [i for i in ids if i != mine]
        if level_id is not None and others:
            return level_id, others
    return None, []


async def _fresh_route(conn: Reader, project: Project, stages: int) -> Route:
    """Where the application would go if sent now: 预审 at the nearest level with admins (two
    stages), 审定 at the top once passed up or with no such level; one stage: that level."""
    if await projects.passed_in_round(conn, project.id, project.round):
        return Route("final", None)
    level, _ = await deciding_level(conn, project)
    if stages >= 2:
        return Route("pre", level) if level is not None else Route("final", None)
    return Route("final", level)


async def route_of(conn: Reader, project: Project, stages: int = 1) -> Route:
    """The route recorded for the current round (its latest stage); an application sent
    before routes were recorded goes where it would go now."""
    recorded = await routes.of_round(conn, project.id, project.round)
    for stage in ("final", "pre"):
        if stage in recorded:
            return Route(stage, recorded[stage])
    return await _fresh_route(conn, project, stages)


async def _deciders(conn: Reader, project: Project, route: Route) -> list[int]:
    """The admins the route sends the application to, never its own secretary."""
    mine = await secretary_of(conn, project)
    if route.level_id is None:
        ids = await scopes.top_admins(conn)
    else:
        ids = [a.user_id for a in await admins.active_within(conn, route.level_id)
               if a.org.id == route.level_id]  # fmt: skip
    return [i for i in ids if i != mine]


async def deciders(conn: Reader, project: Project) -> list[int]:
    """Who decides a request about an approved project (a plan change, a closing report):
    the nearest level above its organization with admins besides its secretary, else the
    top level, as for applications."""
    level, ids = await deciding_level(conn, project)
    return ids if level is not None else await _deciders(conn, project, Route("final", None))


async def decided_at(conn: Reader, org_id: int) -> list[Project]:
    """The applications sent to the admins of `org_id` and awaiting their decision."""
    return [
        project
        for project in await projects.submitted_below(conn, org_id)
        if (await route_of(conn, project)).level_id == org_id
    ]


async def reroute_from(conn: Connection, org_id: int, now: datetime) -> list[int]:
    """After `org_id` lost an admin: send the applications nobody there may decide any more
    to the level deciding them now (the nearest with admins, or the top; a 预审 with no
    level left goes on to 审定). The ids of those moved."""
    moved = []
    for project in await decided_at(conn, org_id):
        route = await route_of(conn, project)
        if await _deciders(conn, project, route):
            continue
        level, _ = await deciding_level(conn, project)
        stage = "final" if level is None else route.stage
        await routes.put(conn, project.id, project.round, stage, level, ts(now))
        moved.append(project.id)
    return moved


async def stage_of(conn: Reader, project: Project, stages: int) -> str:
    """The stage a submitted application is at: 'pre' until the level deciding it passed it
    up (two stages, with such a level above the organization), else 'final'."""
    return (await route_of(conn, project, stages)).stage


async def may_decide(conn: Reader, user_id: int, project: Project, route: Route) -> bool:
    """May the person decide this application at its routed stage now? Never its own
    secretary; the top level where the route leads there; else an admin of the routed
    level or above it (at 预审 not the top, which decides after it)."""
    scope = await scopes.admin_scope(conn, user_id)
    if scope is None or user_id == await secretary_of(conn, project):
        return False
    if route.level_id is None:
        return scope.top
    if route.stage == "pre" and scope.top:
        return False
    return await scopes.covers(conn, scope, route.level_id) and await scopes.above(
        conn, scope, project.org_id
    )


async def recipients(db: Database, project_id: int, stages: int, now: datetime) -> Recipients:
    """Where an application goes now, recorded with it the first time it is sent, so that
    a level gaining or losing an admin later changes neither its stage nor its deciders."""
    async with db.transaction() as conn:
        project = await projects.get(conn, project_id)
        assert project is not None
        route = await route_of(conn, project, stages)
        recorded = await routes.of_round(conn, project.id, project.round)
        if route.stage not in recorded:
            await routes.put(conn, project.id, project.round, route.stage, route.level_id,
                             ts(now))  # fmt: skip
        ids = await _deciders(conn, project, route)
        level = await orgs.by_id(conn, route.level_id) if route.level_id is not None else None
        pre_id = recorded.get("pre") if route.stage == "final" else None
        pre_level = await orgs.by_id(conn, pre_id) if pre_id is not None else None
    return Recipients(route.stage, ids, level, pre_level)


async def project_view(db: Database, project_id: int, stages: int = 1) -> ProjectView | None:
    """Load a project with its organization, milestones, history, secretary and stage."""
    project = await projects.get(db, project_id)
    if project is None:
        return None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    return ProjectView(
        project,
        org,
        await projects.milestones(db, project_id),
        await projects.reviews(db, project_id),
        await people.secretary_of(db, project.org_id),
        await stage_of(db, project, stages),
        await checks.by_round(db, project_id),
    )


def _step(round_: int, stage: str) -> str:
    """The decision a return's reason interrupts: the round, and ':pre' at 预审."""
    return f"{round_}:pre" if stage == "pre" else str(round_)


def _decision(step: str) -> tuple[int, str]:
    """The round and stage of the decision a return's reason interrupted."""
    round_text, _, stage = step.partition(":")
    return int(round_text), stage or "final"


async def _pending(
    db: Database, admin_id: int, project_id: int, round_: int, stage: str, stages: int
) -> tuple[Project | None, ReviewOutcome | None]:
    """The application if it awaits this admin's decision at this stage; else the refusal."""
    project = await projects.get(db, project_id)
    if project is None:
        return None, ReviewOutcome("stale")
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return None, ReviewOutcome("not_admin")
    if not await scopes.covers(db, scope, project.org_id):
        return None, ReviewOutcome("hidden")  # outside the subtree: as if it did not exist
    if not await scopes.decides_for(db, admin_id, project.org_id):
        return None, ReviewOutcome("own")  # their own organization's: the level above decides
    route = await route_of(db, project, stages)
    if project.status != "submitted" or project.round != round_ or route.stage != stage:
        return None, ReviewOutcome("stale", await project_view(db, project_id, stages))
    if not await may_decide(db, admin_id, project, route):
        return None, ReviewOutcome("not_admin")
    return project, None


async def approve(
    db: Database, cal: ReportCalendar, project_id: int, round_: int, admin_id: int,
    now: datetime, stages: int = 1,
) -> ReviewOutcome:  # fmt: skip
    """立项: number the project within its start year; it owes the reports of the months whose
    deadline is still ahead (cal.first_owed). A stale button changes nothing."""
    stamp = ts(now)
    stage = "final" if stages >= 2 else None
    async with db.transaction() as conn:
        # Checked inside the write: of two admins deciding at once, exactly one does.
        project, refused = await _pending(db, admin_id, project_id, round_, "final", stages)
        if refused is not None:
            return refused
        assert project is not None
        if project.start_month is None:
            return ReviewOutcome("stale")
        year = Month.parse(project.start_month).year
        owed_from = str(cal.first_owed(now))
        seq = await projects.mark_approved(conn, project_id, round_, year, stamp, owed_from)
        if seq:
            # Another admin typing a return reason meanwhile keeps their dialog: their
            # reason is then answered as stale rather than lost in the fallback.
            await projects.record_review(
                conn, project_id, "approve", round_, admin_id, None, stamp, stage
            )
    view = await project_view(db, project_id, stages)
    return ReviewOutcome("approved" if seq else "stale", view)


async def pass_up(
    db: Database, project_id: int, round_: int, admin_id: int, now: datetime, stages: int
) -> ReviewOutcome:
    """预审 passed: the application goes on to the top level for 审定."""
    async with db.transaction() as conn:
        # Checked inside the write: two admins of the level pressing at once pass once,
        # and an application returned (or approved) meanwhile is not passed up.
        _, refused = await _pending(db, admin_id, project_id, round_, "pre", stages)
        if refused is not None:
            return refused
        done = not await projects.passed_in_round(conn, project_id, round_)
        if done:
            await projects.record_review(
                conn, project_id, "pass", round_, admin_id, None, ts(now), "pre"
            )
            await routes.put(conn, project_id, round_, "final", None, ts(now))  # 审定: the top
    view = await project_view(db, project_id, stages)
    return ReviewOutcome("passed" if done else "stale", view)


async def toggle_check(
    db: Database, admin_id: int, project_id: int, round_: int, stage: str, index: int,
    now: datetime, stages: int = 1,
) -> ReviewOutcome:  # fmt: skip
    """四看: mark one check failed (or passed again) on the application being decided; the
    marks are the round's at this stage (预审 and 审定 each keep their own)."""
    _, refused = await _pending(db, admin_id, project_id, round_, stage, stages)
    if refused is not None:
        return refused
    if not 0 <= index < len(CHECKS):
        return ReviewOutcome("stale")
    async with db.transaction() as conn:
        marked = set(await checks.failed(conn, project_id, round_, stage)) ^ {CHECKS[index]}
        await checks.put(conn, project_id, round_, stage, [c for c in CHECKS if c in marked],
                         admin_id, ts(now))  # fmt: skip
    return ReviewOutcome("toggled", await project_view(db, project_id, stages))


async def ask_reason(
    db: Database, admin_id: int, project_id: int, round_: int, now: datetime,
    stages: int = 1, stage: str = "final",
) -> ReviewOutcome:  # fmt: skip
    """退回修改 pressed (at 预审 or 审定): the admin's next message is the reason."""
    _, refused = await _pending(db, admin_id, project_id, round_, stage, stages)
    if refused is not None:
        return refused
    await REASON.open(db, admin_id, project_id, _step(round_, stage), now)
    return ReviewOutcome("asking_reason", await project_view(db, project_id, stages))


async def give_reason(
    db: Database, admin_id: int, text: str, now: datetime, stages: int = 1
) -> ReviewOutcome:
    """The reason typed after 退回修改: return the project with it, at the stage it was
    pressed, if this admin still may."""
    dialog = REASON.own(await dialogs.get(db, admin_id))
    if dialog is None:
        return ReviewOutcome("no_dialog")
    round_, stage = _decision(dialog.step)
    _, refused = await _pending(db, admin_id, dialog.subject_id, round_, stage, stages)
    if refused is not None and refused.kind in ("not_admin", "hidden", "own"):
        await leave(db, admin_id)
        return refused
    reason, problem = REASON.read(text)
    view = await project_view(db, dialog.subject_id, stages)
    if refused is None and problem is not None:
        return ReviewOutcome(problem[0], view, problem[1])
    stamp = ts(now)
    recorded = stage if stages >= 2 else None
    done = False
    async with db.transaction() as conn:
        if refused is None:
            # Again inside the write: another admin may have decided it meanwhile (at 预审,
            # passing it up leaves it submitted).
            _, refused = await _pending(db, admin_id, dialog.subject_id, round_, stage, stages)
        if refused is None:
            done = await projects.mark_returned(conn, dialog.subject_id, round_, stamp)
        if done:
            await projects.record_review(
                conn, dialog.subject_id, "return", round_, admin_id, reason, stamp, recorded
            )
        await REASON.done(conn, admin_id)
    view = await project_view(db, dialog.subject_id, stages)
    params = {"reason": reason, "stage": recorded}
    return ReviewOutcome("returned" if done else "stale", view, params)


async def cancel_reason(db: Database, admin_id: int, stages: int = 1) -> ReviewOutcome:
    """Give up returning: the project stays 已申报. "undecided" with the project while it
    still awaits this decision (its buttons are offered again), else "cancelled"."""
    dialog = await REASON.leave(db, admin_id)
    if dialog is None:
        return ReviewOutcome("cancelled")
    round_, stage = _decision(dialog.step)
    project, refused = await _pending(db, admin_id, dialog.subject_id, round_, stage, stages)
    if refused is not None or project is None:
        return ReviewOutcome("cancelled")
    return ReviewOutcome("undecided", await project_view(db, project.id, stages))

"""验收: reviewers named by admins score each 已结题 project on four measures; the weighted
mean over reviewers, with its grade, makes the project 已验收; admins then select the
year's 示范项目 from the ranking.

Rules kept here (and in the README): a reviewer never scores a project of their own
organization or of one below it; a second submission by the same reviewer replaces the
first; only admins name reviewers, accept and select; everyone else is refused.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from bot.services import public, scopes
from bot.services.conversation import PREVIEW, Conversation, Field
from bot.services.invites import CODE_BYTES, find_org
from bot.services.projects import find_project
from bot.services.scopes import AdminScope
from bot.services.text import clean_text, says_none
from storage import acceptance, admins, dialogs, groups, orgs, people, planning, projects
from storage.acceptance import MEASURES, Draft, Model, Result, Reviewer, Score
from storage.db import Database
from storage.rows import Org, Project, SupervisorGroup, ts

FLOW = "acceptance_score"
REMARK_LIMIT = 300
CITATION_LIMIT = 200
GRADES = ("excellent", "good", "pass", "fail")  # 优秀 / 良好 / 合格 / 不合格 (templates)
SCORE = re.compile(r"^\s*(\d{1,3})(?:\.0+)?\s*分?\s*$")


@dataclass(frozen=True)
class Rules:
    """Weights of 目标实现率、群众满意率、综合效益、经验可推广性 and the lowest score of
    优秀, 良好 and 合格 (below: 不合格); how many 示范项目 a year may have."""

    weights: tuple[int, int, int, int] = (30, 30, 20, 20)
    bands: tuple[int, int, int] = (90, 80, 60)
    models_max: int = 5


def weighted(values: tuple[int, ...] | list[int], rules: Rules) -> float:
    """One reviewer's total: the weighted mean of the four measures."""
    return sum(w * v for w, v in zip(rules.weights, values, strict=True)) / sum(rules.weights)


def overall(scores: list[Score], rules: Rules) -> float:
    """The project's score: the mean of the reviewers' totals, to one decimal."""
    return round(sum(weighted(s.values(), rules) for s in scores) / len(scores), 1)


def grade_of(score: float, rules: Rules) -> str:
    """The grade key of a score (GRADES)."""
    for key, lowest in zip(GRADES, rules.bands, strict=False):
        if score >= lowest:
            return key
    return GRADES[-1]


async def is_admin(db: Database, user_id: int) -> bool:
    """Whether this person may select 示范项目: the top level (the year's list is theirs)."""
    scope = await scopes.admin_scope(db, user_id)
    return scope is not None and scope.top


async def is_any_admin(db: Database, user_id: int) -> bool:
    """Whether this person is an admin of any level (验收 results are kept to their subtree)."""
    return await scopes.admin_scope(db, user_id) is not None


async def _covers(db: Database, root_id: int | None, org_id: int) -> bool:
    """Is the organization inside the subtree of `root_id` (None: every organization)?"""
    return root_id is None or await admins.within(db, org_id, root_id)


async def _sees(db: Database, scope: AdminScope, reviewer: Reviewer) -> bool:
    """Does this admin answer for the reviewer: the top level for all, a subtree's admin for
    those scoring inside their subtree."""
    return scope.top or (reviewer.root_id is not None
                         and await scopes.covers(db, scope, reviewer.root_id))  # fmt: skip


async def is_secretary(db: Database, user_id: int) -> bool:
    """Whether this person is bound as an organization's secretary."""
    person = await people.get(db, user_id)
    return person is not None and person.role == "secretary"


async def is_reviewer(db: Database, user_id: int) -> bool:
    """Whether this person is a 验收 reviewer now."""
    return await _active_reviewer(db, user_id) is not None


async def public_satisfaction(db: Database, project_id: int) -> int | None:
    """群众满意率 from 民主评议 (public votes), 0–100, offered to reviewers as a suggestion;
    None while nobody has voted on the project."""
    return (await public.satisfaction(db, project_id)).rate


# -- reviewers --------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ReviewerOutcome:
    # named | already | not_found | dropped | not_reviewer | invited | bad_org | not_admin
    kind: str
    reviewer: Reviewer | None = None
    org: Org | None = None
    code: str = ""
    reviewers: list[tuple[Reviewer, Org | None]] = field(default_factory=list)


async def reviewers_list(db: Database, admin_id: int) -> ReviewerOutcome:
    """Every active reviewer this admin answers for, with their organization."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return ReviewerOutcome("not_admin")
    found = []
    for r in await acceptance.active_reviewers(db):
        if not await _sees(db, scope, r):
            continue
        found.append((r, await orgs.by_id(db, r.org_id) if r.org_id else None))
    return ReviewerOutcome("listed", reviewers=found)


async def name_reviewer(
    db: Database, admin_id: int, user_id: int, now: datetime
) -> ReviewerOutcome:
    """Name an admin or a bound secretary (by Telegram id) as a reviewer; a subtree's admin
    names only people of their subtree, who then score only its projects."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return ReviewerOutcome("not_admin")
    person = await people.get(db, user_id)
    if person is None or not (
        scope.top or (person.org_id is not None and await scopes.covers(db, scope, person.org_id))
    ):
        return ReviewerOutcome("not_found")  # outside the subtree: not shown to exist
    async with db.transaction() as conn:
        fresh = await acceptance.name_reviewer(
            conn, user_id, person.full_name or str(user_id), person.org_id, admin_id, ts(now),
            scope.root_id,
        )  # fmt: skip
    found = await acceptance.reviewer(db, user_id)
    org = await orgs.by_id(db, person.org_id) if person.org_id else None
    return ReviewerOutcome("named" if fresh else "already", found, org)


async def drop_reviewer(db: Database, admin_id: int, user_id: int) -> ReviewerOutcome:
    """No longer a reviewer; their submitted scores stay. Only an admin answering for them."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return ReviewerOutcome("not_admin")
    existing = await acceptance.reviewer(db, user_id)
    if existing is None or not await _sees(db, scope, existing):
        return ReviewerOutcome("not_reviewer")
    async with db.transaction() as conn:
        dropped = await acceptance.drop_reviewer(conn, user_id)
    found = await acceptance.reviewer(db, user_id)
    return ReviewerOutcome("dropped" if dropped else "not_reviewer", found)


async def reviewer_invite(
    db: Database, admin_id: int, org_query: str, now: datetime, ttl_days: int
) -> ReviewerOutcome:
    """A one-time link that makes whoever opens it a reviewer (of `org_query`'s organization,
    if given: that organization's projects are then not theirs to score)."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return ReviewerOutcome("not_admin")
    org = None
    if org_query:
        org, _ = await find_org(db, org_query, scope)
        if org is None or not await scopes.covers(db, scope, org.id):
            return ReviewerOutcome("bad_org")
    code = secrets.token_urlsafe(CODE_BYTES)
    async with db.transaction() as conn:
        await acceptance.add_invite(conn, code, org.id if org else None, admin_id, ts(now),
                                    ts(now + timedelta(days=ttl_days)),
                                    scope.root_id)  # fmt: skip
    return ReviewerOutcome("invited", org=org, code=code)


async def redeem(
    db: Database, code: str, user_id: int, full_name: str, now: datetime
) -> ReviewerOutcome | None:
    """/start with a reviewer invite's code: named | already | used | expired; None when the
    code is not a reviewer invite (it may be a secretary's)."""
    found = await acceptance.invite(db, code)
    if found is None:
        return None
    current = await acceptance.reviewer(db, user_id)
    if current is not None and current.active:
        return ReviewerOutcome("already", current)
    if found.used_at is not None:
        return ReviewerOutcome("used")
    if found.expires_at <= now:
        return ReviewerOutcome("expired")
    person = await people.get(db, user_id)
    # A bound secretary's own organization is the one that matters for conflicts.
    org_id = person.org_id if person is not None and person.org_id else found.org_id
    async with db.transaction() as conn:
        if not await acceptance.use_invite(conn, code, user_id, ts(now)):
            return ReviewerOutcome("used")
        await acceptance.name_reviewer(conn, user_id, full_name, org_id, None, ts(now),
                                       found.root_id)  # fmt: skip
    org = await orgs.by_id(db, org_id) if org_id else None
    return ReviewerOutcome("named", await acceptance.reviewer(db, user_id), org)


# -- scoring ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ScoreView:
    """A scoring in progress, as the reviewer sees it."""

    project: Project
    org: Org
    step: str
    draft: Draft
    number: int  # the step's position, 1-based, of len(MEASURES) + 1 questions
    suggested: int | None = None  # 群众满意率 from 民主评议, when there is one
    total: float | None = None  # the reviewer's weighted total, at the preview
    earlier: Score | None = None  # the reviewer's submitted scores, if any


@dataclass(frozen=True, slots=True)
class _At:
    """A reviewer's draft and where they stand in it (what the step engine reads)."""

    draft: Draft
    step: str
    editing: bool = False


def _scored(measure: str) -> Callable[[_At], bool]:
    return lambda at: getattr(at.draft, measure) is not None


# The scoring's questions: a score per measure, then the remark; then the preview and 提交.
SCORING: Conversation[_At] = Conversation(FLOW, (
    *(Field(m, "score", _scored(m)) for m in MEASURES),
    Field("remark", "text", lambda at: at.draft.remark_set, REMARK_LIMIT),
))  # fmt: skip
STEPS = (*SCORING.names, PREVIEW)


@dataclass(frozen=True, slots=True)
class ScoreOutcome:
    # asking | bad_value | too_long | stale | submitted | cancelled | not_reviewer
    # | not_found | not_concluded | accepted | own_org | no_dialog | list
    kind: str
    view: ScoreView | None = None
    params: dict[str, Any] = field(default_factory=dict)
    projects: list[tuple[Project, Org, Score | None]] = field(default_factory=list)


async def _active_reviewer(db: Database, user_id: int) -> Reviewer | None:
    found = await acceptance.reviewer(db, user_id)
    return found if found is not None and found.active else None


async def _own(db: Database, reviewer: Reviewer, project: Project) -> bool:
    """Whether the project belongs to the reviewer's organization or one below it."""
    if reviewer.org_id is None:
        return False
    above = await planning.ancestors(db, [project.org_id])
    return reviewer.org_id in above.get(project.org_id, set()) | {project.org_id}


async def to_score(db: Database, user_id: int) -> ScoreOutcome:
    """/score without a number: the 已结题 projects this reviewer may score, with their scores."""
    reviewer = await _active_reviewer(db, user_id)
    if reviewer is None:
        return ScoreOutcome("not_reviewer")
    # A province's concluded projects: read in a few queries, not several per project.
    projects = await acceptance.of_status(db, ("concluded",))
    org_ids = [p.org_id for p in projects]
    above = await planning.ancestors(db, org_ids) if reviewer.org_id is not None else {}
    inside = None if reviewer.root_id is None else set(
        await orgs.subtree_ids(db, reviewer.root_id))  # fmt: skip
    scores = await acceptance.scores_of_status(db, ("concluded",))
    names = await orgs.by_ids(db, org_ids)
    items = []
    for project in projects:
        own = reviewer.org_id in above.get(project.org_id, set()) | {project.org_id}
        if own or (inside is not None and project.org_id not in inside):
            continue
        mine = [s for s in scores.get(project.id, []) if s.reviewer_id == user_id]
        items.append((project, names[project.org_id], mine[0] if mine else None))
    return ScoreOutcome("list", projects=items)


async def _view(db: Database, user_id: int, project: Project, step: str,
                rules: Rules) -> ScoreView:  # fmt: skip
    found = await acceptance.draft(db, project.id, user_id)
    assert found is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    total = None
    if step == PREVIEW:
        values = [getattr(found, m) for m in MEASURES]
        total = round(weighted(values, rules), 1)
    earlier = [s for s in await acceptance.scores(db, project.id) if s.reviewer_id == user_id]
    suggested = await public_satisfaction(db, project.id) if step == "satisfaction" else None
    return ScoreView(project, org, step, found, STEPS.index(step) + 1, suggested, total,
                     earlier[0] if earlier else None)  # fmt: skip


async def _checked(db: Database, user_id: int, project: Project | None) -> ScoreOutcome | None:
    """Why this person may not score this project now, or None if they may."""
    reviewer = await _active_reviewer(db, user_id)
    if reviewer is None:
        return ScoreOutcome("not_reviewer")
    if (
        project is None
        or project.status in ("draft", "submitted", "returned")
        or not await _covers(db, reviewer.root_id, project.org_id)
    ):
        return ScoreOutcome("not_found")
    if project.status == "accepted":
        return ScoreOutcome("accepted", params={"project": project})
    if project.status != "concluded":
        return ScoreOutcome("not_concluded", params={"project": project})
    if await _own(db, reviewer, project):
        return ScoreOutcome("own_org", params={"project": project})
    return None


async def begin(
    db: Database, user_id: int, query: str, now: datetime, rules: Rules
) -> ScoreOutcome:
    """/score <编号> (or its button): start scoring the project at the first measure."""
    project = await find_project(db, query)
    refused = await _checked(db, user_id, project)
    if refused is not None:
        return refused
    assert project is not None
    async with db.transaction() as conn:
        await acceptance.start_draft(conn, project.id, user_id, ts(now))
        await dialogs.put(conn, user_id, FLOW, project.id, STEPS[0], False, ts(now))
    return ScoreOutcome("asking", await _view(db, user_id, project, STEPS[0], rules))


async def _move(
    db: Database, user_id: int, project: Project, step: str, values: dict[str, Any],
    now: datetime, rules: Rules,
) -> ScoreOutcome:  # fmt: skip
    """Store `values` on the draft and go to `step`."""
    async with db.transaction() as conn:
        if values:
            await acceptance.set_draft(conn, project.id, user_id, values, ts(now))
        await dialogs.put(conn, user_id, FLOW, project.id, step, False, ts(now))
    return ScoreOutcome("asking", await _view(db, user_id, project, step, rules))


def parse_score(text: str) -> int | None:
    """A score typed as 0–100 (85, 85分); None for anything else."""
    match = SCORE.match(text)
    if match is None or int(match.group(1)) > 100:
        return None
    return int(match.group(1))


async def _where(db: Database, user_id: int) -> tuple[Project, str] | None:
    dialog = await dialogs.get(db, user_id)
    if dialog is None or dialog.flow != FLOW or dialog.step not in STEPS:
        return None
    project = await acceptance_project(db, dialog.subject_id)
    return (project, dialog.step) if project is not None else None


async def acceptance_project(db: Database, project_id: int) -> Project | None:
    """A project by internal id."""
    return await projects.get(db, project_id)


async def current_step(db: Database, user_id: int) -> tuple[int, str] | None:
    """(project id, step) of the person's scoring in progress, if any."""
    where = await _where(db, user_id)
    return (where[0].id, where[1]) if where is not None else None


async def not_text(db: Database, user_id: int, rules: Rules) -> ScoreOutcome:
    """A photo, sticker or voice while scoring: the step again, with the reason."""
    where = await _where(db, user_id)
    if where is None:
        return ScoreOutcome("no_dialog")
    return ScoreOutcome("text_only", await _view(db, user_id, where[0], where[1], rules))


async def groups_for_announcement(db: Database) -> list[SupervisorGroup]:
    """The supervisor groups the bot still posts to."""
    return await groups.active(db)


async def _following(db: Database, user_id: int, project: Project, step: str,
                     values: dict[str, Any]) -> str:  # fmt: skip
    """The step after answering `step` with `values`: the engine's next unanswered one."""
    found = await acceptance.draft(db, project.id, user_id)
    assert found is not None
    return SCORING.after(_At(replace(found, **values), step), step)


async def answer(
    db: Database, user_id: int, text: str, now: datetime, rules: Rules
) -> ScoreOutcome:
    """A typed answer at the current step: a score 0–100, or the remark."""
    where = await _where(db, user_id)
    if where is None:
        return ScoreOutcome("no_dialog")
    project, step = where
    if step in MEASURES:
        value = parse_score(text)
        if value is None:
            return ScoreOutcome("bad_value", await _view(db, user_id, project, step, rules),
                                {"text": text[:20]})  # fmt: skip
        following = await _following(db, user_id, project, step, {step: value})
        return await _move(db, user_id, project, following, {step: value}, now, rules)
    if step == "remark":
        remark = clean_text(text)
        if len(remark) > REMARK_LIMIT:
            return ScoreOutcome("too_long", await _view(db, user_id, project, step, rules),
                                {"limit": REMARK_LIMIT, "length": len(remark)})  # fmt: skip
        value_remark = None if not remark or remark == "跳过" or says_none(remark) else remark
        return await _move(db, user_id, project, PREVIEW,
                           {"remark": value_remark, "remark_set": 1}, now, rules)  # fmt: skip
    # At the preview only the buttons act; say so and show it again.
    return ScoreOutcome("use_buttons", await _view(db, user_id, project, step, rules))


async def press(
    db: Database, user_id: int, project_id: int, step: str, action: str, arg: str,
    now: datetime, rules: Rules,
) -> ScoreOutcome:  # fmt: skip
    """A button of the scoring: a score, 跳过 (no remark), 上一步, 取消, 提交, or 打分 from
    the list (action "open"). A button of another step or project is stale."""
    if action == "open":
        project = await acceptance_project(db, project_id)
        return await begin(db, user_id, str(project_id) if project else "0", now, rules)
    if await _active_reviewer(db, user_id) is None:
        return ScoreOutcome("not_reviewer")
    where = await _where(db, user_id)
    if where is None or where[0].id != project_id or where[1] != step:
        return ScoreOutcome("stale")
    project = where[0]
    if action == "cancel":
        return await cancel(db, user_id)
    if action == "back":
        found = await acceptance.draft(db, project.id, user_id)
        assert found is not None
        previous = SCORING.before(_At(found, step))
        if previous is None:
            return ScoreOutcome("asking", await _view(db, user_id, project, step, rules))
        return await _move(db, user_id, project, previous, {}, now, rules)
    if action == "val" and step in MEASURES:
        value = parse_score(arg)
        if value is None:
            return ScoreOutcome("stale")
        following = await _following(db, user_id, project, step, {step: value})
        return await _move(db, user_id, project, following, {step: value}, now, rules)
    if action == "skip" and step == "remark":
        return await _move(db, user_id, project, PREVIEW, {"remark": None, "remark_set": 1},
                           now, rules)  # fmt: skip
    if action == "submit" and step == PREVIEW:
        return await _submit(db, user_id, project, now, rules)
    return ScoreOutcome("stale")


async def _submit(db: Database, user_id: int, project: Project, now: datetime,
                  rules: Rules) -> ScoreOutcome:  # fmt: skip
    refused = await _checked(db, user_id, project)
    if refused is not None:
        async with db.transaction() as conn:  # the project moved on: the scoring ends
            await acceptance.clear_draft(conn, project.id, user_id)
            await dialogs.clear(conn, user_id)
        return refused
    view = await _view(db, user_id, project, PREVIEW, rules)
    values = [getattr(view.draft, m) for m in MEASURES]
    if any(v is None for v in values):
        return ScoreOutcome("stale")
    async with db.transaction() as conn:
        # Again inside the write: an admin may have confirmed 验收 meanwhile, with the
        # scores as they stood; a score stored after that would not be in the result.
        refused = await _checked(db, user_id, await acceptance_project(db, project.id))
        if refused is None:
            times = await acceptance.submit(conn, project.id, user_id, values,
                                            view.draft.remark, ts(now))  # fmt: skip
        await acceptance.clear_draft(conn, project.id, user_id)
        await dialogs.clear(conn, user_id)
    if refused is not None:
        return refused
    return ScoreOutcome("submitted", view, {"replaced": times > 1, "times": times})


async def cancel(db: Database, user_id: int) -> ScoreOutcome:
    """取消: drop the scoring in progress; scores submitted before stay as they were."""
    dialog = await dialogs.get(db, user_id)
    async with db.transaction() as conn:
        if dialog is not None and dialog.flow == FLOW:
            await acceptance.clear_draft(conn, dialog.subject_id, user_id)
            await dialogs.clear(conn, user_id)
    return ScoreOutcome("cancelled")


# -- results ----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Standing:
    """A project in 验收: its scores so far and what they come to."""

    project: Project
    org: Org
    scores: list[Score]
    score: float | None  # the weighted mean over reviewers so far
    grade: str | None
    result: Result | None = None
    model: Model | None = None

    def total(self, s: Score, rules: Rules) -> float:
        return round(weighted(s.values(), rules), 1)


def _standing(project: Project, org: Org, given: list[Score], result: Result | None,
              model: Model | None, rules: Rules) -> Standing:  # fmt: skip
    if result is not None:
        score, grade = result.score, result.grade
    elif given:
        score = overall(given, rules)
        grade = grade_of(score, rules)
    else:
        score, grade = None, None
    return Standing(project, org, given, score, grade, result, model)


async def standing(db: Database, project: Project, rules: Rules) -> Standing:
    """One project's scores, score and grade (the stored result once 已验收)."""
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    return _standing(project, org, await acceptance.scores(db, project.id),
                     await acceptance.result(db, project.id),
                     await acceptance.model(db, project.id), rules)  # fmt: skip


async def standings(
    db: Database, statuses: tuple[str, ...], year: int | None, rules: Rules,
    org_ids: frozenset[int] | None = None,
) -> list[Standing]:  # fmt: skip
    """`standing` of every numbered project in these statuses (of one year; of the
    organizations `org_ids`, None: all), by number: a few queries however many projects."""
    found = [p for p in await acceptance.of_status(db, statuses, year)
             if scopes.inside(org_ids, p.org_id)]  # fmt: skip
    by_id = await orgs.by_ids(db, {p.org_id for p in found})
    given = await acceptance.scores_of_status(db, statuses, year)
    results = await acceptance.results_of_status(db, statuses, year)
    models = await acceptance.models_by_project(db)
    return [_standing(p, by_id[p.org_id], given.get(p.id, []), results.get(p.id),
                      models.get(p.id), rules) for p in found]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AcceptOutcome:
    # overview | show | accepted | stale | not_found | not_concluded | no_scores | not_admin
    # | own (the admin's own organization's: the level above accepts it)
    kind: str
    standing: Standing | None = None
    standings: list[Standing] = field(default_factory=list)
    reviewers: int = 0
    year: int | None = None
    secretary_id: int | None = None  # told of the result once 已验收


async def overview(db: Database, admin_id: int, year: int | None, rules: Rules) -> AcceptOutcome:
    """/acceptance [年份]: every 已结题 and 已验收 project of the admin's subtree with its
    scores so far."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return AcceptOutcome("not_admin")
    inside = await scopes.org_ids(db, scope)
    return AcceptOutcome(
        "overview",
        standings=await standings(db, ("concluded", "accepted"), year, rules, inside),
        reviewers=len((await reviewers_list(db, admin_id)).reviewers),
        year=year,
    )


async def show(db: Database, admin_id: int, query: str, rules: Rules) -> AcceptOutcome:
    """/accept <编号>: the result the scores come to, before an admin confirms it."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return AcceptOutcome("not_admin")
    project = await find_project(db, query)
    if project is not None and not await scopes.covers(db, scope, project.org_id):
        project = None  # outside the subtree: not shown to exist
    if project is None or project.status in ("draft", "submitted", "returned"):
        return AcceptOutcome("not_found")
    current = await standing(db, project, rules)
    if not await scopes.decides_for(db, admin_id, project.org_id):
        return AcceptOutcome("own", current)  # their own organization's: the level above
    if project.status == "accepted":
        return AcceptOutcome("accepted_before", current)
    if project.status != "concluded":
        return AcceptOutcome("not_concluded", current)
    if not current.scores:
        return AcceptOutcome("no_scores", current)
    return AcceptOutcome("show", current)


async def confirm(
    db: Database, admin_id: int, project_id: int, count: int, now: datetime, rules: Rules
) -> AcceptOutcome:
    """确认验收: 已验收 with the weighted mean of the scores shown (`count` of them: if a
    reviewer scored since, the button is stale and the new figures are shown)."""
    scope = await scopes.admin_scope(db, admin_id)
    if scope is None:
        return AcceptOutcome("not_admin")
    async with db.transaction() as conn:
        # The scores are read inside the write: a reviewer's score arriving meanwhile is
        # either in the result or refused, never stored beside a result that misses it.
        project = await acceptance_project(db, project_id)
        if project is None or not await scopes.covers(db, scope, project.org_id):
            return AcceptOutcome("stale")  # outside the subtree: as dead as a stale button
        if not await scopes.decides_for(db, admin_id, project.org_id):
            return AcceptOutcome("own")
        current = await standing(db, project, rules)
        if project.status != "concluded" or len(current.scores) != count or not current.scores:
            return AcceptOutcome("stale", current)
        assert current.score is not None and current.grade is not None
        done = await acceptance.accept(conn, project_id, current.score, current.grade,
                                       len(current.scores), admin_id, ts(now))  # fmt: skip
    if not done:
        return AcceptOutcome("stale", current)
    accepted = await projects.get(db, project_id)
    assert accepted is not None
    secretary = await people.secretary_of(db, accepted.org_id)
    return AcceptOutcome("accepted", await standing(db, accepted, rules),
                         secretary_id=secretary.user_id if secretary else None)  # fmt: skip


# -- 示范项目 -----------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class ModelOutcome:
    # ranking | chosen | recited | dropped | not_model | not_accepted | full | not_found
    # | empty | too_long | bad_year | not_admin
    kind: str
    year: int | None = None
    ranking: list[Standing] = field(default_factory=list)  # by score, best first
    chosen: list[Standing] = field(default_factory=list)  # the 示范 list, as selected
    standing: Standing | None = None
    params: dict[str, Any] = field(default_factory=dict)


async def models(db: Database, year: int, rules: Rules) -> ModelOutcome:
    """The year's 已验收 projects ranked by score, and the 示范项目 selected so far."""
    ranked = await standings(db, ("accepted",), year, rules)
    ranked.sort(key=lambda s: (-(s.score or 0), s.project.number_seq or 0))
    chosen = {m.project_id: i for i, m in enumerate(await acceptance.models_of_year(db, year))}
    selected = sorted((s for s in ranked if s.project.id in chosen),
                      key=lambda s: chosen[s.project.id])  # fmt: skip
    return ModelOutcome("ranking", year, ranked, selected, params={"max": rules.models_max})


async def choose(
    db: Database, admin_id: int, query: str, citation: str, now: datetime, rules: Rules
) -> ModelOutcome:
    """/model <编号> <评语>: select an 已验收 project as 示范项目 with its citation (or give
    a selected one a new citation); at most `rules.models_max` a year."""
    if not await is_admin(db, admin_id):
        return ModelOutcome("not_admin")
    project = await find_project(db, query)
    if project is None or project.number_year is None:
        return ModelOutcome("not_found", params={"query": query})
    current = await standing(db, project, rules)
    if project.status != "accepted":
        return ModelOutcome("not_accepted", standing=current)
    text = clean_text(citation)
    if not text:
        return ModelOutcome("empty", standing=current)
    if len(text) > CITATION_LIMIT:
        return ModelOutcome("too_long", standing=current,
                            params={"limit": CITATION_LIMIT, "length": len(text)})  # fmt: skip
    year = project.number_year
    async with db.transaction() as conn:
        selected = await acceptance.models_of_year(conn, year)
        already = any(m.project_id == project.id for m in selected)
        if not already and len(selected) >= rules.models_max:
            return ModelOutcome("full", year, standing=current,
                                params={"max": rules.models_max})  # fmt: skip
        await acceptance.choose_model(conn, project.id, year, text, admin_id, ts(now))
    outcome = await models(db, year, rules)
    return ModelOutcome("recited" if already else "chosen", year, outcome.ranking,
                        outcome.chosen, await standing(db, project, rules),
                        {"max": rules.models_max})  # fmt: skip


async def unchoose(db: Database, admin_id: int, query: str, rules: Rules) -> ModelOutcome:
    """/model_drop <编号>: take a project off the year's 示范 list."""
    if not await is_admin(db, admin_id):
        return ModelOutcome("not_admin")
    project = await find_project(db, query)
    if project is None or project.number_year is None:
        return ModelOutcome("not_found", params={"query": query})
    async with db.transaction() as conn:
        dropped = await acceptance.drop_model(conn, project.id)
    return ModelOutcome("dropped" if dropped else "not_model", project.number_year,
                        standing=await standing(db, project, rules))  # fmt: skip


async def announcement(db: Database, year: int, root_org_id: int | None,
                       rules: Rules) -> list[Standing]:  # fmt: skip
    """The year's 示范项目 inside one group's scope (its subtree, or everything)."""
    chosen = (await models(db, year, rules)).chosen
    if root_org_id is None:
        return chosen
    above = await planning.ancestors(db, [s.project.org_id for s in chosen])
    return [
        s
        for s in chosen
        if root_org_id == s.project.org_id or root_org_id in above.get(s.project.org_id, ())
    ]

"""调整 and 终止 after 立项 (seed 003: 必要时对项目主体和内容进行适当调整).

The secretary of an approved project asks, on the step engine, to change its targets, its
end month or the milestones not yet done, with a reason; the admins above the organization
(the nearest level with admins, as for applications, else the top) agree or refuse with a
reason. Every plan is kept as a version in force from a month, so the planned pace of a
month is the one of the plan then in force. One request may be open at a time. An admin
may also end (terminate) a project with a reason: it owes no report from then on.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from bot.services import scopes
from bot.services.conversation import (
    PREVIEW,
    Conversation,
    Field,
    Said,
    SideStep,
    StepOutcome,
    leave,
    note_answer,
)
from bot.services.declare import (
    MAX_SPAN,
    NOT_QUANTITY,
    QUANTITY,
    parse_milestones,
    text_problem,
)
from bot.services.months import Month, examples, find_months
from bot.services.projects import find_project
from bot.services.review import secretary_of
from bot.services.text import clean_text
from storage import closing, dialogs, notices, orgs, plans, projects
from storage.db import Database
from storage.plans import Items, PlanChange, PlanVersion, Termination
from storage.rows import Milestone, Org, Project, Reader, Session, ts

FLOW = "adjust"
REFUSE_FLOW = "adjust_refuse"
REASON_LIMIT = 500
TARGETS_LIMIT = 500


@dataclass(frozen=True, slots=True)
class AdjustView:
    """A request as its secretary (or an admin) sees it, beside the plan in force."""

    change: PlanChange
    project: Project
    org: Org
    done: list[Milestone]  # ticked off: they stay whatever the request says
    current: list[Milestone]  # every milestone of the plan in force
    step: str = PREVIEW
    editing: bool = False
    this_month: Month | None = None  # set where a question is shown, for its examples

    @property
    def number(self) -> int:
        return ADJUSTMENT.number(self)

    @property
    def example_months(self) -> tuple[Month, Month] | None:
        """Two months the 进度安排 rule accepts: from this month to the requested end."""
        end = Month.parse(self.change.end_month)
        if self.this_month is None or self.this_month > end:
            return None
        return examples(self.this_month, end)

    @property
    def example_end(self) -> Month | None:
        """An end month the rule accepts: not before this month nor the start, the span at
        most MAX_SPAN months; near the requested end (three months on)."""
        if self.this_month is None or self.project.start_month is None:
            return None
        start = Month.parse(self.project.start_month)
        first, last = max(self.this_month, start), start.plus(MAX_SPAN - 1)
        wanted = Month.parse(self.change.end_month).plus(3)
        return min(max(wanted, first), last) if first <= last else None

    @property
    def total(self) -> int:
        return ADJUSTMENT.total(self)

    @property
    def changed(self) -> list[str]:
        """The items the request changes (targets, end_month, milestones)."""
        found = []
        if self.change.targets != self.project.targets:
            found.append("targets")
        if self.change.end_month != self.project.end_month:
            found.append("end_month")
        if self.change.milestones != open_items(self.current):
            found.append("milestones")
        return found


def open_items(milestones: list[Milestone]) -> Items:
    return [(m.month, m.content) for m in milestones if not m.done_month]


# The reason first: the plan's items start as the plan in force, changed from the preview.
ADJUSTMENT: Conversation[AdjustView] = Conversation(FLOW, (
    Field("reason", "text", lambda v: bool(v.change.reason), REASON_LIMIT, 4),
    Field("targets", "text", lambda v: bool(v.change.targets), TARGETS_LIMIT, 4),
    Field("end_month", "line", lambda v: bool(v.change.end_month)),
    Field("milestones", "schedule", lambda v: bool(v.change.milestones) or bool(v.done)),
))  # fmt: skip
STEPS = ADJUSTMENT.names
# 不同意's reason: a side-step of the engine whose step names the decision ("pending").
REFUSAL: SideStep = SideStep(REFUSE_FLOW, SideStep.asking("reason", REASON_LIMIT))


Outcome = StepOutcome[AdjustView]


async def view_of(db: Database, change_id: int, step: str = PREVIEW,
                  editing: bool = False) -> AdjustView:  # fmt: skip
    change = await plans.change(db, change_id)
    assert change is not None
    project = await projects.get(db, change.project_id)
    assert project is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    current = await projects.milestones(db, project.id)
    done = [m for m in current if m.done_month]
    return AdjustView(change, project, org, done, current, step, editing)


def _secretary_org(who: Session) -> int | None:
    person = who.person
    if person is None or person.role != "secretary" or person.org_id is None:
        return None
    return person.org_id


async def open_adjust(db: Database, who: Session, now: datetime,
                      project_id: int | None = None) -> Outcome:  # fmt: skip
    """/adjust or 申请调整计划: resume the request being written, or start one from the plan
    in force; one awaiting a decision is only shown."""
    org_id = _secretary_org(who)
    if org_id is None:
        return Outcome("not_secretary")
    own = [p for p in await projects.of_org(db, org_id) if p.status == "approved"]
    if project_id is not None:
        own = [p for p in own if p.id == project_id]
        if not own:
            return Outcome("stale")
    if not own:
        return Outcome("none_approved")
    if len(own) > 1:
        return Outcome("choose", params={"projects": own})
    project = own[0]
    found = await plans.open_change(db, project.id)
    if found is not None and found.status == "pending":
        return Outcome("already_pending", await view_of(db, found.id))
    stamp = ts(now)
    if found is None:
        current = await projects.milestones(db, project.id)
        assert project.targets is not None and project.end_month is not None
        async with db.transaction() as conn:
            change_id = await plans.create_change(conn, project.id, project.targets,
                                                  project.end_month, open_items(current),
                                                  who.user_id, stamp)  # fmt: skip
            await dialogs.put(conn, who.user_id, FLOW, change_id, STEPS[0], False, stamp)
        return Outcome("started", await view_of(db, change_id, STEPS[0]))
    step = ADJUSTMENT.first_unanswered(await view_of(db, found.id))
    async with db.transaction() as conn:
        await dialogs.put(conn, who.user_id, FLOW, found.id, step, False, stamp)
    return Outcome("resume", await view_of(db, found.id, step))


def _allowed(who: Session, view: AdjustView) -> bool:
    return (
        _secretary_org(who) == view.project.org_id
        and view.project.status == "approved"
        and view.change.status == "draft"
    )


async def _gone(db: Database, user_id: int, view: AdjustView) -> Outcome:
    """The request cannot be written any more (the project ended, another device sent it)."""
    await leave(db, user_id)
    return Outcome("closed_meanwhile", view)


async def _mine(db: Database, who: Session, change_id: int | None = None,
                step: str | None = None) -> AdjustView | Outcome:  # fmt: skip
    """The person's request at its open step, or why there is none to answer."""
    own = ADJUSTMENT.position(who.dialog, change_id, step)
    if own is None:
        return Outcome("no_dialog" if change_id is None else "stale")
    if await plans.change(db, own[0]) is None:  # given up on another device
        await leave(db, who.user_id)
        return Outcome("no_dialog" if change_id is None else "stale")
    view = await view_of(db, *own)
    if not _allowed(who, view):
        return await _gone(db, who.user_id, view)
    return view


async def _move(db: Database, user_id: int, change_id: int, step: str, editing: bool,
                now: datetime) -> AdjustView:  # fmt: skip
    await ADJUSTMENT.move(db, user_id, change_id, step, editing, now)
    return await view_of(db, change_id, step, editing)


async def current(db: Database, who: Session) -> Outcome:
    found = await _mine(db, who)
    return found if isinstance(found, StepOutcome) else Outcome("ask", found)


def _this_month(now: datetime, tz: Any) -> Month:
    return Month.of(now.astimezone(tz))


def read_end_month(text: str, view: AdjustView, this_month: Month) -> tuple[str, dict[str, Any]]:
    """The new end month: one month, not before this one nor the start, the span at most
    MAX_SPAN months; ('', {'month': …}) or the problem."""
    found = find_months(text)
    if len(found) != 1 or found[0][0] is None:
        return "end_format", {}
    month = found[0][0]
    assert view.project.start_month is not None
    start = Month.parse(view.project.start_month)
    if month < this_month or month < start:
        return "end_past", {"month": str(this_month)}
    if start.months_to(month) > MAX_SPAN:
        return "span_too_long", {"months": start.months_to(month), "limit": MAX_SPAN}
    return "", {"month": str(month)}


def _read(view: AdjustView, text: str, this_month: Month) -> tuple[dict[str, Any], Outcome | None]:
    """The values a typed answer to the view's step stores, or the refusal. A new end month
    that leaves open milestones after it drops them (`milestones_outside`: how many)."""
    step = view.step
    if step in ("reason", "targets"):
        limit = REASON_LIMIT if step == "reason" else TARGETS_LIMIT
        problem = text_problem(text, limit, 4)
        if problem:
            return {}, Outcome(problem[0], view, problem[1])
        if step == "targets" and not QUANTITY.search(NOT_QUANTITY.sub(" ", text.strip())):
            return {}, Outcome("not_quantified", view)
        return {step: text.strip()}, None
    if step == "end_month":
        problem_kind, params = read_end_month(text, view, this_month)
        if problem_kind:
            return {}, Outcome(problem_kind, view, params)
        end = Month.parse(params["month"])
        values: dict[str, Any] = {"end_month": str(end)}
        outside = [i for i in view.change.milestones if Month.parse(i[0]) > end]
        if outside:
            values["milestones"] = [i for i in view.change.milestones if i not in outside]
            values["milestones_outside"] = len(outside)
        return values, None
    if step == "milestones":
        items, problems = parse_milestones(text, this_month, Month.parse(view.change.end_month))
        if problems or not items:
            return {}, Outcome("milestones_invalid", view, {"problems": problems})
        return {"milestones": items}, None
    return {}, Outcome("use_buttons", view)


async def plausible(db: Database, who: Session, text: str, now: datetime, tz: Any) -> bool:
    """Whether the text would be taken as an answer to the open step (nothing is stored)."""
    found = await _mine(db, who)
    if isinstance(found, StepOutcome):
        return False
    return _read(found, clean_text(text), _this_month(now, tz))[1] is None


async def answer(db: Database, who: Session, text: str, now: datetime, tz: Any,
                 said: Said | None = None) -> Outcome:  # fmt: skip
    """A typed answer to the open step (or, `said.at`, to an earlier one: the position
    stays)."""
    text = clean_text(text)
    found = await _mine(db, who)
    if isinstance(found, StepOutcome):
        return found
    view, stay = found, None
    if said is not None and said.at is not None and said.at != view.step:
        stay, view = view.step, replace(view, step=said.at)
    values, refused = _read(view, text, _this_month(now, tz))
    if refused is not None:
        return refused
    step, notices = view.step, {}
    if outside := values.pop("milestones_outside", 0):
        notices["milestones_outside"] = outside
    fresh = replace(view, change=replace(view.change, **values))
    if outside:
        following = "milestones"  # the schedule no longer fits: asked again, not kept wrong
    elif stay is not None:
        following = stay
    else:
        following = ADJUSTMENT.after(fresh, step)
    editing = view.editing and following in (PREVIEW, stay)
    async with db.transaction() as conn:
        await plans.set_change(conn, view.change.id, values, ts(now))
        await dialogs.put(conn, who.user_id, FLOW, view.change.id, following, editing, ts(now))
        await conn.run(note_answer, who.user_id, said, FLOW, view.change.id, step, now)
    moved = replace(fresh, step=following, editing=editing)
    if stay is not None and not outside:
        return Outcome("changed", moved, {"answered": step, "said": said})
    return Outcome("saved", moved, {"answered": step, **notices})


async def wrong_kind(db: Database, who: Session) -> Outcome:
    found = await current(db, who)
    if found.view is None:
        return found
    return Outcome("use_buttons" if found.view.step == PREVIEW else "text_only", found.view)


async def back(db: Database, who: Session, now: datetime) -> Outcome:
    found = await _mine(db, who)
    if isinstance(found, StepOutcome):
        return found
    target = ADJUSTMENT.before(found)
    if target is None:
        return Outcome("first_step", found)
    return Outcome("ask", await _move(db, who.user_id, found.change.id, target, False, now))


async def cancel(db: Database, who: Session, now: datetime) -> Outcome:
    """取消: leave (what was written stays, /adjust goes on); while changing one item, the
    change is dropped and the preview given back."""
    own = ADJUSTMENT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    change_id, step, editing = own
    if await plans.change(db, change_id) is None:
        await leave(db, who.user_id)
        return Outcome("cancelled")
    if editing and step != PREVIEW:
        return Outcome("edit_cancelled",
                       await _move(db, who.user_id, change_id, PREVIEW, False, now))  # fmt: skip
    await leave(db, who.user_id)
    return Outcome("cancelled", await view_of(db, change_id))


async def button(db: Database, who: Session, subject_id: int, step: str, action: str,
                 arg: str, now: datetime) -> Outcome:  # fmt: skip
    """A button of the request; one of another request or step changes nothing."""
    if action == "open":  # 申请调整计划 under /project: subject_id is the project
        return await open_adjust(db, who, now, subject_id)
    found = await _mine(db, who, subject_id, step)
    if isinstance(found, StepOutcome):
        return found
    view = found
    if action == "back":
        return await back(db, who, now)
    if action == "cancel":
        return await cancel(db, who, now)
    if action == "edit" and step == PREVIEW:
        return Outcome("edit_menu", view)
    if action == "field" and step == PREVIEW and arg in ADJUSTMENT.editable(view):
        return Outcome("ask", await _move(db, who.user_id, subject_id, arg, True, now))
    if action == "preview" and step == PREVIEW:
        return Outcome("ask", view)
    if action == "discard":
        async with db.transaction() as conn:
            await plans.drop_draft(conn, subject_id)
            await dialogs.clear(conn, who.user_id)
        return Outcome("discarded")
    if action == "submit" and step == PREVIEW:
        return await _submit(db, who.user_id, view, now)
    return Outcome("stale")


async def _submit(db: Database, user_id: int, view: AdjustView, now: datetime) -> Outcome:
    missing = ADJUSTMENT.first_unanswered(view)
    if missing != PREVIEW:
        return Outcome("ask", await _move(db, user_id, view.change.id, missing, False, now))
    if not view.changed:
        return Outcome("unchanged", view)
    async with db.transaction() as conn:
        done = await plans.submit_change(conn, view.change.id, ts(now))
        await dialogs.clear(conn, user_id)
    return Outcome("submitted" if done else "closed_meanwhile", await view_of(db, view.change.id))


# -- admins -------------------------------------------------------------------------------------


async def may_decide(conn: Reader, user_id: int, project: Project) -> bool:
    """An admin over the organization, from a level above it, and not its own secretary."""
    return await scopes.decides_for(conn, user_id, project.org_id)


async def _pending(db: Database, admin_id: int, change_id: int) -> AdjustView | Outcome:
    change = await plans.change(db, change_id)
    if change is None:
        return Outcome("stale")
    view = await view_of(db, change_id)
    if not await may_decide(db, admin_id, view.project):
        return Outcome("not_admin")
    if change.status != "pending" or view.project.status != "approved":
        return Outcome("stale", view)
    return view


async def decide(db: Database, admin_id: int, change_id: int, action: str, now: datetime,
                 tz: Any) -> Outcome:  # fmt: skip
    """同意 (a): the plan changes from this month on; 不同意 (r): the reason is asked."""
    found = await _pending(db, admin_id, change_id)
    if isinstance(found, StepOutcome):
        return found
    view = found
    if action == "r":
        await REFUSAL.open(db, admin_id, change_id, "pending", now)
        return Outcome("asking_reason", view)
    effective = str(_this_month(now, tz))
    change, stamp = view.change, ts(now)
    async with db.transaction() as conn:
        # Read again inside the write: a milestone ticked off meanwhile stays done.
        project = await projects.get(conn, view.project.id)
        current = await projects.milestones(conn, view.project.id)
        assert project is not None
        assert project.start_month and project.end_month and project.targets
        done = project.status == "approved" and await plans.decide_change(
            conn, change_id, "approved", admin_id, None, stamp)  # fmt: skip
        if done:
            if not await plans.versions(conn, project.id):
                # The plan of 立项 becomes version 1, in force from the start.
                approval = next((r for r in reversed(await projects.reviews(conn, project.id))
                                 if r.action == "approve"), None)  # fmt: skip
                await plans.add_version(
                    conn, project.id, project.start_month, project.start_month,
                    project.end_month, project.targets, [(m.month, m.content) for m in current],
                    None, approval.by_user if approval else None,
                    ts(approval.at) if approval else None, None,
                )  # fmt: skip
            kept = [(m.month, m.content) for m in current if m.done_month]
            # A milestone the request listed as open but ticked off since stays done, once.
            ticked = {content for _, content in kept}
            still_open = [item for item in change.milestones if item[1] not in ticked]
            await plans.add_version(conn, project.id, effective, project.start_month,
                                    change.end_month, change.targets,
                                    kept + still_open, change_id, admin_id, stamp,
                                    change.reason)  # fmt: skip
            await plans.apply_plan(conn, project.id, change.targets, change.end_month,
                                   still_open, stamp)  # fmt: skip
    outcome = "approved" if done else "stale"
    return Outcome(outcome, await view_of(db, change_id), {"effective": effective})


async def give_reason(db: Database, admin_id: int, text: str, now: datetime) -> Outcome:
    """The reason typed after 不同意."""
    dialog = REFUSAL.own(await dialogs.get(db, admin_id))
    if dialog is None:
        return Outcome("no_dialog")
    found = await _pending(db, admin_id, dialog.subject_id)
    if isinstance(found, StepOutcome):
        await leave(db, admin_id)
        return Outcome("not_admin" if found.kind == "not_admin" else "stale", found.view)
    reason, problem = REFUSAL.read(text)
    if problem is not None:
        return Outcome(f"reason_{problem[0]}", found, problem[1])
    async with db.transaction() as conn:
        done = await plans.decide_change(conn, dialog.subject_id, "refused", admin_id, reason,
                                         ts(now))  # fmt: skip
        await REFUSAL.done(conn, admin_id)
    return Outcome("refused" if done else "stale", await view_of(db, dialog.subject_id),
                   {"reason": reason})  # fmt: skip


async def cancel_reason(db: Database, admin_id: int) -> Outcome:
    """Give up refusing (取消, 上一步 or /cancel): the request stays pending, its buttons
    offered again while it awaits the decision."""
    dialog = await REFUSAL.leave(db, admin_id)
    if dialog is None:
        return Outcome("reason_cancelled")
    found = await _pending(db, admin_id, dialog.subject_id)
    return Outcome("reason_cancelled", None if isinstance(found, StepOutcome) else found)


# -- the plan in force, and its history ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class PlanHistory:
    """What /project shows of a project's plan after 立项."""

    versions: list[PlanVersion]
    changes: list[PlanChange]  # refused and pending ones too
    termination: Termination | None
    closing_status: str | None = None  # its closing report's (withdrawn: by the termination)


async def history(db: Database, project_id: int) -> PlanHistory:
    report = await closing.of_project(db, project_id)
    return PlanHistory(await plans.versions(db, project_id),
                       await plans.changes(db, project_id),
                       await plans.termination(db, project_id),
                       report.status if report else None)  # fmt: skip


def may_ask(plan: PlanHistory, project: Project) -> bool:
    """Whether the secretary may open a request now (none is awaiting a decision)."""
    return project.status == "approved" and not any(c.status == "pending" for c in plan.changes)


Spans = dict[int, list[tuple[str, str, str]]]


async def spans(conn: Reader) -> Spans:
    """The spans of every changed plan, for planned_pace."""
    return await plans.spans(conn)


def span_in_force(project_id: int, start: str, end: str, period: str,
                  changed: Spans | None) -> tuple[str, str]:  # fmt: skip
    """(start, end) of the plan in force in `period`: the latest version effective by then;
    the project's own span if its plan never changed."""
    found = (start, end)
    for effective, v_start, v_end in (changed or {}).get(project_id, ()):
        if effective <= period:
            found = (v_start, v_end)
    return found


# -- 终止 ----------------------------------------------------------------------------------------


async def terminate(db: Database, admin_id: int, query: str, reason: str, now: datetime,
                    tz: Any) -> Outcome:  # fmt: skip
    """/terminate <编号> <原因>: end an approved project; it owes no report from now on, a
    request to change its plan is refused with the same reason, its closing report (unless
    accepted) is withdrawn and its open 督办单 are withdrawn, all in one transaction."""
    project = await find_project(db, query)
    scope = await scopes.admin_scope(db, admin_id)
    if project is None or scope is None or not await scopes.covers(db, scope,
                                                                      project.org_id):  # fmt: skip
        return Outcome("terminate_not_found", params={"query": query})
    if not await may_decide(db, admin_id, project):
        return Outcome("terminate_not_yours", params={"project": project})
    if project.status != "approved":
        return Outcome("terminate_not_active", params={"project": project})
    text = clean_text(reason).strip()
    if not text:
        return Outcome("terminate_no_reason", params={"project": project})
    if len(text) > REASON_LIMIT:
        return Outcome("reason_too_long", params={"limit": REASON_LIMIT, "length": len(text)})
    stamp = ts(now)
    month = str(_this_month(now, tz))
    withdrawn, revoked = False, 0
    async with db.transaction() as conn:
        done = await plans.terminate(conn, project.id, month, admin_id, text, stamp)
        if done:
            pending = await plans.open_change(conn, project.id)
            if pending is not None and pending.status == "pending":
                await plans.decide_change(conn, pending.id, "refused", admin_id, text, stamp)
            elif pending is not None:
                await plans.drop_draft(conn, pending.id)
            withdrawn = await closing.withdraw(conn, project.id, stamp)
            revoked = await notices.withdraw_open(conn, project.id, admin_id, text, stamp)
    if not done:
        return Outcome("terminate_not_active", params={"project": project})
    org = await orgs.by_id(db, project.org_id)
    return Outcome(
        "terminated",
        params={
            "project": project,
            "org": org,
            "reason": text,
            "secretary": await secretary_of(db, project),
            "closing_withdrawn": withdrawn,
            "notices_withdrawn": revoked,
        },
    )

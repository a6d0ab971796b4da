"""结题: from its last month (or earlier, when an admin opens it), the secretary files the
project's closing report in four parts — 项目概况、实施情况、成果经验、评价建议 — with
evidence, on the step engine; admins accept it (the project becomes 已结题) or return it
with a reason, and every submitted version is kept."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime

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
    text_problem,
)
from bot.services.projects import find_project
from bot.services.review import secretary_of
from bot.services.text import clean_text, says_none
from storage import acceptance, closing, dialogs, orgs, projects
from storage.closing import Closing, ClosingFile, Event
from storage.db import Database
from storage.rows import Org, Project, Session, ts

FLOW = "closing"
RETURN_FLOW = "closing_return"
MAX_FILES = 9
REASON_LIMIT = 500
DONE_WORDS = frozenset({"完成", "好了", "跳过"})  # besides any way of saying "none"


@dataclass(frozen=True, slots=True)
class ClosingView:
    """A closing report as the secretary (or an admin) sees it."""

    closing: Closing
    project: Project
    org: Org
    files: list[ClosingFile]
    step: str = PREVIEW
    editing: bool = False
    events: list[Event] = field(default_factory=list)

    @property
    def number(self) -> int:
        return CLOSING.number(self)

    @property
    def total(self) -> int:
        return CLOSING.total(self)

    @property
    def last_return(self) -> str | None:
        """The reason of the latest return, if the report was returned."""
        returns = [e for e in self.events if e.action == "return"]
        return returns[-1].reason if returns else None


CLOSING: Conversation[ClosingView] = Conversation(FLOW, (
    Field("overview", "text", lambda v: bool(v.closing.overview), 2000, 10,
          columns=("overview",)),
    Field("implementation", "text", lambda v: bool(v.closing.implementation), 3000, 10,
          columns=("implementation",)),
    Field("results", "text", lambda v: bool(v.closing.results), 2000, 10,
          columns=("results",)),
    Field("evaluation", "text", lambda v: bool(v.closing.evaluation), 1000, 4,
          columns=("evaluation",)),
    Field("files", "files", lambda v: v.closing.files_set),
))  # fmt: skip
STEPS = CLOSING.names
# 退回修改's reason: a one-question side-step; its step is the round it returns.
RETURN: SideStep = SideStep(RETURN_FLOW, SideStep.asking("reason", REASON_LIMIT))
LIMITS, MIN_LENGTH = CLOSING.limits(), CLOSING.minimums()


Outcome = StepOutcome[ClosingView]


async def view_of(db: Database, closing_id: int, step: str = PREVIEW,
                  editing: bool = False) -> ClosingView:  # fmt: skip
    found = await closing.get(db, closing_id)
    assert found is not None
    project = await projects.get(db, found.project_id)
    assert project is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    return ClosingView(found, project, org, await closing.files(db, closing_id), step,
                       editing, await closing.events(db, project.id))  # fmt: skip


def _due(project: Project, this_month: str, opened_early: bool) -> bool:
    return project.status == "approved" and (
        opened_early or (project.end_month is not None and project.end_month <= this_month)
    )


async def _opened_early(db: Database, project_id: int) -> bool:
    return any(e.action == "open_early" for e in await closing.events(db, project_id))


async def open_closing(
    db: Database, who: Session, this_month: str, now: datetime, project_id: int | None = None
) -> Outcome:
    """/closing (or its button): resume, start or show the secretary's closing report."""
    person = who.person
    if person is None or person.role != "secretary" or person.org_id is None:
        return Outcome("not_secretary")
    own = [p for p in await projects.of_org(db, person.org_id)
           if p.status in ("approved", "concluded", "accepted")]  # fmt: skip
    if project_id is not None:
        own = [p for p in own if p.id == project_id]
        if not own:
            return Outcome("stale")
    due = [p for p in own if _due(p, this_month, await _opened_early(db, p.id))]
    started = [p for p in own if await closing.of_project(db, p.id) is not None]
    candidates = due or started
    if not candidates:
        return Outcome("not_yet", params={"projects": own})
    if len(candidates) > 1 and project_id is None:
        return Outcome("choose", params={"projects": candidates})
    project = candidates[0]
    found = await closing.of_project(db, project.id)
    if found is not None and found.status in ("submitted", "accepted"):
        return Outcome(f"already_{found.status}", await view_of(db, found.id))
    if found is None:
        if project not in due:
            return Outcome("not_yet", params={"projects": own})
        async with db.transaction() as conn:
            closing_id = await closing.create(conn, project.id, who.user_id, ts(now))
            await dialogs.put(conn, who.user_id, FLOW, closing_id, STEPS[0], False, ts(now))
        return Outcome("started", await view_of(db, closing_id, STEPS[0]))
    returned = found.status == "returned"
    if returned:
        async with db.transaction() as conn:
            await closing.reopen(conn, found.id, ts(now))
    draft = await view_of(db, found.id)
    step = PREVIEW if returned else CLOSING.first_unanswered(draft)
    async with db.transaction() as conn:
        await dialogs.put(conn, who.user_id, FLOW, found.id, step, False, ts(now))
    return Outcome("resume_returned" if returned else "resume", replace(draft, step=step))


def _allowed(who: Session, view: ClosingView) -> bool:
    person = who.person
    return (
        person is not None
        and person.role == "secretary"
        and person.org_id == view.project.org_id
        and view.project.status == "approved"
        and view.closing.status == "draft"
    )


async def _gone(db: Database, user_id: int, view: ClosingView) -> Outcome:
    """The report cannot be written any more (submitted elsewhere, the project moved on)."""
    await leave(db, user_id)
    return Outcome("closed_meanwhile", view)


async def _move(db: Database, user_id: int, closing_id: int, step: str, editing: bool,
                now: datetime) -> ClosingView:  # fmt: skip
    await CLOSING.move(db, user_id, closing_id, step, editing, now)
    return await view_of(db, closing_id, step, editing)


async def _store(db: Database, user_id: int, view: ClosingView, values: dict[str, object],
                 now: datetime, said: Said | None = None,
                 stay: str | None = None) -> Outcome:  # fmt: skip
    """Store an answer, which message carried it, and the next step in one commit. An
    answer out of turn (`stay`: the open step) changes its field and stays put."""
    # `values` are named by CLOSING's fields, each a field of the closing report: mypy cannot
    # check keyword arguments built at run time.
    fresh = replace(view, closing=replace(view.closing, **values))  # type: ignore[arg-type]
    following = stay if stay is not None else CLOSING.after(fresh, view.step)
    async with db.transaction() as conn:
        await closing.set_fields(conn, view.closing.id, values, ts(now))
        await dialogs.put(conn, user_id, FLOW, view.closing.id, following, view.editing, ts(now))
        await conn.run(note_answer, user_id, said, FLOW, view.closing.id, view.step, now)
    moved = replace(fresh, step=following)
    if stay is not None:
        return Outcome("changed", moved, {"answered": view.step, "said": said})
    return Outcome("saved", moved, {"answered": view.step})


async def current(db: Database, who: Session) -> Outcome:
    own = CLOSING.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    return Outcome("ask", await view_of(db, *own))


async def wrong_kind(db: Database, who: Session) -> Outcome:
    again = await current(db, who)
    if again.view is None:
        return again
    wanted = {"files": "send_files", PREVIEW: "use_buttons"}
    return Outcome(wanted.get(again.view.step, "text_only"), again.view)


def _read(view: ClosingView, text: str) -> tuple[dict[str, object] | None, Outcome | None]:
    """The values a typed answer to the view's step stores, or the refusal."""
    step = view.step
    if step in LIMITS:
        problem = text_problem(text, LIMITS[step], MIN_LENGTH[step])
        if problem:
            return None, Outcome(problem[0], view, problem[1])
        return {step: text.strip()}, None
    if step == "files":
        if text.strip() in DONE_WORDS or says_none(text):
            return {"files_set": True}, None
        return None, Outcome("send_files", view)
    return None, Outcome("use_buttons", view)


async def plausible(db: Database, who: Session, text: str) -> bool:
    """Whether the text would be taken as an answer to the open step (nothing is stored)."""
    own = CLOSING.position(who.dialog)
    if own is None:
        return False
    return _read(await view_of(db, *own), clean_text(text))[0] is not None


async def answer(db: Database, who: Session, text: str, now: datetime,
                 said: Said | None = None) -> Outcome:  # fmt: skip
    """A typed answer to the open step (or, `said.at`, to an earlier one: the position
    stays)."""
    text = clean_text(text)
    own = CLOSING.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await view_of(db, *own)
    if not _allowed(who, view):
        return await _gone(db, who.user_id, view)
    stay = None
    if said is not None and said.at is not None and said.at != view.step:
        stay, view = view.step, replace(view, step=said.at)
    values, refused = _read(view, text)
    if values is None:
        assert refused is not None
        return refused
    return await _store(db, who.user_id, view, values, now, said, stay)


async def add_file(db: Database, who: Session, kind: str, file_id: str, unique_id: str,
                   now: datetime) -> Outcome:  # fmt: skip
    """A photo or document sent as evidence at the files step."""
    own = CLOSING.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await view_of(db, *own)
    if view.step != "files":
        return Outcome("use_buttons" if view.step == PREVIEW else "text_only", view)
    if not _allowed(who, view):
        return await _gone(db, who.user_id, view)
    if len(view.files) >= MAX_FILES:
        return Outcome("files_full", view, {"limit": MAX_FILES})
    async with db.transaction() as conn:
        added = await closing.add_file(conn, view.closing.id, kind, file_id, unique_id)
    fresh = await view_of(db, *own)
    return Outcome("file_added" if added else "file_duplicate", fresh,
                   {"count": len(fresh.files), "limit": MAX_FILES})  # fmt: skip


async def back(db: Database, who: Session, now: datetime) -> Outcome:
    own = CLOSING.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await view_of(db, *own)
    if view.closing.status == "withdrawn":
        return await _gone(db, who.user_id, view)
    target = CLOSING.before(view)
    if target is None:
        return Outcome("first_step", view)
    return Outcome("ask", await _move(db, who.user_id, view.closing.id, target, False, now))


async def cancel(db: Database, who: Session, now: datetime) -> Outcome:
    """取消: leave (what was written stays); while changing one item, back to the preview."""
    own = CLOSING.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    closing_id, step, editing = own
    view = await view_of(db, *own)
    if view.closing.status == "withdrawn":  # the project was terminated meanwhile
        return await _gone(db, who.user_id, view)
    if editing and step != PREVIEW:
        return Outcome("edit_cancelled",
                       await _move(db, who.user_id, closing_id, PREVIEW, False, now))  # fmt: skip
    await leave(db, who.user_id)
    return Outcome("cancelled", await view_of(db, *own))


async def button(db: Database, who: Session, closing_id: int, step: str, action: str,
                 arg: str, this_month: str, now: datetime) -> Outcome:  # fmt: skip
    """A button of the closing report; one of another report or step changes nothing."""
    if action == "open":  # the clock's and the return notice's button: closing_id is a project
        return await open_closing(db, who, this_month, now, closing_id)
    own = CLOSING.position(who.dialog, closing_id, step)
    if own is None:
        return Outcome("stale")
    view = await view_of(db, *own)
    if not _allowed(who, view):
        return await _gone(db, who.user_id, view)
    if action == "back":
        return await back(db, who, now)
    if action == "cancel":
        return await cancel(db, who, now)
    if action == "next" and step == "files":
        return await _store(db, who.user_id, view, {"files_set": True}, now)
    if action == "clear" and step == "files":
        async with db.transaction() as conn:
            await closing.clear_files(conn, closing_id)
        return Outcome("files_cleared", await view_of(db, *own))
    if action == "edit" and step == PREVIEW:
        return Outcome("edit_menu", view)
    if action == "field" and step == PREVIEW and arg in CLOSING.editable(view):
        return Outcome("ask", await _move(db, who.user_id, closing_id, arg, True, now))
    if action == "preview" and step == PREVIEW:
        return Outcome("ask", view)
    if action == "submit" and step == PREVIEW:
        return await _submit(db, who.user_id, view, now)
    return Outcome("stale")


async def _submit(db: Database, user_id: int, view: ClosingView, now: datetime) -> Outcome:
    missing = CLOSING.first_unanswered(view)
    if missing != PREVIEW:
        return Outcome("ask", await _move(db, user_id, view.closing.id, missing, False, now))
    async with db.transaction() as conn:
        round_ = await closing.submit(conn, view.closing, view.files, user_id, ts(now))
        if round_ is not None:
            await closing.record(conn, view.project.id, "submit", round_, user_id, None, ts(now))
        await dialogs.clear(conn, user_id)
    if round_ is None:  # /terminate (or another device) came between the checks and the write
        return Outcome("closed_meanwhile", await view_of(db, view.closing.id))
    return Outcome("submitted", await view_of(db, view.closing.id), {"round": round_})


# -- admins -------------------------------------------------------------------------------------


async def _refusal(db: Database, user_id: int, project: Project) -> str | None:
    """Why this person may not decide (or open early) this project's 结题 now, or None: an
    admin above its organization decides, as for its application (never its own secretary:
    "own"); "hidden" for an admin outside its subtree, to whom it is as if it did not exist."""
    scope = await scopes.admin_scope(db, user_id)
    if scope is None:
        return "not_admin"
    if not await scopes.covers(db, scope, project.org_id):
        return "hidden"
    if not await scopes.decides_for(db, user_id, project.org_id):
        return "own"
    return None


async def decide(db: Database, admin_id: int, closing_id: int, round_: int, action: str,
                 this_month: str, now: datetime) -> Outcome:  # fmt: skip
    """通过结题 (a) or 退回修改 (r) under a submitted closing report; accepted in `this_month`,
    the project owes no report from it on (but one filed for it)."""
    if await scopes.admin_scope(db, admin_id) is None:
        return Outcome("not_admin")
    found = await closing.get(db, closing_id)
    project = await projects.get(db, found.project_id) if found is not None else None
    if found is None or project is None:
        return Outcome("stale")
    refused = await _refusal(db, admin_id, project)
    if refused is not None:
        return Outcome("stale" if refused == "hidden" else refused)
    if found.status != "submitted" or found.round != round_:
        return Outcome("stale", await view_of(db, closing_id))
    if action == "r":
        await RETURN.open(db, admin_id, closing_id, str(round_), now)
        return Outcome("asking_reason", await view_of(db, closing_id))
    async with db.transaction() as conn:
        # Only a project still 已立项 concludes: one terminated meanwhile makes the button stale.
        current = await projects.get(conn, found.project_id)
        done = current is not None and current.status == "approved"
        done = done and await closing.decide(conn, closing_id, round_, "accepted", ts(now),
                                             this_month)  # fmt: skip
        if done:
            await acceptance.mark_concluded(conn, found.project_id, ts(now))
            await closing.record(conn, found.project_id, "accept", round_, admin_id, None,
                                 ts(now))  # fmt: skip
    return Outcome("accepted" if done else "stale", await view_of(db, closing_id))


async def give_reason(db: Database, admin_id: int, text: str, now: datetime) -> Outcome:
    """The reason typed after 退回修改."""
    dialog = RETURN.own(await dialogs.get(db, admin_id))
    if dialog is None:
        return Outcome("no_dialog")
    view = await view_of(db, dialog.subject_id)
    refused = await _refusal(db, admin_id, view.project)
    if refused is not None:
        await leave(db, admin_id)
        return Outcome("own" if refused == "own" else "not_admin")
    reason, problem = RETURN.read(text)
    if problem is not None:
        return Outcome(f"reason_{problem[0]}", view, problem[1])
    round_ = int(dialog.step)
    async with db.transaction() as conn:
        done = await closing.decide(conn, dialog.subject_id, round_, "returned", ts(now))
        if done:
            await closing.record(conn, view.project.id, "return", round_, admin_id, reason,
                                 ts(now))  # fmt: skip
        await RETURN.done(conn, admin_id)
    return Outcome("returned" if done else "stale", await view_of(db, dialog.subject_id),
                   {"reason": reason})  # fmt: skip


async def cancel_reason(db: Database, admin_id: int) -> Outcome:
    """Give up returning (取消, 上一步 or /cancel): the report stays submitted, its buttons
    offered again while it awaits that decision."""
    dialog = await RETURN.leave(db, admin_id)
    if dialog is None:
        return Outcome("reason_cancelled")
    view = await view_of(db, dialog.subject_id)
    if view.closing.status == "submitted" and str(view.closing.round) == dialog.step:
        return Outcome("reason_cancelled", view)
    return Outcome("reason_cancelled")


async def open_early(db: Database, admin_id: int, query: str, reason: str, this_month: str,
                     now: datetime) -> Outcome:  # fmt: skip
    """/close_early <编号> <原因>: let the secretary file the closing report before the
    project's last month (the work is done early); an admin above its organization."""
    if await scopes.admin_scope(db, admin_id) is None:
        return Outcome("not_admin")
    project = await find_project(db, query)
    refused = await _refusal(db, admin_id, project) if project is not None else "hidden"
    if refused == "hidden":
        project = None  # outside the subtree: not shown to exist
    elif refused is not None:
        return Outcome("early_own", params={"project": project})
    if project is None or project.status != "approved":
        return Outcome("early_not_found", params={"query": query, "project": project})
    text = clean_text(reason).strip()
    if not text:
        return Outcome("early_no_reason", params={"project": project})
    if len(text) > REASON_LIMIT:
        return Outcome("reason_too_long", params={"limit": REASON_LIMIT, "length": len(text)})
    if _due(project, this_month, await _opened_early(db, project.id)):
        return Outcome("early_already", params={"project": project})
    async with db.transaction() as conn:
        await closing.record(conn, project.id, "open_early", 0, admin_id, text, ts(now))
    secretary = await secretary_of(db, project)
    return Outcome("early_opened", params={"project": project, "reason": text,
                                           "secretary": secretary})  # fmt: skip

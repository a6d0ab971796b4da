"""单月报告: a secretary's monthly progress report, one stored answer at a time.

Like the declaration, the position lives in `dialogs` and the answers in the report's
working copy; 提交 freezes the copy as a new version (every version is kept, the latest
counts) and records milestones ticked off with the month they were done.
"""

from __future__ import annotations

import re
import sqlite3
from collections import Counter
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from datetime import date, datetime, timedelta
from functools import partial
from typing import Any

from bot.services import scopes
from bot.services.calendar import ReportCalendar, ReportWindow
from bot.services.conversation import (
    PREVIEW,
    Conversation,
    Field,
    Said,
    StepOutcome,
    leave,
    note_answer,
    text_problem,
)
from bot.services.months import Month
from bot.services.text import clean_text, says_none
from storage import (
    bulletins,
    deliveries,
    dialogs,
    orgs,
    people,
    projects,
    prompts,
    reports,
    summary,
)
from storage.db import Database
from storage.rows import (
    Milestone,
    Org,
    Project,
    Report,
    ReportFile,
    ReportVersion,
    Session,
    ts,
)

FLOW = "report"
MAX_FILES = 9
# Typed instead of pressing 下一步 / 跳过 (besides any way of saying "none").
DONE_WORDS = frozenset({"跳过", "完成", "下一步", "好了"})
PERCENT = re.compile(r"^\s*([0-9０-９]{1,3})\s*[%％]?\s*$")
REOPEN_DAYS = 7


@dataclass(frozen=True, slots=True)
class ReportView:
    """Everything needed to show a report's state and ask its next question."""

    report: Report
    project: Project
    org: Org
    window: ReportWindow
    open_milestones: list[Milestone]  # due up to this period and not done in an earlier one
    files: list[ReportFile]
    last: ReportVersion | None  # the previous period's latest version
    step: str
    editing: bool = False
    reopened: bool = False

    @property
    def ticked(self) -> set[int]:
        return set(self.report.milestones_done)

    @property
    def needs_reason(self) -> bool:
        r, last = self.report, self.last
        return bool(last and r.completion is not None and r.completion < last.completion)

    def applies(self, step: str) -> bool:
        return REPORT.applies(self, step)

    def answered(self, step: str) -> bool:
        return REPORT.answered(self, step)

    def first_unanswered(self) -> str:
        return REPORT.first_unanswered(self)

    @property
    def number(self) -> int:
        """The position of the current step among those that apply (for '第 n/m 步')."""
        return REPORT.number(self)

    @property
    def total(self) -> int:
        return REPORT.total(self)

    @property
    def asked_fields(self) -> list[Field[ReportView]]:
        """The questions asked in this report, in order (the preview lists them)."""
        return [REPORT.field(name) for name in REPORT.asked(self)]


# The report's questions in order: the steps, 修改某项, "第 n/m 步", resume, the preview, the
# stored columns and the ledger's month sheet all follow from this list. A new question: a
# field here, its templates (report/ask_<name>.html, field_<name> in buttons.txt) and a
# migration adding its column to reports and report_versions (tests/test_report_fields.py).
REPORT: Conversation[ReportView] = Conversation(FLOW, (
    Field("progress", "text", lambda v: v.report.progress is not None, 1000, 5,
          columns=("progress",)),
    Field("milestones", "ticks", lambda v: v.report.milestones_set,
          shown=lambda v: bool(v.open_milestones), columns=("milestones_done",),
          label="field_ticks"),
    Field("completion", "percent", lambda v: v.report.completion is not None,
          columns=("completion",)),
    Field("completion_reason", "text", lambda v: bool(v.report.completion_reason), 200, 2,
          shown=lambda v: v.needs_reason, columns=("completion_reason",)),
    Field("problems", "text", lambda v: v.report.problems is not None, 500, 1,
          columns=("problems",)),
    Field("plan", "text", lambda v: v.report.plan is not None, 500, 4, columns=("plan",)),
    Field("files", "files", lambda v: v.report.files_set),
))  # fmt: skip
STEPS = REPORT.names
LIMITS, MIN_LENGTH = REPORT.limits(), REPORT.minimums()


Outcome = StepOutcome[ReportView]


@dataclass(frozen=True, slots=True)
class Choice:
    project: Project
    period: Month | None
    state: str  # open | not_open | ended | closed | not_yet | outside
    opens: date | None = None
    reopened: bool = False  # open because an admin reopened it
    due: date | None = None  # the current month's deadline, while it is open


async def _view(
    db: Database, cal: ReportCalendar, report_id: int, step: str, editing: bool, now: datetime
) -> ReportView:
    bundle = await reports.step_bundle(db, report_id, ts(now), REPORT.stored())
    assert bundle is not None
    return _view_of(bundle, cal, step, editing)


def _view_of(
    bundle: reports.StepBundle, cal: ReportCalendar, step: str, editing: bool
) -> ReportView:
    report = bundle.report
    period = Month.parse(report.period)
    milestones = [
        m
        for m in bundle.milestones
        if Month.parse(m.month) <= period and m.done_month in (None, str(period))
    ]
    return ReportView(
        report, bundle.project, bundle.org, cal.window(period), milestones, bundle.files,
        bundle.last, step, editing, report.period in bundle.reopened,
    )  # fmt: skip


async def _move(db: Database, cal: ReportCalendar, user_id: int, report_id: int, step: str,
                editing: bool, now: datetime) -> ReportView:  # fmt: skip
    await REPORT.move(db, user_id, report_id, step, editing, now)
    return await _view(db, cal, report_id, step, editing, now)


def _owed_span(project: Project) -> tuple[Month, Month]:
    """The first and last month the project owes: 立项 after a month's deadline leaves that
    month and those before it unowed (Project.first_owed)."""
    assert project.start_month is not None and project.end_month is not None
    return Month.parse(project.first_owed or project.start_month), Month.parse(project.end_month)


def _regular(cal: ReportCalendar, project: Project, now: datetime) -> Choice:
    """The month the calendar has the project report for now, and whether it can."""
    current = cal.current_period(now)
    start, end = _owed_span(project)
    if start > end:  # 立项 after its last month's deadline: no month is owed
        return Choice(project, end, "ended")
    if current < start:
        return Choice(project, start, "not_open", cal.window(start).opens_at.date())
    period = min(current, end)
    window = cal.window(period)
    if window.is_open(now):
        return Choice(project, period, "open", due=window.due_date)
    return Choice(project, period, "ended" if current > end else "closed")


async def _choice(
    db: Database, cal: ReportCalendar, project: Project, now: datetime,
    wanted: Month | None = None,
) -> Choice:  # fmt: skip
    """Which period this project reports for now, and whether it can.

    The current month comes first while it is open and not yet filed; then a month an
    admin reopened; then the current month's filed report (to change it). A month named
    (a button's, or typed after /report) is that month, if it is open or reopened; else
    why not: outside the months owed, not yet open, or closed.
    """
    reopened = [Month.parse(p) for p in await reports.reopened(db, project.id, ts(now))]
    regular = _regular(cal, project, now)
    if wanted is not None:
        start, end = _owed_span(project)
        if wanted in reopened:
            return Choice(project, wanted, "open", reopened=True)
        if regular.period == wanted:
            return regular
        if not start <= wanted <= end:
            return Choice(project, wanted, "outside")
        if cal.window(wanted).opens_at > now:
            return Choice(project, wanted, "not_yet", cal.window(wanted).opens_at.date())
        return Choice(project, wanted, "closed")
    if regular.state == "open":
        assert regular.period is not None
        filed = await reports.of_period(db, project.id, str(regular.period))
        if filed is None or filed.version == 0 or filed.editing or not reopened:
            return regular
    if reopened:
        return Choice(project, reopened[0], "open", reopened=True)
    return regular


async def open_months(
    db: Database, cal: ReportCalendar, project: Project, now: datetime
) -> list[Choice]:
    """Every month the project can report for now: the current one while open, then those
    an admin reopened, oldest first."""
    regular = _regular(cal, project, now)
    months = [regular] if regular.state == "open" else []
    for period in await reports.reopened(db, project.id, ts(now)):
        months.append(Choice(project, Month.parse(period), "open", reopened=True))
    return months


async def open_report(
    db: Database,
    cal: ReportCalendar,
    who: Session,
    now: datetime,
    project_id: int | None = None,
    period: Month | None = None,
) -> Outcome:
    """/report: pick the project, then the month when several are open (the current one and
    those an admin reopened), then resume, start, or offer to edit that month's report.
    `period` (a button's, or typed: /report 2026-10) names the month."""
    person, user_id = who.person, who.user_id
    if person is None or person.role != "secretary" or person.org_id is None:
        return Outcome("not_secretary")
    own = await projects.of_org(db, person.org_id)
    approved = [p for p in own if p.status == "approved"]
    if not approved:
        pending = any(p.status in ("draft", "submitted", "returned") for p in own)
        return Outcome("no_approved", params={"pending": pending})
    if project_id is None and len(approved) > 1:
        choices = [await _choice(db, cal, p, now, period) for p in approved]
        return Outcome("choose", params={"choices": choices, "period": period})
    project = (
        approved[0]
        if project_id is None
        else next((p for p in approved if p.id == project_id), None)
    )
    if project is None:
        return Outcome("stale")
    if period is None:
        months = await open_months(db, cal, project, now)
        if len(months) > 1:
            return Outcome("choose_month", params={"project": project, "choices": months})
    choice = await _choice(db, cal, project, now, period)
    if choice.state != "open":
        return Outcome(f"period_{choice.state}", params={"choice": choice})
    assert choice.period is not None
    report = await reports.of_period(db, project.id, str(choice.period))
    if report is None:
        month, stamp = str(choice.period), ts(now)

        def start(conn: sqlite3.Connection) -> reports.StepBundle | None:
            """The report and the position: one commit; the new report as stored."""
            report_id = reports.create_in(conn, project.id, month, user_id, stamp)
            dialogs.place(conn, user_id, FLOW, report_id, STEPS[0], False, stamp)
            return reports.bundle_in(conn, report_id, stamp, REPORT.stored())

        bundle = await db.write(start)
        assert bundle is not None
        started = _view_of(bundle, cal, STEPS[0], False)
        return Outcome("started", started, {"late": not started.window.is_on_time(now)})
    draft = await _view(db, cal, report.id, PREVIEW, False, now)
    if report.version > 0 and not report.editing:
        return Outcome("already_submitted", draft)
    step = draft.first_unanswered()
    editing = report.version > 0
    async with db.transaction() as conn:
        await dialogs.put(conn, user_id, FLOW, report.id, step, editing, ts(now))
    late = report.version == 0 and not draft.window.is_on_time(now)
    return Outcome("resume", replace(draft, step=step, editing=editing), {"late": late})


async def submitted_now(
    db: Database, cal: ReportCalendar, who: Session, now: datetime
) -> Outcome | None:
    """The secretary's report of the open period if it is submitted and can still be changed
    (a photo sent after 提交 may belong to it); None otherwise. Writes nothing."""
    person = who.person
    if person is None or person.role != "secretary" or person.org_id is None:
        return None
    approved = [p for p in await projects.of_org(db, person.org_id) if p.status == "approved"]
    if len(approved) != 1:
        return None
    choice = await _choice(db, cal, approved[0], now)
    if choice.state != "open" or choice.period is None:
        return None
    report = await reports.of_period(db, approved[0].id, str(choice.period))
    if report is None or report.version == 0 or report.editing:
        return None
    return Outcome("file_after_submit", await _view(db, cal, report.id, PREVIEW, False, now))


async def edited_answer(
    db: Database, cal: ReportCalendar, who: Session, message_id: int, now: datetime
) -> Outcome | None:
    """What an edit to an answer of a report no longer being filled in can do: a submitted
    report that can still be changed is changed through 修改本月报告, one that cannot is
    said to be closed, a draft is continued with /report. None if the edited message
    answered no such report (the general reply). Writes nothing."""
    answer = await prompts.answer(db, who.user_id, message_id)
    if answer is None or answer.held or answer.flow != FLOW:
        return None
    bundle = await reports.step_bundle(db, answer.subject_id, ts(now), REPORT.stored())
    if bundle is None:
        return None
    view = _view_of(bundle, cal, PREVIEW, False)
    if not _allowed(who, view, now):
        return Outcome("edited_closed", view)
    return Outcome("edited_draft" if view.report.editing else "edited_submitted", view)


def _allowed(who: Session, view: ReportView, now: datetime) -> bool:
    person = who.person
    return (
        person is not None
        and person.role == "secretary"
        and view.project.org_id == person.org_id
        and view.project.status == "approved"
        and (view.window.is_open(now) or view.reopened)
    )


async def current(db: Database, cal: ReportCalendar, who: Session, now: datetime) -> Outcome:
    """The open question again (after a stale button or an unexpected message)."""
    own = REPORT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await _view(db, cal, own[0], own[1], own[2], now)
    return Outcome("ask", view)


async def wrong_kind(db: Database, cal: ReportCalendar, who: Session, now: datetime) -> Outcome:
    """A sticker, voice or the like: say what the open step takes, and ask again."""
    again = await current(db, cal, who, now)
    if again.view is None:
        return again
    wanted = {"files": "send_files", PREVIEW: "use_buttons",
              "milestones": "use_milestone_buttons"}  # fmt: skip
    return Outcome(wanted.get(again.view.step, "text_only"), again.view)


def _stored(
    user_id: int, view: ReportView, values: dict[str, object], now: datetime,
    conn: sqlite3.Connection, *, said: Said | None = None, stay: str | None = None,
) -> Outcome:  # fmt: skip
    """Inside the step's one write: the answer, which message carried it and the next step.
    An answer out of turn (`stay`: the open step) changes its field and stays put."""
    # The view is this update's read of the report, whose answers only this person's
    # updates change, one after another: the stored row is the view with these values.
    fresh = replace(view, report=_with_answers(view.report, values))
    following = stay if stay is not None else REPORT.after(fresh, view.step)
    reports.set_fields(conn, view.report.id, values, ts(now))
    dialogs.place(conn, user_id, FLOW, view.report.id, following, view.editing, ts(now))
    note_answer(conn, user_id, said, FLOW, view.report.id, view.step, now)
    moved = replace(fresh, step=following)
    if stay is not None:
        return Outcome("changed", moved, {"answered": view.step, "said": said})
    return Outcome("saved", moved, {"answered": view.step})


def _with_answers(report: Report, values: dict[str, object]) -> Report:
    """The working copy as reports.set_fields leaves it."""
    return replace(report, editing=True, answers={**report.answers, **values})


def _text_problem(step: str, text: str) -> tuple[str, dict[str, Any]] | None:
    return text_problem(text, LIMITS[step], MIN_LENGTH[step])


def parse_percent(text: str) -> int | None:
    """A completion typed as 70, 70% or ７０％; None if it is not a whole number 0–100."""
    match = PERCENT.match(text)
    if not match:
        return None
    value = int(match.group(1).translate(str.maketrans("０１２３４５６７８９", "0123456789")))
    return value if 0 <= value <= 100 else None


def _read(view: ReportView, text: str) -> tuple[dict[str, object] | None, str]:
    """The values a typed answer to the view's step stores, or why it cannot."""
    step = view.step
    if step in ("progress", "completion_reason", "plan", "problems"):
        value = text.strip()
        if step == "problems" and says_none(value):
            value = "无"  # the 问题清单 never lists a way of saying "none" as a problem
        return ({step: value}, "") if _text_problem(step, value) is None else (None, "text")
    if step == "completion":
        percent = parse_percent(text)
        if percent is None:
            return None, "completion_range"
        values: dict[str, object] = {"completion": percent}
        if not (view.last and percent < view.last.completion):
            values["completion_reason"] = None  # no reason needed any more
        return values, ""
    if step in ("milestones", "files"):
        if text.strip() in DONE_WORDS or says_none(text):
            return {f"{step}_set": 1}, ""
        return None, "use_milestone_buttons" if step == "milestones" else "send_files"
    return None, "use_buttons"


async def plausible(
    db: Database, cal: ReportCalendar, who: Session, text: str, now: datetime
) -> bool:
    """Whether the text would be taken as an answer to the open step (nothing is stored)."""
    own = REPORT.position(who.dialog)
    if own is None:
        return False
    return _read(await _view(db, cal, *own, now), clean_text(text))[0] is not None


async def answer(
    db: Database, cal: ReportCalendar, who: Session, text: str, now: datetime,
    said: Said | None = None,
) -> Outcome:  # fmt: skip
    """A typed answer to the open step (or, `said.at`, to an earlier one: the position stays):
    read, checked and stored in one write, which a refused answer leaves empty."""
    own = REPORT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    # Invisible characters out first, so "empty" and the limits see what a reader sees.
    return await db.write(partial(_answer, cal, who, own, clean_text(text), now, said))


def _answer(
    cal: ReportCalendar, who: Session, own: tuple[int, str, bool], text: str, now: datetime,
    said: Said | None, conn: sqlite3.Connection,
) -> Outcome:  # fmt: skip
    bundle = reports.bundle_in(conn, own[0], ts(now), REPORT.stored())
    assert bundle is not None
    view = _view_of(bundle, cal, own[1], own[2])
    if not _allowed(who, view, now):
        dialogs.end(conn, who.user_id)
        return Outcome("closed_meanwhile", view)
    stay = None
    if said is not None and said.at is not None and said.at != view.step:
        stay, view = view.step, replace(view, step=said.at)
    values, problem = _read(view, text)
    if values is None:
        if problem == "text":
            found = _text_problem(view.step, text.strip())
            assert found is not None
            return Outcome(found[0], view, found[1])
        return Outcome(problem, view)
    return _stored(who.user_id, view, values, now, conn, said=said, stay=stay)


async def _closed(db: Database, user_id: int, view: ReportView) -> Outcome:
    await leave(db, user_id)
    return Outcome("closed_meanwhile", view)


async def button(
    db: Database, cal: ReportCalendar, who: Session, report_id: int, step: str, action: str,
    arg: str, now: datetime,
) -> Outcome:  # fmt: skip
    """A button of the report; one from another report, step or person changes nothing."""
    if action == "edit_submitted":
        return await begin_edit(db, cal, who, report_id, now)
    own = REPORT.position(who.dialog, report_id, step)
    if own is None:
        return Outcome("stale")
    user_id = who.user_id
    view = await _view(db, cal, *own, now)
    if not _allowed(who, view, now):
        return await _closed(db, user_id, view)
    if action == "back":
        return await back(db, cal, who, now)
    if action == "cancel":
        return await cancel(db, cal, who, now)
    if action == "toggle" and step == "milestones" and arg.isdigit():
        ids = {m.id for m in view.open_milestones}
        if int(arg) not in ids:
            return Outcome("stale")
        ticked = view.ticked ^ {int(arg)}
        async with db.transaction() as conn:
            await conn.run(reports.set_fields, report_id, {"milestones_done": sorted(ticked)},
                           ts(now))  # fmt: skip
        toggled = _with_answers(view.report, {"milestones_done": sorted(ticked)})
        return Outcome("toggled", replace(view, report=toggled))
    if action == "clear" and step == "files":
        async with db.transaction() as conn:
            await reports.clear_files(conn, report_id)
            await conn.run(reports.set_fields, report_id, {"files_set": 0}, ts(now))
        return Outcome("files_cleared", await _view(db, cal, *own, now))
    if action == "public" and step == "files" and arg.isdigit():
        # 可公开: the photo may appear in the 晒 channel's monthly post (off by default).
        async with db.transaction() as conn:
            flipped = await reports.flip_photo_public(conn, report_id, int(arg))
        if not flipped:
            return Outcome("stale")
        return Outcome("toggled", await _view(db, cal, *own, now))
    if action == "next" and step in ("milestones", "files"):
        flag = "milestones_set" if step == "milestones" else "files_set"
        return await db.write(partial(_stored, user_id, view, {flag: 1}, now))
    if action == "pct" and step == "completion" and arg.isdigit() and int(arg) <= 100:
        values, _ = _read(view, arg)
        assert values is not None
        return await db.write(partial(_stored, user_id, view, values, now))
    if action == "none" and step == "problems":
        return await db.write(partial(_stored, user_id, view, {"problems": "无"}, now))
    if action == "edit" and step == PREVIEW:
        return Outcome("edit_menu", view)
    if action == "field" and step == PREVIEW and arg in REPORT.editable(view):
        if arg == "files":
            async with db.transaction() as conn:
                await reports.keep_files_before_edit(conn, report_id)
        return Outcome("ask", await _move(db, cal, user_id, report_id, arg, True, now))
    if action == "preview" and step == PREVIEW:
        return Outcome("ask", view)
    if action == "submit" and step == PREVIEW:
        return await submit(db, cal, user_id, view, now)
    return Outcome("stale")


async def add_file(
    db: Database, cal: ReportCalendar, who: Session, kind: str, file_id: str, unique_id: str,
    now: datetime,
) -> Outcome:  # fmt: skip
    """A photo or document sent as evidence (佐证材料) at the files step."""
    own = REPORT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await _view(db, cal, *own, now)
    if view.step != "files":
        wanted = {PREVIEW: "use_buttons", "milestones": "use_milestone_buttons"}
        return Outcome(wanted.get(view.step, "text_only"), view)
    if not _allowed(who, view, now):
        return await _closed(db, who.user_id, view)
    if len(view.files) >= MAX_FILES:
        return Outcome("files_full", view, {"limit": MAX_FILES})
    async with db.transaction() as conn:
        added = await reports.add_file(conn, view.report.id, kind, file_id, unique_id, ts(now))
    fresh = await _view(db, cal, *own, now)
    return Outcome("file_added" if added else "file_duplicate", fresh,
                   {"count": len(fresh.files), "limit": MAX_FILES})  # fmt: skip


async def back(db: Database, cal: ReportCalendar, who: Session, now: datetime) -> Outcome:
    """上一步: the previous applicable step (from the preview: the last one)."""
    own = REPORT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    view = await _view(db, cal, *own, now)
    target = REPORT.before(view)
    if target is None:
        return Outcome("first_step", view)
    return Outcome("ask", await _move(db, cal, who.user_id, view.report.id, target, False, now))


async def cancel(db: Database, cal: ReportCalendar, who: Session, now: datetime) -> Outcome:
    """取消: leave; the answers stay in the working copy for later. While one item is being
    changed, 取消 drops that change and gives the preview (and its 提交) back."""
    own = REPORT.position(who.dialog)
    if own is None:
        return Outcome("no_dialog")
    report_id, step, editing = own
    if editing and step != PREVIEW:
        if step == "files":  # the files and their 可公开 as they were before this change
            async with db.transaction() as conn:
                if not await reports.restore_files_before_edit(conn, report_id):
                    await reports.restore_public(conn, report_id)
        return Outcome("edit_cancelled", await _move(db, cal, who.user_id, report_id, PREVIEW,
                                                     True, now))  # fmt: skip
    await leave(db, who.user_id)
    return Outcome("cancelled", await _view(db, cal, *own, now))


async def begin_edit(db: Database, cal: ReportCalendar, who: Session, report_id: int,
                     now: datetime) -> Outcome:  # fmt: skip
    """修改 a submitted report while its period is open (or reopened)."""
    user_id = who.user_id
    report = await reports.get(db, report_id)
    if report is None:
        return Outcome("stale")
    view = await _view(db, cal, report_id, PREVIEW, True, now)
    if not _allowed(who, view, now):
        person = who.person
        if person is None or person.role != "secretary" or person.org_id != view.project.org_id:
            return Outcome("stale")
        return Outcome("period_closed", view, {"choice": Choice(view.project, None, "closed")})
    async with db.transaction() as conn:
        await reports.set_editing(conn, report_id, ts(now))
    return Outcome("ask", await _move(db, cal, user_id, report_id, PREVIEW, True, now))


async def submit(db: Database, cal: ReportCalendar, user_id: int, view: ReportView,
                 now: datetime) -> Outcome:  # fmt: skip
    """提交: freeze the working copy as a version and record milestones done this month."""
    missing = view.first_unanswered()
    if missing != PREVIEW:
        moved = await _move(db, cal, user_id, view.report.id, missing, False, now)
        return Outcome("ask", moved)
    stamp = ts(now)
    on_time = view.window.is_on_time(now)
    # The view is this update's read of the working copy, and only this person's updates
    # (handled one at a time) change it: it is the stored row, not read again to file it.
    fresh = view.report
    # Only milestones still open to this month count (not one done in another month).
    offered = {m.id for m in view.open_milestones}
    ticked = [m for m in fresh.milestones_done if m in offered]
    unticked = ticked != fresh.milestones_done
    if unticked:
        fresh = _with_answers(fresh, {"milestones_done": ticked})

    def file(conn: sqlite3.Connection) -> tuple[int, reports.StepBundle | None]:
        """The version, milestones and end of the dialog: one commit; the report as filed."""
        if unticked:
            reports.set_fields(conn, fresh.id, {"milestones_done": ticked}, stamp)
        version = reports.add_version_in(conn, fresh, view.files, user_id, stamp, on_time)
        reports.set_milestone_done_in(conn, view.project.id, ticked, fresh.period)
        reports.close_reopened(conn, view.project.id, fresh.period)
        dialogs.end(conn, user_id)
        if not on_time:  # the drafts counting it change: the clock's next tick sends them
            bulletins.mark_late_in(conn, fresh.id, fresh.period, stamp)
        return version, reports.bundle_in(conn, fresh.id, stamp, REPORT.stored())

    version, bundle = await db.write(file)
    assert bundle is not None
    done = _view_of(bundle, cal, PREVIEW, False)
    params = {"version": version, "this_on_time": on_time, "was_reopened": view.reopened}
    return Outcome("submitted", done, params)


# -- admins -------------------------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Reopening:
    # reopened | usage | not_found | own | not_approved | bad_period | outside | not_owed
    # | still_open | not_yet
    outcome: str
    project: Project | None = None
    org: Org | None = None
    period: Month | None = None
    until: datetime | None = None
    secretary_id: int | None = None
    window: ReportWindow | None = None


def parse_period(text: str) -> Month | None:
    """A period typed by an admin: 2026-11, 2026.11, 2026年11月."""
    from bot.services.months import find_months

    text = text.strip()
    found = find_months(text)
    if len(found) != 1 or found[0][0] is None or found[0][1].span() != (0, len(text)):
        return None
    return found[0][0]


async def reopen(
    db: Database, cal: ReportCalendar, admin_id: int, args: list[str], now: datetime
) -> Reopening:
    """/reopen <项目编号> <期间>: let the secretary file or change a closed month's report."""
    from bot.services.projects import find_project

    if len(args) != 2:
        return Reopening("usage")
    project = await find_project(db, args[0])
    if project is None or not await scopes.acting(db, admin_id, project.org_id):
        return Reopening("not_found")  # outside the admin's subtree: not shown to exist
    org = await orgs.by_id(db, project.org_id)
    if not await scopes.decides_for(db, admin_id, project.org_id):
        return Reopening("own", project, org)  # their own organization's: the level above
    if project.status != "approved":
        return Reopening("not_approved", project, org)
    period = parse_period(args[1])
    if period is None:
        return Reopening("bad_period", project, org)
    assert project.start_month is not None and project.end_month is not None
    if not Month.parse(project.start_month) <= period <= Month.parse(project.end_month):
        return Reopening("outside", project, org, period)
    if project.first_owed is not None and str(period) < project.first_owed:
        return Reopening("not_owed", project, org, period)  # 立项 after its deadline
    window = cal.window(period)
    if now < window.opens_at:
        return Reopening("not_yet", project, org, period, window=window)
    if window.is_open(now):
        return Reopening("still_open", project, org, period, window=window)
    until = now + timedelta(days=REOPEN_DAYS)
    async with db.transaction() as conn:
        await reports.reopen(conn, project.id, str(period), admin_id, ts(now), ts(until))
    secretary = await people.secretary_of(db, project.org_id)
    return Reopening("reopened", project, org, period, until,
                     secretary.user_id if secretary else None, window)  # fmt: skip


@dataclass(frozen=True, slots=True)
class PeriodLine:
    project: Project
    org: Org
    state: str  # on_time | late | missing | draft | exempt
    report: Report | None
    branch: Org | None = None  # the sub-organization of the scope it belongs to


# What /reports lists by name: the projects someone has to chase, most urgent first.
EXCEPTIONS = ("missing", "late", "draft")
STATE_ORDER = {"missing": 0, "draft": 1, "late": 2, "on_time": 3, "exempt": 4}
MAX_GROUPS = 20  # sub-organizations listed (one line each) before the rest are summed up
MAX_EXPANDED = 30  # projects of an expanded sub-organization listed by name


@dataclass(frozen=True, slots=True)
class Branch:
    """One sub-organization's projects to chase in a period: how many in each state and, for
    the one expanded, the first of them by name."""

    org: Org
    counts: dict[str, int]
    shown: list[PeriodLine] = field(default_factory=list)

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)

    @property
    def size(self) -> int:
        return sum(self.counts.values())


@dataclass(frozen=True, slots=True)
class PeriodStatus:
    """A period's totals and the sub-organizations to chase; counts, not the projects
    themselves, so that a province's status comes back from the export process small."""

    outcome: str  # ok | bad_period | not_found (a sub-organization outside the scope)
    period: Month | None = None
    window: ReportWindow | None = None
    counts: dict[str, int] = field(default_factory=dict)  # projects owing it, by state
    branches: list[Branch] = field(default_factory=list)  # with something to chase
    expanded: int | None = None  # the sub-organization listed by name (its org id)

    def count(self, state: str) -> int:
        return self.counts.get(state, 0)

    @property
    def owing(self) -> int:
        """Every project owing the period, the exempt too."""
        return sum(self.counts.values())

    @property
    def expected(self) -> int:
        """应报: every project owing the period but those exempt."""
        return self.owing - self.count("exempt")

    @property
    def filed(self) -> int:
        return self.count("on_time") + self.count("late")

    @property
    def shown(self) -> list[Branch]:
        """The sub-organizations listed, one line each (most to chase first)."""
        return self.branches[:MAX_GROUPS]

    @property
    def hidden(self) -> list[Branch]:
        return self.branches[MAX_GROUPS:]

    @property
    def hidden_projects(self) -> int:
        return sum(b.size for b in self.hidden)


async def period_lines(
    db: Database, period: Month, root: int | None, branch_of: Mapping[int, Org] | None = None
) -> list[PeriodLine]:
    """Every project owing a report for `period` (of `root`'s subtree, None: all) with its
    state, most urgent first; with `branch_of` (summary.branches), each with the
    sub-organization of `root` it belongs to (the root's own projects: the root)."""
    owing = await projects.active_in(db, str(period), root)
    filed = await reports.for_period(db, str(period), root)
    exempt = await deliveries.exemptions(db, str(period))
    names = await orgs.by_ids(db, {project.org_id for project in owing})
    lines = []
    for project in owing:
        report = filed.get(project.id)
        if report is not None and report.version > 0:
            state = "on_time" if report.on_time else "late"
        elif project.org_id in exempt:
            state = "exempt"
        else:
            state = "draft" if report else "missing"
        # A project's org_id is a foreign key into orgs: the organization is found.
        org = names[project.org_id]
        branch = branch_of.get(org.id, org) if branch_of is not None else org
        lines.append(PeriodLine(project, org, state, report, branch))
    lines.sort(key=lambda line: (STATE_ORDER[line.state], line.org.code))
    return lines


async def period_status(
    db: Database, cal: ReportCalendar, text: str, now: datetime,
    scope: scopes.AdminScope | None = None,
) -> PeriodStatus:  # fmt: skip
    """/reports [期间]: the month's totals, then the projects to chase (未报, 逾期, 填写中) by
    sub-organization; for an admin of a subtree, its projects only."""
    period = parse_period(text) if text.strip() else cal.current_period(now)
    if period is None:
        return PeriodStatus("bad_period")
    return await status_of(db, cal, period, scope)


async def status_of(
    db: Database, cal: ReportCalendar, period: Month, scope: scopes.AdminScope | None = None,
    expand: int | None = None,
) -> PeriodStatus:  # fmt: skip
    """A period's status for /reports, with the sub-organization `expand` listed by name;
    not_found if `expand` is no sub-organization of the scope (a forged button). Built in
    the export process: a province's projects would hold the event loop."""
    root = scope.root_id if scope is not None else None
    return await db.off_loop(status_from, cal, period, root, expand, lookup=True)


async def status_from(
    view: Database, cal: ReportCalendar, period: Month, root: int | None, expand: int | None
) -> PeriodStatus:
    """status_of's work, in the export process (Database.off_loop)."""
    _, branch_of = await summary.branches(view, root)
    if expand is not None and expand not in {branch.id for branch in branch_of.values()}:
        return PeriodStatus("not_found")
    lines = await period_lines(view, period, root, branch_of)
    grouped: dict[int, list[PeriodLine]] = {}
    orgs_by_id: dict[int, Org] = {}
    for line in lines:
        if line.state in EXCEPTIONS and line.branch is not None:
            grouped.setdefault(line.branch.id, []).append(line)
            orgs_by_id[line.branch.id] = line.branch
    branches = [
        Branch(orgs_by_id[org_id], dict(Counter(line.state for line in chase)),
               chase[:MAX_EXPANDED] if org_id == expand else [])
        for org_id, chase in grouped.items()
    ]  # fmt: skip
    branches.sort(key=lambda b: (-b.count("missing"), -b.size, b.org.code))
    counts = dict(Counter(line.state for line in lines))
    return PeriodStatus("ok", period, cal.window(period), counts, branches, expand)

"""督办单: admins issue numbered supervision notices; the project's secretary signs and
answers them; admins close them or return them for another answer.

Life: 已下发 (issued) → 已签收 (signed) → 已反馈 (answered) → 已办结 (closed), or from
已反馈 back to 已签收 with a reason (退回), every step time-stamped with who did it."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from bot.services import scopes
from bot.services.calendar import ReportCalendar
from bot.services.conversation import PREVIEW, Conversation, Field, SideStep, StepOutcome, leave
from bot.services.months import fold
from bot.services.projects import find_project
from bot.services.review import deciders
from bot.services.text import clean_text
from storage import dialogs, notices, orgs, people, projects
from storage.db import Database
from storage.rows import Notice, NoticeEvent, Org, Person, Project, ts

ISSUE_FLOW, ANSWER_FLOW, RETURN_FLOW = "duban_issue", "duban_answer", "duban_return"
LIMITS = {"problem": 500, "requirement": 500, "feedback": 1000, "reason": 500}
DAY_CHOICES = (3, 7, 15, 30)
MAX_DAYS = 180
MAX_FILES = 9
SIGN_WITHIN = timedelta(hours=24)
DAYS = re.compile(r"^\s*(\d{1,3})\s*(?:天|日|d)?\s*$")
NUMBER = re.compile(r"^\s*(?:督办\s*[〔\[(（]?\s*(\d{4})\s*[〕\])）]?\s*第?\s*(\d{1,5})\s*号?"
                    r"|(?:(\d{4})\s*-\s*)?(\d{1,5}))\s*$")  # fmt: skip
STATUS_WORDS = {"已下发": ("issued",), "未签收": ("issued",), "已签收": ("signed",),
                "已反馈": ("answered",), "待办结": ("answered",), "已办结": ("closed",),
                "在办": ("issued", "signed", "answered"), "逾期": ("issued", "signed"),
                "已撤销": ("withdrawn",)}  # fmt: skip


@dataclass(frozen=True, slots=True)
class NoticeView:
    notice: Notice
    project: Project
    org: Org
    secretary: Person | None
    events: list[NoticeEvent]
    step: str = ""
    deadline_end: datetime | None = None  # the first late moment
    now: datetime | None = None
    editing: bool = False  # (the engine's; a notice's questions are not changed one by one)

    @property
    def number(self) -> int:
        return DRAFT.number(self) if self.notice.status == "draft" else ANSWER.number(self)

    @property
    def overdue(self) -> bool:
        """Not answered by the deadline, or not signed within a day."""
        return self.now is not None and is_overdue(self.notice, self.deadline_end, self.now)

    @property
    def example_deadline(self) -> date | None:
        """A date for the deadline prompt's example: two weeks on, so after today as asked."""
        return None if self.now is None else self.now.date() + timedelta(days=14)

    @property
    def days_left(self) -> int | None:
        if self.deadline_end is None or self.now is None:
            return None
        return (self.deadline_end - self.now).days


Outcome = StepOutcome[NoticeView]


# Drafting a notice: the problem comes with /duban; then these, then the preview and 下发.
DRAFT: Conversation[NoticeView] = Conversation(ISSUE_FLOW, (
    Field("requirement", "text", lambda v: bool(v.notice.requirement), LIMITS["requirement"], 1),
    Field("deadline", "deadline", lambda v: v.notice.deadline is not None),
))  # fmt: skip
# Answering a notice: what was fixed, then 佐证材料 (optional, so asked every time: 完成/跳过).
ANSWER: Conversation[NoticeView] = Conversation(ANSWER_FLOW, (
    Field("text", "text", lambda v: bool(v.notice.feedback), LIMITS["feedback"], 1),
    Field("files", "files", lambda v: False),
))  # fmt: skip
# 退回's reason: a one-question side-step; its step is the round it returns.
RETURN: SideStep = SideStep(RETURN_FLOW, SideStep.asking("reason", LIMITS["reason"]))


def is_overdue(notice: Notice, end: datetime | None, now: datetime) -> bool:
    """The one rule for an overdue 督办单: not answered by the deadline, or not signed
    within a day of being issued (lists, digests and the ledger all use it)."""
    if notice.status not in ("issued", "signed"):
        return False
    late = end is not None and now >= end
    unsigned = notice.status == "issued" and notice.issued_at is not None and (
        now >= notice.issued_at + SIGN_WITHIN)  # fmt: skip
    return late or unsigned


def deadline_end(notice: Notice, cal: ReportCalendar) -> datetime | None:
    if notice.deadline is None:
        return None
    day = date.fromisoformat(notice.deadline) + timedelta(days=1)
    return datetime(day.year, day.month, day.day, tzinfo=cal.tz)


async def view_of(db: Database, cal: ReportCalendar, notice_id: int, now: datetime,
                  step: str = "") -> NoticeView | None:  # fmt: skip
    notice = await notices.get(db, notice_id)
    if notice is None:
        return None
    project = await projects.get(db, notice.project_id)
    assert project is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    return NoticeView(
        notice, project, org, await people.secretary_of(db, project.org_id),
        await notices.events(db, notice_id), step, deadline_end(notice, cal), now,
    )  # fmt: skip


async def _is_admin(
    db: Database, user_id: int, notice_id: int | None = None, project: Project | None = None
) -> bool:
    """Is the person an admin now, over this notice's (or project's) organization?"""
    scope = await scopes.admin_scope(db, user_id)
    if scope is None:
        return False
    if project is None and notice_id is not None:
        notice = await notices.get(db, notice_id)
        project = await projects.get(db, notice.project_id) if notice else None
    return project is None or await scopes.covers(db, scope, project.org_id)


async def _refused(db: Database, user_id: int, notice_id: int) -> Outcome | None:
    """A button press on a notice by someone who may not act on it: "not_admin" for no admin;
    for an admin outside its subtree "stale", as if the notice did not exist; "own" for one
    of the project's own organization."""
    if await scopes.admin_scope(db, user_id) is None:
        return Outcome("not_admin")
    if not await _is_admin(db, user_id, notice_id):
        return Outcome("stale")
    notice = await notices.get(db, notice_id)
    project = await projects.get(db, notice.project_id) if notice else None
    if project is not None and not await scopes.decides_for(db, user_id, project.org_id):
        return Outcome("own")
    return None


async def admins_for(db: Database, notice_id: int) -> list[int]:
    """Who gets a 反馈, once each: the admins of the nearest level above the project's
    organization that has any besides its secretary (else the top level), and the admin who
    issued the notice while they still may decide it."""
    notice = await notices.get(db, notice_id)
    project = await projects.get(db, notice.project_id) if notice else None
    if notice is None or project is None:
        return []
    found = await deciders(db, project)
    if notice.created_by not in found and await scopes.decides_for(
        db, notice.created_by, project.org_id
    ):
        found.append(notice.created_by)
    return found


def _text_problem(kind: str, text: str) -> dict[str, Any] | None:
    value = text.strip()
    if not value:
        return {"problem": "empty"}
    if len(value) > LIMITS[kind]:
        return {"problem": "too_long", "limit": LIMITS[kind], "length": len(value)}
    return None


def parse_deadline(text: str, now: datetime, cal: ReportCalendar) -> date | None:
    """'7天', '7' or a date '2026-12-01': a day after today, within 180 days, moved to a
    working day."""
    today = now.astimezone(cal.tz).date()
    text = fold(text)  # ２０２７－０４－０１ is 2027-04-01
    if match := DAYS.match(text):
        days = int(match.group(1))
        if not 1 <= days <= MAX_DAYS:
            return None
        return cal.work.on_or_after(today + timedelta(days=days))
    try:
        day = date.fromisoformat(text.strip())
    except ValueError:
        return None
    if not today < day <= today + timedelta(days=MAX_DAYS):
        return None
    return cal.work.on_or_after(day)


# -- issuing (admins) ---------------------------------------------------------------------------


async def start_issue(
    db: Database, cal: ReportCalendar, admin_id: int, text: str, now: datetime
) -> Outcome:
    """/duban <项目编号> <发现的问题> [| 整改要求 | 期限]: a draft, then its remaining questions."""
    text = clean_text(text)  # invisible characters out, so "empty" sees what a reader sees
    if not await _is_admin(db, admin_id):
        return Outcome("not_admin")
    parts = [p.strip() for p in re.split(r"[|｜]", text)]
    head = parts[0].split(maxsplit=1)
    if len(head) < 2 or len(parts) not in (1, 3):
        return Outcome("usage")
    project = await find_project(db, head[0])
    if project is None or not await _is_admin(db, admin_id, project=project):
        # Outside the admin's subtree: not shown to exist.
        return Outcome("project_not_found", params={"query": head[0][:30]})
    if not await scopes.decides_for(db, admin_id, project.org_id):
        return Outcome("project_own", params={"project": project})  # the level above's
    if project.status != "approved":
        return Outcome("project_closed", params={"project": project})
    if problem := _text_problem("problem", head[1]):
        return Outcome("bad_text", params={**problem, "field": "problem"})
    stamp = ts(now)
    async with db.transaction() as conn:
        notice_id = await notices.create_draft(conn, project.id, head[1].strip(), admin_id, stamp)
        step = "requirement"
        params: dict[str, Any] = {}
        if len(parts) == 3:
            if req_problem := _text_problem("requirement", parts[1]):
                params = {**req_problem, "field": "requirement"}
            else:
                await notices.set_draft(conn, notice_id, {"requirement": parts[1]})
                step = "deadline"
                day = parse_deadline(parts[2], now, cal)
                if day is None:
                    params = {"problem": "bad_deadline", "max": MAX_DAYS}
                else:
                    await notices.set_draft(conn, notice_id, {"deadline": day.isoformat()})
                    step = PREVIEW
        await dialogs.put(conn, admin_id, ISSUE_FLOW, notice_id, step, False, stamp)
    view = await view_of(db, cal, notice_id, now, step)
    return Outcome("ask", view, params)


async def _own_draft(db: Database, admin_id: int, notice_id: int | None = None,
                     step: str | None = None) -> tuple[int, str] | None:  # fmt: skip
    dialog = DRAFT.own(await dialogs.get(db, admin_id), notice_id, step)
    return None if dialog is None else (dialog.subject_id, dialog.step)


async def issue_text(
    db: Database, cal: ReportCalendar, admin_id: int, text: str | None, now: datetime
) -> Outcome:
    """The admin's answer to 整改要求 or 期限 while drafting (None: not text)."""
    text = clean_text(text) if text is not None else None
    own = await _own_draft(db, admin_id)
    if own is None:
        return Outcome("no_dialog")
    notice_id, step = own
    if not await _is_admin(db, admin_id, notice_id):  # removed while drafting
        return await _drop_draft(db, admin_id, notice_id)
    view = await view_of(db, cal, notice_id, now, step)
    if text is None:
        return Outcome("ask", view, {"problem": "text_only"})
    if step == "requirement":
        if problem := _text_problem("requirement", text):
            return Outcome("ask", view, {**problem, "field": "requirement"})
        async with db.transaction() as conn:
            await notices.set_draft(conn, notice_id, {"requirement": text.strip()})
        fresh = await view_of(db, cal, notice_id, now, step)
        assert fresh is not None
        following = DRAFT.after(fresh, step)
        await DRAFT.move(db, admin_id, notice_id, following, False, now)
        return Outcome("ask", await view_of(db, cal, notice_id, now, following))
    if step == "deadline":
        day = parse_deadline(text, now, cal)
        if day is None:
            return Outcome("ask", view, {"problem": "bad_deadline", "max": MAX_DAYS})
        return await _set_deadline(db, cal, admin_id, notice_id, day, now)
    return Outcome("ask", view, {"problem": "use_buttons"})


async def issue_back(db: Database, cal: ReportCalendar, admin_id: int,
                     now: datetime) -> Outcome:  # fmt: skip
    """上一步 while drafting: 期限 back to 整改要求, the preview back to 期限."""
    own = await _own_draft(db, admin_id)
    if own is None:
        return Outcome("no_dialog")
    notice_id, step = own
    view = await view_of(db, cal, notice_id, now, step)
    assert view is not None
    previous = DRAFT.before(view)
    if previous is None:
        return Outcome("ask", view, {"problem": "first_step"})
    await DRAFT.move(db, admin_id, notice_id, previous, False, now)
    return Outcome("ask", await view_of(db, cal, notice_id, now, previous))


async def issue_leave(db: Database, admin_id: int) -> Outcome:
    """取消 or /cancel while drafting."""
    own = await _own_draft(db, admin_id)
    if own is None:
        return Outcome("no_dialog")
    return await cancel_issue(db, admin_id, *own)


async def _set_deadline(db: Database, cal: ReportCalendar, admin_id: int, notice_id: int,
                        day: date, now: datetime) -> Outcome:  # fmt: skip
    async with db.transaction() as conn:
        await notices.set_draft(conn, notice_id, {"deadline": day.isoformat()})
        await dialogs.put(conn, admin_id, ISSUE_FLOW, notice_id, PREVIEW, False, ts(now))
    return Outcome("ask", await view_of(db, cal, notice_id, now, PREVIEW))


async def _drop_draft(db: Database, admin_id: int, notice_id: int) -> Outcome:
    """An admin who lost the right mid-draft: the draft goes, nothing was issued."""
    async with db.transaction() as conn:
        await notices.delete_draft(conn, notice_id)
        await dialogs.clear(conn, admin_id)
    return Outcome("not_admin")


async def cancel_issue(db: Database, admin_id: int, notice_id: int, step: str) -> Outcome:
    """取消 while drafting: the draft is dropped (nothing was issued)."""
    own = await _own_draft(db, admin_id, notice_id, step)
    if own is None:
        return Outcome("stale")
    async with db.transaction() as conn:
        await notices.delete_draft(conn, notice_id)
        await dialogs.clear(conn, admin_id)
    return Outcome("issue_cancelled")


async def issue_button(
    db: Database, cal: ReportCalendar, admin_id: int, notice_id: int, step: str, action: str,
    arg: str, now: datetime,
) -> Outcome:  # fmt: skip
    """A button of the drafting conversation: 3天/7天/…, 下发, 取消."""
    if refused := await _refused(db, admin_id, notice_id):
        return refused
    if await _own_draft(db, admin_id, notice_id, step) is None:
        return Outcome("stale")
    if action == "days" and step == "deadline" and arg.isdigit() and int(arg) in DAY_CHOICES:
        today = now.astimezone(cal.tz).date()
        day = cal.work.on_or_after(today + timedelta(days=int(arg)))
        return await _set_deadline(db, cal, admin_id, notice_id, day, now)
    if action == "cancel":
        return await cancel_issue(db, admin_id, notice_id, step)
    if action == "send" and step == PREVIEW:
        return await _issue(db, cal, admin_id, notice_id, now)
    return Outcome("stale")


async def _issue(db: Database, cal: ReportCalendar, admin_id: int, notice_id: int,
                 now: datetime) -> Outcome:  # fmt: skip
    stamp = ts(now)
    year = now.astimezone(cal.tz).year
    async with db.transaction() as conn:
        notice = await notices.get(conn, notice_id)
        project = await projects.get(conn, notice.project_id) if notice else None
        if notice is None or project is None or project.status != "approved":
            await dialogs.clear(conn, admin_id)
            return Outcome("project_closed", params={"project": project})
        today = now.astimezone(cal.tz).date()
        if notice.deadline is None or date.fromisoformat(notice.deadline) <= today:
            # An old preview: its deadline has passed meanwhile. Ask for a new one.
            await dialogs.put(conn, admin_id, ISSUE_FLOW, notice_id, "deadline", False, stamp)
            view = await view_of(db, cal, notice_id, now, "deadline")
            return Outcome("ask", view, {"problem": "bad_deadline", "max": MAX_DAYS})
        seq = await notices.issue(conn, notice_id, year, stamp)
        if not seq:
            return Outcome("stale")
        await notices.record(conn, notice_id, "issue", 1, admin_id, stamp)
        await dialogs.clear(conn, admin_id)
    return Outcome("issued", await view_of(db, cal, notice_id, now))


# -- the secretary ------------------------------------------------------------------------------


async def _secretary_of_notice(db: Database, user_id: int, notice_id: int) -> Notice | None:
    notice = await notices.get(db, notice_id)
    if notice is None or notice.status == "draft":
        return None
    project = await projects.get(db, notice.project_id)
    person = await people.get(db, user_id)
    if project is None or person is None or person.org_id != project.org_id:
        return None
    return notice


async def sign(db: Database, cal: ReportCalendar, user_id: int, notice_id: int,
               now: datetime) -> Outcome:  # fmt: skip
    """签收: only the project's secretary, only an issued notice."""
    notice = await _secretary_of_notice(db, user_id, notice_id)
    if notice is None:
        return Outcome("not_yours")
    if notice.status != "issued":
        return Outcome("already_signed", await view_of(db, cal, notice_id, now))
    async with db.transaction() as conn:
        if await notices.move(conn, notice_id, ("issued",), "signed", ts(now)):
            await notices.record(conn, notice_id, "sign", notice.round, user_id, ts(now))
    return Outcome("signed", await view_of(db, cal, notice_id, now))


async def start_answer(db: Database, cal: ReportCalendar, user_id: int, notice_id: int,
                       round_: int, now: datetime) -> Outcome:  # fmt: skip
    """反馈整改情况: open the answer (signed notices, current round)."""
    notice = await _secretary_of_notice(db, user_id, notice_id)
    if notice is None:
        return Outcome("not_yours")
    if notice.status == "issued":
        return Outcome("sign_first", await view_of(db, cal, notice_id, now))
    if notice.status != "signed" or notice.round != round_:
        return Outcome("stale", await view_of(db, cal, notice_id, now))
    step = "text"  # after a return the last answer is shown, to keep or rewrite
    async with db.transaction() as conn:
        await dialogs.put(conn, user_id, ANSWER_FLOW, notice_id, step, False, ts(now))
    return Outcome("ask", await view_of(db, cal, notice_id, now, step))


async def _own_answer(db: Database, user_id: int, notice_id: int | None = None,
                      step: str | None = None) -> tuple[Notice, str] | None:  # fmt: skip
    dialog = ANSWER.own(await dialogs.get(db, user_id), notice_id, step)
    if dialog is None:
        return None
    notice = await _secretary_of_notice(db, user_id, dialog.subject_id)
    if notice is None or notice.status != "signed":
        await leave(db, user_id)
        return None
    return notice, dialog.step


async def _withdrawn_answer(db: Database, cal: ReportCalendar, user_id: int, now: datetime,
                            notice_id: int | None = None) -> Outcome | None:  # fmt: skip
    """The answer being written (to `notice_id`, if given) is to a notice withdrawn with its
    project (/terminate): the conversation ends and the secretary is told why; None otherwise."""
    dialog = ANSWER.own(await dialogs.get(db, user_id), notice_id)
    notice = await notices.get(db, dialog.subject_id) if dialog is not None else None
    if notice is None or notice.status != "withdrawn":
        return None
    await leave(db, user_id)
    return Outcome("withdrawn", await view_of(db, cal, notice.id, now))


async def answer_message(
    db: Database, cal: ReportCalendar, user_id: int, text: str | None,
    file: tuple[str, str, str] | None, now: datetime,
) -> Outcome:  # fmt: skip
    """Text or a photo/document while answering a notice."""
    text = clean_text(text) if text is not None else None
    if (gone := await _withdrawn_answer(db, cal, user_id, now)) is not None:
        return gone
    own = await _own_answer(db, user_id)
    if own is None:
        return Outcome("no_dialog")
    notice, step = own
    view = await view_of(db, cal, notice.id, now, step)
    if step == "text":
        if text is None:
            return Outcome("ask", view, {"problem": "text_only"})
        if problem := _text_problem("feedback", text):
            return Outcome("ask", view, problem)
        files = notice.feedback_files
        if file is not None and not any(f[2] == file[2] for f in files):
            files = [*files, list(file)]  # a photo with the answer as its caption
        async with db.transaction() as conn:
            await notices.set_feedback(conn, notice.id, text.strip(), files)
            following = ANSWER.after(view, step) if view is not None else PREVIEW
            await dialogs.put(conn, user_id, ANSWER_FLOW, notice.id, following, False, ts(now))
        return Outcome("ask", await view_of(db, cal, notice.id, now, following))
    if step == "files":
        if file is None:
            return Outcome("ask", view, {"problem": "send_files"})
        files = notice.feedback_files
        if len(files) >= MAX_FILES:
            return Outcome("ask", view, {"problem": "files_full", "limit": MAX_FILES})
        if any(f[2] == file[2] for f in files):
            return Outcome("ask", view, {"problem": "file_duplicate"})
        async with db.transaction() as conn:
            await notices.set_feedback(conn, notice.id, notice.feedback, [*files, list(file)])
        fresh = await view_of(db, cal, notice.id, now, "files")
        return Outcome("ask", fresh, {"problem": "file_added", "count": len(files) + 1})
    return Outcome("ask", view, {"problem": "use_buttons"})


async def answer_back(db: Database, cal: ReportCalendar, user_id: int,
                      now: datetime) -> Outcome:  # fmt: skip
    """上一步 typed while answering: 佐证材料 back to the text, the preview back to 佐证材料."""
    if (gone := await _withdrawn_answer(db, cal, user_id, now)) is not None:
        return gone
    own = await _own_answer(db, user_id)
    if own is None:
        return Outcome("no_dialog")
    notice, step = own
    view = await view_of(db, cal, notice.id, now, step)
    assert view is not None
    previous = ANSWER.before(view)
    if previous is None:
        return Outcome("ask", view, {"problem": "first_step"})
    await ANSWER.move(db, user_id, notice.id, previous, False, now)
    return Outcome("ask", await view_of(db, cal, notice.id, now, previous))


async def answer_leave(db: Database, cal: ReportCalendar, user_id: int,
                       now: datetime) -> Outcome:  # fmt: skip
    """取消 or /cancel while answering: what was written so far stays on the notice."""
    dialog = await dialogs.get(db, user_id)
    if dialog is None or dialog.flow != ANSWER_FLOW:
        return Outcome("no_dialog")
    await leave(db, user_id)
    return Outcome("answer_cancelled", await view_of(db, cal, dialog.subject_id, now))


async def answer_button(
    db: Database, cal: ReportCalendar, user_id: int, notice_id: int, step: str, action: str,
    now: datetime,
) -> Outcome:  # fmt: skip
    """完成 / 跳过 / 提交 / 上一步 / 取消 while answering."""
    if (gone := await _withdrawn_answer(db, cal, user_id, now, notice_id)) is not None:
        return gone
    own = await _own_answer(db, user_id, notice_id, step)
    if own is None:
        return Outcome("stale")
    notice, _ = own
    if action == "cancel":
        await leave(db, user_id)
        return Outcome("answer_cancelled", await view_of(db, cal, notice_id, now))
    view = await view_of(db, cal, notice_id, now, step)
    assert view is not None
    target = None
    if action == "back":
        target = ANSWER.before(view)
    elif (step, action) == ("files", "next") or ((step, action) == ("text", "keep")
                                                  and notice.feedback):  # fmt: skip
        target = ANSWER.after(view, step)
    if (step, action) == ("files", "clear"):
        async with db.transaction() as conn:
            await notices.set_feedback(conn, notice_id, notice.feedback, [])
        return Outcome("ask", await view_of(db, cal, notice_id, now, "files"),
                       {"problem": "files_cleared"})  # fmt: skip
    if target:
        async with db.transaction() as conn:
            await dialogs.put(conn, user_id, ANSWER_FLOW, notice_id, target, False, ts(now))
        return Outcome("ask", await view_of(db, cal, notice_id, now, target))
    if action == "submit" and step == PREVIEW and notice.feedback:
        stamp = ts(now)
        async with db.transaction() as conn:
            moved = await notices.move(conn, notice_id, ("signed",), "answered", stamp)
            if moved:
                await notices.record(conn, notice_id, "answer", notice.round, user_id, stamp,
                                     notice.feedback, notice.feedback_files)  # fmt: skip
                await dialogs.clear(conn, user_id)
        if not moved:  # withdrawn by /terminate between the checks and the write, or answered
            gone = await _withdrawn_answer(db, cal, user_id, now, notice_id)
            return gone or Outcome("stale")
        return Outcome("answered", await view_of(db, cal, notice_id, now))
    return Outcome("stale")


# -- closing or returning (admins) --------------------------------------------------------------


async def close(db: Database, cal: ReportCalendar, admin_id: int, notice_id: int, round_: int,
                now: datetime) -> Outcome:  # fmt: skip
    """办结: only an answered notice, in the round the button was for."""
    if refused := await _refused(db, admin_id, notice_id):
        return refused
    async with db.transaction() as conn:
        done = await notices.move(conn, notice_id, ("answered",), "closed", ts(now),
                                  round_=round_)  # fmt: skip
        if done:
            await notices.record(conn, notice_id, "close", round_, admin_id, ts(now))
    return Outcome("closed" if done else "stale", await view_of(db, cal, notice_id, now))


async def ask_return(db: Database, cal: ReportCalendar, admin_id: int, notice_id: int,
                     round_: int, now: datetime) -> Outcome:  # fmt: skip
    """退回: the admin's next message is the reason."""
    if refused := await _refused(db, admin_id, notice_id):
        return refused
    notice = await notices.get(db, notice_id)
    if notice is None or notice.status != "answered" or notice.round != round_:
        return Outcome("stale", await view_of(db, cal, notice_id, now) if notice else None)
    await RETURN.open(db, admin_id, notice_id, str(round_), now)
    return Outcome("asking_reason", await view_of(db, cal, notice_id, now))


async def give_return_reason(db: Database, cal: ReportCalendar, admin_id: int, text: str,
                             now: datetime) -> Outcome:  # fmt: skip
    """The reason after 退回: back to 已签收, the secretary answers again."""
    dialog = RETURN.own(await dialogs.get(db, admin_id))
    if dialog is None:
        return Outcome("no_dialog")
    view = await view_of(db, cal, dialog.subject_id, now)
    refused = await _refused(db, admin_id, dialog.subject_id)
    if refused is not None:
        await leave(db, admin_id)
        return Outcome("own" if refused.kind == "own" else "not_admin")
    reason, problem = RETURN.read(text)
    if problem is not None:
        return Outcome("reason_problem", view, {"problem": problem[0], **problem[1]})
    round_ = int(dialog.step)
    stamp = ts(now)
    async with db.transaction() as conn:
        done = await notices.move(conn, dialog.subject_id, ("answered",), "signed", stamp,
                                  round_=round_)  # fmt: skip
        if done:
            await notices.record(conn, dialog.subject_id, "return", round_, admin_id, stamp,
                                 reason)  # fmt: skip
            await notices.next_round(conn, dialog.subject_id)
        await RETURN.done(conn, admin_id)
    fresh = await view_of(db, cal, dialog.subject_id, now)
    return Outcome("returned" if done else "stale", fresh, {"reason": reason})


# -- looking them up ----------------------------------------------------------------------------


async def find(
    db: Database, text: str, now: datetime, cal: ReportCalendar,
    scope: scopes.AdminScope | None = None,
) -> Notice | None:  # fmt: skip
    """A notice by 督办〔2026〕第7号, 2026-7 or 7 (this year); for an admin of a subtree,
    only one of its projects'."""
    match = NUMBER.match(text)
    if not match:
        return None
    year = match.group(1) or match.group(3)
    seq = match.group(2) or match.group(4)
    notice = await notices.by_number(
        db, int(year) if year else now.astimezone(cal.tz).year, int(seq)
    )
    if notice is None or scope is None:
        return notice
    project = await projects.get(db, notice.project_id)
    if project is None or not await scopes.covers(db, scope, project.org_id):
        return None
    return notice


@dataclass(frozen=True, slots=True)
class NoticeList:
    outcome: str  # ok | unknown_filter
    views: list[NoticeView]
    word: str = ""


async def list_notices(
    db: Database, cal: ReportCalendar, word: str, now: datetime,
    scope: scopes.AdminScope | None = None,
) -> NoticeList:  # fmt: skip
    """/duban_list [状态]: issued notices with status and days left / overdue (for an admin
    of a subtree, those of its projects)."""
    word = word.strip()
    if word and word not in STATUS_WORDS:
        return NoticeList("unknown_filter", [], word)
    statuses = STATUS_WORDS[word] if word else None
    mine = await scopes.org_ids(db, scope)
    found = []
    for notice in await notices.listing(db, statuses):
        view = await view_of(db, cal, notice.id, now)
        assert view is not None
        if not scopes.inside(mine, view.project.org_id):
            continue
        if word == "逾期" and not view.overdue:
            continue
        found.append(view)
    return NoticeList("ok", found, word)


async def return_leave(db: Database, cal: ReportCalendar, admin_id: int,
                       now: datetime) -> Outcome:  # fmt: skip
    """取消, 上一步 or /cancel instead of a return reason: the answer awaits 办结 / 退回
    again (its buttons go back while it does)."""
    dialog = await RETURN.leave(db, admin_id)
    if dialog is None:
        return Outcome("no_dialog")
    return Outcome("return_cancelled", await view_of(db, cal, dialog.subject_id, now))

"""Digests reviewed before they are published, by one machinery for two kinds: the
月通报 ("bulletin": its draft on the first working day after the deadline) and the
双月调度 summary ("dispatch": on the dispatch day), each at the reminder time. Until its
publication (an admin's 发布, else the set time that day) admins may add a 点评, and for
the bulletin take projects off or put them on the 红旗/蜗牛 lists with a reason. A digest
is computed when it is published, so a report filed or an exemption given meanwhile is in
it; what the admins did is kept."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.services import scopes
from bot.services.calendar import ReportCalendar
from bot.services.conversation import SideStep, leave
from bot.services.months import Month
from bot.services.planner import ClockConfig, dispatch_rounds, draft_time, publish_time
from bot.services.projects import find_project
from bot.services.text import clean_line
from storage import bulletins, dialogs
from storage.db import Connection, Database
from storage.rows import Dialog, Reader, ts

KINDS = ("bulletin", "dispatch")
COMMENT_FLOWS = {"bulletin": "bulletin_comment", "dispatch": "dispatch_comment"}
COMMENT_LIMIT = 200  # a paragraph: the bulletin still fits a photo's caption with it
# 添加点评's comment: a one-question side-step of each kind; its step is the draft's period.
COMMENTS = {kind: SideStep(flow, SideStep.asking("comment", COMMENT_LIMIT))
            for kind, flow in COMMENT_FLOWS.items()}  # fmt: skip
REASON_LIMIT = 60
FLAG_WORDS = {"红旗": ("red", "add"), "蜗牛": ("snail", "add"),
              "移出红旗": ("red", "remove"), "移出蜗牛": ("snail", "remove")}  # fmt: skip
ADJUST = re.compile(r"^\s*(\S+)\s+(移出红旗|移出蜗牛|红旗|蜗牛)\s*(.*)$", re.DOTALL)


@dataclass(frozen=True)
class Pending:
    """A digest drafted and not yet published."""

    period: Month  # the bulletin's period, or the 双月调度 round's month
    publish_at: datetime
    kind: str = "bulletin"  # bulletin | dispatch

    def covers(self, period: str) -> bool:
        """Whether a change to this month's reports (an exemption) changes this draft."""
        if self.kind == "bulletin":
            return str(self.period) == period
        return period in (str(self.period.plus(-1)), str(self.period))


def _candidates(cal: ReportCalendar, cfg: ClockConfig, kind: str, now: datetime) -> list[Month]:
    """The periods whose draft of this kind may be pending now."""
    if kind == "bulletin":
        return [cal.current_period(now)]
    return [month for month, _, _ in dispatch_rounds(cal, cfg, now)]


async def pending(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime, kind: str = "bulletin"
) -> Pending | None:
    """The digest of this kind awaiting publication now, if any (none of a 双月调度 summary
    sent without review)."""
    if kind == "dispatch" and cfg.dispatch_auto_send:
        return None
    for period in _candidates(cal, cfg, kind, now):
        when = await published_at(db, cal, cfg, period, kind)
        if draft_time(cal, cfg, kind, period) <= now < when:
            return Pending(period, when, kind)
    return None


async def reviewers(db: Database) -> list[int]:
    """Who reviews the drafts: the top level's admins."""
    return await scopes.top_admins(db)


async def all_pending(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime
) -> list[Pending]:
    """Every digest awaiting publication now (a bulletin's and a summary's can share a day)."""
    found = [await pending(db, cal, cfg, now, kind) for kind in KINDS]
    return [p for p in found if p is not None]


@dataclass(frozen=True)
class Redraft:
    """A draft awaiting publication that reports filed late since it was sent changed."""

    pending: Pending
    late: list[bulletins.LateReport]  # one a report, oldest first


async def late_redrafts(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime
) -> tuple[list[Redraft], list[int]]:
    """The clock's tick: each pending draft changed by reports marked late after it was
    drafted, and every mark waiting (to take up once the redrafts are sent; a mark no
    pending draft covers, say one filed after publication, changes nothing)."""
    waiting = await bulletins.late_waiting(db)
    if not waiting:
        return [], []
    out = []
    for draft in await all_pending(db, cal, cfg, now):
        since = draft_time(cal, cfg, draft.kind, draft.period)
        late = {w.report_id: w for w in waiting if draft.covers(w.period) and w.at >= since}
        if late:
            out.append(Redraft(draft, sorted(late.values(), key=lambda w: w.id)))
    return out, [w.id for w in waiting]


async def take_up(db: Database, marks: list[int], now: datetime) -> None:
    """The redrafts for these marks are sent (or none was due): never again."""
    async with db.transaction() as conn:
        await bulletins.mark_redrafted(conn, marks, ts(now))


async def published_at(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, period: Month, kind: str = "bulletin"
) -> datetime:
    """When the digest of `period` went (or goes) out: 发布, else the set time."""
    review = await bulletins.review(db, str(period), kind)
    return publish_time(cal, cfg, period, review.published_at if review else None, kind)


@dataclass
class Outcome:
    kind: str  # see each function
    period: Month | None = None
    info: dict[str, object] = field(default_factory=dict)
    digest: str = "bulletin"  # which kind of digest it is about


async def publish(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, admin_id: int, period: Month,
    now: datetime, kind: str = "bulletin",
) -> Outcome:  # fmt: skip
    """发布: "published" (now recorded), "already" (published before), or "not_pending"
    (the draft's time has not come, or it went out at the set time)."""
    current = await pending(db, cal, cfg, now, kind)
    if current is None or current.period != period:
        review = await bulletins.review(db, str(period), kind)
        done = review is not None and review.published_at is not None
        return Outcome("already" if done else "not_pending", period, digest=kind)
    async with db.transaction() as conn:
        recorded = await bulletins.publish(conn, kind, str(period), admin_id, ts(now))
    return Outcome("published" if recorded else "already", period, digest=kind)


async def ask_comment(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, admin_id: int, period: Month,
    now: datetime, kind: str = "bulletin",
) -> Outcome:  # fmt: skip
    """添加点评 pressed: "asking" (the admin's next message is the comment) or
    "not_pending"."""
    current = await pending(db, cal, cfg, now, kind)
    if current is None or current.period != period:
        return Outcome("not_pending", period, digest=kind)
    await COMMENTS[kind].open(db, admin_id, period.index, str(period), now)
    return Outcome("asking", period, {"limit": COMMENT_LIMIT}, kind)


def _period(dialog: Dialog) -> Month:
    """The draft's period a comment dialog is about (its subject is the month's index)."""
    return Month(dialog.subject_id // 12, dialog.subject_id % 12 + 1)


def _comment_dialog(dialog: Dialog | None) -> tuple[str, Month] | None:
    """The kind and period of the draft a comment dialog interrupted, if it is one."""
    for kind, side in COMMENTS.items():
        if (mine := side.own(dialog)) is not None:
            return kind, _period(mine)
    return None


async def give_comment(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, admin_id: int, text: str,
    now: datetime,
) -> Outcome:  # fmt: skip
    """The comment typed after 添加点评: "saved"; "empty" or "too_long" (asked again);
    "not_admin" (no longer a top admin), "not_pending" (published before it was read) or
    "too_late" (published before it was written): nothing kept, the side-step ends."""
    found = _comment_dialog(await dialogs.get(db, admin_id))
    if found is None:
        return Outcome("not_pending")
    kind, period = found
    side = COMMENTS[kind]
    scope = await scopes.admin_scope(db, admin_id)
    current = await pending(db, cal, cfg, now, kind)
    if scope is None or not scope.top or current is None or current.period != period:
        await leave(db, admin_id)
        refused = "not_pending" if scope is not None and scope.top else "not_admin"
        return Outcome(refused, period, digest=kind)
    comment, problem = side.read(text)
    if problem is not None:
        return Outcome(problem[0], period, {"limit": COMMENT_LIMIT, **problem[1]}, kind)
    async with db.transaction() as conn:
        # Decided by the record inside the write, not by the clock read before it: 发布 or
        # the set time's publication (recorded before it is sent) may have come meanwhile.
        late = await _published(conn, kind, period)
        if not late:
            await bulletins.set_comment(conn, kind, str(period), comment, admin_id, ts(now))
        await side.done(conn, admin_id)
    if late:
        return Outcome("too_late", period, {"comment": comment}, kind)
    return Outcome("saved", period, {"comment": comment}, kind)


async def cancel_comment(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, admin_id: int, now: datetime
) -> Outcome:
    """取消, 上一步 or /cancel instead of the comment: nothing kept. "undecided" while the
    draft it interrupted still awaits publication (its buttons are offered again), else
    "cancelled"."""
    for kind, side in COMMENTS.items():
        dialog = await side.leave(db, admin_id)
        if dialog is not None:
            period = _period(dialog)
            current = await pending(db, cal, cfg, now, kind)
            still = current is not None and current.period == period
            return Outcome("undecided" if still else "cancelled", period, digest=kind)
    return Outcome("cancelled")


async def adjust(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, admin_id: int, text: str,
    now: datetime,
) -> Outcome:  # fmt: skip
    """/flag <项目编号> <红旗|蜗牛|移出红旗|移出蜗牛> <原因>: "adjusted", "usage",
    "no_reason", "too_long", "not_found" (no such project in the bulletin's month), or
    "not_pending"."""
    current = await pending(db, cal, cfg, now)
    if current is None:
        return Outcome("not_pending")
    match = ADJUST.match(clean_line(text))
    if match is None:
        return Outcome("usage", current.period)
    number, word, reason = match.groups()
    flag, action = FLAG_WORDS[word]
    info: dict[str, object] = {"number": number, "flag": flag, "action": action}
    reason = reason.strip()
    if not reason:
        return Outcome("no_reason", current.period, info)
    if len(reason) > REASON_LIMIT:
        return Outcome("too_long", current.period, {**info, "limit": REASON_LIMIT})
    project = await find_project(db, number)
    month = str(current.period)
    if (
        project is None
        or project.status != "approved"
        or not (project.start_month or "") <= month <= (project.end_month or "")
        or month < (project.first_owed or "")  # 立项 after the month's deadline: not in it
    ):
        return Outcome("not_found", current.period, info)
    async with db.transaction() as conn:
        # By the record inside the write (see give_comment).
        late = await _published(conn, "bulletin", current.period)
        if not late:
            await bulletins.add_flag_change(conn, month, project.id, flag, action, reason,
                                            admin_id, ts(now))  # fmt: skip
    if late:
        return Outcome("too_late", current.period, {**info, "reason": reason})
    return Outcome("adjusted", current.period, {**info, "reason": reason, "name": project.name})


async def _published(conn: Reader, kind: str, period: Month) -> bool:
    """Whether the digest's publication is recorded (发布, or the clock at the set time)."""
    review = await bulletins.review(conn, str(period), kind)
    return review is not None and review.published_at is not None


def _due(cal: ReportCalendar, cfg: ClockConfig, kind: str, period: Month, now: datetime) -> bool:
    """Whether the set time of a reviewed digest has come (it goes out as drafted)."""
    when = publish_time(cal, cfg, period, None, kind)
    return draft_time(cal, cfg, kind, period) <= when <= now


async def record_due(
    conn: Connection, cal: ReportCalendar, cfg: ClockConfig, now: datetime
) -> None:
    """Inside the clock's write, before it sends anything: record the publication of each
    digest whose set time has come, so a 点评 or /flag written after it is too late and
    one written before it is in what is sent."""
    for kind in KINDS:
        for period in _candidates(cal, cfg, kind, now):
            if _due(cal, cfg, kind, period, now):
                when = publish_time(cal, cfg, period, None, kind)
                await bulletins.publish(conn, kind, str(period), None, ts(when))


async def publish_due(db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> None:
    """The clock's tick: record the publications due (a write only when one is new)."""
    for kind in KINDS:
        for period in _candidates(cal, cfg, kind, now):
            if _due(cal, cfg, kind, period, now) and not await _published(db, kind, period):
                async with db.transaction() as conn:
                    await record_due(conn, cal, cfg, now)
                return

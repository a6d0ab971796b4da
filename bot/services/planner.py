"""The planner: which scheduled messages are due now. A pure function of the moment, the
database's facts and the calendar settings; the clock only wakes it (scheduler/)."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from storage import deliveries, groups, notices, orgs, people, projects, reports
from storage.db import Database
from storage.rows import Notice, Org, Project, SupervisorGroup

FAR_FUTURE = datetime(9999, 1, 1).astimezone()


@dataclass(frozen=True)
class ClockConfig:
    """Every day and time of the rhythm, in one place (see Settings)."""

    remind_at: time = time(9, 0)  # reminders, notices and lists go out at this time
    afternoon_at: time = time(15, 0)  # the deadline day's second reminder
    quiet_start: time = time(22, 0)  # nothing scheduled is sent from here…
    quiet_end: time = time(8, 0)  # …to here; what falls there waits until quiet_end
    due_soon_days: int = 2  # a reminder this many days before the deadline
    overdue_days: int = 3  # daily reminders for this many working days after it
    overdue_list_days: int = 3  # the group's overdue list is still worth sending this long
    dispatch_months: frozenset[int] = frozenset({2, 4, 6, 8, 10, 12})  # 双月调度
    dispatch_day: int = 28  # moved to the next working day
    dispatch_notice_days: int = 3  # secretaries are told this many days before
    dispatch_auto_send: bool = False  # the summary goes to groups without an admin's 发送


@dataclass(frozen=True, slots=True)
class Due:
    """One scheduled message that is due: to send now, or stale (recorded as skipped)."""

    key: str
    kind: str
    chat_id: int
    at: datetime
    stale_at: datetime
    params: dict[str, Any] = field(default_factory=dict, compare=False)
    project_id: int | None = None

    def is_stale(self, now: datetime) -> bool:
        return now >= self.stale_at


@dataclass
class PeriodFacts:
    period: Month
    projects: list[Project]
    orgs: dict[int, Org]
    submitted: set[int]  # project ids with a submitted report for the period
    exempt: dict[int, str]  # org id -> reason
    on_time: set[int] = field(default_factory=set)  # of those, filed by the deadline


@dataclass
class Facts:
    periods: list[PeriodFacts]
    secretaries: dict[int, int]  # org id -> user id
    groups: list[tuple[SupervisorGroup, set[int] | None]]  # group, org ids in scope (None: all)
    admins: list[int]
    dispatch_projects: list[Project]  # approved projects active in this month
    notices: list[tuple[Notice, Project, Org]] = field(default_factory=list)  # open 督办单


async def _period_facts(db: Database, period: Month) -> PeriodFacts:
    owing = await projects.active_in(db.conn, str(period))
    filed = await reports.for_period(db.conn, str(period))
    org_map = await orgs.by_ids(db.conn, [p.org_id for p in owing])
    return PeriodFacts(
        period,
        owing,
        org_map,
        {pid for pid, r in filed.items() if r.version > 0},
        await deliveries.exemptions(db.conn, str(period)),
        {pid for pid, r in filed.items() if r.version > 0 and r.on_time},
    )


async def load_facts(db: Database, cal: ReportCalendar, now: datetime) -> Facts:
    """What the planner needs from the database, in a handful of queries."""
    current = cal.current_period(now)
    periods = [await _period_facts(db, p) for p in (current.plus(-1), current)]
    scoped = []
    for group in await groups.active(db.conn):
        ids = set(await orgs.subtree_ids(db.conn, group.root_org_id)) if group.root_org_id else None
        scoped.append((group, ids))
    this_month = Month.of(now.astimezone(cal.tz))
    open_notices = []
    pending = await notices.listing(db.conn, ("issued", "signed"))
    notice_projects = {
        p.id: p for p in await projects.search_all_ids(db.conn, {n.project_id for n in pending})
    }
    notice_orgs = await orgs.by_ids(db.conn, [p.org_id for p in notice_projects.values()])
    for notice in pending:
        project = notice_projects.get(notice.project_id)
        if project is not None and project.org_id in notice_orgs:
            open_notices.append((notice, project, notice_orgs[project.org_id]))
    return Facts(
        periods,
        await people.secretaries_by_org(db.conn),
        scoped,
        await people.admin_ids(db.conn),
        await projects.active_in(db.conn, str(this_month)),
        open_notices,
    )


def _quiet(moment: datetime, cfg: ClockConfig) -> bool:
    t = moment.timetz().replace(tzinfo=None)
    if cfg.quiet_start > cfg.quiet_end:
        return t >= cfg.quiet_start or t < cfg.quiet_end
    return cfg.quiet_start <= t < cfg.quiet_end


def out_of_quiet(moment: datetime, cfg: ClockConfig) -> datetime:
    """The moment itself, or the end of the quiet hours it falls in."""
    if not _quiet(moment, cfg):
        return moment
    day = moment.date() if moment.timetz().replace(tzinfo=None) < cfg.quiet_end else (
        moment.date() + timedelta(days=1))  # fmt: skip
    return datetime.combine(day, cfg.quiet_end, tzinfo=moment.tzinfo)


def is_quiet(now: datetime, cal: ReportCalendar, cfg: ClockConfig) -> bool:
    """Whether `now` is inside the quiet hours (local time)."""
    return _quiet(now.astimezone(cal.tz), cfg)


def _working_days_after(cal: ReportCalendar, day: date, count: int) -> list[date]:
    found: list[date] = []
    while len(found) < count:
        day = cal.work.on_or_after(day + timedelta(days=1))
        found.append(day)
    return found


def bulletin_time(cal: ReportCalendar, cfg: ClockConfig, period: Month) -> datetime:
    """When the bulletin (and overdue list) of `period` is due: the first working day after
    the deadline, at the reminder time."""
    due_day = cal.window(period).due_date
    first_after = cal.work.on_or_after(due_day + timedelta(days=1))
    return out_of_quiet(datetime.combine(first_after, cfg.remind_at, tzinfo=cal.tz), cfg)


def plan(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> list[Due]:
    """Every scheduled message whose time has come (stale ones included, to be skipped)."""
    tz = cal.tz

    def at(day: date, when: time) -> datetime:
        return out_of_quiet(datetime.combine(day, when, tzinfo=tz), cfg)

    def start(day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=tz)

    out: list[Due] = []
    for pf in facts.periods:
        window = cal.window(pf.period)
        due_day = window.due_date
        later = _working_days_after(cal, due_day, cfg.overdue_days + 1)
        first_after = later[0]
        base = {"period": str(pf.period), "due_date": due_day}
        for project in pf.projects:
            chat = facts.secretaries.get(project.org_id)
            if chat is None or project.org_id in pf.exempt:
                continue
            if project.id in pf.submitted:
                continue  # reported already: not even the window notice (it would be late)
            info = {**base, "project": project, "org": pf.orgs.get(project.org_id)}
            specs: list[tuple[str, datetime, datetime, dict[str, Any]]] = [
                ("report_open", at(window.opens_at.date(), cfg.remind_at), window.due_end, {})
            ]
            soon = cal.work.on_or_after(due_day - timedelta(days=cfg.due_soon_days))
            if soon < due_day:
                specs.append(("report_due_soon", at(soon, cfg.remind_at), start(due_day),
                              {"days": (due_day - soon).days}))  # fmt: skip
            specs.append(("report_due_am", at(due_day, cfg.remind_at),
                          at(due_day, cfg.afternoon_at), {}))  # fmt: skip
            specs.append(("report_due_pm", at(due_day, cfg.afternoon_at), window.due_end, {}))
            for k in range(cfg.overdue_days):
                specs.append((f"report_overdue_{k + 1}", at(later[k], cfg.remind_at),
                              at(later[k + 1], cfg.remind_at), {"day": k + 1}))  # fmt: skip
            for kind, when, stale, extra in specs:
                stale = min(stale, window.closes_at)
                key = f"{kind}:{pf.period}:{project.id}"
                out.append(Due(key, kind, chat, when, stale, {**info, **extra}, project.id))
        when = at(first_after, cfg.remind_at)
        for group, scope in facts.groups:
            missing, late, exempted, total = [], [], [], 0
            for project in pf.projects:
                if scope is not None and project.org_id not in scope:
                    continue
                org = pf.orgs.get(project.org_id)
                if project.org_id in pf.exempt:
                    exempted.append((org, project, pf.exempt[project.org_id]))
                    continue
                total += 1
                if project.id not in pf.submitted:
                    missing.append((org, project))
                elif project.id not in pf.on_time:
                    late.append((org, project))
            if total == 0 and not exempted:
                continue  # nothing in this group's scope owes a report
            out.append(Due(
                f"bulletin:{pf.period}:{group.chat_id}", "bulletin", group.chat_id, when,
                when + timedelta(days=cfg.overdue_list_days),
                {**base, "group": group, "published_at": when}))  # fmt: skip
            out.append(Due(
                f"overdue_list:{pf.period}:{group.chat_id}", "overdue_list", group.chat_id, when,
                when + timedelta(days=cfg.overdue_list_days),
                {**base, "group": group, "missing": missing, "late": late,
                 "exempted": exempted, "total": total}))  # fmt: skip
    out.extend(_dispatch(facts, cal, cfg, now, at, start))
    out.extend(_notices(facts, cal, cfg, at, start))
    out.extend(
        Due(
            f"calendar_uncovered:{year}:{admin}",
            "calendar_uncovered",
            admin,
            now,
            FAR_FUTURE,
            {"year": year},
        )
        for year in sorted(cal.work.uncovered_years)
        for admin in facts.admins
    )
    return [d for d in out if d.at <= now]


def _notices(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, at: Any,
             start: Any) -> Iterable[Due]:  # fmt: skip
    """督办单: a nudge if not signed within 24 h, the day before the deadline, and on overdue
    to the secretary and to the groups covering the organization."""
    out = []
    for notice, project, org in facts.notices:
        if notice.deadline is None or notice.issued_at is None:
            continue
        deadline = date.fromisoformat(notice.deadline)
        chat = facts.secretaries.get(project.org_id)
        info = {"notice": notice, "project": project, "org": org}
        late = start(deadline + timedelta(days=1))
        overdue_at = at(deadline + timedelta(days=1), cfg.remind_at)
        if chat is not None:
            if notice.status == "issued":
                nudge = out_of_quiet(notice.issued_at.astimezone(cal.tz) + timedelta(hours=24), cfg)
                out.append(Due(f"duban_nudge:{notice.id}", "duban_nudge", chat, nudge, late, info))
            eve = deadline - timedelta(days=1)
            if eve > notice.issued_at.astimezone(cal.tz).date():
                out.append(Due(f"duban_due_soon:{notice.id}", "duban_due_soon", chat,
                               at(eve, cfg.remind_at), late, info))  # fmt: skip
            out.append(Due(f"duban_overdue:{notice.id}", "duban_overdue", chat, overdue_at,
                           overdue_at + timedelta(days=cfg.overdue_list_days), info))  # fmt: skip
        for group, scope in facts.groups:
            if scope is not None and project.org_id not in scope:
                continue
            out.append(Due(f"duban_overdue_group:{notice.id}:{group.chat_id}",
                           "duban_overdue_group", group.chat_id, overdue_at,
                           overdue_at + timedelta(days=cfg.overdue_list_days), info))  # fmt: skip
    return out


def _dispatch(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, now: datetime,
              at: Any, start: Any) -> Iterable[Due]:  # fmt: skip
    this = Month.of(now.astimezone(cal.tz))
    out: list[Due] = []
    for month in (this.plus(-1), this):
        if month.month not in cfg.dispatch_months:
            continue
        day = cal.work.on_or_after(date(month.year, month.month, cfg.dispatch_day))
        if month != this and Month.of(datetime.combine(day, time(0), tzinfo=cal.tz)) != this:
            continue  # last month's round is only planned when its day moved into this one
        out.extend(_dispatch_round(facts, cal, cfg, month, at, start))
    return out


def _dispatch_round(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, month: Month,
                    at: Any, start: Any) -> list[Due]:  # fmt: skip
    """One 双月调度 round (its dispatch day may fall in the next month after a holiday)."""
    day = cal.work.on_or_after(date(month.year, month.month, cfg.dispatch_day))
    notice = cal.work.on_or_after(day - timedelta(days=cfg.dispatch_notice_days))
    out: list[Due] = []
    if notice < day:
        told: set[int] = set()
        for project in facts.dispatch_projects:
            chat = facts.secretaries.get(project.org_id)
            if chat is None or chat in told:
                continue
            told.add(chat)
            out.append(Due(f"dispatch_notice:{month}:{chat}", "dispatch_notice", chat,
                           at(notice, cfg.remind_at), start(day),
                           {"month": str(month), "dispatch_date": day}, project.id))  # fmt: skip
    summary_at = at(day, cfg.remind_at)
    summary_stale = start(day + timedelta(days=cfg.overdue_list_days))
    if cfg.dispatch_auto_send:
        for group, _ in facts.groups:
            out.append(Due(f"dispatch_group:{month}:{group.chat_id}", "dispatch_group",
                           group.chat_id, summary_at, summary_stale,
                           {"month": str(month), "group": group}))  # fmt: skip
    for admin in facts.admins:
        out.append(Due(f"dispatch_summary:{month}:{admin}", "dispatch_summary", admin,
                       summary_at, summary_stale,
                       {"month": str(month), "auto": cfg.dispatch_auto_send}))  # fmt: skip
        out.append(Due(f"dispatch_admin:{month}:{admin}", "dispatch_admin", admin,
                       at(day, cfg.remind_at), start(day + timedelta(days=1)),
                       {"month": str(month), "dispatch_date": day,
                        "projects": len(facts.dispatch_projects)}))  # fmt: skip
    return out

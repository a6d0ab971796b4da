"""The planner: which scheduled messages are due now. `plan` is a pure function of the
moment, the database's facts and the calendar settings; the clock only wakes it (scheduler/).

It runs every minute over a whole province (100,000 organizations), so `load_facts` reads
only what is still owed: a project whose reminders were all sent or skipped, or that filed
its report, never leaves SQLite (storage/planning.py). `decide` sorts what is due against
what earlier ticks recorded: what run_tick does, apart from sending."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any, NamedTuple

from bot.services import quarterly
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.services.quarterly import Quarter
from storage import admins, bulletins, groups, notices, orgs, people, planning, projects
from storage import closing as storage_closing
from storage import quarterly as storage_quarterly
from storage.db import Database
from storage.planning import Owing
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
    dispatch_auto_send: bool = False  # the summary goes out with no draft to review first
    publish_at: time = time(11, 0)  # the bulletin goes to groups then, unless 发布 before
    dispatch_publish_at: time = time(11, 0)  # the 双月调度 summary goes to groups then


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


@dataclass(frozen=True, slots=True)
class Slot:
    """One reminder of a period's series: the same moments for every project."""

    kind: str
    at: datetime
    stale_at: datetime
    extra: dict[str, Any]


@dataclass
class PeriodFacts:
    period: Month
    kinds: tuple[str, ...]  # the series' reminders due by now, in the order of `statuses`
    owing: list[Owing]  # unfiled, not exempt, with a secretary, and owed one of `kinds`
    groups_owing: frozenset[int] = frozenset()  # groups whose scope owes a report and whose
    # bulletin was not sent yet (chat ids)
    admins_owing: frozenset[int] = frozenset()  # the same for admins of every level
    published_at: datetime | None = None  # an admin pressed 发布 on its bulletin then


@dataclass(frozen=True, slots=True)
class OpenNotice:
    notice: Notice
    project: Project
    org: Org
    chat_id: int | None  # the secretary, if one is bound
    groups: tuple[SupervisorGroup, ...]  # the groups whose scope covers the organization


@dataclass
class Facts:
    """What is due and not settled yet, as far as the database says; only what is owed
    (a project whose reminders were all sent or skipped is not in it)."""

    periods: list[PeriodFacts]
    groups: list[SupervisorGroup]
    admins: list[int]  # the configured (top-level) admins
    dispatch_notices: dict[str, list[tuple[int, int, str | None]]] = field(default_factory=dict)
    # round month -> (secretary, project id, recorded status) still owed the round's notice
    notices: list[OpenNotice] = field(default_factory=list)  # open 督办单
    # 季度互比: the quarter just ended, and the groups still owed its comparison.
    quarter: Quarter | None = None
    quarter_groups: list[SupervisorGroup] = field(default_factory=list)
    # (user id, root organization) of every admin of a subtree: their level's bulletin and
    # 双月调度 summary come to them, the roll-up of everything to the top level.
    levels: list[tuple[int, int]] = field(default_factory=list)
    closing: list[storage_closing.Owing] = field(default_factory=list)  # owed a 结题 report
    # 双月调度 round month -> when an admin pressed 发布 on its summary
    dispatch_published: dict[str, datetime] = field(default_factory=dict)


def reminder_prefix(kind: str, period: Month) -> str:
    """The delivery key of a project's reminder, less the project id."""
    return f"{kind}:{period}:"


def _group_key(period: Month, chat_id: int) -> str:
    """The delivery key of a period's bulletin to a group (it carries the overdue list)."""
    return f"bulletin:{period}:{chat_id}"


def _admin_key(period: Month, user_id: int) -> str:
    """The delivery key of a period's bulletin to an admin, for their level."""
    return f"bulletin_admin:{period}:{user_id}"


def _readers(facts: Facts) -> list[tuple[int, int | None]]:
    """Who gets a level's bulletin, once each, with the root of what they answer for: the
    admins of every subtree, and then the top level the roll-up of everything (None). With
    no levels below the top, the supervisor groups alone get it, as before."""
    if not facts.levels:
        return []
    top = [(admin, None) for admin in facts.admins]
    return [*top, *((user, root) for user, root in facts.levels if user not in facts.admins)]


async def load_facts(db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> Facts:
    """What the planner needs from the database: a few queries, whose answers grow with
    what is owed now, not with the number of organizations."""
    active_groups = await groups.active(db)
    top = await people.admin_ids(db)
    levels = [(a.user_id, a.org.id) for a in await admins.active_within(db, None)]
    readers = _readers(Facts([], [], top, levels=levels))
    current = cal.current_period(now)
    periods = []
    for period in (current.plus(-1), current):
        kinds = tuple(s.kind for s in report_series(cal, cfg, period) if s.at <= now)
        prefixes = [reminder_prefix(k, period) for k in kinds]
        owing = await planning.owing_reminders(db, str(period), prefixes)
        owes: set[int] = set()
        admins_owe: set[int] = set()
        published: datetime | None = None
        ask = bulletin_time(cal, cfg, period) <= now and bool(active_groups or readers)
        if ask:
            published = (await bulletins.published(db, [str(period)])).get(str(period))
            drafts = [f"bulletin_draft:{period}:{admin}" for admin in top]
            recorded = await planning.statuses(db, drafts)
            # Between the drafts and the publication nothing more is due: once every draft
            # was sent (or skipped), the scopes need not be asked about at each tick.
            ask = now >= publish_time(cal, cfg, period, published) or not all(
                recorded.get(k) in planning.FINAL for k in drafts)  # fmt: skip
        if ask and active_groups:
            keys = {g.chat_id: _group_key(period, g.chat_id) for g in active_groups}
            recorded = await planning.statuses(db, list(keys.values()))
            for group in active_groups:
                if recorded.get(keys[group.chat_id]) in planning.FINAL:
                    continue  # sent (or skipped) already: no need to ask about its scope
                if await planning.owes_in_scope(db, str(period), group.root_org_id):
                    owes.add(group.chat_id)
        if ask and readers:
            admin_keys = {user: _admin_key(period, user) for user, _ in readers}
            recorded = await planning.statuses(db, list(admin_keys.values()))
            for user, root in readers:
                if recorded.get(admin_keys[user]) not in planning.FINAL and (
                    await planning.owes_in_scope(db, str(period), root)
                ):
                    admins_owe.add(user)
        periods.append(PeriodFacts(period, kinds, owing, frozenset(owes), frozenset(admins_owe),
                                   published))  # fmt: skip
    this_month = Month.of(now.astimezone(cal.tz))
    dispatch = {}
    rounds = dispatch_rounds(cal, cfg, now)
    for month, notice_day, day in rounds:
        if notice_day < day and _at(cal, cfg, notice_day, cfg.remind_at) <= now:
            dispatch[str(month)] = await planning.owing_dispatch_notices(
                db, str(this_month), f"dispatch_notice:{month}:"
            )
    dispatch_published = await bulletins.published(
        db, [str(m) for m, _, day in rounds if _start(cal, day) <= now], "dispatch"
    )
    quarter, owed = await _quarter_owed(db, cal, cfg, now, active_groups)
    return Facts(periods, active_groups, top, dispatch, await _open_notices(db, active_groups),
                 quarter, owed, levels, await storage_closing.owing(db, str(this_month)),
                 dispatch_published)  # fmt: skip


def quarter_key(quarter: Quarter, chat_id: int) -> str:
    """The delivery key of a quarter's comparison to a group."""
    return f"quarter_compare:{quarter}:{chat_id}"


async def _quarter_owed(
    db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime,
    active_groups: list[SupervisorGroup],
) -> tuple[Quarter | None, list[SupervisorGroup]]:  # fmt: skip
    """The quarter whose comparison is due now, and the groups with projects in their scope
    in it that were not sent it yet."""
    quarter = Quarter.before(now.astimezone(cal.tz).date())
    due = quarterly.due_time(cal, quarter, cfg.remind_at)
    if not due <= now < quarterly.stale_time(cal, quarter, cfg.remind_at):
        return None, []
    keys = {g.chat_id: quarter_key(quarter, g.chat_id) for g in active_groups}
    recorded = await planning.statuses(db, list(keys.values()))
    months = quarter.months
    owed = []
    for group in active_groups:
        if recorded.get(keys[group.chat_id]) in planning.FINAL:
            continue
        if await storage_quarterly.has_projects(db, [str(m) for m in months],
                                                group.root_org_id):  # fmt: skip
            owed.append(group)
    return quarter, owed


async def _open_notices(db: Database, active_groups: list[SupervisorGroup]) -> list[OpenNotice]:
    pending = await notices.listing(db, ("issued", "signed"))
    if not pending:
        return []
    notice_projects = {
        p.id: p for p in await projects.search_all_ids(db, {n.project_id for n in pending})
    }
    notice_orgs = await orgs.by_ids(db, [p.org_id for p in notice_projects.values()])
    chats = await planning.secretaries_of(db, notice_orgs)
    above: dict[int, set[int]] = {}
    if any(g.root_org_id is not None for g in active_groups):
        above = await planning.ancestors(db, notice_orgs)
    out = []
    for notice in pending:
        project = notice_projects.get(notice.project_id)
        # A terminated (or concluded) project's open notice is left as it stands, without nagging.
        if project is None or project.status != "approved" or project.org_id not in notice_orgs:
            continue
        covering = tuple(
            g
            for g in active_groups
            if g.root_org_id is None or g.root_org_id in above.get(project.org_id, ())
        )
        out.append(OpenNotice(notice, project, notice_orgs[project.org_id],
                              chats.get(project.org_id), covering))  # fmt: skip
    return out


async def projects_this_month(db: Database, cal: ReportCalendar, now: datetime) -> int:
    """How many approved projects are active in the month of `now` (local time)."""
    return await planning.active_count(db, str(Month.of(now.astimezone(cal.tz))))


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


def dispatch_day(cal: ReportCalendar, cfg: ClockConfig, month: Month) -> date:
    """The 双月调度 day of a round: `dispatch_day` of its month, or the next working day."""
    return cal.work.on_or_after(date(month.year, month.month, cfg.dispatch_day))


def draft_time(cal: ReportCalendar, cfg: ClockConfig, kind: str, period: Month) -> datetime:
    """When the draft of a digest goes to the admins: a bulletin's (`bulletin_time`), or a
    双月调度 summary's (its dispatch day, at the reminder time)."""
    if kind == "bulletin":
        return bulletin_time(cal, cfg, period)
    return _at(cal, cfg, dispatch_day(cal, cfg, period), cfg.remind_at)


def publish_time(
    cal: ReportCalendar, cfg: ClockConfig, period: Month, published_at: datetime | None,
    kind: str = "bulletin",
) -> datetime:  # fmt: skip
    """When a digest goes to the groups: when an admin pressed 发布, else at its set time
    (`publish_at`, `dispatch_publish_at`) on the day its draft went to the admins, not
    before the draft (then there is no review). The 双月调度 summary with
    `dispatch_auto_send` has no draft: it goes at `dispatch_publish_at`."""
    if published_at is not None:
        return published_at
    drafted = draft_time(cal, cfg, kind, period)
    when = cfg.publish_at if kind == "bulletin" else cfg.dispatch_publish_at
    set_time = _at(cal, cfg, drafted.astimezone(cal.tz).date(), when)
    if kind == "dispatch" and cfg.dispatch_auto_send:
        return set_time
    return max(drafted, set_time)


def _at(cal: ReportCalendar, cfg: ClockConfig, day: date, when: time) -> datetime:
    return out_of_quiet(datetime.combine(day, when, tzinfo=cal.tz), cfg)


def _start(cal: ReportCalendar, day: date) -> datetime:
    return datetime.combine(day, time(0, 0), tzinfo=cal.tz)


def report_series(cal: ReportCalendar, cfg: ClockConfig, period: Month) -> list[Slot]:
    """The reminders of one period's report, in order: the window notice, "n days left",
    the deadline morning and afternoon, then one a working day. Each is stale once the
    next would say something else, and all once the next period opens."""
    window = cal.window(period)
    due_day = window.due_date
    later = _working_days_after(cal, due_day, cfg.overdue_days + 1)

    def at(day: date, when: time) -> datetime:
        return _at(cal, cfg, day, when)

    specs: list[tuple[str, datetime, datetime, dict[str, Any]]] = []
    # On the next working day, like every reminder; one that would land on the deadline
    # itself is not sent separately (the deadline's own reminder says it).
    opens = cal.work.on_or_after(window.opens_at.date())
    if opens < due_day:
        specs.append(("report_open", at(opens, cfg.remind_at), window.due_end, {}))
    soon = cal.work.on_or_after(due_day - timedelta(days=cfg.due_soon_days))
    if soon < due_day:
        specs.append(("report_due_soon", at(soon, cfg.remind_at), _start(cal, due_day),
                      {"days": (due_day - soon).days}))  # fmt: skip
    specs.append(("report_due_am", at(due_day, cfg.remind_at), at(due_day, cfg.afternoon_at), {}))
    specs.append(("report_due_pm", at(due_day, cfg.afternoon_at), window.due_end, {}))
    for k in range(cfg.overdue_days):
        specs.append((f"report_overdue_{k + 1}", at(later[k], cfg.remind_at),
                       at(later[k + 1], cfg.remind_at), {"day": k + 1}))  # fmt: skip
    return [Slot(kind, when, min(stale, window.closes_at), extra)
            for kind, when, stale, extra in specs]  # fmt: skip


def plan(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> list[Due]:
    """Every scheduled message whose time has come and that the facts do not call settled:
    to send, or (stale) to record as skipped; but not the stale fan-out messages (a reminder
    per project, a notice per secretary; after an outage, a province's worth): `stale_fan_out`
    lists those, as plain rows."""
    out: list[Due] = []
    for pf in facts.periods:
        base = {"period": str(pf.period), "due_date": cal.window(pf.period).due_date}
        live = [(i, slot, prefix) for i, (slot, prefix) in enumerate(_slots(cal, cfg, pf))
                if now < slot.stale_at]  # fmt: skip
        for owing in pf.owing if live else ():
            info: dict[str, Any] = {}
            for i, slot, prefix in live:
                if owing.statuses[i] in planning.FINAL:
                    continue  # sent or skipped by an earlier tick
                info = info or {**base, "project": owing.project}
                out.append(Due(prefix + str(owing.project_id), slot.kind, owing.chat_id,
                               slot.at, slot.stale_at, {**info, **slot.extra},
                               owing.project_id))  # fmt: skip
        drafted = bulletin_time(cal, cfg, pf.period)
        when = publish_time(cal, cfg, pf.period, pf.published_at)
        if (pf.groups_owing or pf.admins_owing) and pf.published_at is None:
            # The admins review it first (发布, 通报点评, 调整红旗/蜗牛) until it goes out.
            for admin in facts.admins:
                out.append(Due(f"bulletin_draft:{pf.period}:{admin}", "bulletin_draft", admin,
                               drafted, when, {**base, "publish_at": when}))  # fmt: skip
        for group in facts.groups:
            if group.chat_id not in pf.groups_owing:
                continue  # nothing in this group's scope owes a report (or it was sent)
            # One message: the bulletin names who has not reported (the overdue list) and
            # its workbook lists them all; computed when it is sent.
            out.append(Due(_group_key(pf.period, group.chat_id), "bulletin", group.chat_id,
                           when, when + timedelta(days=cfg.overdue_list_days),
                           {**base, "group": group}))  # fmt: skip
        for user, root in _readers(facts):
            if user not in pf.admins_owing:
                continue
            # Each level its own subtree's bulletin and overdue list, the top the roll-up:
            # as published (the top admins reviewed its draft).
            out.append(Due(_admin_key(pf.period, user), "bulletin", user, when,
                           when + timedelta(days=cfg.overdue_list_days),
                           {**base, "root_org_id": root}))  # fmt: skip
    out.extend(_dispatch(facts, cal, cfg, now))
    out.extend(_notices(facts, cal, cfg))
    out.extend(_closing(facts, cal, cfg))
    if facts.quarter is not None:
        at = quarterly.due_time(cal, facts.quarter, cfg.remind_at)
        stale = quarterly.stale_time(cal, facts.quarter, cfg.remind_at)
        out.extend(
            Due(quarter_key(facts.quarter, g.chat_id), "quarter_compare", g.chat_id, at, stale,
                {"quarter": str(facts.quarter), "group": g})
            for g in facts.quarter_groups
        )  # fmt: skip
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


FAN_OUT = ("report_", "dispatch_notice")  # kinds sent per project or secretary


def stale_fan_out(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> list[Skip]:
    """The fan-out messages (FAN_OUT) too late to send and never recorded: to record as
    skipped. A failed one is left as it is: it was tried, and that is what it says."""
    out = []
    for pf in facts.periods:
        stale = [(i, slot, prefix) for i, (slot, prefix) in enumerate(_slots(cal, cfg, pf))
                 if now >= slot.stale_at]  # fmt: skip
        for owing in pf.owing if stale else ():
            for i, slot, prefix in stale:
                if owing.statuses[i] is None:
                    out.append(Skip(prefix + str(owing.project_id), slot.kind, owing.chat_id,
                                    slot.at))  # fmt: skip
    for month, notice, day in dispatch_rounds(cal, cfg, now):
        if now >= _start(cal, day):
            at, prefix = _at(cal, cfg, notice, cfg.remind_at), f"dispatch_notice:{month}:"
            for chat, _, status in facts.dispatch_notices.get(str(month), []):
                if status is None:
                    out.append(Skip(prefix + str(chat), "dispatch_notice", chat, at))
    return out


def _slots(cal: ReportCalendar, cfg: ClockConfig, pf: PeriodFacts) -> list[tuple[Slot, str]]:
    """The slots of `pf.kinds` (in that order) with their key prefixes."""
    series = {s.kind: s for s in report_series(cal, cfg, pf.period)}
    return [(series[kind], reminder_prefix(kind, pf.period)) for kind in pf.kinds]


def _notices(facts: Facts, cal: ReportCalendar, cfg: ClockConfig) -> Iterable[Due]:
    """督办单: a nudge if not signed within 24 h, the day before the deadline, and on overdue
    to the secretary and to the groups covering the organization."""
    out = []
    for item in facts.notices:
        notice, project, org, chat = item.notice, item.project, item.org, item.chat_id
        if notice.deadline is None or notice.issued_at is None:
            continue
        deadline = date.fromisoformat(notice.deadline)
        info = {"notice": notice, "project": project, "org": org}
        late = _start(cal, deadline + timedelta(days=1))
        overdue_at = _at(cal, cfg, deadline + timedelta(days=1), cfg.remind_at)
        if chat is not None:
            if notice.status == "issued":
                nudge = out_of_quiet(notice.issued_at.astimezone(cal.tz) + timedelta(hours=24), cfg)
                out.append(Due(f"duban_nudge:{notice.id}", "duban_nudge", chat, nudge, late, info))
            eve = deadline - timedelta(days=1)
            if eve > notice.issued_at.astimezone(cal.tz).date():
                out.append(Due(f"duban_due_soon:{notice.id}", "duban_due_soon", chat,
                               _at(cal, cfg, eve, cfg.remind_at), late, info))  # fmt: skip
            out.append(Due(f"duban_overdue:{notice.id}", "duban_overdue", chat, overdue_at,
                           overdue_at + timedelta(days=cfg.overdue_list_days), info))  # fmt: skip
        for group in item.groups:
            out.append(Due(f"duban_overdue_group:{notice.id}:{group.chat_id}",
                           "duban_overdue_group", group.chat_id, overdue_at,
                           overdue_at + timedelta(days=cfg.overdue_list_days), info))  # fmt: skip
    return out


CLOSING_REMINDERS = 4  # weekly, after the invitation


def _closing(facts: Facts, cal: ReportCalendar, cfg: ClockConfig) -> list[Due]:
    """结题: the invitation on the first working day of the project's last month, then a
    reminder a week for CLOSING_REMINDERS weeks, on working days; each stale when the next
    is due. None once the report is submitted. When an admin opened it early, /close_early
    already told the secretary: no invitation, the reminders count from that day."""
    out = []
    for owing in facts.closing:
        chat, project_id = owing.chat_id, owing.project_id
        if chat is None:
            continue
        end = Month.parse(owing.end_month)
        start = date(end.year, end.month, 1)
        early = False
        if owing.opened_early_at is not None:
            opened = datetime.fromisoformat(owing.opened_early_at).astimezone(cal.tz).date()
            early = opened < start
            start = min(start, opened)
        moments = [
            _at(cal, cfg, cal.work.on_or_after(start + timedelta(days=7 * k)), cfg.remind_at)
            for k in range(CLOSING_REMINDERS + 2)
        ]
        params = {"name": owing.name, "number": owing.number, "end_month": owing.end_month}
        if not early:
            out.append(Due(f"closing_invite:{project_id}", "closing_invite", chat, moments[0],
                           moments[1], params, project_id))  # fmt: skip
        for k in range(1, CLOSING_REMINDERS + 1):
            out.append(Due(f"closing_remind_{k}:{project_id}", "closing_remind", chat,
                           moments[k], moments[k + 1], {**params, "week": k},
                           project_id))  # fmt: skip
    return out


def dispatch_rounds(
    cal: ReportCalendar, cfg: ClockConfig, now: datetime
) -> list[tuple[Month, date, date]]:
    """The 双月调度 rounds planned this month, (month, notice day, dispatch day): this
    month's, and last month's when its day moved into this month (after a holiday)."""
    this = Month.of(now.astimezone(cal.tz))
    rounds = []
    for month in (this.plus(-1), this):
        if month.month not in cfg.dispatch_months:
            continue
        day = dispatch_day(cal, cfg, month)
        if month != this and Month.of(_start(cal, day)) != this:
            continue  # last month's round is only planned when its day moved into this one
        notice = cal.work.on_or_after(day - timedelta(days=cfg.dispatch_notice_days))
        rounds.append((month, notice, day))
    return rounds


def _dispatch(facts: Facts, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> list[Due]:
    """Each 双月调度 round: the notice to secretaries; the summary's draft to the top admins,
    then at its publication the summary to the groups and to each level's admins."""
    out: list[Due] = []
    for month, notice, day in dispatch_rounds(cal, cfg, now):
        if notice < day and now < _start(cal, day):  # stale: see stale_fan_out
            at, stale = _at(cal, cfg, notice, cfg.remind_at), _start(cal, day)
            prefix = f"dispatch_notice:{month}:"
            # One params for every secretary's notice (100,000 of them in a province): a
            # Due's params are only read (deliver copies them before adding to them).
            params = {"month": str(month), "dispatch_date": day}
            for chat, project_id, _ in facts.dispatch_notices.get(str(month), []):
                out.append(Due(prefix + str(chat), "dispatch_notice", chat, at, stale, params,
                               project_id))  # fmt: skip
        summary_at = _at(cal, cfg, day, cfg.remind_at)
        summary_stale = _start(cal, day + timedelta(days=cfg.overdue_list_days))
        published = facts.dispatch_published.get(str(month))
        when = publish_time(cal, cfg, month, published, "dispatch")
        reviewed = not cfg.dispatch_auto_send
        base = {"month": str(month), "publish_at": when}
        for admin in facts.admins if reviewed and published is None else ():
            # The top admins review it first (发布, 点评) until it goes out.
            out.append(Due(f"dispatch_draft:{month}:{admin}", "dispatch_draft", admin,
                           summary_at, when, base))  # fmt: skip
        for group in facts.groups:
            out.append(Due(f"dispatch_group:{month}:{group.chat_id}", "dispatch_group",
                           group.chat_id, when, summary_stale,
                           {**base, "group": group}))  # fmt: skip
        # As published: each level its own subtree's; the top admins everything, unless
        # they had its draft.
        readers: list[tuple[int, int | None]] = [
            (user, root) for user, root in facts.levels if user not in facts.admins
        ]
        if not reviewed:
            readers = [*((admin, None) for admin in facts.admins), *readers]
        for user, root in readers:
            out.append(Due(f"dispatch_summary:{month}:{user}", "dispatch_summary", user,
                           when, summary_stale, {**base, "root_org_id": root}))  # fmt: skip
        for admin in facts.admins:
            # How many projects are in progress is counted when it is sent.
            out.append(Due(f"dispatch_admin:{month}:{admin}", "dispatch_admin", admin,
                           summary_at, _start(cal, day + timedelta(days=1)),
                           {"month": str(month), "dispatch_date": day}))  # fmt: skip
    return out


def latest_of_each_series(dues: list[Due]) -> tuple[list[Due], list[Due]]:
    """Of the report reminders of one project and month due together, keep the newest;
    return (kept, superseded)."""
    newest: dict[str, Due] = {}
    kept: list[Due] = []
    reminders: list[tuple[str, Due]] = []
    for due in dues:
        if not due.kind.startswith("report_"):
            kept.append(due)
            continue
        series = due.key.partition(":")[2]  # period:project
        reminders.append((series, due))
        if series not in newest or due.at > newest[series].at:
            newest[series] = due
    kept.extend(newest.values())
    return kept, [due for series, due in reminders if newest[series] is not due]


class Skip(NamedTuple):
    """A message recorded as skipped, never to be sent: stale, or superseded."""

    key: str
    kind: str
    chat_id: int
    at: datetime


@dataclass
class Decision:
    """What one tick does, apart from sending."""

    due: int  # messages this tick acts on: due, and not settled (sent or skipped) before
    stale: list[Skip]  # too late to send and never recorded: record as skipped
    todo: list[Due]  # to send now
    superseded: list[Due]  # older reminders of a series whose newest goes now: skip them


async def decide(db: Database, cal: ReportCalendar, cfg: ClockConfig, now: datetime) -> Decision:
    """Plan `now` and sort what is due against what earlier ticks recorded."""
    facts = await load_facts(db, cal, cfg, now)
    dues = plan(facts, cal, cfg, now)
    stale = stale_fan_out(facts, cal, cfg, now)
    # The facts came with the fan-out's statuses (none of them settled): ask for the rest.
    asked = [d.key for d in dues if not d.kind.startswith(FAN_OUT)]
    recorded = await planning.statuses(db, asked)
    todo = []
    for d in dues:
        status = recorded.get(d.key)
        if d.is_stale(now):
            if status is None:
                stale.append(Skip(d.key, d.kind, d.chat_id, d.at))
        elif status not in planning.FINAL:
            todo.append(d)
    # After an outage, only the newest reminder of a series goes out (one message, not a
    # burst of "window open", "2 days left", "today" to the same person).
    todo, superseded = latest_of_each_series(todo)
    return Decision(len(stale) + len(todo) + len(superseded), stale, todo, superseded)

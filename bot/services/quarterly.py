"""季度互比: after each quarter, the sub-organizations of a scope side by side — report rate,
on-time rate, average completion against the planned pace, 红旗/蜗牛 counts and overdue
督办单 — computed from the quarter's three monthly bulletins (bot/services/digest.py), each
as it stood at its month's end, so a project is judged here as it was month by month; its
completion at the quarter's end is its latest report's (README "季度互比")."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import date, datetime, time, timedelta

from bot.services import digest, duban
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from storage import bulletins, notices, plans, summary
from storage import quarterly as storage_quarterly
from storage.db import Database
from storage.rows import Notice, Org, ts
from storage.summary import ProjectBrief

# Every flagged project counts here, not only the few a bulletin names.
UNCAPPED = digest.FlagRules(max_each=1_000_000_000)
STALE_DAYS = 7  # a comparison held up by an outage still goes out within a week


@dataclass(frozen=True, order=True, slots=True)
class Quarter:
    year: int
    number: int  # 1–4

    @property
    def months(self) -> list[Month]:
        first = 3 * (self.number - 1) + 1
        return [Month(self.year, first + i) for i in range(3)]

    def __str__(self) -> str:
        return f"{self.year}Q{self.number}"

    @classmethod
    def parse(cls, text: str) -> Quarter:
        year, number = text.split("Q")
        return cls(int(year), int(number))

    @classmethod
    def before(cls, day: date) -> Quarter:
        """The last quarter that ended before `day`."""
        this = cls(day.year, (day.month - 1) // 3 + 1)
        return cls(this.year - 1, 4) if this.number == 1 else cls(this.year, this.number - 1)

    def next_day(self) -> date:
        """The first day after the quarter."""
        last = self.months[-1].plus(1)
        return date(last.year, last.month, 1)


def due_time(cal: ReportCalendar, quarter: Quarter, at: time) -> datetime:
    """When the comparison of `quarter` goes out: the first working day after it, at `at`
    (the clock's reminder time, outside the quiet hours)."""
    day = cal.work.on_or_after(quarter.next_day())
    return datetime.combine(day, at, tzinfo=cal.tz)


def stale_time(cal: ReportCalendar, quarter: Quarter, at: time) -> datetime:
    return due_time(cal, quarter, at) + timedelta(days=STALE_DAYS)


@dataclass(slots=True)
class Side:
    """One sub-organization over the quarter."""

    org: Org
    expected: int = 0  # project-months owed a report (exempt ones left out)
    filed: int = 0
    on_time: int = 0
    red: int = 0
    snail: int = 0
    overdue_notices: int = 0
    projects: int = 0  # projects that owed a report in any month of the quarter
    # completion minus pace at the quarter's end, per project (not those terminated by then)
    ahead: list[int] = field(default_factory=list)

    @property
    def report_rate(self) -> int:
        return round(100 * self.filed / self.expected) if self.expected else 100

    @property
    def on_time_rate(self) -> int:
        return round(100 * self.on_time / self.expected) if self.expected else 100

    @property
    def versus_pace(self) -> int | None:
        """Average completion against the planned pace, in points (negative: behind)."""
        return round(sum(self.ahead) / len(self.ahead)) if self.ahead else None


@dataclass
class Comparison:
    quarter: Quarter
    root: Org | None
    sides: list[Side]  # best first: on-time rate, then pace

    @property
    def total(self) -> Side:
        whole = Side(self.root or Org(0, "", "", None, ""))
        for side in self.sides:
            whole.expected += side.expected
            whole.filed += side.filed
            whole.on_time += side.on_time
            whole.red += side.red
            whole.snail += side.snail
            whole.overdue_notices += side.overdue_notices
            whole.projects += side.projects
            whole.ahead.extend(side.ahead)
        return whole


async def comparison_from(
    view: Database, cal: ReportCalendar, quarter: Quarter, now: datetime,
    root_org_id: int | None,
) -> Comparison:  # fmt: skip
    """The quarter's comparison for one scope, read from `view` (in the export process)."""
    sides: dict[int, Side] = {}
    root: Org | None = None
    first, last = quarter.months[0], quarter.months[-1]
    ran: dict[int, tuple[Side, ProjectBrief]] = {}  # every project that owed a report in it
    for month in quarter.months:
        # Each month as it stood at its end (a 督办单 answered later was overdue then).
        month_end = min(now, _start_of(cal, month.plus(1)))
        b = await digest.bulletin_from(view, cal, month, month_end, root_org_id, UNCAPPED, None)
        root = b.root
        # The lists with the admins' 调整红旗/蜗牛; a report filed after the month's end was
        # still missing then, a snail (unless the admins took it off), though it counts as
        # filed late.
        red = {line.project.id for line in b.red}
        snail = {line.project.id for line in b.snail}
        changes = {(c.project_id, c.flag): c.action
                   for c in await bulletins.flag_changes(view, str(month))}  # fmt: skip
        for project, _, _ in await summary.filed_after(view, str(month), ts(month_end),
                                                       root_org_id):  # fmt: skip
            if changes.get((project.id, "snail")) != "remove":
                snail.add(project.id)
        for line in b.lines:
            org = line.branch or line.org
            side = sides.get(org.id)
            if side is None:
                side = sides[org.id] = Side(org)
            if line.state != "exempt":
                side.expected += 1
                side.filed += line.state in ("on_time", "late")
                side.on_time += line.state == "on_time"
            side.red += line.project.id in red
            side.snail += line.project.id in snail
            ran[line.project.id] = (side, line.project)
    # Completion is cumulative: the latest report filed for any month up to the quarter's
    # last, against the pace the plan in force then asks by its end; a project terminated
    # and no longer running in it (`ran_in`) has no pace to keep.
    done = await storage_quarterly.latest_completions(view, str(first), str(last), root_org_id)
    stopped = await storage_quarterly.terminated_by(view, str(last))
    changed = await plans.spans(view)
    for project_id, (side, project) in ran.items():
        side.projects += 1
        if project_id not in stopped:
            side.ahead.append(done.get(project_id, 0) - digest.planned_pace(project, last, changed))
    start, end = _start_of(cal, first), _start_of(cal, last.plus(1))
    history = await notices.steps(view, ts(end))
    for notice in await notices.listing(view):
        found = ran.get(notice.project_id)
        if found is not None and _overdue_within(notice, history.get(notice.id, []), cal,
                                                 start, min(now, end)):  # fmt: skip
            found[0].overdue_notices += 1
    ordered = sorted(
        sides.values(),
        key=lambda s: (-s.on_time_rate, s.versus_pace is None, -(s.versus_pace or 0), s.org.code),
    )
    return Comparison(quarter, root, ordered)


def _start_of(cal: ReportCalendar, month: Month) -> datetime:
    return datetime(month.year, month.month, 1, tzinfo=cal.tz)


def _overdue_within(notice: Notice, steps: list[tuple[datetime, str]], cal: ReportCalendar,
                    start: datetime, end: datetime) -> bool:  # fmt: skip
    """Whether the 督办单 was overdue (the /duban_list rule) at some moment of start..end, by its
    steps: it can only turn overdue at the start, at a step, a day after issue or at its
    deadline, so those moments are the ones to look at."""
    deadline = duban.deadline_end(notice, cal)
    moments = {start, *(at for at, _ in steps)}
    if notice.issued_at is not None:
        moments.add(notice.issued_at + duban.SIGN_WITHIN)
    if deadline is not None:
        moments.add(deadline)
    for moment in sorted(m for m in moments if start <= m < end):
        then = [status for at, status in steps if at <= moment]
        if then and duban.is_overdue(replace(notice, status=then[-1]), deadline, moment):
            return True
    return False

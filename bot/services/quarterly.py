"""季度互比: after each quarter, the sub-organizations of a scope side by side — report rate,
on-time rate, average completion against the planned pace, 红旗/蜗牛 counts and overdue
督办单 — computed from the quarter's three monthly bulletins (bot/services/digest.py), so a
project is judged here exactly as it was month by month."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from bot.services import digest
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from storage.db import Database
from storage.rows import Org

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
    projects: int = 0  # projects in the quarter's last month
    ahead: list[int] = field(default_factory=list)  # completion minus pace, per project

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
    last = quarter.months[-1]
    for month in quarter.months:
        b = await digest.bulletin_from(view, cal, month, now, root_org_id, UNCAPPED, None)
        root = b.root
        red = {line.project.id for line in b.red}
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
            side.snail += bool(line.reasons)
            if month == last:
                side.projects += 1
                done = line.completion if line.completion is not None else line.last_completion
                side.ahead.append((done or 0) - line.pace)
        if month == last:
            branch_of = {ln.org.id: (ln.branch or ln.org).id for ln in b.lines}
            for _, _, org in b.notices_overdue:
                side = sides.get(branch_of.get(org.id, org.id))
                if side is not None:
                    side.overdue_notices += 1
    ordered = sorted(
        sides.values(),
        key=lambda s: (-s.on_time_rate, s.versus_pace is None, -(s.versus_pace or 0), s.org.code),
    )
    return Comparison(quarter, root, ordered)

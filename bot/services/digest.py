"""Digests: the monthly bulletin (月通报) with 红旗/蜗牛 rankings, and the 双月调度 summary.

Everything is computed from the database with a handful of bulk queries; the rules (what
makes a red flag or a snail) are written down in the README and tested with fixed data.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime

from bot.services.calendar import ReportCalendar, ReportWindow
from bot.services.months import Month
from storage import deliveries, notices, orgs, projects, reports
from storage.db import Database
from storage.rows import Milestone, Notice, Org, Project, Report, ReportVersion

YEAR = re.compile(r"^\s*(\d{4})\s*年?\s*$")


def parse_year(text: str) -> int | None:
    """A year typed by an admin: 2026 or 2026年."""
    match = YEAR.match(text)
    return int(match.group(1)) if match else None


@dataclass(frozen=True)
class FlagRules:
    """红旗/蜗牛: at most `max_each` of each, ranked by distance from the planned pace."""

    max_each: int = 5


@dataclass
class Line:
    """One project in one month's bulletin."""

    project: Project
    org: Org
    state: str  # on_time | late | missing | exempt
    completion: int | None
    last_completion: int | None
    pace: int  # planned completion by the end of this month, straight-line
    version: ReportVersion | None
    reasons: list[str] = field(default_factory=list)  # why it is a snail (or red flag)
    overdue_milestones: list[Milestone] = field(default_factory=list)

    @property
    def behind(self) -> int:
        return self.pace - (self.completion if self.completion is not None else
                            (self.last_completion or 0))  # fmt: skip


@dataclass
class Bulletin:
    period: Month
    window: ReportWindow
    root: Org | None  # the group's scope (None: everything)
    lines: list[Line]
    red: list[Line]
    snail: list[Line]
    problems: list[Line]  # lines whose report names a problem
    late_before: list[tuple[Project, Org, Report]]  # last month's reports filed after its bulletin
    notices_issued: int
    notices_open: int
    notices_overdue: list[tuple[Notice, Project, Org]]

    def count(self, state: str) -> int:
        return sum(1 for line in self.lines if line.state == state)

    @property
    def expected(self) -> int:
        return sum(1 for line in self.lines if line.state != "exempt")

    @property
    def rate(self) -> int:
        done = self.count("on_time") + self.count("late")
        return round(100 * done / self.expected) if self.expected else 100

    @property
    def missing(self) -> list[Line]:
        return [line for line in self.lines if line.state == "missing"]


def planned_pace(project: Project, period: Month) -> int:
    """Straight-line plan: the share of the project's months elapsed by the end of `period`."""
    assert project.start_month and project.end_month
    start, end = Month.parse(project.start_month), Month.parse(project.end_month)
    span = start.months_to(end)
    elapsed = min(max(start.months_to(period), 0), span)
    return round(100 * elapsed / span)


def notice_overdue(notice: Notice, cal: ReportCalendar, now: datetime) -> bool:
    """督办单 overdue: the same rule as /duban_list (bot/services/duban.py)."""
    from bot.services.duban import deadline_end, is_overdue

    return is_overdue(notice, deadline_end(notice, cal), now)


async def bulletin(
    db: Database,
    cal: ReportCalendar,
    period: Month,
    now: datetime,
    *,
    root_org_id: int | None = None,
    rules: FlagRules = FlagRules(),
    published_at: datetime | None = None,
) -> Bulletin:
    """The bulletin of `period` for one scope (a group's subtree, or everything)."""
    conn = db.conn
    scope = set(await orgs.subtree_ids(conn, root_org_id)) if root_org_id else None
    owing = [p for p in await projects.active_in(conn, str(period))
             if scope is None or p.org_id in scope]  # fmt: skip
    previous = period.plus(-1)
    filed = await reports.latest_versions(conn, [str(period), str(previous)])
    exempt = await deliveries.exemptions(conn, str(period))
    org_map = await orgs.by_ids(conn, [p.org_id for p in owing])
    milestones = await projects.milestones_of(conn, [p.id for p in owing])
    open_notices = [n for n in await notices.listing(conn, ("issued", "signed", "answered"))]
    overdue_by_project: dict[int, list[Notice]] = {}
    for n in open_notices:
        if notice_overdue(n, cal, now):
            overdue_by_project.setdefault(n.project_id, []).append(n)
    lines = []
    for p in owing:
        this = filed.get((p.id, str(period)))
        last = filed.get((p.id, str(previous)))
        if this is not None:
            state = "on_time" if this[0].on_time else "late"
        else:
            state = "exempt" if p.org_id in exempt else "missing"
        line = Line(p, org_map[p.org_id], state, this[1].completion if this else None,
                    last[1].completion if last else None, planned_pace(p, period),
                    this[1] if this else None)  # fmt: skip
        line.overdue_milestones = [
            m for m in milestones[p.id]
            if Month.parse(m.month) <= period.plus(-1)
            and (m.done_month is None or m.done_month > str(period))
        ]  # fmt: skip
        if state != "exempt":
            if state == "missing":
                line.reasons.append("missing")
            if line.overdue_milestones:
                line.reasons.append("milestone_overdue")
            if (line.completion is not None and line.completion == line.last_completion
                    and line.completion < 100):  # fmt: skip
                line.reasons.append("no_change")
            if overdue_by_project.get(p.id):
                line.reasons.append("notice_overdue")
        lines.append(line)
    snail = sorted((ln for ln in lines if ln.reasons), key=lambda ln: -ln.behind)
    red = sorted(
        (ln for ln in lines
         if ln.state == "on_time" and not ln.reasons and ln.completion is not None
         and ln.completion >= ln.pace
         and all(m.done_month and m.done_month <= str(period) for m in milestones[ln.project.id]
                 if Month.parse(m.month) <= period)),
        key=lambda ln: ln.behind,
    )  # fmt: skip
    problems = [ln for ln in lines if ln.version and ln.version.problems.strip() not in ("", "无")]
    late_before = []
    if published_at is not None:
        late = {
            pid: report
            for (pid, per), (report, _) in filed.items()
            if per == str(previous)
            and report.first_submitted_at
            and report.first_submitted_at > published_at
        }
        # Also projects that ended last month: their late report must not vanish.
        late_projects = await projects.search_all_ids(conn, set(late))
        late_orgs = await orgs.by_ids(conn, [p.org_id for p in late_projects])
        for project in late_projects:
            if scope is None or project.org_id in scope:
                late_before.append((project, late_orgs[project.org_id], late[project.id]))
    month_start = datetime(period.year, period.month, 1, tzinfo=cal.tz)
    month_end = datetime(period.plus(1).year, period.plus(1).month, 1, tzinfo=cal.tz)
    in_scope = {p.id: p for p in owing}
    scoped_notices = [n for n in await notices.listing(conn) if n.project_id in in_scope]
    root = await orgs.by_id(conn, root_org_id) if root_org_id else None
    return Bulletin(
        period, cal.window(period), root, sorted(lines, key=lambda ln: ln.org.code),
        red[: rules.max_each], snail[: rules.max_each], problems, late_before,
        sum(1 for n in scoped_notices if n.issued_at and month_start <= n.issued_at < month_end),
        sum(1 for n in scoped_notices if n.status in ("issued", "signed", "answered")),
        [(n, in_scope[n.project_id], org_map[in_scope[n.project_id].org_id])
         for n in scoped_notices if notice_overdue(n, cal, now)],
    )  # fmt: skip


@dataclass
class DispatchLine:
    project: Project
    org: Org
    completion_before: int | None  # at the end of the month before the two
    completion_first: int | None
    completion_second: int | None
    states: tuple[str, str]
    milestones_done: list[Milestone]
    open_notices: int
    overdue_notices: int
    problems: list[str]

    @property
    def stalled(self) -> bool:
        """No progress in either month (a missing report counts as none; a month that was
        exempt or outside the project's span is not held against it)."""
        if any(s in ("exempt", "not_due") for s in self.states):
            return False
        a, b, c = self.completion_before, self.completion_first, self.completion_second
        first = b is None or (a is not None and b <= a)
        second = c is None or (b is not None and c <= b)
        return first and second


@dataclass
class DispatchSummary:
    month: Month  # the dispatch month (the second of the two)
    lines: list[DispatchLine]

    @property
    def stalled(self) -> list[DispatchLine]:
        return [ln for ln in self.lines if ln.stalled]

    @property
    def problems(self) -> list[DispatchLine]:
        return [ln for ln in self.lines if ln.problems]


async def dispatch_summary(
    db: Database, cal: ReportCalendar, month: Month, now: datetime,
    root_org_id: int | None = None,
) -> DispatchSummary:  # fmt: skip
    """双月调度: the two months up to `month` for every active project in scope; stalled
    ones first."""
    conn = db.conn
    first, before = month.plus(-1), month.plus(-2)
    scope = set(await orgs.subtree_ids(conn, root_org_id)) if root_org_id else None
    owing = await projects.active_in(conn, str(month))
    seen = {p.id for p in owing}  # by id: comparing whole projects was quadratic
    owing += [p for p in await projects.active_in(conn, str(first)) if p.id not in seen]
    owing = [p for p in owing if scope is None or p.org_id in scope]
    filed = await reports.latest_versions(conn, [str(before), str(first), str(month)])
    org_map = await orgs.by_ids(conn, [p.org_id for p in owing])
    milestones = await projects.milestones_of(conn, [p.id for p in owing])
    all_notices = await notices.listing(conn, ("issued", "signed", "answered"))
    exempt = {str(m): await deliveries.exemptions(conn, str(m)) for m in (first, month)}
    by_project: dict[int, list[Notice]] = {}
    for n in all_notices:
        by_project.setdefault(n.project_id, []).append(n)
    lines = []
    for p in owing:

        def get(per: Month, pid: int = p.id) -> tuple[Report, ReportVersion] | None:
            return filed.get((pid, str(per)))

        def state(per: Month, project: Project = p) -> str:
            found = get(per)
            if found is not None:
                return "on_time" if found[0].on_time else "late"
            assert project.start_month and project.end_month
            if not Month.parse(project.start_month) <= per <= Month.parse(project.end_month):
                return "not_due"
            return "exempt" if project.org_id in exempt.get(str(per), {}) else "missing"

        def completion(per: Month) -> int | None:
            found = get(per)
            return found[1].completion if found else None

        mine = by_project.get(p.id, [])
        lines.append(DispatchLine(
            p, org_map[p.org_id], completion(before), completion(first), completion(month),
            (state(first), state(month)),
            [m for m in milestones[p.id] if m.done_month in (str(first), str(month))],
            len(mine), sum(1 for n in mine if notice_overdue(n, cal, now)),
            [v[1].problems for per in (first, month) if (v := get(per))
             and v[1].problems.strip() not in ("", "无")],
        ))  # fmt: skip
    lines.sort(key=lambda ln: (not ln.stalled, ln.org.code))
    return DispatchSummary(month, lines)


@dataclass
class History:
    outcome: str  # ok | not_found
    project: Project | None = None
    rows: list[tuple[str, str, ReportVersion | None]] = field(default_factory=list)


async def history(
    db: Database, cal: ReportCalendar, viewer_org_id: int | None, is_admin: bool, query: str,
    now: datetime,
) -> History:  # fmt: skip
    """/history <项目编号>: the project's reports month by month (a secretary: own only)."""
    from bot.services.projects import find_project

    project = await find_project(db, query)
    if (
        project is None
        or project.status not in ("approved", "concluded", "accepted")
        or (not is_admin and project.org_id != viewer_org_id)
    ):
        return History("not_found")
    assert project.start_month and project.end_month
    current = cal.current_period(now)
    months = []
    month = Month.parse(project.start_month)
    while month <= min(Month.parse(project.end_month), current):
        months.append(month)
        month = month.plus(1)
    filed = await reports.latest_versions(db.conn, [str(m) for m in months])
    rows: list[tuple[str, str, ReportVersion | None]] = []
    for m in months:
        found = filed.get((project.id, str(m)))
        if found:
            rows.append((str(m), "on_time" if found[0].on_time else "late", found[1]))
        elif now < cal.window(m).due_end:
            rows.append((str(m), "not_due", None))
        else:
            exempt = project.org_id in await deliveries.exemptions(db.conn, str(m))
            rows.append((str(m), "exempt" if exempt else "missing", None))
    return History("ok", project, rows)

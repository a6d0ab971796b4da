"""Digests: the monthly bulletin (月通报) with 红旗/蜗牛 rankings, and the 双月调度 summary.

Everything is computed from the database with a handful of lean queries (storage/summary.py:
one row per project with its months joined in SQLite, streamed); the rules (what makes a red
flag or a snail) are written down in the README and tested with fixed data.
"""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from functools import lru_cache

from bot.services.adjust import Spans, span_in_force
from bot.services.calendar import ReportCalendar, ReportWindow
from bot.services.months import Month, year_in_range
from bot.services.scopes import AdminScope, covers
from storage import bulletins, closing, notices, plans, projects, reports, summary
from storage.db import Database
from storage.rows import Milestone, Notice, Org, Project, Reader, ReportVersion, ts
from storage.summary import LateFiling, ProjectBrief

YEAR = re.compile(r"^\s*(\d{4})\s*年?\s*$")


def parse_year(text: str) -> int | None:
    """A year typed by an admin: 2026 or 2026年 (None outside FIRST_YEAR..LAST_YEAR)."""
    match = YEAR.match(text)
    if match is None or not year_in_range(int(match.group(1))):
        return None
    return int(match.group(1))


@dataclass(frozen=True)
class FlagRules:
    """红旗/蜗牛: at most `max_each` of each, ranked by distance from the planned pace."""

    max_each: int = 5


# A snail's reasons, most serious first: the bulletin names the first that applies.
REASON_ORDER = ("missing", "notice_overdue", "milestone_overdue", "no_change")


@dataclass(slots=True)
class Line:
    """One project in one month's bulletin."""

    project: ProjectBrief
    org: Org
    state: str  # on_time | late | missing | exempt
    completion: int | None
    last_completion: int | None
    pace: int  # planned completion by the end of this month, straight-line
    problems: str | None = None  # the problem this month's report names (None: 无)
    reasons: list[str] = field(default_factory=list)  # why it is a snail (or red flag)
    overdue_milestones: list[Milestone] = field(default_factory=list)
    branch: Org | None = None  # the sub-organization of the scope it belongs to
    note: str | None = None  # an admin's reason for putting it on a list (调整红旗/蜗牛)

    @property
    def main_reason(self) -> str | None:
        """The one reason a glance shows: the most serious (REASON_ORDER)."""
        return min(self.reasons, key=REASON_ORDER.index) if self.reasons else None

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
    # last month's reports filed after its bulletin
    late_before: list[tuple[ProjectBrief, Org, LateFiling]]
    notices_issued: int
    notices_open: int
    notices_overdue: list[tuple[Notice, ProjectBrief, Org]]
    comment: str | None = None  # 通报点评, by an admin before publication
    _counts: Counter[str] = field(init=False, repr=False)
    branches: list[Branch] = field(init=False, repr=False)

    def __post_init__(self) -> None:
        # Counted once: the templates ask for each count several times, over 100,000 lines.
        self._counts = Counter(line.state for line in self.lines)
        by_branch: dict[int, Branch] = {}
        for line in self.lines:
            org = line.branch or line.org
            branch = by_branch.get(org.id)
            if branch is None:
                branch = by_branch[org.id] = Branch(org)
            branch.counts[line.state] += 1
        # Most missing first, then the lowest on-time rate: where a leader should look.
        self.branches = sorted(
            by_branch.values(), key=lambda b: (-b.counts["missing"], b.on_time_rate, b.org.code)
        )

    @property
    def on_time_rate(self) -> int:
        return round(100 * self.count("on_time") / self.expected) if self.expected else 100

    @property
    def most_missing(self) -> list[Branch]:
        """The sub-organizations with reports missing, most first (at most three)."""
        return [b for b in self.branches if b.counts["missing"]][:3]

    @property
    def open_problems(self) -> int:
        return len(self.problems)

    def count(self, state: str) -> int:
        return self._counts[state]

    @property
    def expected(self) -> int:
        return len(self.lines) - self._counts["exempt"]

    @property
    def rate(self) -> int:
        done = self.count("on_time") + self.count("late")
        return round(100 * done / self.expected) if self.expected else 100

    @property
    def missing(self) -> list[Line]:
        return [line for line in self.lines if line.state == "missing"]


@dataclass(slots=True)
class Branch:
    """One sub-organization of a bulletin's scope, with its projects' states counted."""

    org: Org
    counts: Counter[str] = field(default_factory=Counter)

    @property
    def expected(self) -> int:
        return sum(self.counts.values()) - self.counts["exempt"]

    @property
    def on_time_rate(self) -> int:
        return round(100 * self.counts["on_time"] / self.expected) if self.expected else 100


def planned_pace(
    project: Project | ProjectBrief, period: Month, changed: Spans | None = None
) -> int:
    """Straight-line plan: the share of the project's months elapsed by the end of `period`,
    under the plan in force in `period` (`changed`: the spans of changed plans, 调整)."""
    assert project.start_month and project.end_month
    start, end = span_in_force(project.id, project.start_month, project.end_month, str(period),
                               changed)  # fmt: skip
    return _pace(start, end, period)


@lru_cache(maxsize=4096)
def _pace(start_month: str, end_month: str, period: Month) -> int:
    # Cached: a province's projects share a handful of spans.
    start, end = Month.parse(start_month), Month.parse(end_month)
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
    return await db.off_loop(bulletin_from, cal, period, now, root_org_id, rules, published_at)


async def bulletin_from(
    view: Database, cal: ReportCalendar, period: Month, now: datetime,
    root_org_id: int | None, rules: FlagRules, published_at: datetime | None,
) -> Bulletin:  # fmt: skip
    """`bulletin`, read from `view` (in the export process)."""
    this, previous = str(period), str(period.plus(-1))
    # Milestones due by this month and still open then: any of them bars a red flag; those
    # due by last month make a snail.
    open_milestones = await summary.open_milestones(view, this, root_org_id)
    for project_id, items in (await plans.earlier_schedules(view, this)).items():
        # A month before an approved 调整 is judged by the milestones of the plan it had.
        open_milestones[project_id] = await _open_then(view, project_id, items, this)
    root, branch_of = await summary.branches(view, root_org_id)
    # 督办单 as they stood at `now`: a bulletin of a past month sees them as they were then.
    all_notices = await notices.as_of(view, ts(now))
    overdue_by_project: dict[int, list[Notice]] = {}
    for n in all_notices:
        if n.status in notices.OPEN and notice_overdue(n, cal, now):
            overdue_by_project.setdefault(n.project_id, []).append(n)
    changed = await plans.spans(view)
    lines: list[Line] = []
    red: list[Line] = []
    async for project, org, filed, last_completion, exempt in summary.bulletin_rows(
        view, this, previous, root_org_id
    ):
        if filed is not None:
            state = "on_time" if filed.on_time else "late"
        else:
            state = "exempt" if exempt else "missing"
        line = Line(project, org, state, filed.completion if filed else None, last_completion,
                    planned_pace(project, period, changed), filed.problems if filed else None,
                    branch=branch_of.get(org.id))  # fmt: skip
        still_open = open_milestones.get(project.id)
        if still_open:
            # Overdue once a month it was owed has passed: one planned before 立项 is due
            # by the first month owed (its report can tick it off).
            line.overdue_milestones = [
                m for m in still_open if max(m.month, project.owed_from or "") <= previous
            ]
        if state != "exempt":
            if state == "missing":
                line.reasons.append("missing")
            if line.overdue_milestones:
                line.reasons.append("milestone_overdue")
            if (line.completion is not None and line.completion == line.last_completion
                    and line.completion < 100):  # fmt: skip
                line.reasons.append("no_change")
            if project.id in overdue_by_project:
                line.reasons.append("notice_overdue")
        if (state == "on_time" and not line.reasons and line.completion is not None
                and line.completion >= line.pace and not still_open):  # fmt: skip
            red.append(line)
        lines.append(line)
    snail = sorted((ln for ln in lines if ln.reasons), key=lambda ln: -ln.behind)
    red.sort(key=lambda ln: ln.behind)
    red, snail = red[: rules.max_each], snail[: rules.max_each]
    review = await bulletins.review(view, this)
    _apply_changes(lines, red, snail, await bulletins.flag_changes(view, this))
    problems = [ln for ln in lines if ln.problems is not None]
    late_before = []
    if published_at is not None:
        late_before = await summary.filed_after(view, previous, ts(published_at), root_org_id)
    month_start = datetime(period.year, period.month, 1, tzinfo=cal.tz)
    month_end = datetime(period.plus(1).year, period.plus(1).month, 1, tzinfo=cal.tz)
    in_scope = {ln.project.id: ln for ln in lines}
    scoped_notices = [n for n in all_notices if n.project_id in in_scope]
    if root_org_id is None:
        root = None  # everything: the bulletin names no scope
    return Bulletin(
        period, cal.window(period), root, sorted(lines, key=lambda ln: ln.org.code),
        red, snail, problems, late_before,
        sum(1 for n in scoped_notices if n.issued_at and month_start <= n.issued_at < month_end),
        sum(1 for n in scoped_notices if n.status in notices.OPEN),
        [(n, in_scope[n.project_id].project, in_scope[n.project_id].org)
         for n in scoped_notices if notice_overdue(n, cal, now)],
        review.comment if review else None,
    )  # fmt: skip


async def _ticks_then(conn: Reader, project_id: int,
                      items: plans.Items) -> list[str | None]:  # fmt: skip
    """The month each of an earlier plan's milestones was ticked off (None: not yet; one the
    change dropped or moved was not done, for only open ones are dropped or moved)."""
    kept = await projects.milestones(conn, project_id)
    done = {(m.month, m.content): m.done_month for m in kept}
    return [done.get(item) for item in items]


async def _open_then(conn: Reader, project_id: int, items: plans.Items,
                     period: str) -> list[Milestone]:  # fmt: skip
    """Of an earlier plan's milestones, those due by `period` and not done by then."""
    found = []
    ticks = await _ticks_then(conn, project_id, items)
    for position, ((month, content), ticked) in enumerate(zip(items, ticks, strict=True), 1):
        if month <= period and (ticked is None or ticked > period):
            found.append(Milestone(0, project_id, position, month, content, ticked))
    return found


def _apply_changes(
    lines: list[Line], red: list[Line], snail: list[Line], changes: list[bulletins.FlagChange]
) -> None:
    """调整红旗/蜗牛: the latest change per project and list counts; a project put on a list
    carries the admin's reason; one outside the scope is not in the lines."""
    latest = {(c.project_id, c.flag): c for c in changes}
    by_id = {ln.project.id: ln for ln in lines}
    for (project_id, flag), change in latest.items():
        line = by_id.get(project_id)
        if line is None:
            continue
        target = red if flag == "red" else snail
        target[:] = [ln for ln in target if ln.project.id != project_id]
        if change.action == "add":
            line.note = change.reason
            target.append(line)


@dataclass(slots=True)
class DispatchLine:
    project: ProjectBrief
    org: Org
    completion_before: int | None  # at the end of the month before the two
    completion_first: int | None
    completion_second: int | None
    states: tuple[str, str]
    milestones_done: int  # milestones ticked off in the two months
    open_notices: int
    overdue_notices: int
    problems: list[str]
    pace: int = 0  # planned completion by the end of the dispatch month, straight-line
    milestones_open: int = 0  # milestones not done by the end of the dispatch month
    end_month: str | None = None  # of the plan in force in the dispatch month (调整)
    ended: bool = False  # not running in the dispatch month (terminated, or concluded early)

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

    @property
    def latest(self) -> int | None:
        """The latest completion reported over the three months."""
        for value in (self.completion_second, self.completion_first, self.completion_before):
            if value is not None:
                return value
        return None

    @property
    def pace_state(self) -> str:
        """stalled; else ahead (at or ahead of the planned pace), on_pace (behind by at most
        PACE_SLACK points) or behind (further, or never reported)."""
        if self.stalled:
            return "stalled"
        latest = self.latest
        if latest is not None and latest >= self.pace:
            return "ahead"
        if latest is not None and latest >= self.pace - PACE_SLACK:
            return "on_pace"
        return "behind"


PACE_SLACK = 10  # percentage points behind the planned pace still counted as on pace


def months_left(line: DispatchLine, month: Month) -> int:
    """The project's months after the dispatch month, up to the end month of the plan in
    force then."""
    end = line.end_month or line.project.end_month
    assert end
    return month.plus(1).months_to(Month.parse(end))


def _trend(line: DispatchLine, month: Month) -> tuple[float, int] | None:
    """(points gained a month, completion reached by the end month) at the pace of the
    last three reports (the month before the two and both months); None when that cannot
    be said (fewer than two reports) or need not be (done, stalled, or ending now)."""
    known = [(i, c) for i, c in enumerate((line.completion_before, line.completion_first,
                                           line.completion_second)) if c is not None]  # fmt: skip
    left = months_left(line, month)
    if len(known) < 2 or line.stalled or known[-1][1] >= 100 or left <= 0:
        return None
    (first, start), (last, latest) = known[0], known[-1]
    gain = (latest - start) / (last - first)
    # Without a gain it stays where it is: completion is not forecast to fall.
    return gain, min(100, round(latest + max(gain, 0) * left))


def forecast(line: DispatchLine, month: Month) -> int | None:
    """预警's trend: the completion the project reaches by its end month if it keeps the
    pace of its last three reports (None: see _trend)."""
    trend = _trend(line, month)
    return trend[1] if trend else None


@dataclass(frozen=True, slots=True)
class EarlyWarning:
    """预警: a project that will miss its end month, and why (README "预警"): at its last
    three reports' pace it ends below 100 % (`reach`), or more of its milestones are open
    than months are left, at most one a month (`crowded`)."""

    line: DispatchLine
    months_left: int
    gain: float | None = None  # trend: points a month
    reach: int | None = None  # trend: completion at the end month
    crowded: bool = False  # milestones: more open than months left

    @property
    def rank(self) -> tuple[int, int]:
        """The furthest short first: the lowest reach, then the most milestones per month."""
        return (self.reach if self.reach is not None else 100, -self.line.milestones_open)


def warning(line: DispatchLine, month: Month) -> EarlyWarning | None:
    """预警 for one project, or None: not for a project done (100 %), ending this month,
    ended already (terminated, concluded), or with no progress in two months (listed as such)."""
    left = months_left(line, month)
    if line.ended or line.stalled or left <= 0 or (line.latest or 0) >= 100:
        return None
    trend = _trend(line, month)
    behind = trend is not None and trend[1] < 100
    crowded = line.milestones_open > left
    if not (behind or crowded):
        return None
    gain, reach = trend if trend is not None and behind else (None, None)
    return EarlyWarning(line, left, gain, reach, crowded)


PACE_STATES = ("ahead", "on_pace", "behind", "stalled")


@dataclass
class DispatchSummary:
    month: Month  # the dispatch month (the second of the two)
    lines: list[DispatchLine]
    comment: str | None = None  # 调度点评, by an admin before publication

    @property
    def stalled(self) -> list[DispatchLine]:
        return [ln for ln in self.lines if ln.stalled]

    @property
    def problems(self) -> list[DispatchLine]:
        return [ln for ln in self.lines if ln.problems]

    @property
    def warnings(self) -> list[EarlyWarning]:
        """预警 (`warning`): the furthest short first."""
        found = [w for ln in self.lines if (w := warning(ln, self.month)) is not None]
        return sorted(found, key=lambda w: w.rank)

    def by_pace(self) -> dict[str, int]:
        """How many projects still running are in each pace state (PACE_STATES, in order)."""
        counts = Counter(ln.pace_state for ln in self.lines if not ln.ended)
        return {state: counts[state] for state in PACE_STATES}


def _dispatch_state(
    filed: summary.Filed | None, exempt: bool, project: ProjectBrief, per: str, ran: bool
) -> str:
    if filed is not None:
        return "on_time" if filed.on_time else "late"
    assert project.start_month and project.end_month
    if not ran or not project.start_month <= per <= project.end_month:
        return "not_due"  # outside its span, or after it ended (terminated, concluded)
    return "exempt" if exempt else "missing"


async def dispatch_summary(
    db: Database, cal: ReportCalendar, month: Month, now: datetime,
    root_org_id: int | None = None,
) -> DispatchSummary:  # fmt: skip
    """双月调度: the two months up to `month` for every active project in scope; stalled
    ones first."""
    return await db.off_loop(dispatch_summary_from, cal, month, now, root_org_id)


async def dispatch_summary_from(
    view: Database, cal: ReportCalendar, month: Month, now: datetime,
    root_org_id: int | None,
) -> DispatchSummary:  # fmt: skip
    """`dispatch_summary`, read from `view` (in the export process)."""
    first, before = month.plus(-1), month.plus(-2)
    by_project: dict[int, list[Notice]] = {}
    for n in await notices.listing(view, notices.OPEN):
        by_project.setdefault(n.project_id, []).append(n)
    changed = await plans.spans(view)
    # A dispatch month before an approved 调整 counts the milestones of the plan it had.
    earlier = await plans.earlier_schedules(view, str(month))
    lines = []
    async for row in summary.dispatch_rows(view, str(month), str(first), str(before),
                                           root_org_id):  # fmt: skip
        p = row.project
        mine = by_project.get(p.id, ())
        done, still_open = row.milestones_done, row.milestones_open
        if p.id in earlier:
            ticks = await _ticks_then(view, p.id, earlier[p.id])
            done = sum(1 for t in ticks if t is not None and str(first) <= t <= str(month))
            still_open = sum(1 for t in ticks if t is None or t > str(month))
        lines.append(DispatchLine(
            p, row.org,
            row.before.completion if row.before else None,
            row.first.completion if row.first else None,
            row.second.completion if row.second else None,
            (_dispatch_state(row.first, row.exempt_first, p, str(first), row.ran[0]),
             _dispatch_state(row.second, row.exempt_second, p, str(month), row.ran[1])),
            done, len(mine), sum(1 for n in mine if notice_overdue(n, cal, now)),
            [f.problems for f in (row.first, row.second) if f and f.problems],
            planned_pace(p, month, changed), still_open,
            span_in_force(p.id, p.start_month or "", p.end_month or "", str(month),
                          changed)[1],
            not row.ran[1],
        ))  # fmt: skip
    lines.sort(key=lambda ln: (not ln.stalled, ln.org.code))
    review = await bulletins.review(view, str(month), "dispatch")
    return DispatchSummary(month, lines, review.comment if review else None)


@dataclass(frozen=True)
class HistoryPoint:
    """A month of a project's span and the completion its report gave, if one was filed."""

    month: Month
    completion: int | None
    pace: int | None = None  # planned completion by then, under the plan then in force


@dataclass
class History:
    outcome: str  # ok | not_found
    project: Project | None = None
    rows: list[tuple[str, str, ReportVersion | None]] = field(default_factory=list)
    changed: Spans = field(default_factory=dict)  # the project's changed plans (调整)
    closing_status: str | None = None  # its closing report's (withdrawn: by /terminate)

    @property
    def points(self) -> list[HistoryPoint]:
        """Every month of the project's span (for its chart), with the completion filed."""
        assert self.project and self.project.start_month and self.project.end_month
        filed = {per: version.completion for per, _, version in self.rows if version}
        month, end, out = Month.parse(self.project.start_month), Month.parse(
            self.project.end_month), []  # fmt: skip
        while month <= end:
            out.append(HistoryPoint(month, filed.get(str(month)),
                                    planned_pace(self.project, month, self.changed)))  # fmt: skip
            month = month.plus(1)
        return out


async def history(
    db: Database, cal: ReportCalendar, viewer_org_id: int | None, admin: AdminScope | None,
    query: str, now: datetime,
) -> History:  # fmt: skip
    """/history <项目编号>: the project's reports month by month (a secretary: own only; an
    admin: those of their subtree)."""
    from bot.services.projects import find_project

    project = await find_project(db, query)
    if (
        project is None
        or project.status not in ("approved", "concluded", "accepted", "terminated")
        or not (
            project.org_id == viewer_org_id
            or (admin is not None and await covers(db, admin, project.org_id))
        )
    ):
        return History("not_found")
    assert project.start_month and project.end_month
    current = cal.current_period(now)
    months = []
    month, last = Month.parse(project.start_month), min(Month.parse(project.end_month), current)
    while month <= last:
        months.append(month)
        month = month.plus(1)
    # 已终止 or 已结题: only the months it owed a report for (storage.ran.ran_in).
    ran = await summary.ran_months(db, project.id, [str(m) for m in months])
    months = [m for m in months if str(m) in ran]
    filed = await summary.project_versions(db, project.id, [str(m) for m in months])
    exempt = await summary.exempt_periods(db, project.org_id)
    rows: list[tuple[str, str, ReportVersion | None]] = []
    for m in months:
        found = filed.get(str(m))
        if found:
            rows.append((str(m), "on_time" if found[0] else "late", found[1]))
        elif now < cal.window(m).due_end:
            rows.append((str(m), "not_due", None))
        else:
            rows.append((str(m), "exempt" if str(m) in exempt else "missing", None))
    report = await closing.of_project(db, project.id)
    return History("ok", project, rows, await plans_of(db, project.id),
                   report.status if report else None)  # fmt: skip


async def plans_of(conn: Reader, project_id: int) -> Spans:
    """The spans of one project's plan versions (调整), for planned_pace."""
    versions = await plans.versions(conn, project_id)
    return {project_id: [(v.effective_month, v.start_month, v.end_month) for v in versions]}


@dataclass(frozen=True)
class PaceNote:
    """What a report reminder says of the plan: where the project should be by the end of
    the month, and where its latest earlier report put it."""

    pace: int  # planned completion, under the plan in force that month
    last: int | None  # the completion of the latest report before that month, if any


async def pace_note(db: Database, project_id: int, period: Month) -> PaceNote | None:
    """The reminder's pace line for `period`'s report; None in the project's first month
    (nothing planned before it to compare with) or when it has no span."""
    project = await projects.get(db, project_id)
    if project is None or not (project.start_month and project.end_month):
        return None
    if str(period) <= project.start_month:
        return None
    pace = planned_pace(project, period, await plans_of(db, project_id))
    earlier = await reports.latest_before(db, project_id, str(period))
    return PaceNote(pace, earlier[1].completion if earlier else None)

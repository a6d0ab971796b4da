"""Lean SQL for digests and ledgers: only the columns they print, joined and counted in SQLite.

A province has 100,000 projects and over a million reports a year: rather than load them as
full `Project` / `Report` / `ReportVersion` rows (every timestamp and JSON column parsed)
only to count them, each query returns one lean row per project with the months it needs
already joined, and results are streamed in chunks where they can be large.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from storage import reports
from storage.db import Database
from storage.ran import APPROVED_OR_TERMINATED, ran_in
from storage.rows import Milestone, Org, Reader, ReportVersion, one, parse_ts, project_number

CHUNK = 2_000  # rows fetched per round-trip to the SQLite thread when streaming

# A problem of 无 (or nothing) is not a problem; the rest are checked again in Python
# (str.strip also removes full-width spaces, which SQLite's trim does not).
_PROBLEM = "CASE WHEN {v}.problems IN ('', '无') THEN NULL ELSE {v}.problems END"


@dataclass(frozen=True, slots=True)
class ProjectBrief:
    """What a digest line shows of a project."""

    id: int
    org_id: int
    number: str | None  # 2026-015
    name: str | None
    start_month: str | None
    end_month: str | None
    owed_from: str | None = None  # the first month it owes a report for (Project.owed_from)


@dataclass(frozen=True, slots=True)
class Filed:
    """A submitted report as a digest needs it (its latest version's figures)."""

    on_time: bool
    completion: int
    problems: str | None  # None: none named (无 or empty)


@dataclass(frozen=True, slots=True)
class LateFiling:
    """A report first submitted after a moment (a bulletin that had already gone out)."""

    first_submitted_at: datetime


class _Orgs:
    """One `Org` object per organization, however many of its projects are listed."""

    def __init__(self) -> None:
        self._seen: dict[int, Org] = {}

    def get(self, org_id: int, code: str, name: str, parent_id: int | None, kind: str) -> Org:
        org = self._seen.get(org_id)
        if org is None:
            org = self._seen[org_id] = Org(org_id, code, name, parent_id, kind)
        return org


def _scope(root_org_id: int | None, params: dict[str, object]) -> tuple[str, str]:
    """(WITH clause, WHERE condition on p.org_id) limiting projects to a subtree."""
    if root_org_id is None:
        return "", ""
    params["root"] = root_org_id
    return (
        "WITH RECURSIVE scope(id) AS (SELECT :root UNION "
        "SELECT o.id FROM orgs o JOIN scope ON o.parent_id = scope.id) ",
        " AND p.org_id IN (SELECT id FROM scope)",
    )


async def _stream(
    db: Database, sql: str, params: Sequence[object] | dict[str, object]
) -> AsyncIterator[tuple]:
    cur = await db.cursor(sql, params)
    # The next chunk is read on SQLite's thread while the caller works through this one
    # (writing a ledger's rows is the slow part; SQLite releases the GIL while it steps).
    pending = asyncio.ensure_future(cur.fetchmany(CHUNK))
    try:
        while rows := await pending:
            pending = asyncio.ensure_future(cur.fetchmany(CHUNK))
            for row in rows:
                yield tuple(row)
    finally:
        await asyncio.gather(pending, return_exceptions=True)  # a caller that stopped early
        # A caller that failed has left its snapshot (Database.snapshot) before asyncio
        # closes this generator: that closed the connection, and with it this cursor.
        with contextlib.suppress(ValueError):  # "no active connection" (or aiosqlite's)
            await cur.close()


_PROJECT = (
    "p.id, p.org_id, p.number_year, p.number_seq, p.name, p.start_month, p.end_month, "
    "o.code, o.name, o.parent_id, o.kind, p.owed_from"
)
_N = 12  # columns of _PROJECT: a query's own columns follow
_LATEST = (
    "LEFT JOIN reports {r} ON {r}.project_id = p.id AND {r}.period = :{r} AND {r}.version > 0 "
    "LEFT JOIN report_versions {r}v ON {r}v.report_id = {r}.id AND {r}v.version = {r}.version "
)


def _brief(row: tuple, orgs: _Orgs) -> tuple[ProjectBrief, Org]:
    pid, org_id, year, seq, name, start, end, code, org_name, parent, kind, owed = row[:_N]
    return (ProjectBrief(pid, org_id, project_number(year, seq), name, start, end, owed),
            orgs.get(org_id, code, org_name, parent, kind))  # fmt: skip


def _filed(on_time: int | None, completion: int | None, problems: str | None) -> Filed | None:
    if completion is None:
        return None
    if problems is not None and problems.strip() in ("", "无"):
        problems = None
    return Filed(bool(on_time), completion, problems)


async def bulletin_rows(
    conn: Database, period: str, previous: str, root_org_id: int | None = None
) -> AsyncIterator[tuple[ProjectBrief, Org, Filed | None, int | None, bool]]:
    """Every project owing a report for `period` (running then, `ran_in`, its span covering
    it; in the subtree of `root_org_id` if given), by number: (project, org, this month's report,
    last month's completion, exempt this month)."""
    params: dict[str, object] = {"t": period, "l": previous}
    with_, where = _scope(root_org_id, params)
    sql = (
        f"{with_}SELECT {_PROJECT}, t.on_time, tv.completion, {_PROBLEM.format(v='tv')}, "
        "lv.completion, e.org_id IS NOT NULL "
        "FROM projects p JOIN orgs o ON o.id = p.org_id "
        f"{_LATEST.format(r='t')}{_LATEST.format(r='l')}"
        "LEFT JOIN exemptions e ON e.org_id = p.org_id AND e.period = :t "
        f"WHERE {ran_in(':t')} AND p.start_month <= :t AND p.end_month >= :t"
        f"{where} ORDER BY p.number_year, p.number_seq"
    )
    orgs = _Orgs()
    async for row in _stream(conn, sql, params):
        project, org = _brief(row, orgs)
        yield project, org, _filed(*row[_N : _N + 3]), row[_N + 3], bool(row[_N + 4])


async def open_milestones(
    conn: Database, period: str, root_org_id: int | None = None
) -> dict[int, list[Milestone]]:
    """Milestones of the projects owing `period` that were due by then and not done by then,
    by project id, in order (a milestone due earlier and open makes a snail; any makes a
    red flag impossible)."""
    params: dict[str, object] = {"t": period}
    with_, where = _scope(root_org_id, params)
    found: dict[int, list[Milestone]] = {}
    async for r in _stream(
        conn,
        f"{with_}SELECT m.id, m.project_id, m.position, m.month, m.content, m.done_month "
        "FROM milestones m JOIN projects p ON p.id = m.project_id "
        f"WHERE {ran_in(':t')} AND p.start_month <= :t AND p.end_month >= :t"
        f"{where} AND m.month <= :t AND (m.done_month IS NULL OR m.done_month > :t) "
        "ORDER BY m.project_id, m.position",
        params,
    ):
        found.setdefault(r[1], []).append(Milestone(*r))
    return found


async def filed_after(
    conn: Database, period: str, after: str, root_org_id: int | None = None
) -> list[tuple[ProjectBrief, Org, LateFiling]]:
    """Reports of `period` first submitted after the stored moment `after` (whatever the
    project's status now: one that ended that month still counts), by project id."""
    params: dict[str, object] = {"per": period, "after": after}
    with_, where = _scope(root_org_id, params)
    orgs = _Orgs()
    found = []
    async for row in _stream(
        conn,
        f"{with_}SELECT {_PROJECT}, r.first_submitted_at FROM reports r "
        "JOIN projects p ON p.id = r.project_id JOIN orgs o ON o.id = p.org_id "
        "WHERE r.period = :per AND r.version > 0 AND r.first_submitted_at > :after"
        f"{where} ORDER BY p.id",
        params,
    ):
        project, org = _brief(row, orgs)
        found.append((project, org, LateFiling(parse_ts(row[_N]))))
    return found


@dataclass(frozen=True, slots=True)
class DispatchRow:
    """A project over the two months of a 双月调度 (and the month before, for its start)."""

    project: ProjectBrief
    org: Org
    before: Filed | None
    first: Filed | None
    second: Filed | None
    exempt_first: bool
    exempt_second: bool
    milestones_done: int  # ticked off in either month
    milestones_open: int  # not done by the end of the dispatch month (whenever planned)
    ran: tuple[bool, bool] = (True, True)  # owed a report in each month (`ran_in`)


async def dispatch_rows(
    conn: Database, month: str, first: str, before: str,
    root_org_id: int | None = None,
) -> AsyncIterator[DispatchRow]:  # fmt: skip
    """Projects running (`ran_in`) in `first` or `month`, their span touching it: those active
    in `month` first, each group by number."""
    params: dict[str, object] = {"b": before, "f": first, "s": month}
    with_, where = _scope(root_org_id, params)
    sql = (
        f"{with_}SELECT {_PROJECT}, "
        "b.on_time, bv.completion, NULL, "
        f"f.on_time, fv.completion, {_PROBLEM.format(v='fv')}, "
        f"s.on_time, sv.completion, {_PROBLEM.format(v='sv')}, "
        "ef.org_id IS NOT NULL, es.org_id IS NOT NULL, "
        "(SELECT count(*) FROM milestones m WHERE m.project_id = p.id "
        " AND m.done_month IN (:f, :s)), "
        "(SELECT count(*) FROM milestones m WHERE m.project_id = p.id "
        " AND (m.done_month IS NULL OR m.done_month > :s)), "
        f"{ran_in(':f')}, {ran_in(':s')} "
        "FROM projects p JOIN orgs o ON o.id = p.org_id "
        f"{_LATEST.format(r='b')}{_LATEST.format(r='f')}{_LATEST.format(r='s')}"
        "LEFT JOIN exemptions ef ON ef.org_id = p.org_id AND ef.period = :f "
        "LEFT JOIN exemptions es ON es.org_id = p.org_id AND es.period = :s "
        f"WHERE ({ran_in(':f')} OR {ran_in(':s')}) AND p.start_month <= :s "
        f"AND p.end_month >= :f{where} ORDER BY p.end_month < :s, p.number_year, p.number_seq"
    )
    orgs = _Orgs()
    async for row in _stream(conn, sql, params):
        project, org = _brief(row, orgs)
        rest = row[_N:]
        yield DispatchRow(project, org, _filed(*rest[0:3]), _filed(*rest[3:6]),
                          _filed(*rest[6:9]), bool(rest[9]), bool(rest[10]), rest[11],
                          rest[12], (bool(rest[13]), bool(rest[14])))  # fmt: skip


async def ran_months(conn: Reader, project_id: int, periods: Sequence[str]) -> set[str]:
    """Of `periods`, those the project owed a report for by what it was then (`ran_in`)."""
    found = set()
    for period in periods:
        row = await one(conn, f"SELECT 1 FROM projects p WHERE p.id = :id AND {ran_in(':per')}",
                        {"id": project_id, "per": period})  # fmt: skip
        if row is not None:
            found.add(period)
    return found


async def project_versions(
    conn: Reader, project_id: int, periods: Sequence[str]
) -> dict[str, tuple[bool, ReportVersion]]:
    """One project's filed reports of these periods: {period: (on time, latest version)}."""
    if not periods:
        return {}
    marks = ",".join("?" * len(periods))
    found = {}
    rows = await conn.execute_fetchall(
        "SELECT r.period AS r_period, r.on_time AS r_on_time, v.* FROM reports r "
        "JOIN report_versions v ON v.report_id = r.id AND v.version = r.version "
        f"WHERE r.project_id = ? AND r.period IN ({marks}) AND r.version > 0",
        (project_id, *periods),
    )
    for r in rows:
        version = dict(zip(r.keys()[2:], r[2:], strict=True))
        found[r[0]] = (bool(r[1]), reports.version_row(version))
    return found


async def exempt_periods(conn: Reader, org_id: int) -> set[str]:
    """The periods an organization was exempt from reporting."""
    rows = await conn.execute_fetchall("SELECT period FROM exemptions WHERE org_id = ?", (org_id,))
    return {r[0] for r in rows}


async def exempt_orgs(conn: Reader, periods: Sequence[str]) -> dict[str, set[int]]:
    """{period: ids of the organizations exempt in it}."""
    found: dict[str, set[int]] = {p: set() for p in periods}
    if periods:
        rows = await conn.execute_fetchall(
            f"SELECT period, org_id FROM exemptions WHERE period IN "
            f"({','.join('?' * len(periods))})",
            list(periods),
        )
        for period, org_id in rows:
            found[period].add(org_id)
    return found


# -- ledgers -------------------------------------------------------------------------------------

# One cell per month in the yearly overview, coded in SQL so that 12 months of a project
# come back as one row of small integers: None = no report, else ON_TIME/LATE + completion.
ON_TIME, LATE = 1000, 2000
NOT_RUN = -1  # a month after the project ended (terminated or concluded), not filed


async def year_rows(conn: Database, year: int, months: Sequence[str]) -> AsyncIterator[tuple]:
    """Projects 立项 (running, concluded, accepted or terminated) whose span touches `year`, by
    number: (id, number, name, first month owed (Project.first_owed), end month, org id, org
    code, org name, status, *one code per month of `months`: NOT_RUN for a month it no
    longer ran in, `ran_in`)."""
    pivot = ", ".join(
        f"CASE WHEN {ran_in(f':m{i}')} THEN "
        f"max(CASE WHEN r.period = :m{i} THEN (CASE WHEN r.on_time THEN {ON_TIME} "
        f"ELSE {LATE} END) + v.completion END) ELSE {NOT_RUN} END"
        for i in range(len(months))
    )
    params: dict[str, object] = {f"m{i}": m for i, m in enumerate(months)}
    params |= {"start": f"{year:04d}-01", "end": f"{year:04d}-12"}
    async for row in _stream(
        conn,
        "SELECT p.id, p.number_year, p.number_seq, p.name, max(p.start_month, p.owed_from), "
        "p.end_month, p.org_id, o.code, o.name, p.status"
        f"{', ' if months else ''}{pivot} "
        "FROM projects p JOIN orgs o ON o.id = p.org_id "
        "LEFT JOIN reports r ON r.project_id = p.id AND r.period BETWEEN :start AND :end "
        "AND r.version > 0 "
        "LEFT JOIN report_versions v ON v.report_id = r.id AND v.version = r.version "
        f"WHERE p.status IN {APPROVED_OR_TERMINATED} AND p.start_month <= :end "
        "AND p.end_month >= :start GROUP BY p.id ORDER BY p.number_year, p.number_seq",
        params,
    ):
        yield (row[0], project_number(row[1], row[2]), *row[3:])


@dataclass(frozen=True, slots=True)
class MonthRow:
    """One project's row of a month in the detailed ledger."""

    project_id: int
    number: str | None
    name: str | None
    org_id: int
    org_code: str
    org_name: str
    on_time: bool | None  # None: not filed
    first_submitted_at: datetime | None
    version: int | None
    files: int | None
    answers: dict[str, Any]  # the latest version's, by column (empty: not filed)

    @property
    def completion(self) -> int | None:
        return self.answers.get("completion")


async def month_rows(
    conn: Database, period: str, answers: Sequence[str]
) -> AsyncIterator[MonthRow]:
    """Projects running in `period` (`ran_in`) whose span covers it, by number, with that
    month's report (latest version, its `answers` columns: the field list's) if filed."""
    if not all(c.isidentifier() for c in answers):
        raise ValueError(f"not a column: {answers}")
    wanted = ", ".join(f"'{c}', v.{c}" for c in answers)
    async for r in _stream(
        conn,
        "SELECT p.id, p.number_year, p.number_seq, p.name, p.org_id, o.code, o.name, "
        "r.on_time, r.first_submitted_at, r.version, json_array_length(v.files), "
        f"CASE WHEN v.id IS NULL THEN NULL ELSE json_object({wanted}) END "
        "FROM projects p JOIN orgs o ON o.id = p.org_id "
        "LEFT JOIN reports r ON r.project_id = p.id AND r.period = :per AND r.version > 0 "
        "LEFT JOIN report_versions v ON v.report_id = r.id AND v.version = r.version "
        f"WHERE {ran_in(':per')} AND p.start_month <= :per "
        "AND p.end_month >= :per ORDER BY p.number_year, p.number_seq",
        {"per": period},
    ):
        filed = r[11] is not None
        yield MonthRow(
            r[0], project_number(r[1], r[2]), r[3], r[4], r[5], r[6],
            bool(r[7]) if filed else None, parse_ts(r[8]) if filed and r[8] else None,
            r[9] if filed else None, r[10] if filed else None,
            reports.answers_of(json.loads(r[11])) if filed else {},
        )  # fmt: skip


async def ticked_milestones(conn: Reader, period: str) -> dict[int, str]:
    """{milestone id: 'month content'} of the projects whose report of `period` ticks any off
    (the ledger names them)."""
    rows = await conn.execute_fetchall(
        "SELECT m.id, m.month || ' ' || m.content FROM milestones m WHERE m.project_id IN "
        "(SELECT r.project_id FROM reports r JOIN report_versions v ON v.report_id = r.id "
        " AND v.version = r.version WHERE r.period = ? AND r.version > 0 "
        " AND v.milestones_done != '[]')",
        (period,),
    )
    return {r[0]: r[1] for r in rows}


async def notice_returns(conn: Reader, year: int) -> dict[int, int]:
    """{notice id: times it was returned (退回)} for the notices numbered in `year`."""
    rows = await conn.execute_fetchall(
        "SELECT e.notice_id, count(*) FROM notice_events e JOIN notices n ON n.id = e.notice_id "
        "WHERE n.year = ? AND e.action = 'return' GROUP BY e.notice_id",
        (year,),
    )
    return {r[0]: r[1] for r in rows}


async def notice_projects(conn: Reader, year: int) -> dict[int, tuple[str | None, str]]:
    """{project id: (project number, org name)} of the projects with a notice of `year`."""
    rows = await conn.execute_fetchall(
        "SELECT p.id, p.number_year, p.number_seq, o.name FROM projects p "
        "JOIN orgs o ON o.id = p.org_id WHERE p.id IN "
        "(SELECT project_id FROM notices WHERE year = ? AND status != 'draft')",
        (year,),
    )
    return {r[0]: (project_number(r[1], r[2]), r[3]) for r in rows}


async def branches(conn: Database, root_org_id: int | None) -> tuple[Org | None, dict[int, Org]]:
    """The scope's root (the given one, or the one organization without a parent) and, for
    every organization under it, the root's child it belongs to (the root: itself): the
    sub-organizations a bulletin counts by. With several top-level organizations and no
    root given, each top-level one is a branch."""
    if root_org_id is None:
        rows = await conn.execute_fetchall("SELECT id FROM orgs WHERE parent_id IS NULL LIMIT 2")
        tops = [r[0] for r in rows]
        if len(tops) == 1:
            root_org_id = tops[0]
    orgs = _Orgs()
    found: dict[int, Org] = {}
    if root_org_id is None:
        start = "SELECT id, id FROM orgs WHERE parent_id IS NULL"
        params: dict[str, object] = {}
    else:
        start = "SELECT id, id FROM orgs WHERE parent_id = :root"
        params = {"root": root_org_id}
    async for row in _stream(
        conn,
        f"WITH RECURSIVE tree(id, top) AS ({start} UNION ALL "
        "SELECT o.id, tree.top FROM orgs o JOIN tree ON o.parent_id = tree.id) "
        "SELECT tree.id, t.id, t.code, t.name, t.parent_id, t.kind FROM tree "
        "JOIN orgs t ON t.id = tree.top",
        params,
    ):
        found[row[0]] = orgs.get(*row[1:6])
    root = None
    if root_org_id is not None:
        r = await one(conn, "SELECT id, code, name, parent_id, kind FROM orgs WHERE id = ?",
                      (root_org_id,))  # fmt: skip
        if r is not None:
            root = orgs.get(*r)
            found[root.id] = root
    return root, found

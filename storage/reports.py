"""SQL for 单月报告: the working copy, its evidence files, versions, and reopened periods."""

from __future__ import annotations

import functools
import json
import sqlite3
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import aiosqlite

from storage import orgs, projects
from storage.db import Connection, Database
from storage.rows import (
    Milestone,
    Org,
    Project,
    Reader,
    Report,
    ReportFile,
    ReportVersion,
    one,
    parse_ts,
)

# The columns of `reports` that are not answers; every other column is one (a question added
# by a migration is read, stored and versioned with nothing here to change).
META = frozenset({
    "id", "project_id", "period", "version", "editing", "first_submitted_at", "submitted_at",
    "on_time", "created_by", "created_at", "updated_at", "files_before_edit",
})  # fmt: skip
# Those of `report_versions`.
VERSION_META = frozenset({"id", "report_id", "version", "files", "submitted_by",
                          "submitted_at", "on_time"})  # fmt: skip
# Answers kept as JSON text (the milestones ticked off).
JSON_ANSWERS = frozenset({"milestones_done"})


def _opt(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def _answers(pairs: Iterable[tuple[str, Any]], meta: frozenset[str]) -> dict[str, Any]:
    """The answer columns of a row, by name, JSON ones decoded."""
    return {k: json.loads(v) if k in JSON_ANSWERS and v is not None else v
            for k, v in pairs if k not in meta}  # fmt: skip


def answers_of(columns: Mapping[str, Any]) -> dict[str, Any]:
    """A version's answers read as a JSON object of its columns (JSON ones decoded)."""
    return _answers(columns.items(), VERSION_META)


def _report(r: aiosqlite.Row, skip: frozenset[str] = frozenset()) -> Report:
    """A report from its `reports` row (`skip`: other columns the query added)."""
    return Report(
        r["id"], r["project_id"], r["period"], r["version"], bool(r["editing"]),
        _opt(r["first_submitted_at"]), _opt(r["submitted_at"]),
        None if r["on_time"] is None else bool(r["on_time"]),
        _answers(((k, r[k]) for k in r.keys()), META | skip),
    )  # fmt: skip


def version_row(r: Mapping[str, Any]) -> ReportVersion:
    """A version from its `report_versions` columns, by name."""
    return ReportVersion(
        r["report_id"], r["version"], [tuple(f) for f in json.loads(r["files"])],
        r["submitted_by"], parse_ts(r["submitted_at"]), bool(r["on_time"]),
        _answers(r.items(), VERSION_META),
    )  # fmt: skip


async def get(conn: Reader, report_id: int) -> Report | None:
    """Return one report by id."""
    row = await one(conn, "SELECT * FROM reports WHERE id = ?", (report_id,))
    return _report(row) if row else None


async def of_period(conn: Reader, project_id: int, period: str) -> Report | None:
    """Return the project's report for a period."""
    row = await one(
        conn,
        "SELECT * FROM reports WHERE project_id = ? AND period = ?",
        (project_id, period),
    )
    return _report(row) if row else None


_CREATE = (
    "INSERT INTO reports (project_id, period, created_by, created_at, updated_at) "
    "VALUES (?, ?, ?, ?, ?)"
)


def create_in(
    conn: sqlite3.Connection, project_id: int, period: str, by_user: int, now: str
) -> int:
    """Start the working copy of a report; return its id (a plain function: see
    Database.write)."""
    cur = conn.execute(_CREATE, (project_id, period, by_user, now, now))
    assert cur.lastrowid is not None
    return cur.lastrowid


async def create(conn: Connection, project_id: int, period: str, by_user: int, now: str) -> int:
    """`create_in`, inside a `transaction()` block."""
    return await conn.run(create_in, project_id, period, by_user, now)


def set_fields(
    conn: sqlite3.Connection, report_id: int, values: dict[str, object], now: str
) -> None:
    """Store answers in the working copy (which then differs from the last version)."""
    unknown = {k for k in values if k in META or not k.isidentifier()}
    if unknown:
        raise ValueError(f"not an answer column: {sorted(unknown)}")
    stored = {k: json.dumps(v) if k in JSON_ANSWERS else v for k, v in values.items()}
    assignments = ", ".join(f"{column} = ?" for column in stored)
    conn.execute(
        f"UPDATE reports SET {assignments}, editing = 1, updated_at = ? WHERE id = ?",
        (*stored.values(), now, report_id),
    )


async def set_editing(conn: Connection, report_id: int, now: str) -> None:
    """Mark the working copy as being edited (after it was submitted)."""
    await conn.execute(
        "UPDATE reports SET editing = 1, updated_at = ? WHERE id = ?", (now, report_id)
    )


def _file(values: Any) -> ReportFile:
    """A file from (id, report, position, kind, file id, unique id, public)."""
    row_id, report_id, position, kind, file_id, unique_id, public = values
    return ReportFile(row_id, report_id, position, kind, file_id, unique_id, bool(public))


async def files(conn: Reader, report_id: int) -> list[ReportFile]:
    """Return the working copy's evidence files in order."""
    return [
        _file(r)
        for r in await conn.execute_fetchall(
            "SELECT id, report_id, position, kind, file_id, file_unique_id, public "
            "FROM report_files WHERE report_id = ? ORDER BY position",
            (report_id,),
        )
    ]


async def flip_photo_public(conn: Connection, report_id: int, file_row: int) -> bool:
    """可公开 on or off for one photo of a report; False if the report has no such photo."""
    cur = await conn.execute(
        "UPDATE report_files SET public = 1 - public WHERE report_id = ? AND id = ? "
        "AND kind = 'photo'",
        (report_id, file_row),
    )
    return cur.rowcount == 1


async def restore_public(conn: Connection, report_id: int) -> None:
    """可公开 of every file back to what the latest submitted version says (a file it lacks:
    not public), for an edit of the files that was given up."""
    await conn.execute(
        "UPDATE report_files SET public = coalesce((SELECT 1 FROM reports r "
        "JOIN report_versions v ON v.report_id = r.id AND v.version = r.version, "
        "json_each(v.files) e WHERE r.id = report_files.report_id "
        "AND json_extract(e.value, '$[1]') = report_files.file_id "
        "AND json_extract(e.value, '$[2]') = 1), 0) WHERE report_id = ?",
        (report_id,),
    )


async def keep_files_before_edit(conn: Connection, report_id: int) -> None:
    """Note the evidence list (order, kind, ids, 可公开) as a change of it begins."""
    await conn.execute(
        "UPDATE reports SET files_before_edit = (SELECT json_group_array(json_array(position, "
        "kind, file_id, file_unique_id, public)) FROM report_files WHERE report_id = ?) "
        "WHERE id = ?",
        (report_id, report_id),
    )


async def restore_files_before_edit(conn: Connection, report_id: int) -> bool:
    """Put back the evidence list noted when the change began; False if none was noted."""
    row = await one(conn, "SELECT files_before_edit FROM reports WHERE id = ?", (report_id,))
    if row is None or row[0] is None:
        return False
    await conn.execute("DELETE FROM report_files WHERE report_id = ?", (report_id,))
    await conn.execute(
        "INSERT INTO report_files (report_id, position, kind, file_id, file_unique_id, public) "
        "SELECT ?, json_extract(e.value, '$[0]'), json_extract(e.value, '$[1]'), "
        "json_extract(e.value, '$[2]'), json_extract(e.value, '$[3]'), "
        "json_extract(e.value, '$[4]') FROM json_each(?) e",
        (report_id, row[0]),
    )
    # The change began at the preview, where the evidence step was answered.
    await conn.execute(
        "UPDATE reports SET files_before_edit = NULL, files_set = 1 WHERE id = ?", (report_id,)
    )
    return True


async def add_file(
    conn: Connection, report_id: int, kind: str, file_id: str, unique_id: str, now: str
) -> bool:
    """Append an evidence file; False if the same file was already added."""
    cur = await conn.execute(
        "INSERT OR IGNORE INTO report_files (report_id, position, kind, file_id, file_unique_id) "
        "VALUES (?, (SELECT coalesce(max(position), 0) + 1 FROM report_files WHERE report_id = ?),"
        " ?, ?, ?)",
        (report_id, report_id, kind, file_id, unique_id),
    )
    if cur.rowcount == 1:
        await conn.execute(
            "UPDATE reports SET editing = 1, updated_at = ? WHERE id = ?", (now, report_id)
        )
    return cur.rowcount == 1


async def clear_files(conn: Connection, report_id: int) -> None:
    """Remove every evidence file from the working copy."""
    await conn.execute("DELETE FROM report_files WHERE report_id = ?", (report_id,))


def add_version_in(
    conn: sqlite3.Connection,
    report: Report,
    attached: Sequence[ReportFile],
    by_user: int,
    now: str,
    on_time: bool,
) -> int:
    """Freeze the working copy as the next version; return its number (a plain function:
    see Database.write)."""
    version = report.version + 1
    # Every answer the version table has a column for (the per-step flags it has not).
    columns = conn.execute("SELECT name FROM pragma_table_info('report_versions')")
    kept = [c for (c,) in columns if c not in VERSION_META and c in report.answers]
    values = [json.dumps(report[c]) if c in JSON_ANSWERS else report[c] for c in kept]
    conn.execute(
        f"INSERT INTO report_versions (report_id, version, {''.join(c + ', ' for c in kept)}"
        "files, submitted_by, submitted_at, on_time) "
        f"VALUES ({', '.join('?' * (len(kept) + 6))})",
        (
            report.id, version, *values,
            json.dumps([[f.kind, f.file_id, int(f.public)] for f in attached]), by_user, now,
            int(on_time),
        ),
    )  # fmt: skip
    conn.execute(
        "UPDATE reports SET version = ?, editing = 0, submitted_at = ?, "
        "first_submitted_at = coalesce(first_submitted_at, ?), "
        "on_time = coalesce(on_time, ?), updated_at = ? WHERE id = ?",
        (version, now, now, int(on_time), now, report.id),
    )
    return version


async def add_version(
    conn: Connection,
    report: Report,
    attached: Sequence[ReportFile],
    by_user: int,
    now: str,
    on_time: bool,
) -> int:
    """`add_version_in`, inside a `transaction()` block."""
    return await conn.run(add_version_in, report, attached, by_user, now, on_time)


async def versions(conn: Reader, report_id: int) -> list[ReportVersion]:
    """Every submitted version, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT * FROM report_versions WHERE report_id = ? ORDER BY version", (report_id,)
    )
    return [version_row(dict(zip(r.keys(), r, strict=True))) for r in rows]


async def latest_before(
    conn: Reader, project_id: int, period: str
) -> tuple[Report, ReportVersion] | None:
    """The most recent submitted report of an earlier period, with its latest version."""
    row = await one(
        conn,
        "SELECT * FROM reports WHERE project_id = ? AND period < ? AND version > 0 "
        "ORDER BY period DESC LIMIT 1",
        (project_id, period),
    )
    if row is None:
        return None
    report = _report(row)
    return report, (await versions(conn, report.id))[-1]


def set_milestone_done_in(
    conn: sqlite3.Connection, project_id: int, ticked: Sequence[int], period: str
) -> None:
    """Record milestones ticked off in `period`; untick those this period had ticked before
    (a plain function: see Database.write)."""
    conn.execute(
        "UPDATE milestones SET done_month = NULL WHERE project_id = ? AND done_month = ?",
        (project_id, period),
    )
    conn.executemany(
        "UPDATE milestones SET done_month = ? WHERE project_id = ? AND id = ? "
        "AND done_month IS NULL",
        [(period, project_id, m) for m in ticked],
    )


async def set_milestone_done(
    conn: Connection, project_id: int, ticked: Sequence[int], period: str
) -> None:
    """`set_milestone_done_in`, inside a `transaction()` block."""
    await conn.run(set_milestone_done_in, project_id, ticked, period)


async def reopen(
    conn: Connection, project_id: int, period: str, by_user: int, now: str, until: str
) -> None:
    """Let the secretary file or change a closed period's report until `until`."""
    await conn.execute(
        "INSERT INTO reopened_periods (project_id, period, by_user, at, until) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(project_id, period) DO UPDATE SET "
        "by_user = excluded.by_user, at = excluded.at, until = excluded.until",
        (project_id, period, by_user, now, until),
    )


async def reopened(conn: Reader, project_id: int, now: str) -> list[str]:
    """Periods of this project an admin has reopened and that are still open, oldest first."""
    return [
        r[0]
        for r in await conn.execute_fetchall(
            "SELECT period FROM reopened_periods WHERE project_id = ? AND until > ? "
            "ORDER BY period",
            (project_id, now),
        )
    ]


def close_reopened(conn: sqlite3.Connection, project_id: int, period: str) -> None:
    """End a reopening (the report was filed again; a plain function: see Database.write)."""
    conn.execute(
        "DELETE FROM reopened_periods WHERE project_id = ? AND period = ?", (project_id, period)
    )


async def for_period(conn: Reader, period: str, under: int | None = None) -> dict[int, Report]:
    """Every report of a period, by project id (of `under` and the organizations below it)."""
    sql = "SELECT * FROM reports WHERE period = ?"
    params: list[object] = [period]
    if under is not None:
        sql += (
            " AND project_id IN (SELECT id FROM projects WHERE org_id IN (WITH RECURSIVE "
            "sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o JOIN sub ON o.parent_id = "
            "sub.id) SELECT id FROM sub))"
        )
        params.append(under)
    return {r["project_id"]: _report(r) for r in await conn.execute_fetchall(sql, params)}


@dataclass(frozen=True, slots=True)
class StepBundle:
    """What one step of a report conversation reads, fetched in a single query."""

    report: Report
    project: Project
    org: Org
    milestones: list[Milestone]  # all of the project's, by position
    files: list[ReportFile]  # the working copy's, by position
    last: ReportVersion | None  # latest version of the most recent earlier filed period
    reopened: list[str]  # periods reopened and still open, oldest first


def _pairs(columns: str, alias: str) -> str:
    return ", ".join(f"'{c.strip()}', {alias}.{c.strip()}" for c in columns.split(","))


_BUNDLE_KEYS = frozenset({"b_project", "b_org", "b_milestones", "b_files", "b_reopened",
                          "b_last"})  # fmt: skip


@functools.cache
def _bundle(answers: tuple[str, ...]) -> str:
    """The step's one query; the last period's version carries the `answers` columns."""
    if not all(c.isidentifier() for c in answers):
        raise ValueError(f"not a column: {answers}")
    last = ", ".join(f"'{c}', v.{c}" for c in (*sorted(VERSION_META), *answers))
    return (
        "WITH r AS (SELECT * FROM reports WHERE id = :rid) SELECT r.*, "
        f"(SELECT json_object({_pairs(projects.COLUMNS, 'p')}) FROM projects p "
        " WHERE p.id = r.project_id) AS b_project, "
        f"(SELECT json_object({_pairs(orgs.COLUMNS, 'o')}) FROM projects p "
        " JOIN orgs o ON o.id = p.org_id WHERE p.id = r.project_id) AS b_org, "
        "(SELECT json_group_array(json_array(id, project_id, position, month, content,"
        " done_month)) FROM milestones WHERE project_id = r.project_id) AS b_milestones, "
        "(SELECT json_group_array(json_array(id, report_id, position, kind, file_id, "
        " file_unique_id, public)) FROM report_files WHERE report_id = r.id) AS b_files, "
        "(SELECT json_group_array(period) FROM reopened_periods WHERE project_id = r.project_id"
        " AND until > :now) AS b_reopened, "
        f"(SELECT json_object({last}) FROM reports e JOIN report_versions v"
        " ON v.report_id = e.id WHERE e.project_id = r.project_id AND e.period < r.period"
        " AND e.version > 0 ORDER BY e.period DESC, v.version DESC LIMIT 1) AS b_last "
        "FROM r"
    )


async def step_bundle(
    db: Database, report_id: int, now: str, answers: Sequence[str]
) -> StepBundle | None:
    """Return a report with its project, organization, milestones, files, last period's
    version (with the `answers` columns: the field list's) and open reopenings: one read
    for a conversation step (`Database.read`)."""
    return _bundled(await db.read(_bundle(tuple(answers)), {"rid": report_id, "now": now}))


def bundle_in(
    conn: sqlite3.Connection, report_id: int, now: str, answers: Sequence[str]
) -> StepBundle | None:
    """`step_bundle` inside a step's write (a plain function: see Database.write)."""
    params = {"rid": report_id, "now": now}
    return _bundled(conn.execute(_bundle(tuple(answers)), params).fetchone())


def _bundled(row: sqlite3.Row | None) -> StepBundle | None:
    if row is None or row["b_project"] is None or row["b_org"] is None:
        return None
    return StepBundle(
        _report(row, _BUNDLE_KEYS),
        projects.project_row(json.loads(row["b_project"])),
        orgs.org_row(json.loads(row["b_org"])),
        sorted((Milestone(*m) for m in json.loads(row["b_milestones"])), key=_position),
        sorted((_file(f) for f in json.loads(row["b_files"])), key=_position),
        version_row(json.loads(row["b_last"])) if row["b_last"] else None,
        sorted(json.loads(row["b_reopened"])),
    )  # fmt: skip


def _position(row: Milestone | ReportFile) -> int:
    return row.position

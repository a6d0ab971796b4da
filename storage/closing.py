"""SQL for 结题: closing reports, their evidence, versions and history."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.rows import Reader, one, parse_ts

PARTS = ("overview", "implementation", "results", "evaluation")
_COLUMNS = (
    "id, project_id, overview, implementation, results, evaluation, files_set, status, round, "
    "created_at, submitted_at"
)


@dataclass(frozen=True, slots=True)
class Closing:
    id: int
    project_id: int
    overview: str | None
    implementation: str | None
    results: str | None
    evaluation: str | None
    files_set: bool
    status: str  # draft | submitted | returned | accepted | withdrawn (project terminated)
    round: int
    created_at: datetime
    submitted_at: datetime | None


@dataclass(frozen=True, slots=True)
class ClosingFile:
    id: int
    position: int
    kind: str
    file_id: str
    file_unique_id: str


@dataclass(frozen=True, slots=True)
class Event:
    action: str  # open_early | submit | return | accept
    round: int
    by_user: int
    reason: str | None
    at: datetime


def _closing(r: aiosqlite.Row) -> Closing:
    return Closing(r[0], r[1], r[2], r[3], r[4], r[5], bool(r[6]), r[7], r[8], parse_ts(r[9]),
                   parse_ts(r[10]) if r[10] else None)  # fmt: skip


async def get(conn: Reader, closing_id: int) -> Closing | None:
    row = await one(conn, f"SELECT {_COLUMNS} FROM closing_reports WHERE id = ?", (closing_id,))
    return _closing(row) if row else None


async def of_project(conn: Reader, project_id: int) -> Closing | None:
    row = await one(
        conn, f"SELECT {_COLUMNS} FROM closing_reports WHERE project_id = ?", (project_id,)
    )
    return _closing(row) if row else None


async def create(conn: Connection, project_id: int, by: int, now: str) -> int:
    """Start the project's closing report (one per project); return its id."""
    cur = await conn.execute(
        "INSERT INTO closing_reports (project_id, created_by, created_at, updated_at) "
        "VALUES (?, ?, ?, ?)",
        (project_id, by, now, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def set_fields(
    conn: Connection, closing_id: int, values: dict[str, object], now: str
) -> None:
    """Store answers (the four parts, files_set) on a closing report being written."""
    allowed = {*PARTS, "files_set"}
    if set(values) - allowed:
        raise ValueError(f"not a closing column: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    await conn.execute(
        f"UPDATE closing_reports SET {assignments}, updated_at = ? WHERE id = ?",
        (*values.values(), now, closing_id),
    )


async def files(conn: Reader, closing_id: int) -> list[ClosingFile]:
    rows = await conn.execute_fetchall(
        "SELECT id, position, kind, file_id, file_unique_id FROM closing_files "
        "WHERE closing_id = ? ORDER BY position",
        (closing_id,),
    )
    return [ClosingFile(r[0], r[1], r[2], r[3], r[4]) for r in rows]


async def add_file(conn: Connection, closing_id: int, kind: str, file_id: str,
                   unique_id: str) -> bool:  # fmt: skip
    """Add one piece of evidence; False if the same file is there already."""
    row = await one(conn, "SELECT coalesce(max(position), 0) + 1 FROM closing_files "
                          "WHERE closing_id = ?", (closing_id,))  # fmt: skip
    cur = await conn.execute(
        "INSERT OR IGNORE INTO closing_files (closing_id, position, kind, file_id, "
        "file_unique_id) VALUES (?, ?, ?, ?, ?)",
        (closing_id, int(row[0]) if row else 1, kind, file_id, unique_id),
    )
    return cur.rowcount == 1


async def clear_files(conn: Connection, closing_id: int) -> None:
    await conn.execute("DELETE FROM closing_files WHERE closing_id = ?", (closing_id,))


async def submit(conn: Connection, c: Closing, attached: list[ClosingFile], by: int,
                 now: str) -> int | None:  # fmt: skip
    """Freeze the working copy as the next version and mark it 已提交; return the round, or
    None when it can no longer be submitted (submitted elsewhere, the project terminated)."""
    version = c.round + 1
    cur = await conn.execute(
        "UPDATE closing_reports SET status = 'submitted', round = ?, submitted_at = ?, "
        "updated_at = ? WHERE id = ? AND status IN ('draft', 'returned') AND (SELECT status "
        "FROM projects WHERE projects.id = closing_reports.project_id) = 'approved'",
        (version, now, now, c.id),
    )
    if cur.rowcount != 1:
        return None
    await conn.execute(
        "INSERT INTO closing_versions (closing_id, version, overview, implementation, results, "
        "evaluation, files, submitted_by, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (c.id, version, c.overview, c.implementation, c.results, c.evaluation,
         json.dumps([[f.kind, f.file_id] for f in attached]), by, now),
    )  # fmt: skip
    return version


@dataclass(frozen=True, slots=True)
class Submitted:
    """A submitted version's text, as the admins received it."""

    overview: str
    implementation: str
    results: str
    evaluation: str
    files: int


async def last_submitted(conn: Reader, closing_id: int) -> Submitted | None:
    """The latest submitted version (not the working copy, which may hold unsent edits)."""
    row = await one(conn, "SELECT overview, implementation, results, evaluation, files "
                    "FROM closing_versions WHERE closing_id = ? ORDER BY version DESC LIMIT 1",
                    (closing_id,))  # fmt: skip
    if row is None:
        return None
    return Submitted(row[0] or "", row[1] or "", row[2] or "", row[3] or "",
                     len(json.loads(row[4] or "[]")))  # fmt: skip


async def versions(conn: Reader, closing_id: int) -> int:
    """How many versions were submitted."""
    row = await one(conn, "SELECT count(*) FROM closing_versions WHERE closing_id = ?",
                    (closing_id,))  # fmt: skip
    return int(row[0]) if row else 0


async def decide(conn: Connection, closing_id: int, round_: int, status: str,
                 now: str, month: str | None = None) -> bool:  # fmt: skip
    """已提交 → returned or accepted (in `month`), if it is still that round's submission."""
    cur = await conn.execute(
        "UPDATE closing_reports SET status = ?, updated_at = ?, "
        "accepted_month = coalesce(?, accepted_month) "
        "WHERE id = ? AND status = 'submitted' AND round = ?",
        (status, now, month, closing_id, round_),
    )
    return cur.rowcount == 1


async def withdraw(conn: Connection, project_id: int, now: str) -> bool:
    """/terminate: the project's closing report, unless accepted, is withdrawn (已撤回)."""
    cur = await conn.execute(
        "UPDATE closing_reports SET status = 'withdrawn', updated_at = ? "
        "WHERE project_id = ? AND status IN ('draft', 'submitted', 'returned')",
        (now, project_id),
    )
    return cur.rowcount == 1


async def reopen(conn: Connection, closing_id: int, now: str) -> None:
    """A returned report being rewritten."""
    await conn.execute(
        "UPDATE closing_reports SET status = 'draft', updated_at = ? "
        "WHERE id = ? AND status = 'returned'",
        (now, closing_id),
    )


async def record(conn: Connection, project_id: int, action: str, round_: int,
                 by: int, reason: str | None, now: str) -> None:  # fmt: skip
    await conn.execute(
        "INSERT INTO closing_events (project_id, action, round, by_user, reason, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, action, round_, by, reason, now),
    )


async def events(conn: Reader, project_id: int) -> list[Event]:
    rows = await conn.execute_fetchall(
        "SELECT action, round, by_user, reason, at FROM closing_events WHERE project_id = ? "
        "ORDER BY id",
        (project_id,),
    )
    return [Event(r[0], r[1], r[2], r[3], parse_ts(r[4])) for r in rows]


@dataclass(frozen=True, slots=True)
class Owing:
    project_id: int
    name: str
    number: str
    end_month: str
    opened_early_at: str | None
    chat_id: int | None  # the secretary, if one is bound


async def owing(conn: Reader, month: str) -> list[Owing]:
    """Approved projects that owe a closing report now (their last month has come, or an
    admin opened it early) and have not submitted one."""
    rows = await conn.execute_fetchall(
        "SELECT p.id, p.name, p.number_year, p.number_seq, p.end_month, "
        "(SELECT min(e.at) FROM closing_events e "
        "WHERE e.project_id = p.id AND e.action = 'open_early'), s.user_id "
        "FROM projects p LEFT JOIN closing_reports c ON c.project_id = p.id "
        "LEFT JOIN people s ON s.org_id = p.org_id AND s.role = 'secretary' "
        "WHERE p.status = 'approved' AND (c.status IS NULL OR c.status IN ('draft', 'returned')) "
        "AND (p.end_month <= ? OR EXISTS (SELECT 1 FROM closing_events e "
        "WHERE e.project_id = p.id AND e.action = 'open_early'))",
        (month,),
    )
    return [Owing(r[0], r[1] or "", f"{r[2]}-{r[3]:03d}", r[4], r[5], r[6]) for r in rows]


async def of_year(conn: Reader, year: int) -> list[tuple[Closing, int]]:
    """The closing reports of the year's projects (by 立项 year), with their version count."""
    rows = await conn.execute_fetchall(
        f"SELECT {', '.join('c.' + c.strip() for c in _COLUMNS.split(','))}, "
        "(SELECT count(*) FROM closing_versions v WHERE v.closing_id = c.id) "
        "FROM closing_reports c JOIN projects p ON p.id = c.project_id "
        "WHERE p.number_year = ? ORDER BY p.number_seq",
        (year,),
    )
    return [(_closing(r), int(r[11])) for r in rows]

"""SQL for 书记项目: the declaration, its milestones and its review history."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.ran import owed_in
from storage.rows import Milestone, Project, Reader, Review, one, parse_ts

_COLUMNS = (
    "id, org_id, status, number_year, number_seq, name, kind, problem, measures, targets, "
    "start_month, end_month, milestones_set, round, created_by, created_at, updated_at, "
    "submitted_at, approved_at, owed_from"
)
# The answers a secretary gives, one column each; nothing else may be set through set_field.
ANSWER_COLUMNS = frozenset(
    {"name", "kind", "problem", "measures", "targets", "start_month", "end_month"}
)
EDITABLE = ("draft", "returned")


def _opt_ts(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def _project(r: aiosqlite.Row) -> Project:
    return Project(
        r["id"], r["org_id"], r["status"], r["number_year"], r["number_seq"], r["name"],
        r["kind"], r["problem"], r["measures"], r["targets"], r["start_month"], r["end_month"],
        bool(r["milestones_set"]), r["round"], r["created_by"], parse_ts(r["created_at"]),
        parse_ts(r["updated_at"]), _opt_ts(r["submitted_at"]), _opt_ts(r["approved_at"]),
        r["owed_from"],
    )  # fmt: skip


COLUMNS = _COLUMNS
project_row = _project  # also takes a dict with the same keys (a JSON object of a join)


async def get(conn: Reader, project_id: int) -> Project | None:
    """Return one project by internal id."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM projects WHERE id = ?", (project_id,))
    return _project(row) if row else None


async def by_number(conn: Reader, year: int, seq: int) -> Project | None:
    """Return the project with 立项 number year-seq."""
    row = await one(
        conn,
        f"SELECT {_COLUMNS} FROM projects WHERE number_year = ? AND number_seq = ?",
        (year, seq),
    )
    return _project(row) if row else None


async def editable_of_org(conn: Reader, org_id: int) -> list[Project]:
    """Return the organization's drafts and returned projects, returned first."""
    return [
        _project(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM projects WHERE org_id = ? AND status IN ('draft', 'returned') "
            "ORDER BY status = 'draft', id",
            (org_id,),
        )
    ]


async def create_draft(conn: Connection, org_id: int, by_user: int, now: str) -> int:
    """Start an empty draft; return its id."""
    cur = await conn.execute(
        "INSERT INTO projects (org_id, created_by, created_at, updated_at) VALUES (?, ?, ?, ?)",
        (org_id, by_user, now, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def set_fields(
    conn: Connection, project_id: int, values: dict[str, str | None], now: str
) -> None:
    """Store answers on an editable project."""
    unknown = set(values) - ANSWER_COLUMNS
    if unknown:
        raise ValueError(f"not an answer column: {sorted(unknown)}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    await conn.execute(
        f"UPDATE projects SET {assignments}, updated_at = ? "
        "WHERE id = ? AND status IN ('draft', 'returned')",
        (*values.values(), now, project_id),
    )


async def set_milestones(
    conn: Connection, project_id: int, items: Sequence[tuple[str, str]], now: str
) -> None:
    """Replace the project's 进度安排 with (month, content) pairs, in order."""
    await conn.execute("DELETE FROM milestones WHERE project_id = ?", (project_id,))
    await conn.executemany(
        "INSERT INTO milestones (project_id, position, month, content) VALUES (?, ?, ?, ?)",
        [(project_id, i, month, content) for i, (month, content) in enumerate(items, start=1)],
    )
    await conn.execute(
        "UPDATE projects SET milestones_set = 1, updated_at = ? WHERE id = ?", (now, project_id)
    )


async def clear_milestones(conn: Connection, project_id: int, now: str) -> None:
    """Mark the 进度安排 unanswered (kept rows are shown as the old answer)."""
    await conn.execute(
        "UPDATE projects SET milestones_set = 0, updated_at = ? WHERE id = ?", (now, project_id)
    )


async def milestones(conn: Reader, project_id: int) -> list[Milestone]:
    """Return the project's milestones in order."""
    return [
        Milestone(*r)
        for r in await conn.execute_fetchall(
            "SELECT id, project_id, position, month, content, done_month FROM milestones "
            "WHERE project_id = ? ORDER BY position",
            (project_id,),
        )
    ]


async def delete_draft(conn: Connection, project_id: int) -> bool:
    """Delete a draft that was never submitted."""
    cur = await conn.execute(
        "DELETE FROM projects WHERE id = ? AND status = 'draft' AND round = 0", (project_id,)
    )
    return cur.rowcount == 1


async def count_declared(conn: Reader, org_id: int, year: int, except_id: int) -> int:
    """Count the organization's projects starting in `year` that were ever submitted."""
    row = await one(
        conn,
        "SELECT count(*) FROM projects WHERE org_id = ? AND id != ? AND round > 0 "
        "AND substr(start_month, 1, 4) = ?",
        (org_id, except_id, f"{year:04d}"),
    )
    return int(row[0]) if row else 0


async def record_review(
    conn: Connection,
    project_id: int,
    action: str,
    round_: int,
    by_user: int,
    reason: str | None,
    now: str,
    stage: str | None = None,
) -> None:
    """Append one step of the review history (`stage`: 'pre' or 'final' in a staged review)."""
    await conn.execute(
        "INSERT INTO project_reviews (project_id, action, round, by_user, reason, at, stage) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (project_id, action, round_, by_user, reason, now, stage),
    )


async def mark_submitted(conn: Connection, project_id: int, now: str) -> int:
    """Move an editable project to 已申报; return the new round number (0 if not editable)."""
    cur = await conn.execute(
        "UPDATE projects SET status = 'submitted', round = round + 1, submitted_at = ?, "
        "updated_at = ? WHERE id = ? AND status IN ('draft', 'returned')",
        (now, now, project_id),
    )
    if cur.rowcount != 1:
        return 0
    project = await get(conn, project_id)
    return project.round if project else 0


async def mark_returned(conn: Connection, project_id: int, round_: int, now: str) -> bool:
    """Return a submitted project for rework, if it is still in that round."""
    cur = await conn.execute(
        "UPDATE projects SET status = 'returned', updated_at = ? "
        "WHERE id = ? AND status = 'submitted' AND round = ?",
        (now, project_id, round_),
    )
    return cur.rowcount == 1


async def mark_approved(
    conn: Connection, project_id: int, round_: int, year: int, now: str, owed_from: str
) -> int:
    """Approve (立项) with the next gap-free number of `year`, owing reports from the month
    `owed_from` ('YYYY-MM'); return the sequence, 0 if stale."""
    row = await one(
        conn, "SELECT coalesce(max(number_seq), 0) + 1 FROM projects WHERE number_year = ?", (year,)
    )
    seq = int(row[0]) if row else 1
    cur = await conn.execute(
        "UPDATE projects SET status = 'approved', number_year = ?, number_seq = ?, "
        "approved_at = ?, owed_from = ?, updated_at = ? "
        "WHERE id = ? AND status = 'submitted' AND round = ?",
        (year, seq, now, owed_from, now, project_id, round_),
    )
    return seq if cur.rowcount == 1 else 0


async def passed_in_round(conn: Reader, project_id: int, round_: int) -> bool:
    """Was this submission passed up at 预审?"""
    row = await one(
        conn,
        "SELECT 1 FROM project_reviews WHERE project_id = ? AND round = ? AND action = 'pass'",
        (project_id, round_),
    )
    return row is not None


async def reviews(conn: Reader, project_id: int) -> list[Review]:
    """Return the project's review history, oldest first."""
    return [
        Review(r[0], r[1], r[2], r[3], r[4], r[5], parse_ts(r[6]), r[7])
        for r in await conn.execute_fetchall(
            "SELECT id, project_id, action, round, by_user, reason, at, stage "
            "FROM project_reviews "
            "WHERE project_id = ? ORDER BY id",
            (project_id,),
        )
    ]


# The ids of one organization and of every organization below it, for `org_id IN`: the
# subtree stays inside SQLite, so no parameter list grows with it (SQLite caps variables).
_SUBTREE = (
    "(WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o "
    "JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub)"
)
_SUBTREE_NAMED = _SUBTREE.replace("?", ":under")  # for a statement with named parameters


async def search(
    conn: Reader,
    *,
    org_id: int | None,
    with_subtree: bool = False,
    statuses: Sequence[str] | None,
    limit: int,
    offset: int,
) -> tuple[list[Project], int]:
    """Return a page of projects (numbered first, by number) and the total that match:
    of `org_id` (and every organization below it, `with_subtree`), or of all."""
    where = ["1 = 1"]
    params: list[int | str] = []
    if org_id is not None:
        where.append(f"org_id IN {_SUBTREE}" if with_subtree else "org_id = ?")
        params.append(org_id)
    if statuses is not None:
        where.append(f"status IN ({','.join('?' * len(statuses))})")
        params.extend(statuses)
    clause = " AND ".join(where)
    row = await one(conn, f"SELECT count(*) FROM projects WHERE {clause}", params)
    total = int(row[0]) if row else 0
    return [
        _project(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM projects WHERE {clause} "
            "ORDER BY number_year IS NULL, number_year, number_seq, id LIMIT ? OFFSET ?",
            (*params, limit, offset),
        )
    ], total


async def active_in(conn: Reader, period: str, under: int | None = None) -> list[Project]:
    """Projects that owe a report for `period` (`owed_in`: by what they were then, so a past
    month keeps a project terminated since), of every organization, or of `under` and the
    organizations below it."""
    sql = f"SELECT {_COLUMNS} FROM projects p WHERE {owed_in(':period')}"
    params: dict[str, object] = {"period": period}
    if under is not None:
        sql += f" AND p.org_id IN {_SUBTREE_NAMED}"
        params["under"] = under
    return [
        _project(r)
        for r in await conn.execute_fetchall(sql + " ORDER BY number_year, number_seq", params)
    ]


async def submitted_below(conn: Reader, root_id: int) -> list[Project]:
    """Applications awaiting a decision from the organizations strictly below `root_id`."""
    return [
        _project(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM projects WHERE status = 'submitted' "
            f"AND org_id IN {_SUBTREE} AND org_id != ? ORDER BY id",
            (root_id, root_id),
        )
    ]


async def of_org(conn: Reader, org_id: int) -> list[Project]:
    """Every project of an organization, oldest first."""
    return [
        _project(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM projects WHERE org_id = ? ORDER BY id", (org_id,)
        )
    ]


async def search_all_ids(conn: Reader, project_ids: set[int]) -> list[Project]:
    """Projects by id, many at once."""
    ids = sorted(project_ids)
    found: list[Project] = []
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.extend(
            _project(r)
            for r in await conn.execute_fetchall(
                f"SELECT {_COLUMNS} FROM projects WHERE id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    return found


async def ids_of_orgs(conn: Reader, org_ids: frozenset[int]) -> set[int]:
    """The ids of every project of these organizations."""
    ids = sorted(org_ids)
    found: set[int] = set()
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        found.update(
            r[0]
            for r in await conn.execute_fetchall(
                f"SELECT id FROM projects WHERE org_id IN ({','.join('?' * len(chunk))})", chunk
            )
        )
    return found

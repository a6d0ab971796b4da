"""SQL for 四看: the checks marked failed on each round of an application."""

from __future__ import annotations

import json
from collections.abc import Sequence

import aiosqlite

from storage.rows import Reader, one


async def failed(conn: Reader, project_id: int, round_: int) -> list[str]:
    """The checks marked failed on this round (none marked: all passed)."""
    row = await one(conn, "SELECT failed FROM review_checks WHERE project_id = ? AND round = ?",
                    (project_id, round_))  # fmt: skip
    return list(json.loads(row[0])) if row else []


async def put(conn: aiosqlite.Connection, project_id: int, round_: int, marks: Sequence[str],
              by: int, now: str) -> None:  # fmt: skip
    """Store the round's failed checks."""
    await conn.execute(
        "INSERT INTO review_checks (project_id, round, failed, by_user, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(project_id, round) DO UPDATE SET failed = excluded.failed, "
        "by_user = excluded.by_user, at = excluded.at",
        (project_id, round_, json.dumps(list(marks)), by, now),
    )


async def by_round(conn: Reader, project_id: int) -> dict[int, list[str]]:
    """{round: failed checks} of every round something was marked on."""
    rows = await conn.execute_fetchall(
        "SELECT round, failed FROM review_checks WHERE project_id = ?", (project_id,)
    )
    return {int(r[0]): list(json.loads(r[1])) for r in rows}

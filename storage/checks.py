"""SQL for 四看: the checks marked failed on each round and stage of an application."""

from __future__ import annotations

import json
from collections.abc import Sequence

from storage.db import Connection
from storage.rows import Reader, one


async def failed(conn: Reader, project_id: int, round_: int, stage: str = "final") -> list[str]:
    """The checks marked failed on this round at this stage (none marked: all passed)."""
    row = await one(conn, "SELECT failed FROM review_checks WHERE project_id = ? AND round = ? "
                    "AND stage = ?", (project_id, round_, stage))  # fmt: skip
    return list(json.loads(row[0])) if row else []


async def put(conn: Connection, project_id: int, round_: int, stage: str,
              marks: Sequence[str], by: int, now: str) -> None:  # fmt: skip
    """Store the failed checks of one round at one stage."""
    await conn.execute(
        "INSERT INTO review_checks (project_id, round, stage, failed, by_user, at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(project_id, round, stage) DO UPDATE SET "
        "failed = excluded.failed, by_user = excluded.by_user, at = excluded.at",
        (project_id, round_, stage, json.dumps(list(marks)), by, now),
    )


async def by_round(conn: Reader, project_id: int) -> dict[tuple[int, str], list[str]]:
    """{(round, stage): failed checks} of every round and stage something was marked on."""
    rows = await conn.execute_fetchall(
        "SELECT round, stage, failed FROM review_checks WHERE project_id = ?", (project_id,)
    )
    return {(int(r[0]), str(r[1])): list(json.loads(r[2])) for r in rows}


async def failed_at_approval(conn: Reader) -> dict[int, list[str]]:
    """{project id: checks marked failed on the round it was approved (立项), at 审定 (or the
    one stage)} of the approved projects with any such mark (the ledger's 四看 column; none:
    all passed)."""
    rows = await conn.execute_fetchall(
        "SELECT c.project_id, c.failed FROM review_checks c JOIN project_reviews r "
        "ON r.project_id = c.project_id AND r.round = c.round AND r.action = 'approve' "
        "WHERE c.stage = 'final' AND c.failed != '[]'"
    )
    return {int(r[0]): list(json.loads(r[1])) for r in rows}

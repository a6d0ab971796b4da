"""SQL for where an application's stages go: the level deciding each, fixed when sent."""

from __future__ import annotations

from storage.db import Connection
from storage.rows import Reader


async def of_round(conn: Reader, project_id: int, round_: int) -> dict[str, int | None]:
    """{stage: deciding level's org id (None: the top level)} recorded for this round."""
    rows = await conn.execute_fetchall(
        "SELECT stage, level_id FROM review_routes WHERE project_id = ? AND round = ?",
        (project_id, round_),
    )
    return {str(r[0]): r[1] for r in rows}


async def put(conn: Connection, project_id: int, round_: int, stage: str,
              level_id: int | None, now: str) -> None:  # fmt: skip
    """Record (or move) the level deciding one stage of one round."""
    await conn.execute(
        "INSERT INTO review_routes (project_id, round, stage, level_id, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(project_id, round, stage) DO UPDATE SET level_id = excluded.level_id, "
        "at = excluded.at",
        (project_id, round_, stage, level_id, now),
    )

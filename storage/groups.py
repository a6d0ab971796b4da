"""SQL for supervisor groups (督导群)."""

from __future__ import annotations

import aiosqlite

from storage.db import Connection
from storage.rows import Reader, SupervisorGroup, one, parse_ts

_COLUMNS = "chat_id, title, root_org_id, bound_by, bound_at, active"


def _group(row: aiosqlite.Row) -> SupervisorGroup:
    return SupervisorGroup(
        row["chat_id"],
        row["title"],
        row["root_org_id"],
        row["bound_by"],
        parse_ts(row["bound_at"]),
        bool(row["active"]),
    )


async def get(conn: Reader, chat_id: int) -> SupervisorGroup | None:
    """Return the registered group with this chat id (active or not)."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM supervisor_groups WHERE chat_id = ?", (chat_id,))
    return _group(row) if row else None


async def active(conn: Reader) -> list[SupervisorGroup]:
    """Return every group the bot may post to."""
    return [
        _group(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM supervisor_groups WHERE active = 1 ORDER BY chat_id"
        )
    ]


async def bind(
    conn: Connection,
    chat_id: int,
    title: str,
    root_org_id: int | None,
    bound_by: int,
    now: str,
) -> None:
    """Register (or re-register) a supervisor group."""
    await conn.execute(
        "INSERT INTO supervisor_groups (chat_id, title, root_org_id, bound_by, bound_at, active) "
        "VALUES (?, ?, ?, ?, ?, 1) ON CONFLICT(chat_id) DO UPDATE SET title = excluded.title, "
        "root_org_id = excluded.root_org_id, bound_by = excluded.bound_by, "
        "bound_at = excluded.bound_at, active = 1",
        (chat_id, title, root_org_id, bound_by, now),
    )


async def deactivate(conn: Connection, chat_id: int) -> bool:
    """Stop posting to this group; False if it was not an active registered group."""
    cur = await conn.execute(
        "UPDATE supervisor_groups SET active = 0 WHERE chat_id = ? AND active = 1", (chat_id,)
    )
    return cur.rowcount == 1


async def migrate_chat(conn: Connection, old_id: int, new_id: int) -> None:
    """Follow a group that became a supergroup (its chat id changes)."""
    if await one(conn, "SELECT 1 FROM supervisor_groups WHERE chat_id = ?", (new_id,)):
        # Already registered under the new id (bound again after the upgrade): keep that.
        await conn.execute("DELETE FROM supervisor_groups WHERE chat_id = ?", (old_id,))
        return
    await conn.execute(
        "UPDATE supervisor_groups SET chat_id = ? WHERE chat_id = ?", (new_id, old_id)
    )

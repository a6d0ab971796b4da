"""SQL for where each person stands in a multi-step conversation."""

from __future__ import annotations

import aiosqlite

from storage.rows import Dialog, one


async def get(conn: aiosqlite.Connection, user_id: int) -> Dialog | None:
    """Return the person's open conversation, if any."""
    row = await one(
        conn,
        "SELECT user_id, flow, subject_id, step, editing FROM dialogs WHERE user_id = ?",
        (user_id,),
    )
    return Dialog(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


async def put(
    conn: aiosqlite.Connection,
    user_id: int,
    flow: str,
    subject_id: int,
    step: str,
    editing: bool,
    now: str,
) -> None:
    """Record where the person is now."""
    await conn.execute(
        "INSERT INTO dialogs (user_id, flow, subject_id, step, editing, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET flow = excluded.flow, "
        "subject_id = excluded.subject_id, step = excluded.step, editing = excluded.editing, "
        "updated_at = excluded.updated_at",
        (user_id, flow, subject_id, step, int(editing), now),
    )


async def clear(conn: aiosqlite.Connection, user_id: int) -> None:
    """End the person's conversation."""
    await conn.execute("DELETE FROM dialogs WHERE user_id = ?", (user_id,))

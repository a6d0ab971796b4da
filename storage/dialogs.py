"""SQL for where each person stands in a multi-step conversation."""

from __future__ import annotations

import sqlite3

from storage.db import Connection, Database
from storage.rows import Dialog, Person, Session, one


async def get(conn: Connection, user_id: int) -> Dialog | None:
    """Return the person's open conversation, if any."""
    row = await one(
        conn,
        "SELECT user_id, flow, subject_id, step, editing FROM dialogs WHERE user_id = ?",
        (user_id,),
    )
    return Dialog(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


async def session(db: Database, user_id: int, update_id: int | None = None) -> Session:
    """Return the person, their open conversation, the questions in their private chat still
    showing buttons and whether this update was handled already: one read."""
    row = await db.read(
        "SELECT (SELECT 1 FROM handled_updates WHERE update_id = :id), p.user_id, "
        "p.full_name, p.username, p.role, p.org_id, d.flow, d.subject_id, d.step, d.editing, "
        "(SELECT group_concat(message_id) FROM prompts WHERE chat_id = :u AND live = 1) "
        "FROM (SELECT :u AS uid) AS x LEFT JOIN people p ON p.user_id = x.uid "
        "LEFT JOIN dialogs d ON d.user_id = x.uid",
        {"u": user_id, "id": update_id},
    )
    assert row is not None  # the FROM has exactly one row
    person = None if row[1] is None else Person(row[1], row[2], row[3], row[4], row[5])
    dialog = None if row[6] is None else Dialog(user_id, row[6], row[7], row[8], bool(row[9]))
    showing = tuple(int(m) for m in row[10].split(",")) if row[10] else ()
    return Session(user_id, row[0] is not None, person, dialog, showing)


async def forget_handled(conn: Connection, before: str) -> int:
    """Forget the ids of updates handled before `before`; return how many."""
    cur = await conn.execute("DELETE FROM handled_updates WHERE handled_at < ?", (before,))
    return cur.rowcount


def place(conn: sqlite3.Connection, user_id: int, flow: str, subject_id: int, step: str,
          editing: bool, now: str) -> None:  # fmt: skip
    """Record where the person is now (a plain function: see Database.write)."""
    conn.execute(
        "INSERT INTO dialogs (user_id, flow, subject_id, step, editing, updated_at) "
        "VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET flow = excluded.flow, "
        "subject_id = excluded.subject_id, step = excluded.step, editing = excluded.editing, "
        "updated_at = excluded.updated_at",
        (user_id, flow, subject_id, step, int(editing), now),
    )


async def put(conn: Connection, user_id: int, flow: str, subject_id: int, step: str,
              editing: bool, now: str) -> None:  # fmt: skip
    """`place`, inside a `transaction()` block."""
    await conn.run(place, user_id, flow, subject_id, step, editing, now)


def end(conn: sqlite3.Connection, user_id: int) -> None:
    """End the person's conversation (a plain function: see Database.write)."""
    conn.execute("DELETE FROM dialogs WHERE user_id = ?", (user_id,))


async def clear(conn: Connection, user_id: int) -> None:
    """`end`, inside a `transaction()` block."""
    await conn.run(end, user_id)

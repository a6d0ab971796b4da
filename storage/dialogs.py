"""SQL for where each person stands in a multi-step conversation."""

from __future__ import annotations

import sqlite3

from storage.db import Connection, Database
from storage.rows import Answer, Dialog, Person, Prompt, Reader, Session, one


async def get(conn: Reader, user_id: int) -> Dialog | None:
    """Return the person's open conversation, if any."""
    row = await one(
        conn,
        "SELECT user_id, flow, subject_id, step, editing FROM dialogs WHERE user_id = ?",
        (user_id,),
    )
    return Dialog(row[0], row[1], row[2], row[3], bool(row[4])) if row else None


async def session(db: Database, user_id: int, update_id: int | None = None) -> Session:
    """Return the person, their open conversation with its last answer kept and last question
    asked in their private chat, the questions there still showing buttons, and whether this
    update was handled already: one read."""
    row = await db.read(
        "SELECT (SELECT 1 FROM handled_updates WHERE update_id = :id), p.user_id, "
        "p.full_name, p.username, p.role, p.org_id, d.flow, d.subject_id, d.step, d.editing, "
        "(SELECT group_concat(message_id) FROM prompts WHERE chat_id = :u AND live = 1), "
        "a.message_id, a.step, a.text, a.answered_at, q.message_id, q.step, q.sent_at "
        "FROM (SELECT :u AS uid) AS x LEFT JOIN people p ON p.user_id = x.uid "
        "LEFT JOIN dialogs d ON d.user_id = x.uid "
        "LEFT JOIN answers a ON a.rowid = (SELECT rowid FROM answers WHERE user_id = x.uid "
        " AND flow = d.flow AND subject_id = d.subject_id AND held = 0 "
        " ORDER BY answered_at DESC, message_id DESC LIMIT 1) "
        "LEFT JOIN prompts q ON q.rowid = (SELECT rowid FROM prompts WHERE chat_id = x.uid "
        " AND flow = d.flow AND subject_id = d.subject_id "
        " ORDER BY sent_at DESC, message_id DESC LIMIT 1)",
        {"u": user_id, "id": update_id},
    )
    assert row is not None  # the FROM has exactly one row
    person = None if row[1] is None else Person(row[1], row[2], row[3], row[4], row[5])
    if row[6] is None:
        return Session(user_id, row[0] is not None, person, None, _ids(row[10]))
    flow, subject_id = row[6], row[7]
    dialog = Dialog(user_id, flow, subject_id, row[8], bool(row[9]))
    answer = None if row[11] is None else Answer(user_id, row[11], flow, subject_id, row[12],
                                                 row[13], row[14], False)  # fmt: skip
    prompt = None if row[15] is None else Prompt(user_id, row[15], flow, subject_id, row[16],
                                                 row[17])  # fmt: skip
    return Session(user_id, row[0] is not None, person, dialog, _ids(row[10]), answer, prompt)


def _ids(listed: str | None) -> tuple[int, ...]:
    return tuple(int(m) for m in listed.split(",")) if listed else ()


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

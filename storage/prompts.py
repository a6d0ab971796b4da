"""SQL for which message asked which question, and which message answered it (the writes
are plain functions run in a Database.write; the last answer and question of a person's open
conversation come with their session, storage/dialogs.py)."""

from __future__ import annotations

import sqlite3

from storage.db import Connection
from storage.rows import Answer, Prompt, Reader, one

_PROMPT = "SELECT chat_id, message_id, flow, subject_id, step, sent_at FROM prompts"
_ANSWER = "SELECT user_id, message_id, flow, subject_id, step, text, answered_at, held FROM answers"


def _answer(row: sqlite3.Row | None) -> Answer | None:
    if row is None:
        return None
    return Answer(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))


def add_prompt(conn: sqlite3.Connection, prompt: Prompt) -> None:
    """Record a question as sent (its buttons live)."""
    conn.execute(
        "INSERT OR REPLACE INTO prompts (chat_id, message_id, flow, subject_id, step, sent_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (prompt.chat_id, prompt.message_id, prompt.flow, prompt.subject_id, prompt.step,
         prompt.sent_at),
    )  # fmt: skip


async def prompt(conn: Reader, chat_id: int, message_id: int) -> Prompt | None:
    row = await one(conn, f"{_PROMPT} WHERE chat_id = ? AND message_id = ?", (chat_id, message_id))
    return None if row is None else Prompt(*row)


async def latest_prompt(
    conn: Reader, chat_id: int, flow: str, subject_id: int, until: str
) -> Prompt | None:
    """The last question of this conversation sent in the chat up to `until` (the last of
    all comes with the person's session, storage/dialogs.py)."""
    row = await one(
        conn,
        f"{_PROMPT} WHERE chat_id = ? AND flow = ? AND subject_id = ? AND sent_at <= ? "
        "ORDER BY sent_at DESC, message_id DESC LIMIT 1",
        (chat_id, flow, subject_id, until),
    )
    return None if row is None else Prompt(*row)


async def live_prompts(conn: Reader, chat_id: int) -> list[int]:
    """Ids of the questions in the chat that still show buttons."""
    rows = await conn.execute_fetchall(
        "SELECT message_id FROM prompts WHERE chat_id = ? AND live = 1", (chat_id,)
    )
    return [row[0] for row in rows]


def mark_dead(conn: sqlite3.Connection, chat_id: int, message_ids: list[int]) -> None:
    """These questions' buttons are gone."""
    conn.executemany(
        "UPDATE prompts SET live = 0 WHERE chat_id = ? AND message_id = ?",
        [(chat_id, m) for m in message_ids],
    )


def put_answer(conn: sqlite3.Connection, answer: Answer) -> None:
    """Record which message answered which question (or holds it aside)."""
    conn.execute(
        "INSERT OR REPLACE INTO answers (user_id, message_id, flow, subject_id, step, text, "
        "answered_at, held) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
        (answer.user_id, answer.message_id, answer.flow, answer.subject_id, answer.step,
         answer.text, answer.answered_at, int(answer.held)),
    )  # fmt: skip


async def answer(conn: Reader, user_id: int, message_id: int) -> Answer | None:
    row = await one(conn, f"{_ANSWER} WHERE user_id = ? AND message_id = ?", (user_id, message_id))
    return _answer(row)


def drop_answer(conn: sqlite3.Connection, user_id: int, message_id: int) -> None:
    conn.execute("DELETE FROM answers WHERE user_id = ? AND message_id = ?", (user_id, message_id))


async def forget(conn: Connection, before: str) -> int:
    """Forget questions and answers older than `before`; return how many."""
    cur = await conn.execute("DELETE FROM prompts WHERE sent_at < ?", (before,))
    gone = cur.rowcount
    cur = await conn.execute("DELETE FROM answers WHERE answered_at < ?", (before,))
    return gone + cur.rowcount

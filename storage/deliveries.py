"""SQL for deliveries (each scheduled message, once), unreachable chats and exemptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import aiosqlite

MAX_ATTEMPTS = 5


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    key: str
    kind: str
    chat_id: int
    status: str
    attempts: int
    last_error: str | None
    sent_at: str | None


async def known(conn: aiosqlite.Connection, keys: Sequence[str]) -> dict[str, DeliveryRow]:
    """The recorded deliveries among `keys`."""
    found: dict[str, DeliveryRow] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        async with conn.execute(
            "SELECT key, kind, chat_id, status, attempts, last_error, sent_at FROM deliveries "
            f"WHERE key IN ({','.join('?' * len(chunk))})",
            chunk,
        ) as cur:
            for r in await cur.fetchall():
                found[r[0]] = DeliveryRow(*r)
    return found


async def claim(
    conn: aiosqlite.Connection, key: str, kind: str, chat_id: int, scheduled_at: str, now: str
) -> bool:
    """Take a message for sending: new, or failed with attempts left. False: not ours to send
    (already sent, being sent, unreachable, skipped, or out of attempts)."""
    cur = await conn.execute(
        "INSERT INTO deliveries (key, kind, chat_id, scheduled_at, status, attempts, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, 'sending', 1, ?, ?) ON CONFLICT(key) DO UPDATE SET "
        "status = 'sending', attempts = attempts + 1, updated_at = excluded.updated_at "
        "WHERE deliveries.status = 'failed' AND deliveries.attempts < ?",
        (key, kind, chat_id, scheduled_at, now, now, MAX_ATTEMPTS),
    )
    return cur.rowcount == 1


async def finish(
    conn: aiosqlite.Connection, key: str, status: str, now: str, error: str | None = None
) -> None:
    """Record how a send ended: sent, failed (retried later), or unreachable."""
    await conn.execute(
        "UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?, "
        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE key = ?",
        (status, error, now, status, now, key),
    )


async def skip_many(
    conn: aiosqlite.Connection, rows: Iterable[tuple[str, str, int, str]], now: str
) -> None:
    """Record (key, kind, chat, scheduled_at) as skipped: stale by the time we could send."""
    await conn.executemany(
        "INSERT OR IGNORE INTO deliveries (key, kind, chat_id, scheduled_at, status, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, 'skipped', ?, ?)",
        [(*row, now, now) for row in rows],
    )


async def mark_uncertain(conn: aiosqlite.Connection, now: str) -> int:
    """At start-up: sends that were in flight when the process died may or may not have
    reached Telegram. They are not sent again (never twice); admins can see them."""
    cur = await conn.execute(
        "UPDATE deliveries SET status = 'uncertain', updated_at = ? WHERE status = 'sending'",
        (now,),
    )
    return cur.rowcount


async def counts(conn: aiosqlite.Connection) -> dict[str, int]:
    """How many deliveries are in each status."""
    async with conn.execute("SELECT status, count(*) FROM deliveries GROUP BY status") as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}


async def set_chat_status(
    conn: aiosqlite.Connection, chat_id: int, status: str, now: str, detail: str
) -> None:
    """Remember that a chat cannot be reached, and why."""
    await conn.execute(
        "INSERT INTO chat_status (chat_id, status, at, detail) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(chat_id) DO UPDATE SET status = excluded.status, at = excluded.at, "
        "detail = excluded.detail",
        (chat_id, status, now, detail),
    )


async def clear_chat_status(conn: aiosqlite.Connection, chat_ids: Sequence[int]) -> None:
    """These chats were reached again."""
    await conn.executemany("DELETE FROM chat_status WHERE chat_id = ?", [(c,) for c in chat_ids])


async def unreachable(conn: aiosqlite.Connection) -> dict[int, tuple[str, str]]:
    """Chats the bot could not reach: {chat id: (status, since)}."""
    async with conn.execute("SELECT chat_id, status, at FROM chat_status") as cur:
        return {r[0]: (r[1], r[2]) for r in await cur.fetchall()}


async def exempt(
    conn: aiosqlite.Connection, org_id: int, period: str, reason: str, by_user: int, now: str
) -> None:
    """Exempt an organization from one month's report."""
    await conn.execute(
        "INSERT INTO exemptions (org_id, period, reason, by_user, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(org_id, period) DO UPDATE SET reason = excluded.reason, "
        "by_user = excluded.by_user, at = excluded.at",
        (org_id, period, reason, by_user, now),
    )


async def exemptions(conn: aiosqlite.Connection, period: str) -> dict[int, str]:
    """{org id: reason} of the organizations exempt for a period."""
    async with conn.execute(
        "SELECT org_id, reason FROM exemptions WHERE period = ?", (period,)
    ) as cur:
        return {r[0]: r[1] for r in await cur.fetchall()}

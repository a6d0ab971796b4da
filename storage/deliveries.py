"""SQL for deliveries (each scheduled message, once), unreachable chats and exemptions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from storage.db import Connection
from storage.rows import Reader, one

PERMANENT = "9999-12-31T00:00:00+00:00"  # next_try_at of a send that will not be retried
STALE_CLAIM_MINUTES = 10  # a claim older than this whose process is gone is 'uncertain'


@dataclass(frozen=True, slots=True)
class DeliveryRow:
    key: str
    kind: str
    chat_id: int
    status: str
    attempts: int
    last_error: str | None
    sent_at: str | None


async def known(conn: Reader, keys: Sequence[str]) -> dict[str, DeliveryRow]:
    """The recorded deliveries among `keys`."""
    found: dict[str, DeliveryRow] = {}
    for start in range(0, len(keys), 500):
        chunk = keys[start : start + 500]
        rows = await conn.execute_fetchall(
            "SELECT key, kind, chat_id, status, attempts, last_error, sent_at FROM deliveries "
            f"WHERE key IN ({','.join('?' * len(chunk))})",
            chunk,
        )
        for r in rows:
            found[r[0]] = DeliveryRow(*r)
    return found


async def claim(
    conn: Connection,
    key: str,
    kind: str,
    chat_id: int,
    scheduled_at: str,
    now: str,
    owner: str,
) -> int | None:
    """Take a message for sending: new, or failed and due for another try. Returns how many
    of its parts already went out (0 for a new one), or None: not ours to send (sent, being
    sent, unreachable, skipped, uncertain, or failed and waiting for its next try)."""
    cur = await conn.execute(
        "INSERT INTO deliveries (key, kind, chat_id, scheduled_at, status, attempts, owner, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, 'sending', 1, ?, ?, ?) "
        "ON CONFLICT(key) DO UPDATE SET status = 'sending', attempts = attempts + 1, "
        "owner = excluded.owner, updated_at = excluded.updated_at "
        "WHERE deliveries.status = 'failed' "
        "AND (deliveries.next_try_at IS NULL OR deliveries.next_try_at <= excluded.updated_at)",
        (key, kind, chat_id, scheduled_at, owner, now, now),
    )
    if cur.rowcount != 1:
        return None
    row = await one(conn, "SELECT parts_sent FROM deliveries WHERE key = ?", (key,))
    return int(row[0]) if row else 0


async def part_sent(conn: Connection, key: str, parts: int) -> None:
    """Remember that the first `parts` parts of a message went out."""
    await conn.execute("UPDATE deliveries SET parts_sent = ? WHERE key = ?", (parts, key))


async def finish(
    conn: Connection,
    key: str,
    status: str,
    now: str,
    error: str | None = None,
    next_try_at: str | None = None,
) -> None:
    """Record how a send ended: sent, failed (retried from next_try_at), or unreachable."""
    await conn.execute(
        "UPDATE deliveries SET status = ?, last_error = ?, updated_at = ?, next_try_at = ?, "
        "sent_at = CASE WHEN ? = 'sent' THEN ? ELSE sent_at END WHERE key = ?",
        (status, error, now, next_try_at, status, now, key),
    )


async def attempts(conn: Reader, key: str) -> int:
    """How many times this message was tried."""
    row = await one(conn, "SELECT attempts FROM deliveries WHERE key = ?", (key,))
    return int(row[0]) if row else 0


async def skip_many(conn: Connection, rows: Iterable[tuple[str, str, int, str]], now: str) -> None:
    """Record (key, kind, chat, scheduled_at) as skipped: stale by the time we could send."""
    await conn.executemany(
        "INSERT OR IGNORE INTO deliveries (key, kind, chat_id, scheduled_at, status, created_at, "
        "updated_at) VALUES (?, ?, ?, ?, 'skipped', ?, ?)",
        [(*row, now, now) for row in rows],
    )


async def mark_uncertain(conn: Connection, now: str, older_than: str) -> int:
    """Sends claimed before `older_than` and never finished: their process died with them in
    flight, so they may or may not have reached Telegram. They are not sent again (never
    twice); /unreachable shows them. Younger claims belong to a process still working."""
    cur = await conn.execute(
        "UPDATE deliveries SET status = 'uncertain', updated_at = ? "
        "WHERE status = 'sending' AND updated_at < ?",
        (now, older_than),
    )
    return cur.rowcount


async def sending_owners(conn: Reader) -> list[str]:
    """The processes (host:pid) holding claims that are not finished."""
    rows = await conn.execute_fetchall(
        "SELECT DISTINCT owner FROM deliveries WHERE status = 'sending' AND owner IS NOT NULL"
    )
    return [r[0] for r in rows]


async def mark_uncertain_of(conn: Connection, owners: Sequence[str], now: str) -> int:
    """Like mark_uncertain, for the claims of processes known to be gone, whatever their age."""
    if not owners:
        return 0
    cur = await conn.execute(
        "UPDATE deliveries SET status = 'uncertain', updated_at = ? "
        f"WHERE status = 'sending' AND owner IN ({','.join('?' * len(owners))})",
        (now, *owners),
    )
    return cur.rowcount


async def sending_keys_of(conn: Reader, owner: str) -> list[str]:
    """The keys of the claims `owner` holds and has not finished."""
    rows = await conn.execute_fetchall(
        "SELECT key FROM deliveries WHERE status = 'sending' AND owner = ?", (owner,)
    )
    return [r[0] for r in rows]


async def mark_uncertain_keys(conn: Connection, keys: Sequence[str], now: str) -> int:
    """Like mark_uncertain, for these claims (still `sending`), whatever their age."""
    count = 0
    for key in keys:
        cur = await conn.execute(
            "UPDATE deliveries SET status = 'uncertain', updated_at = ? "
            "WHERE key = ? AND status = 'sending'",
            (now, key),
        )
        count += cur.rowcount
    return count


async def troubled(conn: Reader) -> list[DeliveryRow]:
    """Sends that failed (still being retried) or whose fate is uncertain."""
    return [
        DeliveryRow(*r)
        for r in await conn.execute_fetchall(
            "SELECT key, kind, chat_id, status, attempts, last_error, sent_at FROM deliveries "
            "WHERE status IN ('failed', 'uncertain') ORDER BY updated_at DESC LIMIT 50"
        )
    ]


async def counts(conn: Reader) -> dict[str, int]:
    """How many deliveries are in each status."""
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT status, count(*) FROM deliveries GROUP BY status"
        )
    }


async def set_chat_status(
    conn: Connection, chat_id: int, status: str, now: str, detail: str
) -> None:
    """Remember that a chat cannot be reached, and why."""
    await conn.execute(
        "INSERT INTO chat_status (chat_id, status, at, detail) VALUES (?, ?, ?, ?) "
        "ON CONFLICT(chat_id) DO UPDATE SET status = excluded.status, at = excluded.at, "
        "detail = excluded.detail",
        (chat_id, status, now, detail),
    )


async def clear_chat_status(conn: Connection, chat_ids: Sequence[int]) -> None:
    """These chats were reached again."""
    await conn.executemany("DELETE FROM chat_status WHERE chat_id = ?", [(c,) for c in chat_ids])


async def unreachable(conn: Reader) -> dict[int, tuple[str, str]]:
    """Chats the bot could not reach: {chat id: (status, since)}."""
    return {
        r[0]: (r[1], r[2])
        for r in await conn.execute_fetchall("SELECT chat_id, status, at FROM chat_status")
    }


async def exempt(
    conn: Connection, org_id: int, period: str, reason: str, by_user: int, now: str
) -> None:
    """Exempt an organization from one month's report."""
    await conn.execute(
        "INSERT INTO exemptions (org_id, period, reason, by_user, at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(org_id, period) DO UPDATE SET reason = excluded.reason, "
        "by_user = excluded.by_user, at = excluded.at",
        (org_id, period, reason, by_user, now),
    )


async def exemptions(conn: Reader, period: str) -> dict[int, str]:
    """{org id: reason} of the organizations exempt for a period."""
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT org_id, reason FROM exemptions WHERE period = ?", (period,)
        )
    }

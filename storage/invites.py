"""SQL for one-time invites and the record of wrong invite codes."""

from __future__ import annotations

import aiosqlite

from storage.db import Connection
from storage.rows import Invite, Reader, one, parse_ts

_COLUMNS = "code, org_id, created_by, created_at, expires_at, used_at, used_by, role"


def _invite(row: aiosqlite.Row) -> Invite:
    return Invite(
        row["code"],
        row["org_id"],
        row["created_by"],
        parse_ts(row["created_at"]),
        parse_ts(row["expires_at"]),
        parse_ts(row["used_at"]) if row["used_at"] else None,
        row["used_by"],
        row["role"],
    )


async def get(conn: Reader, code: str) -> Invite | None:
    """Return the invite with this code."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM invites WHERE code = ?", (code,))
    return _invite(row) if row else None


async def usable_for_orgs(conn: Reader, org_ids: list[int], valid_until: str) -> dict[int, Invite]:
    """Return the longest-lived unused secretary's invite of each organization valid past
    `valid_until`."""
    found: dict[int, Invite] = {}
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM invites WHERE used_at IS NULL AND expires_at > ? "
        "AND role = 'secretary' "
        "ORDER BY expires_at",
        (valid_until,),
    )
    wanted = set(org_ids)
    for row in rows:
        if row["org_id"] in wanted:
            found[row["org_id"]] = _invite(row)
    return found


async def insert_many(
    conn: Connection,
    rows: list[tuple[str, int]],
    created_by: int | None,
    now: str,
    expires_at: str,
    role: str = "secretary",
) -> None:
    """Store new invites given as (code, org_id), for secretaries or for admins."""
    await conn.executemany(
        "INSERT INTO invites (code, org_id, created_by, created_at, expires_at, role) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        [(code, org_id, created_by, now, expires_at, role) for code, org_id in rows],
    )


async def mark_used(conn: Connection, code: str, user_id: int, now: str) -> bool:
    """Mark the invite used by `user_id`; False if someone used it first."""
    cur = await conn.execute(
        "UPDATE invites SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL",
        (now, user_id, code),
    )
    return cur.rowcount == 1


async def record_failure(conn: Connection, user_id: int, now: str) -> None:
    """Remember that this user sent a wrong invite code."""
    await conn.execute(
        "INSERT INTO failed_invite_attempts (user_id, at) VALUES (?, ?)", (user_id, now)
    )


async def failures_since(conn: Reader, user_id: int, since: str) -> list[str]:
    """Return the times of this user's wrong codes after `since`, oldest first."""
    return [
        r[0]
        for r in await conn.execute_fetchall(
            "SELECT at FROM failed_invite_attempts WHERE user_id = ? AND at > ? ORDER BY at",
            (user_id, since),
        )
    ]


async def forget_failures_before(conn: Connection, before: str) -> None:
    """Drop wrong-code records too old to matter."""
    await conn.execute("DELETE FROM failed_invite_attempts WHERE at <= ?", (before,))

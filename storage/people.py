"""SQL for people: admins and secretaries bound to Telegram accounts."""

from __future__ import annotations

import aiosqlite

from storage.db import Connection
from storage.rows import Person, Reader, one

_COLUMNS = "user_id, full_name, username, role, org_id"


def _person(row: aiosqlite.Row) -> Person:
    return Person(row["user_id"], row["full_name"], row["username"], row["role"], row["org_id"])


async def get(conn: Reader, user_id: int) -> Person | None:
    """Return the person with this Telegram user id."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM people WHERE user_id = ?", (user_id,))
    return _person(row) if row else None


async def secretary_of(conn: Reader, org_id: int) -> Person | None:
    """Return the secretary bound to this organization."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM people WHERE org_id = ?", (org_id,))
    return _person(row) if row else None


async def admin_ids(conn: Reader) -> list[int]:
    """Return the user ids of every admin."""
    return [
        r[0] for r in await conn.execute_fetchall("SELECT user_id FROM people WHERE role = 'admin'")
    ]


async def ensure_admin(conn: Connection, user_id: int, full_name: str, now: str) -> None:
    """Make this user an admin (an admin is never bound to an organization)."""
    await conn.execute(
        "INSERT INTO people (user_id, full_name, role, org_id, created_at, updated_at) "
        "VALUES (?, ?, 'admin', NULL, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
        "role = 'admin', org_id = NULL, updated_at = excluded.updated_at "
        "WHERE people.role IS NOT 'admin'",
        (user_id, full_name, now, now),
    )


async def drop_admins_except(conn: Connection, keep: list[int]) -> list[int]:
    """Remove admins not in `keep` (they are no longer configured); return their ids."""
    marks = ",".join("?" * len(keep)) or "NULL"
    dropped = [
        r[0]
        for r in await conn.execute_fetchall(
            f"SELECT user_id FROM people WHERE role = 'admin' AND user_id NOT IN ({marks})", keep
        )
    ]
    await conn.executemany("DELETE FROM people WHERE user_id = ?", [(u,) for u in dropped])
    return dropped


async def bind_secretary(
    conn: Connection,
    user_id: int,
    full_name: str,
    username: str | None,
    org_id: int,
    now: str,
) -> None:
    """Record this user as the secretary of `org_id`."""
    await conn.execute(
        "INSERT INTO people (user_id, full_name, username, role, org_id, created_at, updated_at) "
        "VALUES (?, ?, ?, 'secretary', ?, ?, ?) ON CONFLICT(user_id) DO UPDATE SET "
        "full_name = excluded.full_name, username = excluded.username, role = 'secretary', "
        "org_id = excluded.org_id, updated_at = excluded.updated_at",
        (user_id, full_name, username, org_id, now, now),
    )


async def update_profile(
    conn: Connection, user_id: int, full_name: str, username: str | None, now: str
) -> None:
    """Keep a known person's display name and username current."""
    await conn.execute(
        "UPDATE people SET full_name = ?, username = ?, updated_at = ? WHERE user_id = ? "
        "AND (full_name IS NOT ? OR username IS NOT ?)",
        (full_name, username, now, user_id, full_name, username),
    )


async def secretaries_by_org(conn: Reader) -> dict[int, int]:
    """{org id: the secretary's user id} for every bound organization."""
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT org_id, user_id FROM people WHERE role = 'secretary' AND org_id IS NOT NULL"
        )
    }

"""SQL for admins of an organization's subtree (分级管理) and the tree around them."""

from __future__ import annotations

import aiosqlite

from storage.db import Connection
from storage.orgs import org_row
from storage.rows import Org, OrgAdmin, Reader, one, parse_ts

_SELECT = (
    "SELECT a.id, a.user_id, a.full_name, a.username, a.invited_by, a.granted_at, "
    "a.removed_by, a.removed_at, o.id AS org_id, o.code, o.name, o.parent_id, o.kind "
    "FROM org_admins a JOIN orgs o ON o.id = a.org_id"
)
# The ids of one organization and of every organization above it, with their distance.
_ANCESTORS = (
    "WITH RECURSIVE up(id, depth) AS (SELECT ?, 0 UNION ALL "
    "SELECT o.parent_id, up.depth + 1 FROM orgs o JOIN up ON o.id = up.id "
    "WHERE o.parent_id IS NOT NULL AND up.depth < 1000)"
)


def _admin(row: aiosqlite.Row) -> OrgAdmin:
    org = Org(row["org_id"], row["code"], row["name"], row["parent_id"], row["kind"])
    return OrgAdmin(
        row["id"],
        row["user_id"],
        org,
        row["full_name"],
        row["username"],
        row["invited_by"],
        parse_ts(row["granted_at"]),
        row["removed_by"],
        parse_ts(row["removed_at"]) if row["removed_at"] else None,
    )


async def standing(conn: Reader, user_id: int) -> tuple[bool, Org | None]:
    """(configured top-level admin?, the root of their active subtree scope or None): one read."""
    row = await one(
        conn,
        "SELECT p.role = 'admin', o.id AS id, o.code AS code, o.name AS name, "
        "o.parent_id AS parent_id, o.kind AS kind "
        "FROM (SELECT ? AS uid) AS x LEFT JOIN people p ON p.user_id = x.uid "
        "LEFT JOIN org_admins a ON a.user_id = x.uid AND a.removed_at IS NULL "
        "LEFT JOIN orgs o ON o.id = a.org_id",
        (user_id,),
    )
    assert row is not None  # the FROM has exactly one row
    return bool(row[0]), (org_row(row) if row["id"] is not None else None)


async def active_of(conn: Reader, user_id: int) -> OrgAdmin | None:
    """The person's active subtree scope, if any."""
    row = await one(conn, f"{_SELECT} WHERE a.user_id = ? AND a.removed_at IS NULL", (user_id,))
    return _admin(row) if row else None


async def ever_user_ids(conn: Reader) -> list[int]:
    """Everyone who is or was a subtree's admin."""
    rows = await conn.execute_fetchall("SELECT DISTINCT user_id FROM org_admins ORDER BY user_id")
    return [int(r[0]) for r in rows]


async def within(conn: Reader, org_id: int, root_id: int) -> bool:
    """Is `org_id` the organization `root_id` or below it?"""
    row = await one(conn, f"{_ANCESTORS} SELECT 1 FROM up WHERE id = ?", (org_id, root_id))
    return row is not None


async def active_within(conn: Reader, root_id: int | None) -> list[OrgAdmin]:
    """Active subtree admins at `root_id` or below it (all of them for None), by 编号."""
    return await _within(conn, root_id, "a.removed_at IS NULL ORDER BY o.code, a.id")


async def removed_within(conn: Reader, root_id: int | None, limit: int) -> list[OrgAdmin]:
    """The latest removals of admins at `root_id` or below it, newest first."""
    return await _within(
        conn, root_id, f"a.removed_at IS NOT NULL ORDER BY a.removed_at DESC LIMIT {int(limit)}"
    )


async def _within(conn: Reader, root_id: int | None, where: str) -> list[OrgAdmin]:
    if root_id is None:
        rows = await conn.execute_fetchall(f"{_SELECT} WHERE {where}")
    else:
        rows = await conn.execute_fetchall(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o JOIN sub "
            f"ON o.parent_id = sub.id) {_SELECT} WHERE a.org_id IN (SELECT id FROM sub) "
            f"AND {where}",
            (root_id,),
        )
    return [_admin(r) for r in rows]


async def nearest_above(conn: Reader, org_id: int) -> tuple[int | None, list[int]]:
    """The nearest organization strictly above `org_id` that has active admins, and their
    user ids; (None, []) when no level above has any (the top level decides)."""
    rows = await conn.execute_fetchall(
        f"{_ANCESTORS} SELECT up.id, a.user_id FROM up JOIN org_admins a ON a.org_id = up.id "
        "AND a.removed_at IS NULL WHERE up.depth > 0 ORDER BY up.depth, a.user_id",
        (org_id,),
    )
    level: int | None = None
    users: list[int] = []
    for found, user_id in rows:
        if level is None:
            level = found
        if found != level:
            break
        users.append(user_id)
    return level, users


async def grant(
    conn: Connection,
    user_id: int,
    org_id: int,
    full_name: str,
    username: str | None,
    invited_by: int | None,
    now: str,
) -> None:
    """Make the person an admin of the organization's subtree."""
    await conn.execute(
        "INSERT INTO org_admins (user_id, org_id, full_name, username, invited_by, granted_at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (user_id, org_id, full_name, username, invited_by, now),
    )


async def remove(conn: Connection, admin_id: int, removed_by: int, now: str) -> bool:
    """End one active scope, recording who ended it; False if it had ended already."""
    cur = await conn.execute(
        "UPDATE org_admins SET removed_by = ?, removed_at = ? WHERE id = ? AND removed_at IS NULL",
        (removed_by, now, admin_id),
    )
    return cur.rowcount == 1

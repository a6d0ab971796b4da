"""SQL for organizations (组织)."""

from __future__ import annotations

from collections.abc import Iterable, Iterator

import aiosqlite

from storage.db import Connection
from storage.rows import Org, Reader, one

_COLUMNS = "id, code, name, parent_id, kind"


def _org(row: aiosqlite.Row) -> Org:
    return Org(row["id"], row["code"], row["name"], row["parent_id"], row["kind"])


COLUMNS = _COLUMNS
org_row = _org  # also takes a dict with the same keys (a JSON object of a join)


async def by_code(conn: Reader, code: str) -> Org | None:
    """Return the organization with this 编号."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM orgs WHERE code = ?", (code,))
    return _org(row) if row else None


async def by_id(conn: Reader, org_id: int) -> Org | None:
    """Return the organization with this internal id."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM orgs WHERE id = ?", (org_id,))
    return _org(row) if row else None


async def by_name(conn: Reader, name: str, limit: int | None = 10) -> list[Org]:
    """Return organizations whose name is exactly `name`, else those containing it (all of
    them when `limit` is None)."""
    limit = -1 if limit is None else limit  # SQLite: a negative LIMIT has no bound
    rows = await conn.execute_fetchall(
        f"SELECT {_COLUMNS} FROM orgs WHERE name = ? ORDER BY code LIMIT ?", (name, limit)
    )
    if rows:
        return [_org(r) for r in rows]
    escaped = name.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
    return [
        _org(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM orgs WHERE name LIKE ? ESCAPE '\\' ORDER BY code LIMIT ?",
            (f"%{escaped}%", limit),
        )
    ]


async def parent_codes(conn: Reader) -> dict[str, str | None]:
    """Return {编号: its parent's 编号, or None} for every organization."""
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT o.code, p.code FROM orgs o LEFT JOIN orgs p ON p.id = o.parent_id"
        )
    }


async def count(conn: Reader) -> int:
    """Return how many organizations there are."""
    row = await one(conn, "SELECT count(*) FROM orgs")
    return int(row[0]) if row else 0


async def upsert_many(
    conn: Connection, rows: Iterable[tuple[str, str, str]], now: str
) -> tuple[int, int]:
    """Insert or update (编号, 名称, 类型) rows, leaving parents alone; return (added, updated).

    `rows` is consumed once, as it comes (a generator keeps a large file out of memory).
    """
    before = await count(conn)
    seen = 0

    def params() -> Iterator[tuple[str, str, str, str, str]]:
        nonlocal seen
        for code, name, kind in rows:
            seen += 1
            yield code, name, kind, now, now

    await conn.executemany(
        "INSERT INTO orgs (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?) "
        "ON CONFLICT(code) DO UPDATE SET name = excluded.name, kind = excluded.kind, "
        "updated_at = excluded.updated_at "
        "WHERE orgs.name IS NOT excluded.name OR orgs.kind IS NOT excluded.kind",
        params(),
    )
    added = await count(conn) - before
    return added, seen - added


async def set_parents(conn: Connection, links: Iterable[tuple[str, str | None]], now: str) -> None:
    """Point each organization (by 编号) at its parent's 编号, or at none."""
    # One set-based UPDATE from a temporary table: a statement per row is many times slower.
    await conn.execute(
        "CREATE TEMP TABLE import_links (code TEXT PRIMARY KEY, parent TEXT) WITHOUT ROWID"
    )
    try:
        await conn.executemany(
            "INSERT OR REPLACE INTO temp.import_links (code, parent) VALUES (?, ?)", links
        )
        await conn.execute(
            "UPDATE orgs SET parent_id = p.id, updated_at = ? "
            "FROM temp.import_links l LEFT JOIN orgs p ON p.code = l.parent "
            "WHERE orgs.code = l.code AND orgs.parent_id IS NOT p.id",
            (now,),
        )
    finally:
        await conn.execute("DROP TABLE temp.import_links")


async def subtree_ids(conn: Reader, root_id: int) -> list[int]:
    """Return the ids of `root_id` and every organization below it."""
    return [
        r[0]
        for r in await conn.execute_fetchall(
            "WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o JOIN sub "
            "ON o.parent_id = sub.id) SELECT id FROM sub",
            (root_id,),
        )
    ]


async def without_secretary(conn: Reader) -> list[Org]:
    """Return organizations that have no bound secretary, by 编号."""
    return [
        _org(r)
        for r in await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM orgs o WHERE NOT EXISTS "
            "(SELECT 1 FROM people p WHERE p.org_id = o.id) ORDER BY code"
        )
    ]


async def by_ids(conn: Reader, org_ids: Iterable[int]) -> dict[int, Org]:
    """Many organizations at once, by id."""
    ids = list(set(org_ids))
    found: dict[int, Org] = {}
    for start in range(0, len(ids), 900):
        chunk = ids[start : start + 900]
        rows = await conn.execute_fetchall(
            f"SELECT {_COLUMNS} FROM orgs WHERE id IN ({','.join('?' * len(chunk))})", chunk
        )
        for r in rows:
            found[r["id"]] = _org(r)
    return found

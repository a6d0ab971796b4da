"""Database.execute_fetchall / read: a conversation step's reads on the event loop, through
a second, read-only connection (storage/db.py)."""

from __future__ import annotations

import sqlite3

import pytest

from storage.db import Database
from tests.conftest import Trips


async def _table(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")


async def test_a_committed_write_is_read_at_once(db: Database) -> None:
    await _table(db)
    for n in range(3):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (n, f"v{n}"))
            # inside the transaction a read sees its uncommitted write (aiosqlite's
            # connection); the reader, like any other connection, does not
            assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (n + 1,)
            assert db._reader is not None
            assert db._reader.execute("SELECT count(*) FROM t").fetchall()[0][0] == n
        assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (n + 1,)
    rows = await db.execute_fetchall("SELECT k, v FROM t ORDER BY k")
    assert [tuple(r) for r in rows] == [(0, "v0"), (1, "v1"), (2, "v2")]
    assert rows[0]["v"] == "v0"  # rows by name, as from aiosqlite


async def test_it_reads_without_a_trip_to_the_database_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _table(db)
    trips = Trips(db, monkeypatch)
    assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (0,)
    assert trips.count == 0


async def test_it_cannot_write(db: Database) -> None:
    await _table(db)
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        await db.execute_fetchall("INSERT INTO t (k, v) VALUES (1, 'x')")
    assert await db.fetchall("SELECT * FROM t") == []


class Refusing:
    """A reader connection SQLite answers "database is locked" (in WAL mode that is rare:
    another process recovering the log after a crash, or holding the file exclusively)."""

    def __init__(self, code: int) -> None:
        self.code = code
        self.asked = 0

    def execute(self, sql: str, params: object = ()) -> object:
        self.asked += 1
        error = sqlite3.OperationalError("database is locked")
        error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
        raise error

    def close(self) -> None:
        pass


@pytest.mark.parametrize("code", [sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED])
async def test_refused_by_a_lock_it_reads_the_usual_way(
    db: Database, monkeypatch: pytest.MonkeyPatch, code: int
) -> None:
    """The reader never waits; refused, the read goes through aiosqlite, where busy_timeout
    waits for the lock."""
    await _table(db)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (1, '甲')")
    refusing = Refusing(code)
    monkeypatch.setattr(db, "_reader", refusing)
    assert tuple(await db.read("SELECT v FROM t WHERE k = 1") or ()) == ("甲",)
    assert refusing.asked == 1


async def test_any_other_error_is_not_hidden(db: Database, monkeypatch: pytest.MonkeyPatch) -> None:
    await _table(db)
    monkeypatch.setattr(db, "_reader", Refusing(sqlite3.SQLITE_IOERR))
    with pytest.raises(sqlite3.OperationalError):
        await db.read("SELECT v FROM t")

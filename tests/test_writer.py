"""Database.write: a small write transaction commits on the event loop, through a third
connection as durable as aiosqlite's; refused by a lock, or large, it goes to aiosqlite's
thread, where busy_timeout waits (storage/db.py)."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage.batch import SMALL_ROWS, batch
from storage.db import CURRENT_UPDATE, Database, last_seen_update
from tests.conftest import Trips


async def _table(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")


async def _rows(db: Database) -> list[tuple[int, str]]:
    return [tuple(r) for r in await db.fetchall("SELECT k, v FROM t ORDER BY k")]


async def test_a_small_batch_commits_without_a_trip_to_the_database_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _table(db)
    trips = Trips(db, monkeypatch)
    token = CURRENT_UPDATE.set((42, 7002))
    try:
        async with batch(db) as conn:
            for k in range(5):
                await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (k, "v"))
    finally:
        CURRENT_UPDATE.reset(token)
    assert trips.count == 0
    assert db._writer is not None and not db._writer.in_transaction
    monkeypatch.undo()
    # committed: aiosqlite's connection and the reader see it
    assert len(await _rows(db)) == 5
    assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (5,)
    assert await last_seen_update(db, 42) == 7002


async def test_the_writer_is_as_durable_and_strict_as_the_main_connection(db: Database) -> None:
    writer = db._writer
    assert writer is not None
    assert writer.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert writer.execute("PRAGMA synchronous").fetchone()[0] == 2  # FULL
    assert writer.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE p (id INTEGER PRIMARY KEY)")
        await conn.execute("CREATE TABLE c (p INTEGER NOT NULL REFERENCES p(id))")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with batch(db) as conn:
            await conn.execute("INSERT INTO c (p) VALUES (99)")
    assert await db.fetchall("SELECT * FROM c") == []


async def test_a_large_batch_goes_to_the_database_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The event loop is not held for a large write."""
    await _table(db)
    trips = Trips(db, monkeypatch)
    async with batch(db) as conn:
        await conn.executemany(
            "INSERT INTO t (k, v) VALUES (?, ?)", [(k, "v") for k in range(SMALL_ROWS + 1)]
        )
    assert trips.count == 1
    monkeypatch.undo()
    assert len(await _rows(db)) == SMALL_ROWS + 1


async def test_refused_by_another_writer_it_waits_on_the_database_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Another process (here: another connection) holds the write lock. The event loop is
    not blocked: the batch waits on aiosqlite's thread, and is written once the lock is
    free, exactly once."""
    await _table(db)
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (k, v) VALUES (1, '他')")
        trips = Trips(db, monkeypatch)

        async def step() -> None:
            async with batch(db) as conn:
                await conn.execute("INSERT INTO t (k, v) VALUES (2, '我')")

        task = asyncio.create_task(step())
        for _ in range(100):  # the loop keeps turning while the batch waits
            if trips.count:
                break
            await asyncio.sleep(0)
        assert trips.count == 1 and not task.done()
        other.execute("COMMIT")
        await task
    finally:
        other.close()
    assert trips.count == 1
    monkeypatch.undo()
    assert await _rows(db) == [(1, "他"), (2, "我")]


async def test_any_other_error_on_the_event_loop_is_not_retried(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    await _table(db)
    trips = Trips(db, monkeypatch)
    with pytest.raises(sqlite3.OperationalError, match="no such table"):
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (1, 'a')")
            await conn.execute("INSERT INTO missing (k) VALUES (1)")
    assert trips.count == 0
    monkeypatch.undo()
    assert await _rows(db) == []
    assert db._writer is not None and not db._writer.in_transaction

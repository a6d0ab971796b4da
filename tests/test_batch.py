"""storage/batch.py: a conversation step's writes recorded, then run together; each test runs
both ways a batch can go (Database.write): on the event loop's writer connection, and on
aiosqlite's thread. tests/test_writer.py checks which way a batch goes."""

from __future__ import annotations

import asyncio
import sqlite3

import pytest

from storage.batch import batch
from storage.db import CURRENT_UPDATE, Database, last_seen_update


@pytest.fixture(autouse=True, params=["event loop", "database thread"])
def way(request: pytest.FixtureRequest, db: Database, monkeypatch: pytest.MonkeyPatch) -> str:
    assert db._writer is not None
    if request.param == "database thread":
        monkeypatch.setattr(db, "_writer", None)
    return str(request.param)


async def _table(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")


async def _rows(db: Database) -> list[tuple[int, str]]:
    return [tuple(r) for r in await db.fetchall("SELECT k, v FROM t ORDER BY k")]


async def test_all_statements_and_the_replay_marker_commit_together(db: Database) -> None:
    await _table(db)
    token = CURRENT_UPDATE.set((42, 7001))
    try:
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "<b>甲</b> {{ x }}"))
            await conn.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [(2, "乙"), (3, "丙")])
            assert await _rows(db) == []  # recorded, not yet sent
    finally:
        CURRENT_UPDATE.reset(token)
    assert await _rows(db) == [(1, "<b>甲</b> {{ x }}"), (2, "乙"), (3, "丙")]
    assert await last_seen_update(db, 42) == 7001


async def test_a_failing_statement_writes_nothing(db: Database) -> None:
    await _table(db)
    token = CURRENT_UPDATE.set((42, 7003))
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with batch(db) as conn:
                await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "first"))
                await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (2, None))  # NOT NULL
    finally:
        CURRENT_UPDATE.reset(token)
    assert await _rows(db) == []
    assert await last_seen_update(db, 42) == 0  # the update was not marked as handled
    assert not db.conn.in_transaction
    async with batch(db) as conn:  # and the connection is usable afterwards
        await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (3, "ok"))
    assert await _rows(db) == [(3, "ok")]


async def test_an_error_in_the_block_sends_nothing(db: Database) -> None:
    await _table(db)
    with pytest.raises(RuntimeError):
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "never"))
            raise RuntimeError("the step failed before its writes were sent")
    assert await _rows(db) == []


async def test_a_cancelled_transaction_leaves_none_open(db: Database) -> None:
    """A job cancelled at shutdown while its BEGIN is queued on the database thread: the
    next writer must not find a transaction left open."""
    await _table(db)

    async def body() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "never"))

    task = asyncio.create_task(body())
    await asyncio.sleep(0)  # BEGIN IMMEDIATE is on its way to the database thread
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with batch(db) as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (2, "next"))
    assert await _rows(db) == [(2, "next")]
    assert not db.conn.in_transaction


async def _parents(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY, v TEXT UNIQUE)")
        await conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id), v TEXT)")
        await conn.execute("INSERT INTO parent (id, v) VALUES (41, 'old')")


PARENT = "INSERT INTO parent (v) VALUES (?) RETURNING id"
CHILD = "INSERT INTO child (parent_id, v) VALUES (?, ?)"


async def test_a_later_statement_takes_the_row_id_an_earlier_insert_creates(db: Database) -> None:
    await _parents(db)
    async with batch(db) as conn:
        first = await conn.insert(PARENT, ("甲",))
        await conn.execute(CHILD, (first, "a"))
        await conn.execute("UPDATE parent SET v = 'older' WHERE id = 41")
        second = await conn.insert(PARENT, ("乙",))
        await conn.execute(
            "INSERT INTO child (parent_id, v) VALUES (:p, :v)", {"p": second, "v": "b"}
        )
        with pytest.raises(LookupError):
            conn.row_id(first)  # not run yet
    assert (conn.row_id(first), conn.row_id(second)) == (42, 43)
    rows = await db.fetchall("SELECT parent_id, v FROM child ORDER BY v")
    assert [tuple(r) for r in rows] == [(42, "a"), (43, "b")]


async def test_an_insert_that_inserts_nothing_fails_the_whole_batch(db: Database) -> None:
    """An ignored INSERT would otherwise report the connection's previous row id (another
    table's): the child would point at the wrong parent."""
    await _parents(db)
    with pytest.raises(sqlite3.IntegrityError, match="inserted 0 rows"):
        async with batch(db) as conn:
            await conn.execute(CHILD, (41, "x"))
            ignored = await conn.insert(
                "INSERT OR IGNORE INTO parent (v) VALUES (?) RETURNING id", ("old",)
            )
            await conn.execute(CHILD, (ignored, "y"))
    assert await db.fetchall("SELECT * FROM child") == []


async def test_a_row_id_of_another_batch_is_refused(db: Database) -> None:
    await _parents(db)
    async with batch(db) as earlier:
        theirs = await earlier.insert(PARENT, ("甲",))
    with pytest.raises(ValueError, match="RowId"):
        async with batch(db) as conn:
            await conn.insert(PARENT, ("乙",))
            await conn.execute(CHILD, (theirs, "a"))
    with pytest.raises(ValueError, match="another batch"):
        conn.row_id(theirs)
    assert [tuple(r) for r in await db.fetchall("SELECT v FROM parent ORDER BY id")] == [
        ("old",),
        ("甲",),
    ]
    with pytest.raises(ValueError, match="RETURNING"):
        await conn.insert("INSERT INTO parent (v) VALUES (?)", ("丙",))

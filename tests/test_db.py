"""storage/db.py: one writing connection runs every write transaction; plain reads go to a
read-only connection; exports read through a snapshot of their own."""

from __future__ import annotations

import asyncio
import gc
import logging
import os
import sqlite3
from pathlib import Path

import pytest

from storage.db import CURRENT_UPDATE, Database, was_handled
from tests import export_probes


async def _table(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE t (k INTEGER PRIMARY KEY, v TEXT NOT NULL)")


async def _rows(db: Database) -> list[tuple[int, str]]:
    return [tuple(r) for r in await db.fetchall("SELECT k, v FROM t ORDER BY k")]


async def _no_transaction_left_open(db: Database) -> bool:
    """Whether the writing connection is outside any transaction: its BEGIN would fail."""
    async with db.transaction(marked=False):
        return True


def _synchronous(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA synchronous").fetchone()[0])


async def test_all_statements_and_the_replay_marker_commit_together(db: Database) -> None:
    await _table(db)
    token = CURRENT_UPDATE.set((7001, 42, "2026-11-21T02:00:00+00:00"))
    try:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "<b>甲</b> {{ x }}"))
            await conn.executemany("INSERT INTO t (k, v) VALUES (?, ?)", [(2, "乙"), (3, "丙")])
            assert not await was_handled(db, 7001)  # not before the commit
    finally:
        CURRENT_UPDATE.reset(token)
    assert await _rows(db) == [(1, "<b>甲</b> {{ x }}"), (2, "乙"), (3, "丙")]
    assert await was_handled(db, 7001) and not await was_handled(db, 7000)


async def test_a_failing_statement_writes_nothing(db: Database) -> None:
    await _table(db)
    token = CURRENT_UPDATE.set((7003, 42, "2026-11-21T02:00:00+00:00"))
    try:
        with pytest.raises(sqlite3.IntegrityError):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "first"))
                await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (2, None))  # NOT NULL
    finally:
        CURRENT_UPDATE.reset(token)
    assert await _rows(db) == []
    assert not await was_handled(db, 7003)  # the update was not marked as handled
    assert await _no_transaction_left_open(db)
    async with db.transaction() as conn:  # and the connection is usable afterwards
        await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (3, "ok"))
    assert await _rows(db) == [(3, "ok")]


async def test_an_error_in_the_block_writes_nothing(db: Database) -> None:
    await _table(db)
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "never"))
            raise RuntimeError("the step failed after its first write")
    assert await _rows(db) == []
    assert await _no_transaction_left_open(db)


@pytest.mark.parametrize("turns", [0, 1, 2, 3, 5, 8])
async def test_a_cancelled_transaction_leaves_none_open(db: Database, turns: int) -> None:
    """A job cancelled at shutdown at any point of its transaction (BEGIN, a statement or
    COMMIT still queued on the writer's thread): the next writer must not find it open, and
    it is written whole or not at all (cancelled during COMMIT, it may have committed)."""
    await _table(db)

    async def body() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (1, "never"))
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (2, "never"))

    task = asyncio.create_task(body())
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (3, "next"))
    assert await _rows(db) in ([(3, "next")], [(1, "never"), (2, "never"), (3, "next")])
    assert await _no_transaction_left_open(db)


async def test_transactions_of_concurrent_tasks_never_interleave(db: Database) -> None:
    await _table(db)

    async def move(k: int) -> None:
        async with db.transaction() as conn:
            rows = await conn.execute_fetchall("SELECT count(*) FROM t")
            await asyncio.sleep(0)  # another task runs meanwhile
            await conn.execute("INSERT INTO t (k, v) VALUES (?, ?)", (k, str(rows[0][0])))

    await asyncio.gather(*(move(k) for k in range(20)))
    assert sorted(int(v) for _, v in await _rows(db)) == list(range(20))


async def test_a_write_function_commits_with_the_marker_or_not_at_all(db: Database) -> None:
    """`write(fn)`: the function's statements and the update's marker in one commit; if the
    function raises, neither is written and the writer goes on."""
    await _table(db)
    token = CURRENT_UPDATE.set((7005, 42, "2026-11-21T02:00:00+00:00"))
    try:

        def two(conn: sqlite3.Connection) -> int:
            conn.execute("INSERT INTO t (k, v) VALUES (1, '甲')")
            return conn.execute("INSERT INTO t (k, v) VALUES (2, '乙')").rowcount

        def failing(conn: sqlite3.Connection) -> None:
            conn.execute("INSERT INTO t (k, v) VALUES (3, '丙')")
            conn.execute("INSERT INTO t (k, v) VALUES (4, NULL)")  # NOT NULL

        with pytest.raises(sqlite3.IntegrityError):
            await db.write(failing)
        assert not await was_handled(db, 7005)
        assert await db.write(two) == 1
    finally:
        CURRENT_UPDATE.reset(token)
    assert await _rows(db) == [(1, "甲"), (2, "乙")]
    assert await was_handled(db, 7005)
    assert await _no_transaction_left_open(db)


async def test_a_write_that_writes_nothing_does_not_mark_the_update(db: Database) -> None:
    """An answer refused is read and checked in its write and writes nothing: the update is
    not marked, so if Telegram delivers it again it is handled (and refused) again."""
    await _table(db)
    token = CURRENT_UPDATE.set((7007, 42, "2026-11-21T02:00:00+00:00"))
    try:
        assert (
            await db.write(lambda conn: conn.execute("SELECT count(*) FROM t").fetchone()[0]) == 0
        )
    finally:
        CURRENT_UPDATE.reset(token)
    assert not await was_handled(db, 7007)


async def test_a_write_waits_for_an_open_transaction_block(db: Database) -> None:
    """Both kinds of write share the one writer: a `write(fn)` never lands inside another
    task's `transaction()` block (which would commit or roll back with it)."""
    await _table(db)
    inside, release = asyncio.Event(), asyncio.Event()

    async def block() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (1, 'block')")
            inside.set()
            await release.wait()
            raise RuntimeError("the block fails after the write was asked for")

    task = asyncio.create_task(block())
    await inside.wait()
    write = asyncio.create_task(db.write(lambda c: c.execute("INSERT INTO t VALUES (2, 'fn')")))
    for _ in range(20):
        await asyncio.sleep(0)
    assert not write.done()
    release.set()
    with pytest.raises(RuntimeError):
        await task
    await write
    assert await _rows(db) == [(2, "fn")]


@pytest.mark.parametrize("turns", [0, 1, 2, 3])
async def test_a_cancelled_write_is_whole_or_absent(db: Database, turns: int) -> None:
    await _table(db)

    def two(conn: sqlite3.Connection) -> None:
        conn.executemany("INSERT INTO t (k, v) VALUES (?, 'v')", [(1,), (2,)])

    task = asyncio.create_task(db.write(two))
    for _ in range(turns):
        await asyncio.sleep(0)
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    await db.write(lambda conn: conn.execute("INSERT INTO t (k, v) VALUES (3, 'next')"))
    assert await _rows(db) in ([(3, "next")], [(1, "v"), (2, "v"), (3, "next")])
    assert await _no_transaction_left_open(db)


async def test_a_write_not_waiting_for_the_disk_leaves_the_writer_durable(db: Database) -> None:
    await _table(db)
    await db.write(lambda conn: conn.execute("INSERT INTO t VALUES (1, 'x')"), durable=False)
    assert await _rows(db) == [(1, "x")]
    assert await db.write(_synchronous) == 2  # the writing connection's setting


async def test_durable_and_strict(db: Database) -> None:
    assert [tuple(r) for r in await db.execute_fetchall("PRAGMA journal_mode")] == [("wal",)]
    assert await db.write(_synchronous) == 2  # the writing connection's setting
    async with db.transaction() as conn:
        await conn.execute("CREATE TABLE parent (id INTEGER PRIMARY KEY)")
        await conn.execute("CREATE TABLE child (parent_id INTEGER REFERENCES parent(id))")
    with pytest.raises(sqlite3.IntegrityError, match="FOREIGN KEY"):
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO child (parent_id) VALUES (99)")


async def test_another_process_holding_the_lock_delays_a_write_not_the_loop(
    db: Database,
) -> None:
    """The write waits on the writer's thread (busy_timeout) and is written once the lock is
    free, exactly once; the event loop keeps turning meanwhile."""
    await _table(db)
    other = sqlite3.connect(db.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        other.execute("INSERT INTO t (k, v) VALUES (1, '他')")

        async def step() -> None:
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO t (k, v) VALUES (2, '我')")

        task = asyncio.create_task(step())
        for _ in range(50):  # the loop keeps turning while the write waits
            await asyncio.sleep(0)
        assert not task.done()
        other.execute("COMMIT")
        await task
    finally:
        other.close()
    assert await _rows(db) == [(1, "他"), (2, "我")]


async def test_reads_see_only_committed_writes_except_inside_the_transaction(
    db: Database,
) -> None:
    """Another task's read while a transaction is open must not see its writes (they may
    yet be rolled back); inside the transaction, a read sees them."""
    await _table(db)
    inside, release = asyncio.Event(), asyncio.Event()

    async def writer() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (1, 'pending')")
            assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (1,)
            inside.set()
            await release.wait()

    task = asyncio.create_task(writer())
    await inside.wait()
    assert tuple(await db.read("SELECT count(*) FROM t") or ()) == (0,)
    release.set()
    await task
    rows = await db.execute_fetchall("SELECT k, v FROM t")
    assert [tuple(r) for r in rows] == [(1, "pending")]
    assert rows[0]["v"] == "pending"  # rows by name


async def test_plain_reads_cannot_write(db: Database) -> None:
    await _table(db)
    with pytest.raises(sqlite3.OperationalError, match=r"readonly|read-only|query_only"):
        await db.execute_fetchall("INSERT INTO t (k, v) VALUES (1, 'x')")
    assert await db.fetchall("SELECT * FROM t") == []


async def test_a_snapshot_reads_one_moment_and_does_not_hold_up_writes(db: Database) -> None:
    """What exports read through: a long read there does not keep writes waiting."""
    await _table(db)
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO t (k, v) VALUES (?, 'v')", [(k,) for k in range(5)])
    async with db.snapshot() as view:
        cursor = await view.cursor("SELECT k FROM t ORDER BY k")
        assert [tuple(r) for r in await cursor.fetchmany(1)] == [(0,)]
        async with db.transaction() as tx:  # at once: nothing holds the writer
            await tx.execute("INSERT INTO t (k, v) VALUES (10, 'x')")
        assert len(await _rows(db)) == 6
        await cursor.close()
        assert tuple(await view.read("SELECT count(*) FROM t") or ()) == (5,)  # its moment
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await view.execute_fetchall("INSERT INTO t (k, v) VALUES (11, 'y')")


async def test_an_export_runs_in_another_process_at_one_moment(
    db: Database, tmp_path: Path
) -> None:
    """While the export reads, the event loop is free and a write commits; the export still
    sees the moment it started from."""
    await _table(db)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (1, 'a')")
    export = asyncio.create_task(db.off_loop(export_probes.count_while_written, str(tmp_path)))
    for _ in range(3000):  # a failure's deadline only: the export process starts meanwhile
        if (tmp_path / "reading").exists() or export.done():
            break
        await asyncio.sleep(0.01)
    async with db.transaction() as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (2, 'b')")
    (tmp_path / "written").touch()
    before, after, pid = await export
    assert (before, after) == (1, 1) and pid != os.getpid()
    assert len(await _rows(db)) == 2


async def test_a_lookup_never_waits_behind_an_export(db: Database, tmp_path: Path) -> None:
    """A person's lookup (lookup=True) has a worker of its own: it answers while a long
    export still runs."""
    await _table(db)
    export = asyncio.create_task(db.off_loop(export_probes.held, str(tmp_path)))
    try:
        for _ in range(3000):  # a failure's deadline only: the export process starts meanwhile
            if (tmp_path / "holding").exists() or export.done():
                break
            await asyncio.sleep(0.01)
        assert (tmp_path / "holding").exists()
        lookup_pid = await db.off_loop(export_probes.pid, lookup=True)
        assert not export.done() and lookup_pid != os.getpid()
    finally:
        (tmp_path / "release").touch()
    assert await export not in (os.getpid(), lookup_pid)


async def test_a_worker_that_died_is_replaced(db: Database, tmp_path: Path) -> None:
    """Killed once (out of memory, say), the worker is started again and the call answered;
    the next calls work too, instead of failing until the bot restarts."""
    await _table(db)
    first = await db.off_loop(export_probes.die_once, str(tmp_path))
    assert (tmp_path / "died").exists() and first != os.getpid()
    assert await db.off_loop(export_probes.pid) == first


async def test_a_stream_outside_a_transaction_holds_no_read_at_its_moment(db: Database) -> None:
    """The shared reader is not pinned by an open cursor: a write committed meanwhile is
    read back at once."""
    await _table(db)
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO t (k, v) VALUES (?, 'old')", [(k,) for k in range(9)])
    cursor = await db.cursor("SELECT k FROM t ORDER BY k")
    assert [row[0] for row in await cursor.fetchmany(2)] == [0, 1]
    async with db.transaction() as conn:
        await conn.execute("UPDATE t SET v = 'new' WHERE k = 5")
    row = await db.read("SELECT v FROM t WHERE k = 5")
    assert row is not None and row[0] == "new"
    assert [row[0] for row in await cursor.fetchmany(100)] == [2, 3, 4, 5, 6, 7, 8]
    await cursor.close()


async def test_a_task_started_in_a_transaction_reads_committed_rows_after_it(
    db: Database,
) -> None:
    """A task created inside `transaction()` carries its context; once that block has ended,
    its reads go to the reader again and never see another task's uncommitted write."""
    await _table(db)
    go, written, done = asyncio.Event(), asyncio.Event(), asyncio.Event()
    seen: list[int] = []

    async def child() -> None:
        await go.wait()
        seen.append(len(await _rows(db)))

    async with db.transaction():
        task = asyncio.create_task(child())

    async def other() -> None:
        async with db.transaction() as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (1, 'uncommitted')")
            written.set()
            await done.wait()
            raise RuntimeError("rolled back")

    writer = asyncio.create_task(other())
    await written.wait()
    go.set()
    await task
    done.set()
    with pytest.raises(RuntimeError, match="rolled back"):
        await writer
    assert seen == [0]


async def test_an_export_that_fails_midway_raises_here_and_nothing_else(
    db: Database, caplog: pytest.LogCaptureFixture
) -> None:
    await _table(db)
    async with db.transaction() as conn:
        await conn.executemany("INSERT INTO t (k, v) VALUES (?, 'v')", [(k,) for k in range(5)])
    loop_errors: list[dict[str, object]] = []
    loop = asyncio.get_running_loop()
    previous = loop.get_exception_handler()
    loop.set_exception_handler(lambda _, context: loop_errors.append(context))
    try:
        with caplog.at_level(logging.ERROR):
            with pytest.raises(RuntimeError, match="a bug while the rows are read"):
                await db.off_loop(export_probes.fail_while_streaming)
            gc.collect()
            for _ in range(20):
                await asyncio.sleep(0)
    finally:
        loop.set_exception_handler(previous)
    assert loop_errors == [] and caplog.records == []
    async with db.transaction() as conn:  # and the database goes on as before
        await conn.execute("INSERT INTO t (k, v) VALUES (9, 'w')")
    assert len(await _rows(db)) == 6


async def test_close_closes_both_connections(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "bot.sqlite3")
    await db.close()
    with pytest.raises(ValueError, match=r"(?i)connection"):  # aiosqlite: "Connection closed"
        await db.read("SELECT 1")  # the reading connection
    with pytest.raises(ValueError, match="connection"):
        await db.write(lambda conn: conn.execute("SELECT 1"))  # the writing one


async def test_migrations_carry_no_update_marker(tmp_path: Path) -> None:
    """A database opened while an update is being handled (its marker set in this task)
    is migrated all the same: the marker's table may not exist yet."""
    token = CURRENT_UPDATE.set((7001, 42, "2026-11-21T02:00:00+00:00"))
    try:
        db = await Database.open(tmp_path / "new.sqlite3")
    finally:
        CURRENT_UPDATE.reset(token)
    try:
        assert not await was_handled(db, 7001)
    finally:
        await db.close()

"""Database.write: a small write transaction commits on the event loop, through a third
connection as durable as aiosqlite's; refused by a lock, or large, it goes to aiosqlite's
thread, where busy_timeout waits (storage/db.py)."""

from __future__ import annotations

import asyncio
import shutil
import sqlite3
import threading
from pathlib import Path

import pytest

import storage.db as storage_db
from bot.settings import Settings
from storage.batch import SMALL_ROWS, batch
from storage.db import CURRENT_UPDATE, Database, _open_writer, last_seen_update
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


def test_the_writer_never_waits_and_leaves_checkpoints_to_a_worker_thread(
    tmp_path: Path,
) -> None:
    """Checked on a fresh connection of the kind: a busy_timeout would block the event loop
    (it would wait, not fall back), and so would an automatic checkpoint in a commit."""
    writer = _open_writer(str(tmp_path / "w.sqlite3"))
    try:
        assert writer.execute("PRAGMA busy_timeout").fetchone()[0] == 0
        assert writer.execute("PRAGMA wal_autocheckpoint").fetchone()[0] == 0
    finally:
        writer.close()


class Flaky:
    """The writer, but SQLite refuses one statement once (`fail_on`, with `code`)."""

    def __init__(self, real: sqlite3.Connection, fail_on: str, code: int) -> None:
        self.real, self.fail_on, self.code, self.failed = real, fail_on, code, 0

    def execute(self, sql: str, *args: object) -> sqlite3.Cursor:
        if sql.startswith(self.fail_on) and not self.failed:
            self.failed += 1
            error = sqlite3.OperationalError("database is locked")
            error.sqlite_errorcode = self.code  # type: ignore[attr-defined]
            raise error
        return self.real.execute(sql, *args)

    def executemany(self, sql: str, rows: object) -> sqlite3.Cursor:
        return self.real.executemany(sql, rows)  # type: ignore[arg-type]

    @property
    def in_transaction(self) -> bool:
        return self.real.in_transaction

    def close(self) -> None:
        self.real.close()


@pytest.mark.parametrize(
    ("fail_on", "code"),
    [
        ("BEGIN", sqlite3.SQLITE_BUSY),
        ("BEGIN", sqlite3.SQLITE_BUSY_RECOVERY),  # extended codes count as refusals too
        ("INSERT", sqlite3.SQLITE_BUSY),
        ("COMMIT", sqlite3.SQLITE_BUSY),
    ],
)
async def test_refused_at_any_statement_it_is_written_once_on_the_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch, fail_on: str, code: int
) -> None:
    await _table(db)
    assert db._writer is not None
    flaky = Flaky(db._writer, fail_on, code)
    monkeypatch.setattr(db, "_writer", flaky)
    trips = Trips(db, monkeypatch)
    async with batch(db) as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (1, '甲')")
        await conn.execute("INSERT INTO t (k, v) VALUES (2, '乙')")
    assert (flaky.failed, trips.count) == (1, 1)
    assert not flaky.in_transaction
    monkeypatch.undo()
    assert await _rows(db) == [(1, "甲"), (2, "乙")]
    async with batch(db) as conn:  # and the writer goes on working
        await conn.execute("INSERT INTO t (k, v) VALUES (3, '丙')")
    assert len(await _rows(db)) == 3


async def test_a_write_that_fails_without_rolling_back_does_not_leave_the_writer_open(
    db: Database,
) -> None:
    await _table(db)

    def careless(raw: sqlite3.Connection) -> None:
        raw.execute("BEGIN IMMEDIATE")
        raw.execute("INSERT INTO t (k, v) VALUES (1, 'x')")
        raise ValueError("a bug after the first statement")

    async with db.write_lock:
        with pytest.raises(ValueError):
            await db.write(careless)
    assert db._writer is not None and not db._writer.in_transaction
    async with batch(db) as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (2, 'y')")
    assert await _rows(db) == [(2, "y")]


async def test_while_commits_are_slow_writes_go_to_the_thread_for_a_while(
    db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A slow or busy disk must not hold the event loop: once commits there take longer than
    SLOW_COMMIT_S (on average: one hiccup does not count), the next LOOP_PAUSE_S of writes
    go to aiosqlite's thread; then the loop is tried again."""
    await _table(db)
    now = [1000.0]
    each = [0.0]  # how far the clock moves at each reading

    def clock() -> float:
        now[0] += each[0]
        return now[0]

    monkeypatch.setattr(storage_db, "_clock", clock)
    trips = Trips(db, monkeypatch)
    written = [0]

    async def write(ms: float) -> None:
        each[0] = ms / 1000
        written[0] += 1
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, 'v')", (written[0],))

    await write(0.2)
    await write(10)  # one hiccup
    for _ in range(8):
        await write(0.2)
    assert trips.count == 0  # all on the loop
    await write(10)
    await write(10)  # slow on average now: this one still ran on the loop
    assert trips.count == 0
    await write(0.2)
    now[0] += storage_db.LOOP_PAUSE_S / 2
    await write(0.2)
    assert trips.count == 2  # the pause
    now[0] += storage_db.LOOP_PAUSE_S
    await write(0.2)
    assert trips.count == 2  # back on the loop
    monkeypatch.undo()
    assert [k for k, _ in await _rows(db)] == list(range(1, written[0] + 1))


async def test_every_so_many_commits_a_checkpoint_runs_on_a_worker_thread(
    db: Database, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    await _table(db)
    ran: list[str] = []
    real = storage_db._checkpoint

    def counting(path: str) -> None:
        ran.append(path)
        real(path)

    monkeypatch.setattr(storage_db, "_checkpoint", counting)
    monkeypatch.setattr(storage_db, "CHECKPOINT_EVERY", 3)

    async def write(k: int) -> None:
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (?, 'v')", (k,))

    for k in range(3):
        await write(k)
    assert db._checkpointing is not None  # started at the third, beside the event loop
    await db._checkpointing
    assert ran == [db.path] and db._checkpointing is None
    # The log was copied into the file: the file alone, without its log, holds the rows.
    copy = tmp_path / "copy.sqlite3"
    shutil.copyfile(db.path, copy)
    alone = sqlite3.connect(copy)
    try:
        assert alone.execute("SELECT count(*) FROM t").fetchone()[0] == 3
    finally:
        alone.close()
    for k in range(3, 5):
        await write(k)
    assert db._checkpointing is None  # the count starts again
    await write(5)
    assert db._checkpointing is not None
    await db._checkpointing
    assert len(ran) == 2


async def test_a_failed_checkpoint_is_logged_and_the_next_one_tried(
    db: Database, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    await _table(db)

    def failing(path: str) -> None:
        raise sqlite3.OperationalError("disk I/O error")

    monkeypatch.setattr(storage_db, "_checkpoint", failing)
    monkeypatch.setattr(storage_db, "CHECKPOINT_EVERY", 1)
    async with batch(db) as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (1, 'v')")
    assert db._checkpointing is not None
    await asyncio.wait({db._checkpointing})
    assert db._checkpointing is None
    assert any("checkpoint failed" in r.getMessage() for r in caplog.records)
    assert await _rows(db) == [(1, "v")]


@pytest.mark.parametrize("way", ["transaction", "batch on the database thread"])
async def test_a_read_under_way_on_the_main_connection_delays_a_write_not_fails_it(
    db: Database, monkeypatch: pytest.MonkeyPatch, way: str
) -> None:
    """`conn` holds a read that began before the writer's commit: SQLite refuses its BEGIN
    IMMEDIATE (BUSY_SNAPSHOT) and busy_timeout does not wait for that; the write waits
    for the read to end."""
    await _table(db)
    async with batch(db) as conn:
        await conn.executemany("INSERT INTO t (k, v) VALUES (?, 'v')", [(k,) for k in range(5)])
    cursor = await db.conn.execute("SELECT k FROM t ORDER BY k")
    assert tuple(await cursor.fetchone() or ()) == (0,)  # the read is under way
    async with batch(db) as conn:  # committed on the loop meanwhile
        await conn.execute("INSERT INTO t (k, v) VALUES (9, 'w')")

    async def later() -> None:
        if way == "transaction":
            async with db.transaction() as tx:
                await tx.execute("INSERT INTO t (k, v) VALUES (10, 'x')")
            return
        monkeypatch.setattr(db, "_writer", None)
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (10, 'x')")

    task = asyncio.create_task(later())
    for _ in range(20):
        await asyncio.sleep(0)
    assert not task.done()
    await cursor.close()
    await task
    assert [k for k, _ in await _rows(db)] == [0, 1, 2, 3, 4, 9, 10]


async def test_a_snapshot_reads_one_moment_and_does_not_hold_up_writes(db: Database) -> None:
    """What exports read through (Database.snapshot): a long read there does not keep the
    main connection in the past."""
    await _table(db)
    async with batch(db) as conn:
        await conn.executemany("INSERT INTO t (k, v) VALUES (?, 'v')", [(k,) for k in range(5)])
    async with db.snapshot() as view:
        assert view.conn is not db.conn
        cursor = await view.conn.execute("SELECT k FROM t ORDER BY k")
        assert tuple(await cursor.fetchone() or ()) == (0,)
        async with batch(db) as conn:
            await conn.execute("INSERT INTO t (k, v) VALUES (9, 'w')")
        async with db.transaction() as tx:  # at once: the main connection is not held
            await tx.execute("INSERT INTO t (k, v) VALUES (10, 'x')")
        assert len(await _rows(db)) == 7
        await cursor.close()
        assert tuple(await view.read("SELECT count(*) FROM t") or ()) == (5,)  # its moment
        with pytest.raises(sqlite3.OperationalError, match="readonly"):
            await view.conn.execute("INSERT INTO t (k, v) VALUES (11, 'y')")


async def test_a_failed_open_leaves_no_connection_behind(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    opened: list[sqlite3.Connection] = []
    real_reader = storage_db._open_reader

    def reader(path: str) -> sqlite3.Connection:
        opened.append(real_reader(path))
        return opened[-1]

    def writer(path: str) -> sqlite3.Connection:
        raise sqlite3.OperationalError("unable to open database file")

    monkeypatch.setattr(storage_db, "_open_reader", reader)
    monkeypatch.setattr(storage_db, "_open_writer", writer)
    with pytest.raises(sqlite3.OperationalError, match="unable to open"):
        await Database.open(tmp_path / "bot.sqlite3")
    assert len(opened) == 1
    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        opened[0].execute("SELECT 1")


async def test_close_cancelled_while_a_checkpoint_runs_still_closes_everything(
    settings: Settings, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second Ctrl-C during shutdown: the connections (and aiosqlite's thread, which
    would keep the process alive) are closed all the same."""
    db = await Database.open(settings.db_path)
    await _table(db)
    release = threading.Event()
    monkeypatch.setattr(storage_db, "_checkpoint", lambda path: release.wait(10))
    monkeypatch.setattr(storage_db, "CHECKPOINT_EVERY", 1)
    async with batch(db) as conn:
        await conn.execute("INSERT INTO t (k, v) VALUES (1, 'v')")
    checkpoint = db._checkpointing
    assert checkpoint is not None
    try:
        closing = asyncio.create_task(db.close())
        await asyncio.sleep(0)  # waiting for the checkpoint
        closing.cancel()
        with pytest.raises(asyncio.CancelledError):
            await closing
        assert db._reader is None and db._writer is None
        with pytest.raises(ValueError, match="connection"):
            await db.conn.execute("SELECT 1")
    finally:
        release.set()
        await checkpoint

"""The SQLite handle: connection settings, numbered migrations and write transactions."""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sqlite3
import threading
import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.rows import one

logger = logging.getLogger(__name__)
T = TypeVar("T")

# (user id, update id) of the Telegram update being handled in this task, if any: every
# write transaction then also records it, at no extra commit, so a replay is recognised.
CURRENT_UPDATE: ContextVar[tuple[int, int] | None] = ContextVar("current_update", default=None)

_MARK_SEEN = (
    "INSERT INTO seen_updates (user_id, update_id) VALUES (?, ?) ON CONFLICT(user_id) "
    "DO UPDATE SET update_id = max(seen_updates.update_id, excluded.update_id)"
)
# Set inside `Database.transaction()`: reads there must see its uncommitted writes, which
# only the aiosqlite connection does (not `Database.execute_fetchall`'s reader).
_IN_TRANSACTION: ContextVar[bool] = ContextVar("in_transaction", default=False)
BUSY_TIMEOUT_MS = 5000  # wait this long for another writer before failing
# The event loop's writer (`Database.write`): leaves checkpoints to a worker thread, one
# after this many of its commits; and when its commits take longer than SLOW_COMMIT_S (a
# running average over the last few, so that one hiccup does not count: a slow or busy
# disk), the writes of the next LOOP_PAUSE_S go to aiosqlite's thread.
CHECKPOINT_EVERY = 100
SLOW_COMMIT_S = 0.003
SLOW_WEIGHT = 0.25  # of the newest commit in that average
LOOP_PAUSE_S = 60.0
_clock = time.monotonic  # tests replace it
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")


def _rollback_if_open(raw: sqlite3.Connection) -> None:
    """On the database thread: end a transaction a failed or cancelled block left open."""
    if raw.in_transaction:
        raw.execute("ROLLBACK")


class StorageError(Exception):
    """A database problem the operator must act on (the message says what)."""


class ReadOnlyError(StorageError):
    """This process may not write the database: `path` is the file or folder refused."""

    def __init__(self, path: str) -> None:
        super().__init__(f"{path} is not writable")
        self.path = path


class SchemaTooNewError(StorageError):
    """The database was written by a newer version of the bot than this one."""

    def __init__(self, found: int, known: int) -> None:
        super().__init__(f"database schema {found} is newer than this code's {known}")
        self.found = found
        self.known = known


def migrations() -> list[tuple[int, str, str]]:
    """Return (number, file name, SQL) for every migration shipped, in order."""
    found = []
    for entry in resources.files("storage.migrations").iterdir():
        match = _MIGRATION_NAME.match(entry.name)
        if match:
            found.append((int(match.group(1)), entry.name, entry.read_text(encoding="utf-8")))
    found.sort()
    for expected, (number, name, _) in enumerate(found, start=1):
        if number != expected:
            raise StorageError(f"migration {name} is out of sequence (expected {expected:04d})")
    return found


def latest_version() -> int:
    """Return the schema version this code writes."""
    return len(migrations())


def _statements(sql: str) -> list[str]:
    """Split a migration into complete statements (executescript would commit on its own)."""
    statements, pending = [], ""
    for line in sql.splitlines(keepends=True):
        pending += line
        if sqlite3.complete_statement(pending):
            if pending.strip():
                statements.append(pending.strip())
            pending = ""
    if pending.strip() and not all(
        part.strip().startswith("--") or not part.strip() for part in pending.splitlines()
    ):
        raise StorageError("migration ends with an incomplete statement")
    return statements


def _unwritable(path: Path) -> Path | None:
    """The database file, one of the -wal/-shm files SQLite keeps beside it in WAL mode, or
    their folder (where SQLite creates those two), whichever this process may not write.

    Checked before SQLite touches anything: opened read-only, SQLite would leave read-only
    -wal/-shm files behind, which keep failing after the file's permissions are fixed."""
    effective = os.access in os.supports_effective_ids
    for candidate in (path, Path(f"{path}-wal"), Path(f"{path}-shm")):
        if candidate.exists() and not os.access(candidate, os.W_OK, effective_ids=effective):
            return candidate
    if not os.access(path.parent, os.W_OK | os.X_OK, effective_ids=effective):
        return path.parent
    return None


async def _connect(path: str) -> aiosqlite.Connection:
    """Open the aiosqlite connection; a failure leaves no worker thread behind."""
    conn = aiosqlite.connect(path, isolation_level=None)
    try:
        return await conn
    except BaseException:
        # aiosqlite (0.22) queues its worker's stop without waiting for it; once asyncio.run
        # has closed the loop, the worker would print a traceback about the closed loop.
        worker = getattr(conn, "_thread", None)
        if isinstance(worker, threading.Thread) and worker.is_alive():
            await asyncio.to_thread(worker.join, 5)
        raise


async def _check_writable(conn: aiosqlite.Connection, path: str) -> None:
    """Refuse a database SQLite could open only for reading (a read-only file system, say),
    now rather than at the first answer; the probe is rolled back, nothing is written."""
    await conn.execute("BEGIN IMMEDIATE")
    try:
        row = await one(conn, "PRAGMA user_version")
        await conn.execute(f"PRAGMA user_version = {int(row[0]) if row else 0}")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_READONLY:
            raise ReadOnlyError(path) from None
        raise
    finally:
        await conn.execute("ROLLBACK")


async def _set_wal(conn: aiosqlite.Connection) -> None:
    """Switch to WAL; SQLite answers 'locked' at once, not after busy_timeout, while another
    connection holds the new file, so wait a little and try again. Each try may also wait
    the whole busy_timeout (another process holding the write lock): stop retrying once
    busy_timeout has passed, so a locked database is reported in seconds, not minutes."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            await conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or loop.time() >= deadline:
                raise
            await asyncio.sleep(0.05)


def _open_reader(path: str) -> sqlite3.Connection:
    """The read-only connection of `Database.read`: autocommit, never waits for a lock."""
    reader = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        reader.row_factory = aiosqlite.Row
        reader.execute("PRAGMA query_only = ON")
    except BaseException:
        reader.close()
        raise
    return reader


def _open_writer(path: str) -> sqlite3.Connection:
    """The connection of `Database.write`'s writes on the event loop: the aiosqlite
    connection's settings, but it never waits for a lock."""
    writer = sqlite3.connect(path, timeout=0, isolation_level=None, check_same_thread=False)
    try:
        writer.execute("PRAGMA synchronous = FULL")
        writer.execute("PRAGMA foreign_keys = ON")
        # Not here: `_checkpoint` copies the log into the file on another thread.
        writer.execute("PRAGMA wal_autocheckpoint = 0")
    except BaseException:
        writer.close()
        raise
    return writer


def _refused(exc: sqlite3.OperationalError) -> bool:
    """Another connection holds the lock (SQLite's BUSY or LOCKED, any extended code)."""
    code = getattr(exc, "sqlite_errorcode", 0) & 0xFF
    return code in (sqlite3.SQLITE_BUSY, sqlite3.SQLITE_LOCKED)


def _stale(exc: sqlite3.OperationalError) -> bool:
    """BUSY_SNAPSHOT: this connection cannot start writing while one of its own statements
    still reads from before another connection's commit; busy_timeout does not wait for
    that, so the callers below wait for the statement to finish."""
    return getattr(exc, "sqlite_errorcode", 0) == sqlite3.SQLITE_BUSY_SNAPSHOT


def _checkpoint(path: str) -> None:
    """On a worker thread: copy what the write-ahead log holds into the database file,
    without waiting for anyone (PASSIVE); its own short-lived connection."""
    conn = sqlite3.connect(path, timeout=0, isolation_level=None)
    try:
        conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
    finally:
        conn.close()


async def _until_fresh(call: Callable[[], Any]) -> Any:
    """Await `call()`; while SQLite answers BUSY_SNAPSHOT, try again for up to busy_timeout
    (a read of this connection's that was under way is finishing)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + BUSY_TIMEOUT_MS / 1000
    while True:
        try:
            return await call()
        except sqlite3.OperationalError as exc:
            if not _stale(exc) or loop.time() >= deadline:
                raise
        await asyncio.sleep(0.001)


class Database:
    """The aiosqlite connection, and beside it a read-only connection and a writer used on
    the event loop for a conversation step's small reads and its one write (`read`,
    `write`); writes go one at a time (`write_lock`), through `transaction()` or a batch."""

    def __init__(self, conn: aiosqlite.Connection, path: str) -> None:
        self.conn = conn
        self.path = path
        self._write_lock = asyncio.Lock()
        self._reader: sqlite3.Connection | None = None
        self._writer: sqlite3.Connection | None = None
        self._loop_commits = 0  # the writer's, since the last checkpoint
        self._checkpointing: asyncio.Future[None] | None = None
        self._loop_paused_until = 0.0  # `_clock()` time: slow commits send writes away
        self._commit_s = 0.0  # the running average of the writer's commits
        self.loop_pauses = 0  # how often slow commits sent writes to the thread

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            refused = _unwritable(Path(path))
            if refused is not None:
                raise ReadOnlyError(str(refused))
        conn = await _connect(path)
        conn.row_factory = aiosqlite.Row
        db = cls(conn, path)
        try:
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            # Before WAL: on a new file, a rolled-back write after the switch undoes it.
            await _check_writable(conn, path)
            await _set_wal(conn)
            # FULL: an answer the bot has acknowledged survives a power cut, not only a crash.
            await conn.execute("PRAGMA synchronous = FULL")
            await conn.execute("PRAGMA foreign_keys = ON")
            if migrate:
                await db.migrate()
            else:
                await db.check_version()
            if path != ":memory:":
                db._reader = _open_reader(path)
                db._writer = _open_writer(path)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close the connections (after a checkpoint under way; also if cancelled)."""
        try:
            if self._checkpointing is not None:
                await asyncio.wait({self._checkpointing})
        finally:
            self._checkpointing = None
            if self._reader is not None:
                self._reader.close()
                self._reader = None
            if self._writer is not None:
                self._writer.close()
                self._writer = None
            await self.conn.close()

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]:
        """Run a small indexed read (a conversation step's) and return its rows.

        A hop to aiosqlite's thread and back costs about 0.1 ms, a point query 5-15 µs (up
        to ~90 µs when another connection's commit has emptied the page cache): so these
        run right here, on a second, read-only connection. In WAL mode it sees every
        committed write at once (each statement is its own read transaction) and is never
        blocked by a writer; should it still be refused (another process holding the file
        exclusively), the read goes the usual way, where busy_timeout waits.

        Inside `transaction()` the read goes to the aiosqlite connection, which sees that
        transaction's uncommitted writes. Storage functions that only read accept the
        Database in place of the connection for this.
        """
        reader = self._reader
        if reader is not None and not _IN_TRANSACTION.get():
            try:
                return reader.execute(sql, params).fetchall()
            except sqlite3.OperationalError as exc:
                if not _refused(exc):
                    raise
        return list(await self.conn.execute_fetchall(sql, params))

    async def write(self, fn: Callable[..., T], *args: Any, small: bool = True) -> T:
        """Run `fn(connection, *args)`: a whole write transaction (it begins with BEGIN
        IMMEDIATE and commits before it returns). The caller holds `write_lock`.

        A conversation step's write is a few rows; the trip to aiosqlite's thread and back
        cost more than the write itself (0.2 ms of a 0.5 ms commit). So a `small` one runs
        right here, on a third connection with the same settings (WAL, synchronous FULL:
        as durable), which never waits for a lock. Refused (another process writing: SQLite
        says BUSY at once), `fn` has written nothing and runs on aiosqlite's thread instead,
        where busy_timeout waits. A large write always goes there, and so does every write
        for LOOP_PAUSE_S once commits here take longer than SLOW_COMMIT_S (a slow disk):
        the event loop is not held for long. Every CHECKPOINT_EVERY commits here, the log
        is copied into the database file on a worker thread, not in a step's commit.
        """
        writer = self._writer
        if writer is not None and small and _clock() >= self._loop_paused_until:
            started = _clock()
            try:
                result = fn(writer, *args)
            except BaseException as exc:
                _rollback_if_open(writer)  # `fn` should have; the writer must not stay open
                if not (isinstance(exc, sqlite3.OperationalError) and _refused(exc)):
                    raise
            else:
                self._commit_s += (_clock() - started - self._commit_s) * SLOW_WEIGHT
                if self._commit_s > SLOW_COMMIT_S:
                    logger.warning(
                        "commits on the event loop take %.1f ms: writes go to the database "
                        "thread for %.0f s", self._commit_s * 1000, LOOP_PAUSE_S)  # fmt: skip
                    self._loop_paused_until = _clock() + LOOP_PAUSE_S
                    self._commit_s = 0.0
                    self.loop_pauses += 1
                self._after_loop_commit()
                return result
        # aiosqlite has no public call for "run this function on the connection's thread";
        # `_execute` is what each of its own methods uses (pinned: aiosqlite < 0.23, and
        # tests/test_batch.py fails if it changes).
        return await _until_fresh(lambda: self.conn._execute(fn, self.conn._conn, *args))

    def _after_loop_commit(self) -> None:
        self._loop_commits += 1
        if self._loop_commits < CHECKPOINT_EVERY or self._checkpointing is not None:
            return
        self._loop_commits = 0
        self._checkpointing = asyncio.ensure_future(asyncio.to_thread(_checkpoint, self.path))
        self._checkpointing.add_done_callback(self._checkpointed)

    def _checkpointed(self, done: asyncio.Future[None]) -> None:
        self._checkpointing = None
        if not done.cancelled() and done.exception() is not None:
            logger.warning("checkpoint failed: %s", done.exception())

    async def read(self, sql: str, params: Any = ()) -> aiosqlite.Row | None:
        """`execute_fetchall`'s first row."""
        return next(iter(await self.execute_fetchall(sql, params)), None)

    async def version(self) -> int:
        """Return the schema version stored in the file."""
        row = await one(self.conn, "PRAGMA user_version")
        return int(row[0]) if row else 0

    async def check_version(self) -> int:
        """Refuse a database written by newer code; return its version."""
        found, known = await self.version(), latest_version()
        if found > known:
            raise SchemaTooNewError(found, known)
        return found

    async def migrate(self) -> list[str]:
        """Apply the migrations the file lacks, each in its own transaction; return their names.

        The version is read again inside each write transaction, so two processes starting
        on a new file at once apply every migration exactly once.
        """
        applied = []
        async with self._write_lock:
            await self.check_version()
            for number, name, sql in migrations():
                await self.conn.execute("BEGIN IMMEDIATE")
                try:
                    current = await self.check_version()
                    if number <= current:
                        await self.conn.execute("ROLLBACK")
                        continue
                    logger.info("applying migration %s", name)
                    for statement in _statements(sql):
                        await self.conn.execute(statement)
                    await self.conn.execute(f"PRAGMA user_version = {number}")
                    await self.conn.execute("COMMIT")
                except BaseException:
                    if self.conn.in_transaction:
                        await self.conn.execute("ROLLBACK")
                    raise
                applied.append(name)
        return applied

    @asynccontextmanager
    async def transaction(self) -> AsyncIterator[aiosqlite.Connection]:
        """Run a write transaction: committed when the block ends, rolled back if it raises."""
        async with self._write_lock:
            inside = _IN_TRANSACTION.set(True)
            try:
                await _until_fresh(lambda: self.conn.execute("BEGIN IMMEDIATE"))
                yield self.conn
                for sql, marker, _ in self.seen_marker():
                    await self.conn.execute(sql, marker)
                await self.conn.execute("COMMIT")
            except BaseException:
                # Also on cancellation (a job cancelled at shutdown): a statement already
                # queued still runs on the database thread, so the check is made there,
                # after it, or the next writer would find a transaction left open.
                await self.conn._execute(_rollback_if_open, self.conn._conn)
                raise
            finally:
                _IN_TRANSACTION.reset(inside)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Database]:
        """A read-only Database on a connection of its own, in one read transaction: every
        read in the block sees the same moment however long the block takes (an export).

        A long read on `conn` itself would hold it at that moment: once the event loop's
        writer had committed, SQLite would refuse `conn`'s next write (BUSY_SNAPSHOT) until
        the read ended, and its other reads would see the past."""
        if self.path == ":memory:":
            yield self
            return
        conn = await _connect(self.path)
        try:
            conn.row_factory = aiosqlite.Row
            await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
            await conn.execute("PRAGMA query_only = ON")
            await conn.execute("BEGIN")  # the first read fixes the moment
            yield Database(conn, self.path)
        finally:
            await conn.close()  # ends the read transaction

    def seen_marker(self) -> list[tuple[str, tuple[int, int], bool]]:
        """The statement marking the update being handled as seen (none outside updates)."""
        marker = CURRENT_UPDATE.get()
        return [] if marker is None else [(_MARK_SEEN, marker, False)]

    @property
    def write_lock(self) -> asyncio.Lock:
        """Held by every write transaction of this process, so they never interleave."""
        return self._write_lock

    async def fetchone(self, sql: str, params: Any = ()) -> aiosqlite.Row | None:
        """Run a read query and return its first row."""
        return await one(self.conn, sql, params)

    async def fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]:
        """Run a read query and return all rows."""
        return list(await self.conn.execute_fetchall(sql, params))


async def last_seen_update(db: Database, user_id: int) -> int:
    """The newest update id from this person whose writes were committed (0: none)."""
    row = await db.fetchone("SELECT update_id FROM seen_updates WHERE user_id = ?", (user_id,))
    return int(row[0]) if row else 0

"""The SQLite handle: connection settings, numbered migrations, one writer and plain reads.

Every write goes through one writing connection owned by a thread of its own, which runs
them one at a time, each a whole transaction: `write(fn)` runs a plain function on that
thread in one trip, `transaction()` an async block whose statements are sent there one by
one. The writing connection is private to this module and reached only through those two.
Every other read goes through the Database (`execute_fetchall`, `read`, `cursor`, and the
storage functions given the Database) to a second, read-only aiosqlite connection, so it
never sees another task's uncommitted writes nor waits behind them; inside `transaction()`
the same calls read on the writing connection, which sees that transaction's writes. Exports
run in a worker process, through a connection of their own (`off_loop`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import sqlite3
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable
from concurrent.futures import ProcessPoolExecutor, ThreadPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import asynccontextmanager
from contextvars import ContextVar
from functools import partial
from importlib import resources
from pathlib import Path
from typing import Any, Protocol, TypeVar

import aiosqlite

logger = logging.getLogger(__name__)
T = TypeVar("T")

# (update id, user id, when) of the Telegram update being handled in this task, if any:
# every write transaction then also records it, at no extra commit, so a replay is known.
CURRENT_UPDATE: ContextVar[tuple[int, int, str] | None] = ContextVar("current_update", default=None)

_MARK_HANDLED = (
    "INSERT OR IGNORE INTO handled_updates (update_id, user_id, handled_at) VALUES (?, ?, ?)"
)
# The token of the `Database.transaction()` this task is inside: reads there must see its
# uncommitted writes, which only the writing connection does.
_IN_TRANSACTION: ContextVar[object | None] = ContextVar("in_transaction", default=None)
BUSY_TIMEOUT_MS = 5000  # by default, wait this long for another writer before failing
_MIGRATION_NAME = re.compile(r"^(\d{4})_[a-z0-9_]+\.sql$")
# A migration that rebuilds a referenced table starts with this line: foreign keys go off
# around it (SQLite ignores the pragma inside a transaction) and are checked before commit.
FOREIGN_KEYS_OFF = "-- foreign_keys: off"


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


class Connection:
    """A sqlite3 connection owned by a thread of its own: each call runs there, in the order
    made, so the event loop never waits on SQLite and no other thread touches it."""

    def __init__(self, thread: ThreadPoolExecutor, conn: sqlite3.Connection) -> None:
        self._thread, self._conn = thread, conn
        self._closed = False

    @classmethod
    async def open(cls, path: str, busy_timeout_ms: int, *, read_only: bool = False) -> Connection:
        thread = ThreadPoolExecutor(1, thread_name_prefix="sqlite")
        try:
            loop = asyncio.get_running_loop()
            conn = await loop.run_in_executor(thread, _open, path, busy_timeout_ms, read_only)
        except BaseException:
            thread.shutdown(wait=False)
            raise
        return cls(thread, conn)

    async def run(self, fn: Callable[..., T], *args: Any) -> T:
        """`fn(conn, *args)` on the connection's thread, after every call made before it
        (cancelled while waiting for its turn, it does not run at all)."""
        if self._closed:
            raise ValueError("no active connection")
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._thread, fn, self._conn, *args)

    async def execute(self, sql: str, params: Any = ()) -> Cursor:
        return Cursor(self, await self.run(sqlite3.Connection.execute, sql, params))

    async def executemany(self, sql: str, params: Iterable[Any]) -> Cursor:
        return Cursor(self, await self.run(sqlite3.Connection.executemany, sql, params))

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        return await self.run(_fetchall, sql, params)

    async def close(self) -> None:
        if not self._closed:
            await self.run(sqlite3.Connection.close)
            self._closed = True
            self._thread.shutdown()


class Cursor:
    """A statement run on a Connection's thread; its rows are fetched there too."""

    def __init__(self, owner: Connection, cur: sqlite3.Cursor) -> None:
        self._owner, self._cur = owner, cur
        self.rowcount, self.lastrowid = cur.rowcount, cur.lastrowid

    async def fetchone(self) -> sqlite3.Row | None:
        return await self._owner.run(lambda _: self._cur.fetchone())

    async def fetchmany(self, size: int) -> list[sqlite3.Row]:
        return await self._owner.run(lambda _: self._cur.fetchmany(size))

    async def close(self) -> None:
        await self._owner.run(lambda _: self._cur.close())


def _open(path: str, busy_timeout_ms: int, read_only: bool) -> sqlite3.Connection:
    """On the connection's own thread: open it with the settings every connection shares."""
    conn = sqlite3.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            conn.execute("PRAGMA query_only = ON")
    except BaseException:
        conn.close()
        raise
    return conn


def _fetchall(conn: sqlite3.Connection, sql: str, params: Any) -> list[sqlite3.Row]:
    return conn.execute(sql, params).fetchall()


async def _reader(path: str, busy_timeout_ms: int) -> aiosqlite.Connection:
    """The read-only connection for plain reads on the event loop's behalf."""
    conn = await aiosqlite.connect(path, isolation_level=None, timeout=busy_timeout_ms / 1000)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute("PRAGMA foreign_keys = ON")
        await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


def _check_writable(conn: sqlite3.Connection, path: str) -> None:
    """Refuse a database SQLite could open only for reading (a read-only file system, say),
    now rather than at the first answer; the probe is rolled back, nothing is written."""
    conn.execute("BEGIN IMMEDIATE")
    try:
        conn.execute(f"PRAGMA user_version = {_version(conn)}")
    except sqlite3.OperationalError as exc:
        if exc.sqlite_errorcode & 0xFF == sqlite3.SQLITE_READONLY:
            raise ReadOnlyError(path) from None
        raise
    finally:
        conn.rollback()


def _set_wal(conn: sqlite3.Connection, busy_timeout_ms: int) -> None:
    """Switch to WAL; SQLite answers 'locked' at once, not after busy_timeout, while another
    connection holds the new file, so wait a little and try again. Each try may also wait
    the whole busy_timeout (another process holding the write lock): stop retrying once
    busy_timeout has passed, so a locked database is reported in seconds, not minutes."""
    deadline = time.monotonic() + busy_timeout_ms / 1000
    while True:
        try:
            conn.execute("PRAGMA journal_mode = WAL")
            return
        except sqlite3.OperationalError as exc:
            if "locked" not in str(exc) or time.monotonic() >= deadline:
                raise
            time.sleep(0.05)


def _version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _apply(number: int, name: str, sql: str, rebuild: bool, conn: sqlite3.Connection) -> bool:
    """Inside the migration's transaction: apply it unless the file has it already."""
    found = _version(conn)
    if found > latest_version():
        raise SchemaTooNewError(found, latest_version())
    if number <= found:
        return False
    for statement in _statements(sql):
        conn.execute(statement)
    if rebuild and conn.execute("PRAGMA foreign_key_check").fetchone():
        raise StorageError(f"migration {name} breaks a foreign key")
    conn.execute(f"PRAGMA user_version = {number}")
    return True


def _transaction(conn: sqlite3.Connection, fn: Callable[[sqlite3.Connection], T],
                 marker: tuple[int, int, str] | None, durable: bool) -> T:  # fmt: skip
    """On the writer's thread: `fn(conn)` and, if it wrote anything, the update's marker in
    one transaction (an answer refused writes nothing: sent again, it is handled again)."""
    if not durable:  # committed to the OS, not waiting for the disk (synced by the next)
        conn.execute("PRAGMA synchronous = NORMAL")
    conn.execute("BEGIN IMMEDIATE")
    try:
        before = conn.total_changes
        result = fn(conn)
        _commit(conn, marker if conn.total_changes > before else None)
    except BaseException:
        conn.rollback()
        raise
    finally:
        if not durable:
            conn.execute("PRAGMA synchronous = FULL")
    return result


def _commit(conn: sqlite3.Connection, marker: tuple[int, int, str] | None) -> None:
    if marker is not None:
        conn.execute(_MARK_HANDLED, marker)
    conn.commit()


class RowCursor(Protocol):
    """A read's rows, fetched a chunk at a time (`Database.cursor`)."""

    async def fetchmany(self, size: int) -> Iterable[sqlite3.Row]: ...

    async def close(self) -> None: ...


class _Rows:
    """Rows already read, handed out a chunk at a time like a cursor's."""

    def __init__(self, rows: Iterable[sqlite3.Row]) -> None:
        self._rows = iter(rows)

    async def fetchmany(self, size: int) -> list[sqlite3.Row]:
        return [row for _, row in zip(range(size), self._rows, strict=False)]

    async def close(self) -> None:
        self._rows = iter(())


class Database:
    """The writing connection (private: reached only through `write()` and `transaction()`)
    and a read-only aiosqlite one, `reader`, for every other read; a snapshot Database (or
    one on ":memory:", which nothing else can open) has no reader and reads on its own
    connection, which for a snapshot is read-only."""

    def __init__(
        self, writer: Connection, path: str, reader: aiosqlite.Connection | None = None
    ) -> None:
        self._writer = writer
        self.path = path
        self.reader = reader
        self._write_lock = asyncio.Lock()
        self._writers = 0  # tasks in write() or transaction(): the one writing and those waiting
        # Worker processes, each started by its first use: "exports" (ledgers, digests) and
        # "lookups" (a person waiting at a command), so a lookup never queues behind a ledger.
        self._pools: dict[str, ProcessPoolExecutor] = {}
        self._transaction: object | None = None  # the open transaction()'s token

    @classmethod
    async def open(
        cls, path: str | Path, *, migrate: bool = True, busy_timeout_ms: int | None = None
    ) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date;
        a write waits up to `busy_timeout_ms` (BUSY_TIMEOUT_MS when not given, read now) for
        another process's before failing."""
        if busy_timeout_ms is None:
            busy_timeout_ms = BUSY_TIMEOUT_MS
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            refused = _unwritable(Path(path))
            if refused is not None:
                raise ReadOnlyError(str(refused))
        db = cls(await Connection.open(path, busy_timeout_ms), path)
        try:
            # Before WAL: on a new file, a rolled-back write after the switch undoes it.
            await db._writer.run(_check_writable, path)
            await db._writer.run(_set_wal, busy_timeout_ms)
            # FULL: an answer the bot has acknowledged survives a power cut, not only a crash.
            await db._writer.execute("PRAGMA synchronous = FULL")
            if migrate:
                await db.migrate()
            else:
                await db.check_version()
            if path != ":memory:":
                db.reader = await _reader(path, busy_timeout_ms)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close both connections and stop the worker processes, if any were started."""
        try:
            if self.reader is not None:
                await self.reader.close()
        finally:
            await self._writer.close()
            pools, self._pools = list(self._pools.values()), {}
            for pool in pools:
                await asyncio.to_thread(pool.shutdown, cancel_futures=True)

    @property
    def writers(self) -> int:
        """How many tasks are inside `write()` or `transaction()` now, writing or waiting
        their turn (tests line concurrent steps up at the write with it)."""
        return self._writers

    @asynccontextmanager
    async def _counted(self) -> AsyncIterator[None]:
        self._writers += 1
        try:
            yield
        finally:
            self._writers -= 1

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Run a read and return its rows; inside `transaction()`, on the writing connection,
        which sees that transaction's writes. Read-only storage functions accept the
        Database in place of a connection for this."""
        if self.reader is None or self._in_transaction():
            return await self._writer.execute_fetchall(sql, params)
        return list(await self.reader.execute_fetchall(sql, params))

    def _in_transaction(self) -> bool:
        """Whether this task is inside this Database's open `transaction()` (a task started
        inside it carries the same token, which stops counting when the block ends)."""
        token = _IN_TRANSACTION.get()
        return token is not None and token is self._transaction

    async def cursor(self, sql: str, params: Any = ()) -> RowCursor:
        """Run a read whose rows are fetched a chunk at a time (`fetchmany`), on the same
        connection `execute_fetchall` would use. Only a snapshot or a transaction streams:
        an open stream on the shared reader would hold every other read at its moment."""
        if self.reader is None or self._in_transaction():
            return await self._writer.execute(sql, params)
        return _Rows(await self.reader.execute_fetchall(sql, params))

    async def read(self, sql: str, params: Any = ()) -> sqlite3.Row | None:
        """`execute_fetchall`'s first row."""
        return next(iter(await self.execute_fetchall(sql, params)), None)

    fetchone = read

    async def fetchall(self, sql: str, params: Any = ()) -> list[sqlite3.Row]:
        """Run a read query and return all rows."""
        return await self.execute_fetchall(sql, params)

    async def version(self) -> int:
        """Return the schema version stored in the file."""
        row = await self.read("PRAGMA user_version")
        assert row is not None  # the pragma always answers one row
        return int(row[0])

    async def check_version(self) -> int:
        """Refuse a database written by newer code; return its version."""
        found, known = await self.version(), latest_version()
        if found > known:
            raise SchemaTooNewError(found, known)
        return found

    async def migrate(self) -> list[str]:
        """Apply the migrations the file lacks, each in its own transaction (which carries no
        update's marker: its table may not exist yet); return their names.

        The version is read again inside each write transaction, so two processes starting
        on a new file at once apply every migration exactly once.
        """
        await self.check_version()
        applied = []
        for number, name, sql in migrations():
            rebuild = sql.startswith(FOREIGN_KEYS_OFF)
            if rebuild:
                await self._writer.execute("PRAGMA foreign_keys = OFF")
            try:
                if await self.write(partial(_apply, number, name, sql, rebuild), marked=False):
                    logger.info("applied migration %s", name)
                    applied.append(name)
            finally:
                if rebuild:
                    await self._writer.execute("PRAGMA foreign_keys = ON")
        return applied

    async def write(
        self, fn: Callable[[sqlite3.Connection], T], *, marked: bool = True, durable: bool = True
    ) -> T:
        """Run `fn(conn)` in one write transaction on the writer's thread, a single trip from
        the event loop: committed if it returns, rolled back if it raises. The update being
        handled (CURRENT_UPDATE) is marked as handled in the same commit if `fn` wrote,
        unless `marked` is False (bookkeeping that stores nothing the person said).
        `durable=False` (bookkeeping a power cut may lose, never a crash) commits without
        waiting for the disk."""
        marker = CURRENT_UPDATE.get() if marked else None
        async with self._counted(), self._write_lock:
            return await self._writer.run(_transaction, fn, marker, durable)

    @asynccontextmanager
    async def transaction(self, *, marked: bool = True) -> AsyncIterator[Connection]:
        """Run a write transaction as an async block, each statement a trip to the writer's
        thread: committed when the block ends, rolled back if it raises; marked as `write`."""
        async with self._counted(), self._write_lock:
            self._transaction = token = object()
            inside = _IN_TRANSACTION.set(token)
            try:
                await self._writer.execute("BEGIN IMMEDIATE")
                yield self._writer
                await self._writer.run(_commit, CURRENT_UPDATE.get() if marked else None)
            except BaseException:
                # Also when cancelled: a statement already running on the writer's thread
                # finishes first, and this rollback runs after it (a no-op if none is open).
                await self._writer.run(sqlite3.Connection.rollback)
                raise
            finally:
                self._transaction = None
                _IN_TRANSACTION.reset(inside)

    async def off_loop(
        self, fn: Callable[..., Awaitable[T]], *args: Any, lookup: bool = False
    ) -> T:
        """Run an export, `await fn(view, *args)`, in a worker process where `view` is a
        read-only Database fixed at one moment: building a province's ledger never holds up
        the people talking to the bot meanwhile (a thread would share the interpreter's
        lock with the event loop). `fn` is a module-level function; arguments and result
        travel pickled. `lookup=True` (a person waits at a command): a worker of its own,
        never behind an export. A worker that died (killed, out of memory) is replaced and
        the call tried once more."""
        if self.path == ":memory:":  # nothing else can open it
            return await fn(self, *args)
        name = "lookups" if lookup else "exports"
        loop = asyncio.get_running_loop()
        pool = self._pool(name)
        try:
            return await loop.run_in_executor(pool, _export, self.path, fn, args)
        except BrokenProcessPool:
            logger.warning("the %s worker process died; starting a new one", name)
            if self._pools.get(name) is pool:
                del self._pools[name]
            await asyncio.to_thread(pool.shutdown, cancel_futures=True)
        return await loop.run_in_executor(self._pool(name), _export, self.path, fn, args)

    def _pool(self, name: str) -> ProcessPoolExecutor:
        """The worker called `name`, started now if there is none (or the last one died)."""
        if name not in self._pools:
            # Spawned, not forked: this process runs threads (SQLite's) a fork would copy.
            spawn = multiprocessing.get_context("spawn")
            self._pools[name] = ProcessPoolExecutor(1, mp_context=spawn)
        return self._pools[name]

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Database]:
        """A read-only Database on a connection of its own, in one read transaction: every
        read in the block sees the same moment however long the block takes."""
        async with _snapshot(self.path) as view:
            yield view


@asynccontextmanager
async def _snapshot(path: str) -> AsyncIterator[Database]:
    conn = await Connection.open(path, BUSY_TIMEOUT_MS, read_only=True)
    try:
        await conn.execute("BEGIN")  # the first read fixes the moment
        yield Database(conn, path)
    finally:
        await conn.close()  # ends the read transaction


def _export(path: str, fn: Callable[..., Awaitable[T]], args: tuple[Any, ...]) -> T:
    """In the export process: `await fn(view, *args)` on a snapshot of the database."""

    async def run() -> T:
        async with _snapshot(path) as view:
            return await fn(view, *args)

    return asyncio.run(run())


async def was_handled(db: Database, update_id: int) -> bool:
    """Whether writes carried by this update were committed."""
    row = await db.read("SELECT 1 FROM handled_updates WHERE update_id = ?", (update_id,))
    return row is not None

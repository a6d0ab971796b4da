"""The SQLite handle: connection settings, numbered migrations, one writer and plain reads.

Every write goes through one aiosqlite connection, whose thread runs them one at a time,
each a whole transaction (`transaction()`); reads outside a transaction go to a second,
read-only connection, so they never see another task's uncommitted writes. Exports run in
a worker process, through a connection of their own (`off_loop`).
"""

from __future__ import annotations

import asyncio
import logging
import multiprocessing
import os
import re
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from concurrent.futures import ProcessPoolExecutor
from contextlib import asynccontextmanager
from contextvars import ContextVar
from importlib import resources
from pathlib import Path
from typing import Any, TypeVar

import aiosqlite

from storage.rows import one

logger = logging.getLogger(__name__)
T = TypeVar("T")

# (update id, user id, when) of the Telegram update being handled in this task, if any:
# every write transaction then also records it, at no extra commit, so a replay is known.
CURRENT_UPDATE: ContextVar[tuple[int, int, str] | None] = ContextVar("current_update", default=None)

_MARK_HANDLED = (
    "INSERT OR IGNORE INTO handled_updates (update_id, user_id, handled_at) VALUES (?, ?, ?)"
)
# Set inside `Database.transaction()`: reads there must see its uncommitted writes, which
# only the writing connection does.
_IN_TRANSACTION: ContextVar[bool] = ContextVar("in_transaction", default=False)
BUSY_TIMEOUT_MS = 5000  # wait this long for another writer before failing
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


async def _connect(path: str, *, read_only: bool = False) -> aiosqlite.Connection:
    """Open an aiosqlite connection with the settings every connection here shares."""
    # A file SQLite cannot open at all (a folder, say) fails here, before aiosqlite starts
    # a worker thread that, stopped without being waited for, outlives the event loop.
    sqlite3.connect(path).close()
    conn = await aiosqlite.connect(path, isolation_level=None)
    try:
        conn.row_factory = aiosqlite.Row
        await conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
        await conn.execute("PRAGMA foreign_keys = ON")
        if read_only:
            await conn.execute("PRAGMA query_only = ON")
    except BaseException:
        await conn.close()
        raise
    return conn


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


class Database:
    """The writing connection (`conn`, used through `transaction()`) and a read-only one for
    plain reads (`execute_fetchall`); a snapshot Database has only the latter."""

    def __init__(
        self, conn: aiosqlite.Connection, path: str, reader: aiosqlite.Connection | None = None
    ) -> None:
        self.conn = conn
        self.path = path
        self.reader = reader or conn
        self._write_lock = asyncio.Lock()
        self._writers = 0  # tasks in transaction(): the one writing and those waiting
        self._exports: ProcessPoolExecutor | None = None  # started by the first export

    @classmethod
    async def open(cls, path: str | Path, *, migrate: bool = True) -> Database:
        """Open (creating if needed) the database at `path` and bring its schema up to date."""
        path = str(path)
        if path != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
            refused = _unwritable(Path(path))
            if refused is not None:
                raise ReadOnlyError(str(refused))
        db = cls(await _connect(path), path)
        try:
            # Before WAL: on a new file, a rolled-back write after the switch undoes it.
            await _check_writable(db.conn, path)
            await _set_wal(db.conn)
            # FULL: an answer the bot has acknowledged survives a power cut, not only a crash.
            await db.conn.execute("PRAGMA synchronous = FULL")
            if migrate:
                await db.migrate()
            else:
                await db.check_version()
            if path != ":memory:":
                db.reader = await _connect(path, read_only=True)
        except BaseException:
            await db.close()
            raise
        return db

    async def close(self) -> None:
        """Close both connections (the reader first: it may be the writer itself) and stop
        the export process, if one was started."""
        try:
            if self.reader is not self.conn:
                await self.reader.close()
        finally:
            await self.conn.close()
            if self._exports is not None:
                exports, self._exports = self._exports, None
                await asyncio.to_thread(exports.shutdown, cancel_futures=True)

    @property
    def writers(self) -> int:
        """How many tasks are inside `transaction()` now, writing or waiting their turn
        (tests line concurrent steps up at the write with it)."""
        return self._writers

    @asynccontextmanager
    async def _counted(self) -> AsyncIterator[None]:
        self._writers += 1
        try:
            yield
        finally:
            self._writers -= 1

    async def execute_fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]:
        """Run a read and return its rows; inside `transaction()`, on the writing connection,
        which sees that transaction's writes. Read-only storage functions accept the
        Database in place of a connection for this."""
        conn = self.conn if _IN_TRANSACTION.get() else self.reader
        return list(await conn.execute_fetchall(sql, params))

    async def read(self, sql: str, params: Any = ()) -> aiosqlite.Row | None:
        """`execute_fetchall`'s first row."""
        return next(iter(await self.execute_fetchall(sql, params)), None)

    fetchone = read

    async def fetchall(self, sql: str, params: Any = ()) -> list[aiosqlite.Row]:
        """Run a read query and return all rows."""
        return await self.execute_fetchall(sql, params)

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
        await self.check_version()
        unmarked = CURRENT_UPDATE.set(None)  # a migration carries no update's answer
        try:
            return await self._apply_missing()
        finally:
            CURRENT_UPDATE.reset(unmarked)

    async def _apply_missing(self) -> list[str]:
        applied = []
        for number, name, sql in migrations():
            rebuild = sql.startswith(FOREIGN_KEYS_OFF)
            if rebuild:
                await self.conn.execute("PRAGMA foreign_keys = OFF")
            try:
                async with self.transaction() as conn:
                    if number <= await self.check_version():
                        continue
                    logger.info("applying migration %s", name)
                    for statement in _statements(sql):
                        await conn.execute(statement)
                    if rebuild and await conn.execute_fetchall("PRAGMA foreign_key_check"):
                        raise StorageError(f"migration {name} breaks a foreign key")
                    await conn.execute(f"PRAGMA user_version = {number}")
            finally:
                if rebuild:
                    await self.conn.execute("PRAGMA foreign_keys = ON")
            applied.append(name)
        return applied

    @asynccontextmanager
    async def transaction(self, *, marked: bool = True) -> AsyncIterator[aiosqlite.Connection]:
        """Run a write transaction: committed when the block ends, rolled back if it raises.
        The update being handled (CURRENT_UPDATE) is marked as handled in the same commit,
        unless `marked` is False (bookkeeping that stores nothing the person said)."""
        async with self._counted(), self._write_lock:
            inside = _IN_TRANSACTION.set(True)
            try:
                await self.conn.execute("BEGIN IMMEDIATE")
                yield self.conn
                marker = CURRENT_UPDATE.get()
                if marker is not None and marked:
                    await self.conn.execute(_MARK_HANDLED, marker)
                await self.conn.commit()
            except BaseException:
                # Also when cancelled: a statement already queued still runs on the writer's
                # thread, and this rollback runs after it (a no-op if nothing is open).
                await self.conn.rollback()
                raise
            finally:
                _IN_TRANSACTION.reset(inside)

    async def off_loop(self, fn: Callable[..., Awaitable[T]], *args: Any) -> T:
        """Run an export, `await fn(view, *args)`, in a worker process where `view` is a
        read-only Database fixed at one moment: building a province's ledger never holds up
        the people talking to the bot meanwhile (a thread would share the interpreter's
        lock with the event loop). `fn` is a module-level function; arguments and result
        travel pickled."""
        if self.path == ":memory:":  # nothing else can open it
            return await fn(self, *args)
        if self._exports is None:
            # Spawned, not forked: this process runs threads (aiosqlite's) a fork would copy.
            self._exports = ProcessPoolExecutor(1, mp_context=multiprocessing.get_context("spawn"))
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._exports, _export, self.path, fn, args)

    @asynccontextmanager
    async def snapshot(self) -> AsyncIterator[Database]:
        """A read-only Database on a connection of its own, in one read transaction: every
        read in the block sees the same moment however long the block takes."""
        async with _snapshot(self.path) as view:
            yield view


@asynccontextmanager
async def _snapshot(path: str) -> AsyncIterator[Database]:
    conn = await _connect(path, read_only=True)
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

"""Write transactions sent to the database thread in one trip.

aiosqlite runs every call on its own thread: a transaction of BEGIN, two statements, the
replay marker and COMMIT is five round trips. A conversation step only writes (its reads
came before), so its statements are recorded here and run together: one round trip.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Database

Statement = tuple[str, Any, bool]  # sql, parameters, executemany?


class Batch:
    """Stands in for the connection in write-only repository functions: records, runs later.

    Nothing can be read back (there is no cursor), so only functions that just write take it.
    """

    def __init__(self) -> None:
        self.statements: list[Statement] = []

    async def execute(self, sql: str, parameters: Any = ()) -> None:
        """Record one statement."""
        self.statements.append((sql, parameters, False))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> None:
        """Record one statement run for each set of parameters."""
        self.statements.append((sql, list(parameters), True))


def _run(raw: sqlite3.Connection, statements: list[Statement]) -> None:
    """On the database thread: all statements in one IMMEDIATE transaction, or none."""
    raw.execute("BEGIN IMMEDIATE")
    try:
        for sql, parameters, many in statements:
            if many:
                raw.executemany(sql, parameters)
            else:
                raw.execute(sql, parameters)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise


@asynccontextmanager
async def batch(db: Database) -> AsyncIterator[Batch]:
    """Record writes in the block; commit them (and the replay marker) together at its end.

    If the block raises, nothing is written. Like `Database.transaction`, the update being
    handled is marked as seen in the same commit.
    """
    recorded = Batch()
    yield recorded
    statements = [*recorded.statements, *db.seen_marker()]
    async with db.write_lock:
        # aiosqlite has no public call for "run this function on the connection's thread";
        # `_execute` is what each of its own methods uses (pinned: aiosqlite < 0.23, and
        # tests/test_batch.py fails if it changes).
        await db.conn._execute(_run, db.conn._conn, statements)

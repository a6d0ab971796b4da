"""Write transactions sent to the database thread in one trip.

aiosqlite runs every call on its own thread: a transaction of BEGIN, two statements, the
replay marker and COMMIT is five round trips. A conversation step only writes (its reads
came before), so its statements are recorded here and run together: one round trip.
"""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from storage.db import Database

Statement = tuple[str, Any, bool]  # sql, parameters, executemany?


@dataclass(frozen=True, slots=True)
class RowId:
    """In a later statement's parameters (a tuple): the row id statement `index` of the same
    batch inserted; after the batch, `Batch.row_id` gives its value."""

    index: int


class Batch:
    """Stands in for the connection in write-only repository functions: records, runs later.

    Nothing can be read back (there is no cursor), so only functions that just write take it;
    an INSERT's new row id is a `RowId` until the batch has run.
    """

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.row_ids: list[int | None] = []  # after each statement, once committed

    async def execute(self, sql: str, parameters: Any = ()) -> RowId:
        """Record one statement; return its place, for the row id it will insert."""
        self.statements.append((sql, parameters, False))
        return RowId(len(self.statements) - 1)

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> None:
        """Record one statement run for each set of parameters."""
        self.statements.append((sql, list(parameters), True))

    def row_id(self, ref: RowId) -> int:
        """The row id an INSERT of this batch created (once the batch has committed)."""
        value = self.row_ids[ref.index] if ref.index < len(self.row_ids) else None
        if value is None:
            raise LookupError(f"statement {ref.index} has not inserted a row")
        return value


def _run(raw: sqlite3.Connection, statements: list[Statement]) -> list[int | None]:
    """On the database thread: all statements in one IMMEDIATE transaction, or none; return
    each statement's new row id (None for executemany)."""
    row_ids: list[int | None] = []
    raw.execute("BEGIN IMMEDIATE")
    try:
        for sql, parameters, many in statements:
            if many:
                raw.executemany(sql, parameters)
                row_ids.append(None)
                continue
            if isinstance(parameters, tuple) and any(isinstance(p, RowId) for p in parameters):
                parameters = tuple(
                    row_ids[p.index] if isinstance(p, RowId) else p for p in parameters
                )
            row_ids.append(raw.execute(sql, parameters).lastrowid)
        raw.execute("COMMIT")
    except BaseException:
        if raw.in_transaction:
            raw.execute("ROLLBACK")
        raise
    return row_ids


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
        recorded.row_ids = await db.conn._execute(_run, db.conn._conn, statements)

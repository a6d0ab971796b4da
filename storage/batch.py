"""Write transactions recorded, then run in one go.

aiosqlite runs every call on its own thread: a transaction of BEGIN, two statements, the
replay marker and COMMIT is five round trips. A conversation step only writes (its reads
came before), so its statements are recorded here and run together: at once on the event
loop when the database is free and the batch small, else in one trip to that thread
(`Database.write`).
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
SMALL_ROWS = 64  # a batch writing more rows than this does not hold the event loop


@dataclass(frozen=True, slots=True, eq=False)
class RowId:
    """The id of the row an earlier `Batch.insert` of the same batch creates: usable in a
    later statement's parameters; after the batch, `Batch.row_id` gives its value."""

    batch: Batch
    index: int


class Batch:
    """Stands in for the connection in write-only repository functions: records, runs later.

    Nothing can be read back (there is no cursor), so only functions that just write take it;
    a new row's id is a `RowId` until the batch has run (`insert`).
    """

    def __init__(self) -> None:
        self.statements: list[Statement] = []
        self.inserts: set[int] = set()  # statements that return the id of the row they insert
        self.row_ids: dict[int, int] = {}  # once committed: statement -> id of its new row

    async def execute(self, sql: str, parameters: Any = ()) -> None:
        """Record one statement."""
        self.statements.append((sql, parameters, False))

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> None:
        """Record one statement run for each set of parameters."""
        self.statements.append((sql, list(parameters), True))

    async def insert(self, sql: str, parameters: Any = ()) -> RowId:
        """Record an INSERT ending in `RETURNING <id column>`: exactly one row, whose id the
        returned RowId stands for (an INSERT that inserts nothing fails the batch)."""
        if "RETURNING" not in sql.upper():
            raise ValueError("Batch.insert needs an INSERT … RETURNING <id>")
        self.statements.append((sql, parameters, False))
        self.inserts.add(len(self.statements) - 1)
        return RowId(self, len(self.statements) - 1)

    def row_id(self, ref: RowId) -> int:
        """The id of the row an insert of this batch created (once the batch has committed)."""
        if ref.batch is not self:
            raise ValueError("a RowId of another batch")
        if ref.index not in self.row_ids:
            raise LookupError(f"statement {ref.index} has not run")
        return self.row_ids[ref.index]


def _resolve(value: Any, index: int, batch: Batch, row_ids: dict[int, int]) -> Any:
    if not isinstance(value, RowId):
        return value
    if value.batch is not batch or value.index >= index or value.index not in batch.inserts:
        raise ValueError(f"statement {index}: a RowId not of an earlier insert of this batch")
    return row_ids[value.index]


def _run(raw: sqlite3.Connection, statements: list[Statement], batch: Batch) -> dict[int, int]:
    """On the event loop or the database thread (Database.write): all statements in one
    IMMEDIATE transaction, or none; return the ids of the rows the batch's inserts created."""
    row_ids: dict[int, int] = {}
    raw.execute("BEGIN IMMEDIATE")
    try:
        for index, (sql, parameters, many) in enumerate(statements):
            if many:
                raw.executemany(sql, parameters)
                continue
            if isinstance(parameters, dict):
                parameters = {k: _resolve(v, index, batch, row_ids) for k, v in parameters.items()}
            else:
                parameters = tuple(_resolve(v, index, batch, row_ids) for v in parameters)
            cursor = raw.execute(sql, parameters)
            if index in batch.inserts:
                returned = cursor.fetchall()
                if len(returned) != 1:
                    raise sqlite3.IntegrityError(f"statement {index} inserted {len(returned)} rows")
                row_ids[index] = int(returned[0][0])
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
    rows = sum(len(parameters) if many else 1 for _, parameters, many in statements)
    async with db.write_lock:
        recorded.row_ids = await db.write(_run, statements, recorded, small=rows <= SMALL_ROWS)

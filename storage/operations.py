"""SQL for operators: the clock's and the backups' last runs, and the figures of `status`."""

from __future__ import annotations

from dataclasses import dataclass

from storage.db import Connection
from storage.deliveries import PERMANENT
from storage.rows import Reader, one


async def record(conn: Connection, name: str, at: str, detail: str | None = None) -> None:
    """Remember that `name` ('tick', 'backup') last ran at `at`."""
    await conn.execute(
        "INSERT INTO operations (name, at, detail) VALUES (?, ?, ?) "
        "ON CONFLICT(name) DO UPDATE SET at = excluded.at, detail = excluded.detail",
        (name, at, detail),
    )


async def last(conn: Reader, name: str) -> tuple[str, str | None] | None:
    """(when, detail) of the last run of `name`, or None if it never ran."""
    row = await one(conn, "SELECT at, detail FROM operations WHERE name = ?", (name,))
    return (str(row[0]), row[1]) if row else None


@dataclass(frozen=True)
class DeliveryFigures:
    pending: int  # claimed and being sent, or failed and to be retried
    uncertain: int  # may or may not have reached the person; never repeated
    failed: int  # given up
    recent_trouble: int  # uncertain or given up since the `since` passed in


async def delivery_figures(conn: Reader, since: str) -> DeliveryFigures:
    """Count the scheduled messages that are not settled as sent or skipped."""
    row = await one(
        conn,
        "SELECT "
        "coalesce(sum(status = 'sending' OR (status = 'failed' AND "
        "coalesce(next_try_at, '') != :never)), 0), "
        "coalesce(sum(status = 'uncertain'), 0), "
        "coalesce(sum(status = 'failed' AND next_try_at = :never), 0), "
        "coalesce(sum((status = 'uncertain' OR (status = 'failed' AND next_try_at = :never)) "
        "AND updated_at >= :since), 0) "
        "FROM deliveries",
        {"never": PERMANENT, "since": since},
    )
    assert row is not None
    return DeliveryFigures(*(int(value) for value in row))


async def unreachable_people(conn: Reader) -> int:
    """People (private chats) the bot could not reach."""
    row = await one(conn, "SELECT count(*) FROM chat_status WHERE chat_id > 0")
    return int(row[0]) if row else 0

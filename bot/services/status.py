"""What an operator checks (`python -m bot status`), and what needs their attention."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path

from storage import operations
from storage.db import Database, latest_version
from storage.operations import DeliveryFigures
from storage.rows import parse_ts, ts

TROUBLE_DAYS = 7  # uncertain or given-up messages this recent need a look
BACKUP_HOURS = 48  # no backup for this long needs a look (daily backups: two missed)
CRON_TICK_HOURS = 24  # with the clock's job off (cron runs `tick`), allow this long


@dataclass
class Status:
    version: int
    known: int
    last_tick: datetime | None
    deliveries: DeliveryFigures | None
    unreachable: int
    db_bytes: int
    last_backup: datetime | None
    last_backup_file: str | None
    attention: list[str] = field(default_factory=list)  # explained in templates/cli/status.txt


def db_bytes(path: Path) -> int:
    """The database with its -wal file (WAL mode keeps recent writes there)."""
    return sum(p.stat().st_size for p in (path, Path(f"{path}-wal")) if p.exists())


async def status(db: Database, now: datetime, tick_seconds: int) -> Status:
    """Gather the figures; list what is wrong (schema behind, clock stopped, messages that
    went wrong lately, no recent backup)."""
    version, known = await db.version(), latest_version()
    found = Status(version, known, None, None, 0, db_bytes(Path(db.path)), None, None)
    if version < known:
        # Tables added by the missing migrations cannot be read yet.
        found.attention.append("schema_behind")
        return found
    tick = await operations.last(db, "tick")
    found.last_tick = parse_ts(tick[0]) if tick else None
    since = ts(now - timedelta(days=TROUBLE_DAYS))
    found.deliveries = await operations.delivery_figures(db, since)
    found.unreachable = await operations.unreachable_people(db)
    backup = await operations.last(db, "backup")
    if backup:
        found.last_backup, found.last_backup_file = parse_ts(backup[0]), backup[1]
    allowed = (
        timedelta(seconds=max(3 * tick_seconds, 600))
        if tick_seconds
        else timedelta(hours=CRON_TICK_HOURS)
    )
    if found.last_tick is None or now - found.last_tick > allowed:
        found.attention.append("clock_stopped")
    if found.deliveries.recent_trouble:
        found.attention.append("deliveries")
    if found.last_backup is None or now - found.last_backup > timedelta(hours=BACKUP_HOURS):
        found.attention.append("no_backup")
    return found


async def note_tick(db: Database, now: datetime) -> None:
    """Remember that the clock ran (what `status` reads as the last tick)."""
    async with db.transaction() as conn:
        await operations.record(conn, "tick", ts(now))

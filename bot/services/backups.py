"""Backups of the one database file: on demand, daily with the last N kept, and restores."""

from __future__ import annotations

import asyncio
import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from storage import backup as copies
from storage import operations
from storage.db import Database, latest_version
from storage.rows import ts

DAILY_NAME = "bot-{:%Y%m%d-%H%M%S}.sqlite3"
_DAILY = re.compile(r"^bot-\d{8}-\d{6}\.sqlite3$")


async def back_up(db: Database, out: Path, now: datetime) -> Path:
    """Copy the database to `out` (consistent while the bot writes) and record it."""
    await asyncio.to_thread(copies.copy_database, Path(db.path), out)
    async with db.transaction() as conn:
        await operations.record(conn, "backup", ts(now), str(out))
    return out


async def daily(db: Database, folder: Path, keep: int, now: datetime) -> tuple[Path, list[Path]]:
    """Write today's backup into `folder`, then delete the oldest of our backups there so that
    `keep` remain; return the new file and those removed. Other files are left alone."""
    written = await back_up(db, folder / DAILY_NAME.format(now), now)
    return written, await asyncio.to_thread(_prune, folder, keep)


def _prune(folder: Path, keep: int) -> list[Path]:
    ours = sorted(p for p in folder.iterdir() if _DAILY.match(p.name))  # names sort by time
    removed = ours[:-keep] if len(ours) > keep else []
    for old in removed:
        old.unlink(missing_ok=True)
    return removed


@dataclass(frozen=True)
class Refusal:
    """Why a file cannot be restored: `reason` names a template in templates/cli/."""

    reason: str
    version: int = 0
    known: int = 0
    problems: tuple[str, ...] = ()


def refusal(backup: Path) -> Refusal | None:
    """Check a backup before restoring it: a bot database, intact, not newer than this code."""
    checked = copies.check_backup(backup)
    if checked.problems:
        return Refusal("cli/restore_corrupt.txt", problems=tuple(checked.problems[:5]))
    if not checked.is_bot_database:
        return Refusal("cli/restore_not_ours.txt")
    if checked.version > latest_version():
        return Refusal("cli/restore_too_new.txt", checked.version, latest_version())
    return None


def restore(backup: Path, target: Path, now: datetime) -> Path | None:
    """Keep the current database beside it (returned), then write the backup over it.
    The caller holds the run lock (bot/runlock.py) and has checked `refusal` first."""
    kept = None
    if target.exists():
        kept = target.with_name(f"{target.name}.before-restore-{now:%Y%m%d-%H%M%S}")
        copies.copy_database(target, kept)
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
    copies.restore_database(backup, target)
    return kept

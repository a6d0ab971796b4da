"""The daily backup: a JobQueue job at BOT_BACKUP_AT, when BOT_BACKUP_DIR is set."""

from __future__ import annotations

import logging
import sqlite3
from datetime import datetime
from pathlib import Path

from bot.context import BotApplication, BotContext, mark_writes_with
from bot.services import backups

logger = logging.getLogger(__name__)


async def run_backup(app: BotApplication, now: datetime) -> Path | None:
    """Write today's backup and prune old ones; a failure is logged, never raised (the bot
    goes on, and `python -m bot status` shows the backup as overdue)."""
    settings = app.bot_data.settings
    if settings.backup_dir is None:
        return None
    try:
        written, removed = await backups.daily(
            app.bot_data.db,
            settings.backup_dir,
            settings.backup_keep,
            now.astimezone(settings.timezone),  # files named by local time
        )
    except (OSError, sqlite3.Error) as exc:
        logger.error("daily backup into %s failed: %s", settings.backup_dir, exc)
        return None
    logger.info("backup written to %s; %d old backups removed", written, len(removed))
    return written


async def backup_job(context: BotContext) -> None:
    """Run the daily backup (the JobQueue's callback)."""
    mark_writes_with(None)
    await run_backup(context.application, context.now())

"""The one answer every button handler gives a press that no longer does anything."""

from __future__ import annotations

from telegram import Update

from bot.context import BotContext
from handlers.common import answer_query

STALE_ALERT = "buttons/stale_alert.txt"


async def alert_stale(update: Update, context: BotContext) -> None:
    """A stale, forged or garbled button: say so in an alert, change nothing."""
    await answer_query(update, context.texts.plain(STALE_ALERT), alert=True)

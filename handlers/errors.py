"""The error handler: log the fault, tell the person in plain Chinese, never a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception and, in a private chat, apologise."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    try:
        await context.bot.send_message(
            update.effective_chat.id, context.texts.html("common/internal_error.html")
        )
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", exc)

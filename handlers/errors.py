"""The error handler: log the fault, tell the person in plain Chinese, never a traceback."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception and, in a private chat, apologise."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    # Telegram unreachable or failing while the bot answered: what the person sent was
    # stored before the answer was sent, so say so rather than "something went wrong".
    # BadRequest is a NetworkError in PTB, but the same request would fail again.
    error = context.error
    network = isinstance(error, NetworkError | RetryAfter) and not isinstance(error, BadRequest)
    template = "common/reply_not_delivered.html" if network else "common/internal_error.html"
    try:
        await context.bot.send_message(update.effective_chat.id, context.texts.html(template))
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", exc)

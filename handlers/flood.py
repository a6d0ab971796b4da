"""One account's flood of updates must not hold up everyone else's replies (see
bot/services/flood.py): over the limit, its updates go unanswered for a while."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext
from bot.services.flood import PAUSE

logger = logging.getLogger(__name__)
GROUP = -2  # before the replay guard: an update within the limit costs no database read


async def limit_floods(update: Update, context: BotContext) -> None:
    """Stop an update from an account over its limit; tell it once why."""
    user, message = update.effective_user, update.effective_message
    if user is None or user.id in context.state.admins.user_ids:
        return  # a channel post has no sender; admins are trusted with bulk work
    album = message.media_group_id if message is not None else None
    verdict = context.state.flood.admit(user.id, context.now(), album)
    if verdict == "ok":
        return
    if verdict == "drop":
        raise ApplicationHandlerStop  # costs no database read, no write and no reply
    if await context.admin_scope(user.id) is not None:
        context.state.flood.forgive(user.id)  # an admin of a level: counted afresh, not paused
        return
    # The first update over the limit: told in private, wherever the flood came from.
    logger.warning("user %s sent too many updates: unanswered for %s", user.id, PAUSE)
    try:
        await context.bot.send_message(
            user.id, context.texts.html("common/flood.html", minutes=PAUSE.seconds // 60)
        )
    except TelegramError as exc:
        logger.info("could not tell %s to slow down: %s", user.id, exc)
    raise ApplicationHandlerStop


def handlers() -> list[BaseHandler]:
    """This module's handler, for group -2."""
    return [TypeHandler(Update, limit_floods)]

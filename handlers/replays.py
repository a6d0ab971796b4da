"""Telegram may deliver an update again after a crash (it was fetched but not confirmed).
An update whose answer was stored already (its exact id is recorded with it) is a replay:
it is dropped, so an answer is never applied twice (or to the next question). Ids are
never compared by size: after a quiet week Telegram may start them again anywhere."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.error import TelegramError
from telegram.ext import ApplicationHandlerStop, BaseHandler, TypeHandler

from bot.context import BotContext, mark_writes_with

logger = logging.getLogger(__name__)
GROUP = -1  # before every other handler


async def drop_replays(update: Update, context: BotContext) -> None:
    """Stop a replayed update; otherwise mark this task's writes with its id."""
    user = update.effective_user
    if user is None:
        mark_writes_with(None)
        return
    who = await context.who(user.id, update.update_id)
    if who.replayed:
        logger.info("update %s from %s was already handled: dropped", update.update_id, user.id)
        noted = context.state.replay_noted
        if (
            who.dialog is not None
            and update.message is not None
            and update.message.chat.type == "private"
            and user.id not in noted
        ):
            # The bot stopped between storing this answer and confirming the update, maybe
            # before its reply went out: without a word the person might type the answer
            # again and have it taken for the next question's. Once per person per start
            # (an album of photos comes back as several updates).
            noted.add(user.id)
            try:
                await context.bot.send_message(user.id, context.texts.html("common/replayed.html"))
            except TelegramError as exc:
                logger.warning("could not tell %s their message was kept: %s", user.id, exc)
        raise ApplicationHandlerStop
    mark_writes_with((update.update_id, user.id), context.now())


def handlers() -> list[BaseHandler]:
    """This module's handler, for group -1."""
    return [TypeHandler(Update, drop_replays)]

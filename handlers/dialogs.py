"""Route a private message to the conversation the person is in, or to the fallback."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import declare, duban, reporting, review
from handlers import declare as declare_handlers
from handlers import duban as duban_handlers
from handlers import fallback
from handlers import report as report_handlers
from handlers import review as review_handlers
from handlers.common import PRIVATE


async def on_message(update: Update, context: BotContext) -> None:
    """Text, photos, stickers…: to the open conversation if there is one."""
    user = update.effective_user
    assert user is not None
    dialog = await declare.current(context.db, user.id)
    if dialog is None:
        await fallback.not_understood(update, context)
    elif dialog.flow == declare.FLOW:
        await declare_handlers.on_message(update, context)
    elif dialog.flow == review.FLOW:
        await review_handlers.on_reason(update, context)
    elif dialog.flow == reporting.FLOW:
        await report_handlers.on_message(update, context)
    elif dialog.flow == duban.ISSUE_FLOW:
        await duban_handlers.on_draft_message(update, context)
    elif dialog.flow == duban.ANSWER_FLOW:
        await duban_handlers.on_answer_message(update, context)
    elif dialog.flow == duban.RETURN_FLOW:
        await duban_handlers.on_reason_message(update, context)
    else:
        await fallback.not_understood(update, context)


def handlers() -> list[BaseHandler]:
    """This module's handlers: every non-command private message."""
    return [MessageHandler(PRIVATE & ~filters.COMMAND, on_message)]

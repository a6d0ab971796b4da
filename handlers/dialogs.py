"""Route a private message to the conversation the person is in, or to the fallback."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

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

# Which handler takes a private message for each kind of open conversation.
ROUTES: dict[str, Callable[[Update, BotContext], Awaitable[None]]] = {
    declare.FLOW: declare_handlers.on_message,
    review.FLOW: review_handlers.on_reason,
    reporting.FLOW: report_handlers.on_message,
    duban.ISSUE_FLOW: duban_handlers.on_draft_message,
    duban.ANSWER_FLOW: duban_handlers.on_answer_message,
    duban.RETURN_FLOW: duban_handlers.on_reason_message,
}


async def on_message(update: Update, context: BotContext) -> None:
    """Text, photos, stickers…: to the open conversation if there is one."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    route = ROUTES.get(who.dialog.flow) if who.dialog is not None else None
    if (
        route is None
        and update.effective_message is not None
        and (update.effective_message.photo or update.effective_message.document)
    ):
        # Evidence sent after 提交: offer to add it to the report rather than "not understood".
        outcome = await reporting.submitted_now(context.db, context.state.calendar, who,
                                                context.now())  # fmt: skip
        if outcome is not None:
            await report_handlers.show(context, user.id, outcome)
            return
    await (route or fallback.not_understood)(update, context)


def handlers() -> list[BaseHandler]:
    """This module's handlers: every non-command private message."""
    return [MessageHandler(PRIVATE & ~filters.COMMAND, on_message)]

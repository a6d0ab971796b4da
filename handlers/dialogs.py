"""The conversation engine's way in: a private message goes to the conversation the person
is in; 取消 and 上一步 (typed, or as the button's label) and /cancel are one table for all.

Each conversation's handler module gives its `Talk`; the moves themselves (next, back,
cancel, preview, change one item, resume) are the engine's, in bot/services/conversation.py.
"""

from __future__ import annotations

from dataclasses import dataclass

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import acceptance, declare, duban, public, reporting, review
from bot.services.conversation import control_word
from handlers import acceptance as acceptance_handlers
from handlers import channel as channel_handlers
from handlers import declare as declare_handlers
from handlers import duban as duban_handlers
from handlers import fallback
from handlers import report as report_handlers
from handlers import review as review_handlers
from handlers.common import PRIVATE, Callback, reply


@dataclass(frozen=True, slots=True)
class Talk:
    """How one conversation takes a message, 取消 and 上一步."""

    message: Callback
    cancel: Callback
    back: Callback | None = None  # None: the conversation has one question, 上一步 is text


# The one fallback table: every open conversation by its flow.
TALKS: dict[str, Talk] = {
    declare.FLOW: Talk(declare_handlers.on_message, declare_handlers.on_cancel,
                       declare_handlers.on_back),
    reporting.FLOW: Talk(report_handlers.on_message, report_handlers.on_cancel,
                         report_handlers.on_back),
    review.FLOW: Talk(review_handlers.on_reason, review_handlers.cancel_reason),
    duban.ISSUE_FLOW: Talk(duban_handlers.on_draft_message, duban_handlers.on_draft_cancel,
                           duban_handlers.on_draft_back),
    duban.ANSWER_FLOW: Talk(duban_handlers.on_answer_message, duban_handlers.on_answer_cancel,
                            duban_handlers.on_answer_back),
    duban.RETURN_FLOW: Talk(duban_handlers.on_reason_message, duban_handlers.on_reason_cancel),
    acceptance.FLOW: Talk(acceptance_handlers.on_message, acceptance_handlers.cancel,
                          acceptance_handlers.on_back),
    public.SUGGEST_FLOW: Talk(channel_handlers.on_suggestion, channel_handlers.cancel_suggestion),
}  # fmt: skip


async def _talk(update: Update, context: BotContext) -> Talk | None:
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    return TALKS.get(who.dialog.flow) if who.dialog is not None else None


async def on_message(update: Update, context: BotContext) -> None:
    """Text, photos, stickers…: to the open conversation if there is one."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    talk = await _talk(update, context)
    if talk is None:
        if message.photo or message.document:
            # Evidence sent after 提交: offer to add it to the report, not "not understood".
            who = await context.who(user.id)
            outcome = await reporting.submitted_now(context.db, context.state.calendar, who,
                                                    context.now())  # fmt: skip
            if outcome is not None:
                await report_handlers.show(context, user.id, outcome)
                return
        await fallback.not_understood(update, context)
        return
    word = control_word(message.text) if message.text is not None else None
    if word == "cancel":
        await talk.cancel(update, context)
    elif word == "back" and talk.back is not None:
        await talk.back(update, context)
    else:
        await talk.message(update, context)


async def cancel_command(update: Update, context: BotContext) -> None:
    """/cancel: leave whatever conversation is open (answers already given are kept)."""
    talk = await _talk(update, context)
    if talk is None:
        await reply(update, context, "declare/nothing_to_cancel.html")
    else:
        await talk.cancel(update, context)


def handlers() -> list[BaseHandler]:
    """This module's handlers: every non-command private message, and /cancel."""
    return [
        MessageHandler(PRIVATE & ~filters.COMMAND, on_message),
        CommandHandler("cancel", cancel_command, filters=PRIVATE),
    ]

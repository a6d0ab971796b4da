"""The conversation engine's way in: a private message goes to the conversation the person
is in; 取消 and 上一步 (typed, or as the button's label) and /cancel are one table for all.

Each conversation's handler module gives its `Talk`; the moves themselves (next, back,
cancel, preview, change one item, resume) are the engine's, in bot/services/conversation.py.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from telegram import Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler, MessageHandler, filters

from bot.callbacks import AnswerPick
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import (
    acceptance,
    adjust,
    bulletin_review,
    closing,
    conversation,
    declare,
    duban,
    public,
    reporting,
    review,
)
from bot.services.conversation import Said, control_word
from handlers import acceptance as acceptance_handlers
from handlers import adjust as adjust_handlers
from handlers import channel as channel_handlers
from handlers import closing as closing_handlers
from handlers import declare as declare_handlers
from handlers import digest as digest_handlers
from handlers import duban as duban_handlers
from handlers import fallback
from handlers import report as report_handlers
from handlers import review as review_handlers
from handlers.buttons import alert_stale
from handlers.common import PRIVATE, Callback, answer_query, drop_buttons, label, reply, send_long

Answering = Callable[[BotContext, int, Said], Awaitable[None]]
Checking = Callable[[BotContext, int, str], Awaitable[bool]]
Showing = Callable[[BotContext, int, str], Awaitable[None]]


@dataclass(frozen=True, slots=True)
class Talk:
    """How one conversation takes a message, 取消 and 上一步; a conversation of several
    typed questions also binds each typed answer to its question (`answer`: store it,
    `plausible`: would it answer the open question, `again`: ask the open question)."""

    message: Callback
    cancel: Callback
    back: Callback | None = None  # None: 上一步 is not a move of this conversation
    answer: Answering | None = None
    plausible: Checking | None = None
    again: Showing | None = None


def side_step(message: Callback, cancel: Callback) -> Talk:
    """A one-question side-step (a return's reason, a suggestion, a comment): 上一步 goes
    back to what it interrupted, as 取消 does, rather than being taken for the answer."""
    return Talk(message, cancel, cancel)


# The one fallback table: every open conversation by its flow.
TALKS: dict[str, Talk] = {
    declare.FLOW: Talk(declare_handlers.on_message, declare_handlers.on_cancel,
                       declare_handlers.on_back, declare_handlers.answer,
                       declare_handlers.plausible, declare_handlers.again),
    reporting.FLOW: Talk(report_handlers.on_message, report_handlers.on_cancel,
                         report_handlers.on_back, report_handlers.answer,
                         report_handlers.plausible, report_handlers.again),
    review.FLOW: side_step(review_handlers.on_reason, review_handlers.cancel_reason),
    duban.ISSUE_FLOW: Talk(duban_handlers.on_draft_message, duban_handlers.on_draft_cancel,
                           duban_handlers.on_draft_back),
    duban.ANSWER_FLOW: Talk(duban_handlers.on_answer_message, duban_handlers.on_answer_cancel,
                            duban_handlers.on_answer_back),
    duban.RETURN_FLOW: side_step(duban_handlers.on_reason_message,
                                  duban_handlers.on_reason_cancel),
    acceptance.FLOW: Talk(acceptance_handlers.on_message, acceptance_handlers.cancel,
                          acceptance_handlers.on_back),
    closing.FLOW: Talk(closing_handlers.on_message, closing_handlers.on_cancel,
                       closing_handlers.on_back, closing_handlers.answer,
                       closing_handlers.plausible, closing_handlers.again),
    closing.RETURN_FLOW: side_step(closing_handlers.on_reason,
                                   closing_handlers.on_reason_cancel),
    adjust.FLOW: Talk(adjust_handlers.on_message, adjust_handlers.on_cancel,
                      adjust_handlers.on_back, adjust_handlers.answer,
                      adjust_handlers.plausible, adjust_handlers.again),
    adjust.REFUSE_FLOW: side_step(adjust_handlers.on_reason, adjust_handlers.on_reason_cancel),
    public.SUGGEST_FLOW: side_step(channel_handlers.on_suggestion,
                                   channel_handlers.cancel_suggestion),
    **{flow: side_step(digest_handlers.on_comment, digest_handlers.cancel_comment)
       for flow in bulletin_review.COMMENT_FLOWS.values()},
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
    elif message.text is not None and talk.answer is not None:
        await _bound(update, context, talk)
    else:
        await talk.message(update, context)


async def _bound(update: Update, context: BotContext, talk: Talk) -> None:
    """A typed answer goes to the question it answers; a resend is not stored twice; a
    message that may answer either of two questions is kept aside and the person asked."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None and message.text is not None
    assert talk.answer is not None and talk.plausible is not None and talk.again is not None
    who = await context.who(user.id)
    dialog = who.dialog
    assert dialog is not None
    reply_to = message.reply_to_message.message_id if message.reply_to_message else None
    binding = await conversation.bind(context.db, who, message.message_id, message.text,
                                      message.date, reply_to, context.now())  # fmt: skip
    said = Said(message.text, message.message_id)
    if binding.kind == "field":
        await talk.answer(context, user.id, Said(message.text, message.message_id, binding.step))
    elif binding.kind == "repeat" and not await talk.plausible(context, user.id, message.text):
        lead = context.texts.html("conversation/repeat.html",
                                  earlier=_name(context, dialog.flow, binding.step))  # fmt: skip
        await talk.again(context, user.id, lead)
    elif binding.kind in ("repeat", "which"):
        await conversation.hold(context.db, dialog, message.message_id, message.text,
                                context.now())  # fmt: skip
        await _ask_which(context, user.id, binding.kind, binding.step,
                         (dialog.flow, dialog.step), said)  # fmt: skip
    else:
        await talk.answer(context, user.id, said)


def _name(context: BotContext, flow: str, step: str) -> str:
    """A question's name as its button shows it."""
    return label(context, conversation.CONVERSATIONS[flow].field(step).label_key)


async def _ask_which(context: BotContext, chat_id: int, kind: str, step: str,
                     at: tuple[str, str], said: Said) -> None:  # fmt: skip
    """Which question a message kept aside answers: the person says, with buttons (`at`:
    the conversation and the question open now)."""
    assert said.message_id is not None
    texts, rows, (flow, current) = context.texts, [], at
    offer_current = conversation.CONVERSATIONS[flow].bindable(current)
    if kind == "which":
        rows.append([(texts.plain("conversation/pick_replace.txt",
                                  name=_name(context, flow, step)),
                      AnswerPick(said.message_id, step).pack())])  # fmt: skip
    if offer_current:
        rows.append([(texts.plain("conversation/pick_answer.txt",
                                  name=_name(context, flow, current)),
                      AnswerPick(said.message_id, current).pack())])  # fmt: skip
    rows.append([(label(context, "not_kept"), AnswerPick(said.message_id, "-").pack())])
    text = texts.html("conversation/which.html", kind=kind, earlier=_name(context, flow, step),
                      current=_name(context, flow, current) if offer_current else "",
                      text=said.text.strip())  # fmt: skip
    await send_long(context, chat_id, text, keyboard(rows))


async def on_pick(update: Update, context: BotContext) -> None:
    """The person says which question a message kept aside answers (or not to keep it)."""
    user, query = update.effective_user, update.callback_query
    assert user is not None and query is not None
    pick = AnswerPick.parse(query.data or "")
    who = await context.who(user.id)
    dialog = who.dialog
    talk = TALKS.get(dialog.flow) if dialog is not None else None
    text = None
    if pick is not None and dialog is not None and talk is not None and talk.answer is not None:
        text = await conversation.held(context.db, dialog, pick.message_id)
    if pick is None or dialog is None or talk is None or text is None:
        await alert_stale(update, context)
        return
    assert talk.answer is not None and talk.again is not None
    await answer_query(update)
    await drop_buttons(update, context)
    if pick.step == "-":
        await talk.again(context, user.id, context.texts.html("conversation/not_kept.html"))
    else:
        await talk.answer(context, user.id, Said(text, pick.message_id, pick.step))


async def on_edited(update: Update, context: BotContext) -> None:
    """An edited answer replaces the answer it carried while its question can still change;
    anything else edited is said not to be read again."""
    user, message = update.effective_user, update.edited_message
    assert user is not None and message is not None
    who = await context.who(user.id)
    dialog = who.dialog
    talk = TALKS.get(dialog.flow) if dialog is not None else None
    stored = None
    if message.text is not None and talk is not None and talk.answer is not None:
        stored = await conversation.edited(context.db, dialog, message.message_id)
    if stored is None or talk is None or talk.answer is None or message.text is None:
        # An answer of a report no longer being filled in: say the way that still works.
        outcome = await reporting.edited_answer(context.db, context.state.calendar, who,
                                                message.message_id, context.now())  # fmt: skip
        if outcome is not None:
            await report_handlers.show(context, user.id, outcome)
        else:
            await fallback.edited(update, context)
        return
    said = Said(message.text, message.message_id, stored.step, stored.text)
    await talk.answer(context, user.id, said)


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
        CallbackQueryHandler(on_pick, pattern=AnswerPick.route()),
        MessageHandler(
            filters.UpdateType.EDITED_MESSAGE
            & filters.ChatType.PRIVATE
            & filters.TEXT
            & ~filters.COMMAND,
            on_edited,
        ),
    ]

"""Helpers every handler module shares: replying from templates, admin-only registration."""

from __future__ import annotations

import logging
from collections.abc import Callable, Coroutine
from typing import Any

from telegram import InlineKeyboardMarkup, Message, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.messages import keyboard, send_parts
from bot.services import conversation
from bot.services.conversation import PREVIEW, Conversation, Positioned
from bot.services.months import Month

logger = logging.getLogger(__name__)

Callback = Callable[[Update, BotContext], Coroutine[Any, Any, Any]]
Row = list[tuple[str, str]]
# A step conversation's button payload: press(action, arg="", at=the open step).
Press = Callable[..., str]

# New messages only: an edited command is not run again (see handlers/fallback.py).
NEW = filters.UpdateType.MESSAGE
PRIVATE = NEW & filters.ChatType.PRIVATE
GROUPS = NEW & filters.ChatType.GROUPS


async def reply(update: Update, context: BotContext, template: str, /, **params: Any) -> None:
    """Answer the message being handled with a rendered template."""
    message = update.effective_message
    if message is not None:
        await message.reply_text(context.texts.html(template, **params))


def display_name(update: Update) -> tuple[str, str | None]:
    """Return the sender's (full name, username) as Telegram reports them."""
    user = update.effective_user
    if user is None:
        return "", None
    return user.full_name, user.username


async def refuse_not_admin(update: Update, context: BotContext) -> None:
    """Tell a non-admin that the command is for admins only."""
    await reply(update, context, "common/admin_only.html")


def admin_only(callback: Callback, *, levels: bool = False) -> Callback:
    """Let the configured admins (with `levels`, also the admins of a subtree), as the
    database says now, reach `callback`; everyone else gets a refusal."""

    async def gated(update: Update, context: BotContext) -> None:
        user = update.effective_user
        scope = None if user is None else await context.admin_scope(user.id)
        if scope is None:
            await refuse_not_admin(update, context)
        elif not (levels or scope.top):
            await reply(update, context, "common/top_only.html")
        else:
            await callback(update, context)

    return gated


def admin_command(
    command: str, callback: Callback, where: filters.BaseFilter = PRIVATE, *, levels: bool = False
) -> list[BaseHandler]:
    """Register an admin-only command: admins reach `callback`, everyone else a refusal.

    levels=True also lets in the admins of a subtree: only for a command whose services
    keep to the admin's subtree (bot/services/scopes.py); without it a command stays the
    top level's, so a new command never shows a subtree's admin more than their own."""
    gated = admin_only(callback, levels=levels)
    return [CommandHandler(command, gated, filters=where)]


def label(context: BotContext, key: str) -> str:
    """A button's label, from templates/buttons.txt."""
    return context.texts.labels()[key]


async def send_long(
    context: BotContext, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send text that may exceed one message; the buttons go on the last part (returned)."""
    return await send_parts(context.bot, chat_id, html_text, markup)


async def tell(
    context: BotContext, chat_id: int | None, html_text: str,
    markup: InlineKeyboardMarkup | None = None,
) -> str:  # fmt: skip
    """Send someone else the news (a decision, a notice): "told", "unbound" (no chat to send
    to) or "failed" (Telegram refused; logged), for the sender's reply to say which."""
    if chat_id is None:
        return "unbound"
    try:
        await send_long(context, chat_id, html_text, markup)
    except TelegramError as exc:
        logger.warning("could not reach %s: %s", chat_id, exc)
        return "failed"
    return "told"


def this_month(context: BotContext) -> Month:
    """The month it is where the bot runs (a question's examples start there)."""
    return Month.of(context.now().astimezone(context.state.settings.timezone))


def step_text(
    context: BotContext, outcome: Any, lead: str, said: str | None, prompt: str | None
) -> str:
    """A step conversation's message: `lead`, what happened (the template `said`), then the
    question now open (the template `prompt`, named after `asking`)."""
    texts, tz, view = context.texts, context.state.settings.timezone, outcome.view
    parts = [lead, texts.html(said, o=outcome, v=view, tz=tz) if said else ""]
    parts.append(texts.html(prompt, v=view, tz=tz) if prompt else "")
    return "\n\n".join(p for p in parts if p)


def asking(outcome: Any) -> str:
    """What the message asks, as its template is named: 修改某项, the preview or a question."""
    if outcome.kind == "edit_menu":
        return "edit_menu"
    return PREVIEW if outcome.view.step == PREVIEW else f"ask_{outcome.view.step}"


def edit_menu(
    context: BotContext, steps: Conversation[Any], view: Positioned, press: Press
) -> InlineKeyboardMarkup:
    """修改某项: a button for each item that may be changed, two a row, then 返回预览."""
    items = [(label(context, steps.field(name).label_key), press("field", name, at=PREVIEW))
             for name in steps.editable(view)]  # fmt: skip
    rows = [items[i : i + 2] for i in range(0, len(items), 2)]
    return keyboard([*rows, [(label(context, "to_preview"), press("preview", at=PREVIEW))]])


def preview_rows(context: BotContext, press: Press) -> list[Row]:
    """Under the preview: 提交 and 修改某项, then 上一步 and 取消."""
    pressed = [(label(context, key), press(key)) for key in ("submit", "edit", "back", "cancel")]
    return [pressed[:2], pressed[2:]]


def step_row(context: BotContext, view: Positioned, press: Press, first: bool) -> Row:
    """The last row under a question: 返回预览 while changing one item, else 上一步 (but
    at the `first` question) and 取消."""
    cancel = (label(context, "cancel"), press("cancel"))
    if view.editing:
        return [(label(context, "to_preview"), press("back")), cancel]
    return [cancel] if first else [(label(context, "back"), press("back")), cancel]


async def send_question(
    context: BotContext, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None,
    question: tuple[str, int, str] | None,
) -> None:  # fmt: skip
    """Send a conversation's message; when it asks `question` (flow, subject, step), the
    earlier questions first lose their buttons (the conversation has moved on from them),
    and the question is recorded so that an edit or a reply can find its field."""
    cleared = []
    if question is not None:
        # Before the new question goes out, so nothing is sent after the answer people see.
        known = context.showing(chat_id)
        cleared = list(known) if known is not None else await conversation.showing_buttons(
            context.db, chat_id)  # fmt: skip
        for message_id in set(cleared) - context.buttons_dropped:
            try:
                await context.bot.edit_message_reply_markup(chat_id=chat_id, message_id=message_id)
            except TelegramError as exc:
                logger.debug("could not remove old buttons: %s", exc)
    sent = await send_long(context, chat_id, html_text, markup)
    if question is not None and sent is not None:
        # Telegram's time of the question: the clock a person's messages are dated by too.
        await conversation.asked(context.db, chat_id, sent.message_id, *question, sent.date,
                                 cleared)  # fmt: skip


async def answer_query(update: Update, text: str | None = None, *, alert: bool = False) -> None:
    """Answer the button press (stops the spinner). Telegram refuses an answer to a press
    older than about 15 s (e.g. handled after downtime); the work is done by then, so a
    refusal must not turn into an error for the person."""
    query = update.callback_query
    if query is None:
        return
    try:
        await query.answer(text, show_alert=alert)
    except TelegramError as exc:
        logger.info("could not answer a button press: %s", exc)


async def drop_buttons(update: Update, context: BotContext | None = None) -> None:
    """Take the buttons off the message whose button was pressed, so it cannot be pressed again
    (noted in `context`, so that the next question does not take them off twice)."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    if context is not None:
        context.buttons_dropped.add(query.message.message_id)
    try:
        # By chat and id rather than query.edit_message_reply_markup: that refuses a message
        # Telegram no longer shows to the bot, where this should only log Telegram's refusal.
        await query.get_bot().edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id
        )
    except TelegramError as exc:
        logger.debug("could not remove buttons: %s", exc)

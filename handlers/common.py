"""Helpers every handler module shares: replying from templates, admin-only registration."""

from __future__ import annotations

import html as html_lib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile, Update
from telegram.constants import MessageLimit
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext
from bot.texts import Texts

logger = logging.getLogger(__name__)

TAG = re.compile(r"<[^>]+>")
MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CALLBACK_LIMIT = 64  # bytes

Callback = Callable[[Update, BotContext], Awaitable[Any]]

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


def admin_command(
    command: str, callback: Callback, admins: filters.User, where: filters.BaseFilter = PRIVATE,
    *, block: bool = True,
) -> list[BaseHandler]:  # fmt: skip
    """Register an admin-only command: admins reach `callback`, everyone else a refusal.

    block=False for a long read-only export: it runs beside other people's updates instead
    of holding them all (updates are otherwise handled one at a time)."""
    return [
        CommandHandler(command, callback, filters=where & admins, block=block),
        CommandHandler(command, refuse_not_admin, filters=where),
    ]


def label(context: BotContext, key: str) -> str:
    """A button's label, from templates/buttons.txt."""
    return context.texts.labels()[key]


def visible_length(html_text: str) -> int:
    """Characters Telegram counts: after tags are parsed and entities decoded."""
    return len(html_lib.unescape(TAG.sub("", html_text)))


def split_message(html_text: str, limit: int = MESSAGE_LIMIT) -> list[str]:
    """Split at line breaks into messages Telegram accepts; templates never span a tag over
    lines and user text is escaped, so a line boundary is never inside markup. A single
    line longer than the limit (only escaped user text can be) is cut between characters,
    never inside an entity or a tag."""
    if len(html_text) <= limit:  # tags and entities only shorten what Telegram counts
        return [html_text.strip("\n")] if html_text.strip() else []
    parts: list[str] = []
    current: list[str] = []
    size = 0
    lines = [piece for line in html_text.split("\n") for piece in _cut_line(line, limit - 1)]
    for line in lines:
        length = visible_length(line) + 1
        if current and size + length > limit:
            parts.append("\n".join(current).strip("\n"))
            current, size = [], 0
        current.append(line)
        size += length
    if current:
        parts.append("\n".join(current).strip("\n"))
    return [p for p in parts if p.strip()]


_PIECE = re.compile(r"<[^>]+>|&[#a-zA-Z0-9]+;|.", re.DOTALL)


def _cut_line(line: str, limit: int) -> list[str]:
    if visible_length(line) <= limit:
        return [line]
    pieces, current, size = [], "", 0
    for match in _PIECE.finditer(line):
        token = match.group(0)
        width = 0 if token.startswith("<") else 1
        if size + width > limit:
            pieces.append(current)
            current, size = "", 0
        current += token
        size += width
    if current:
        pieces.append(current)
    return pieces


async def send_long(
    context: BotContext, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send text that may exceed one message; the buttons go on the last part."""
    await send_parts(context.bot, chat_id, html_text, markup)


LONG = 2  # a digest longer than this many messages goes as a document with a summary


@dataclass(frozen=True)
class Part:
    """One message of an outgoing text: HTML with optional buttons, or a text file."""

    html: str = ""
    markup: InlineKeyboardMarkup | None = None
    document: bytes | None = None
    filename: str = ""


def digest_parts(
    texts: Texts,
    html_text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    summary: str | None = None,
) -> list[Part]:
    """The messages a text goes out as: split at line breaks with the buttons on the last;
    a digest longer than LONG messages as a text file and its one-message summary."""
    chunks = split_message(html_text)
    if summary is not None and len(chunks) > LONG:
        plain = html_lib.unescape(TAG.sub("", html_text)).encode("utf-8")
        return [Part(document=plain, filename=texts.plain("digest/filename.txt")),
                Part(summary, markup)]  # fmt: skip
    return [Part(c, markup if i == len(chunks) - 1 else None) for i, c in enumerate(chunks)]


async def send_part(bot: Bot, chat_id: int, part: Part) -> None:
    """Send one part."""
    if part.document is not None:
        await bot.send_document(chat_id, InputFile(part.document, filename=part.filename))
    else:
        await bot.send_message(chat_id, part.html, reply_markup=part.markup)


async def send_digest(
    bot: Bot,
    texts: Texts,
    chat_id: int,
    html_text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    summary: str | None = None,
) -> None:
    """Send a digest (see digest_parts) to someone who asked for it in chat."""
    for part in digest_parts(texts, html_text, markup, summary=summary):
        await send_part(bot, chat_id, part)


async def send_parts(
    bot: Bot, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None
) -> None:
    """Send text as as many messages as it needs, split at line breaks."""
    parts = split_message(html_text)
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        await bot.send_message(chat_id, part, reply_markup=markup if last else None)


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data); data is checked against 64 bytes."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > CALLBACK_LIMIT:
                raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


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


async def drop_buttons(update: Update) -> None:
    """Take the buttons off the message whose button was pressed, so it cannot be pressed again."""
    query = update.callback_query
    if query is None or query.message is None:
        return
    try:
        # By chat and id rather than query.edit_message_reply_markup: that refuses a message
        # Telegram no longer shows to the bot, where this should only log Telegram's refusal.
        await query.get_bot().edit_message_reply_markup(
            chat_id=query.message.chat.id, message_id=query.message.message_id
        )
    except TelegramError as exc:
        logger.debug("could not remove buttons: %s", exc)

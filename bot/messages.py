"""Outgoing messages: split at Telegram's length limit, digests with their file and chart,
keyboards.

Shared by the handlers and by delivery (bot/delivery.py), so neither way in imports the other.
"""

from __future__ import annotations

import html as html_lib
import re
from collections.abc import Sequence
from dataclasses import dataclass

from telegram import (
    Bot,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    InputFile,
    InputMediaDocument,
    InputMediaPhoto,
    Message,
)
from telegram.constants import MessageLimit

TAG = re.compile(r"<[^>]+>")
MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CALLBACK_LIMIT = 64  # bytes
CAPTION_LIMIT = MessageLimit.CAPTION_LENGTH  # 1024: a photo's caption


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


def keyboard(rows: list[list[tuple[str, str]]]) -> InlineKeyboardMarkup:
    """Inline keyboard from rows of (label, callback data); data is checked against 64 bytes."""
    for row in rows:
        for _, data in row:
            if len(data.encode()) > CALLBACK_LIMIT:
                raise ValueError(f"callback data over {CALLBACK_LIMIT} bytes: {data!r}")
    return InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in rows]
    )


@dataclass(frozen=True)
class Part:
    """One message of an outgoing text: HTML with optional buttons, a document, or a photo
    with the HTML as its caption."""

    html: str = ""
    markup: InlineKeyboardMarkup | None = None
    document: bytes | None = None
    filename: str = ""
    photo: bytes | None = None


def digest_parts(
    html_text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    attachment: tuple[str, bytes] | None = None,
    chart: bytes | None = None,
) -> list[Part]:
    """The messages a text goes out as: the attachment (filename, bytes) first, then the
    chart with the text as its caption, or the text split at line breaks; the buttons on
    the last, so they stay at the bottom of the chat."""
    parts = [Part(document=attachment[1], filename=attachment[0])] if attachment else []
    if chart is not None and visible_length(html_text) <= CAPTION_LIMIT:
        return [*parts, Part(html_text, markup, photo=chart)]
    if chart is not None:
        parts.append(Part(photo=chart))
    chunks = split_message(html_text)
    parts.extend(Part(c, markup if i == len(chunks) - 1 else None) for i, c in enumerate(chunks))
    return parts


async def send_part(bot: Bot, chat_id: int, part: Part) -> None:
    """Send one part."""
    if part.document is not None:
        await bot.send_document(chat_id, InputFile(part.document, filename=part.filename))
    elif part.photo is not None:
        await bot.send_photo(chat_id, InputFile(part.photo, filename="chart.png"),
                             caption=part.html or None, reply_markup=part.markup)  # fmt: skip
    else:
        await bot.send_message(chat_id, part.html, reply_markup=part.markup)


async def send_digest(
    bot: Bot,
    chat_id: int,
    html_text: str,
    markup: InlineKeyboardMarkup | None = None,
    *,
    attachment: tuple[str, bytes] | None = None,
    chart: bytes | None = None,
) -> None:
    """Send a digest (see digest_parts) to someone who asked for it in chat."""
    for part in digest_parts(html_text, markup, attachment=attachment, chart=chart):
        await send_part(bot, chat_id, part)


async def send_parts(
    bot: Bot, chat_id: int, html_text: str, markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send text as as many messages as it needs, split at line breaks; return the last."""
    return await send_split(bot, chat_id, split_message(html_text), markup)


async def send_split(
    bot: Bot, chat_id: int, parts: Sequence[str], markup: InlineKeyboardMarkup | None = None
) -> Message | None:
    """Send text split already (split_message, in the export process for a long list), the
    buttons on the last part; return the last."""
    sent = None
    for i, part in enumerate(parts):
        last = i == len(parts) - 1
        sent = await bot.send_message(chat_id, part, reply_markup=markup if last else None)
    return sent


async def send_album(
    bot: Bot, chat_id: int, kind: str, file_ids: Sequence[str], caption: str | None = None
) -> None:
    """Send files already on Telegram (by file id) as one album of one kind, "photo" or
    "document", the caption under the first; a single file goes alone (an album needs two)."""
    if len(file_ids) == 1:
        send = bot.send_photo if kind == "photo" else bot.send_document
        await send(chat_id, file_ids[0], caption=caption)
        return
    media_type = InputMediaPhoto if kind == "photo" else InputMediaDocument
    media = [media_type(file_id, caption=caption if i == 0 else None)
             for i, file_id in enumerate(file_ids)]  # fmt: skip
    await bot.send_media_group(chat_id, media)

"""Outgoing messages: split at Telegram's length limit, long digests as a file, keyboards.

Shared by the handlers and by delivery (bot/delivery.py), so neither way in imports the other.
"""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass

from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, InputFile
from telegram.constants import MessageLimit

from bot.texts import Texts

TAG = re.compile(r"<[^>]+>")
MESSAGE_LIMIT = MessageLimit.MAX_TEXT_LENGTH  # 4096
CALLBACK_LIMIT = 64  # bytes
LONG = 2  # a digest longer than this many messages goes as a document with a summary


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

"""What the bot says to anything no other handler took, so nothing is dropped in silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, MessageHandler, filters

from bot.context import BotContext
from handlers.common import PRIVATE, reply


async def unknown_command(update: Update, context: BotContext) -> None:
    """Name the unknown command and point to /help."""
    message = update.effective_message
    assert message is not None and message.text is not None
    command = message.text.split()[0][:40]
    await reply(update, context, "fallback/unknown_command.html", command=command)


async def not_understood(update: Update, context: BotContext) -> None:
    """Answer text, photos, stickers and the rest that nothing is waiting for."""
    await reply(update, context, "fallback/not_understood.html")


async def edited(update: Update, context: BotContext) -> None:
    """Say that an edited message is not re-read, so the person sends it again."""
    await reply(update, context, "fallback/edited.html")


def handlers() -> list[BaseHandler]:
    """This module's handlers; registered last (handlers/dialogs.py takes other messages)."""
    return [
        MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, edited),
    ]

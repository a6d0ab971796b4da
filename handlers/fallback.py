"""What the bot says to anything no other handler took, so nothing is dropped in silence."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, MessageHandler, filters

from bot.context import BotApplication, BotContext
from handlers.common import GROUPS, PRIVATE, reply


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


async def use_private_chat(update: Update, context: BotContext) -> None:
    """Point whoever sends a private-chat command in a group to the private chat."""
    await reply(update, context, "fallback/use_private_chat.html", bot=context.bot.username)


def private_only_in_groups(app: BotApplication) -> BaseHandler:
    """One answer, in a group, for every command of this bot that no group handler took.

    The commands are read from the handlers already registered, so a new private command
    is covered without being listed here. Registered after all of them: PTB gives an update
    to the first handler of its group that takes it, so a command that works in groups
    (/help, /digest, /bind_group) never gets here. A command addressed to another bot
    (/report@other_bot) matches no CommandHandler, and chatter is no command: both unanswered."""
    known = {command for registered in app.handlers.values() for handler in registered
             if isinstance(handler, CommandHandler) for command in handler.commands}  # fmt: skip
    return CommandHandler(sorted(known), use_private_chat, filters=GROUPS)


def handlers() -> list[BaseHandler]:
    """This module's handlers; registered last (handlers/dialogs.py takes other messages)."""
    return [
        MessageHandler(PRIVATE & filters.COMMAND, unknown_command),
        MessageHandler(filters.UpdateType.EDITED_MESSAGE & filters.ChatType.PRIVATE, edited),
    ]

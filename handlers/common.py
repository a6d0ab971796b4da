"""Helpers every handler module shares: replying from templates, admin-only registration."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler, filters

from bot.context import BotContext

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
    command: str, callback: Callback, admins: filters.User, where: filters.BaseFilter = PRIVATE
) -> list[BaseHandler]:
    """Register an admin-only command: admins reach `callback`, everyone else a refusal."""
    return [
        CommandHandler(command, callback, filters=where & admins),
        CommandHandler(command, refuse_not_admin, filters=where),
    ]

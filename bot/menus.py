"""Command menus: strangers and secretaries, admins and groups each see their own list."""

from __future__ import annotations

import logging

from telegram import (
    BotCommand,
    BotCommandScopeAllGroupChats,
    BotCommandScopeAllPrivateChats,
    BotCommandScopeChat,
)
from telegram.error import TelegramError

from bot.context import BotApplication
from bot.services.admins import scoped_people
from bot.services.people import Identity

logger = logging.getLogger(__name__)


async def set_command_menus(app: BotApplication) -> None:
    """Give strangers/secretaries, admins and groups their own command lists, in Chinese."""
    texts = app.bot_data.texts

    def commands(name: str) -> list[BotCommand]:
        return [BotCommand(c, d) for c, d in texts.menu(name)]

    await app.bot.set_my_commands(commands("menus/private.txt"), BotCommandScopeAllPrivateChats())
    await app.bot.set_my_commands(commands("menus/group.txt"), BotCommandScopeAllGroupChats())
    for admin_id in sorted(app.bot_data.admins.user_ids):
        await set_menu_for(app, admin_id, "menus/admin.txt")
    # Subtree admins, and those removed (whose reset may have failed at the time): each
    # the menu of what they are now, so a restart leaves every menu as it should be.
    for who, reviewer in await scoped_people(app.bot_data.db):
        await set_menu_for(app, who.user_id, menu_of(who, reviewer=reviewer))


async def set_menu_for(app: BotApplication, chat_id: int, menu: str) -> None:
    """Set one private chat's command list; a chat the bot cannot see yet is skipped."""
    cmds = [BotCommand(c, d) for c, d in app.bot_data.texts.menu(menu)]
    try:
        await app.bot.set_my_commands(cmds, BotCommandScopeChat(chat_id))
    except TelegramError as exc:
        # Telegram refuses a chat scope for someone who never opened the bot.
        logger.info("command menu for chat %s not set: %s", chat_id, exc)


def menu_of(who: Identity, *, reviewer: bool = False) -> str:
    """The command menu for a secretary, an admin of the top level or of a subtree (without
    the top level's own commands), a secretary who is also a subtree's admin, or a 验收
    reviewer who is neither (a secretary reviewer keeps the secretary's menu)."""
    if who.scope is not None and who.scope.root is not None:
        return "menus/secretary_admin.txt" if who.role == "secretary" else "menus/admin_level.txt"
    if who.role == "stranger":
        return "menus/reviewer.txt" if reviewer else "menus/private.txt"
    return f"menus/{who.role}.txt"

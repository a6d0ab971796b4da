"""Supervisor groups: /bind_group, /help and /digest in a group, and following the bot's
membership of groups."""

from __future__ import annotations

import logging

from telegram import ChatMember, Update
from telegram.ext import BaseHandler, ChatMemberHandler, CommandHandler, MessageHandler, filters

from bot.context import BotContext
from bot.services import groups
from handlers import digest as digest_handlers
from handlers.common import GROUPS, PRIVATE, admin_command, reply

logger = logging.getLogger(__name__)


async def bind_group(update: Update, context: BotContext) -> None:
    """Register this group as a supervisor group, for everything or one subtree."""
    chat, user = update.effective_chat, update.effective_user
    assert chat is not None and user is not None
    code = context.args[0][:40] if context.args else None
    result = await groups.bind_group(
        context.db, chat.id, chat.title or "", user.id, code, context.now()
    )
    await reply(update, context, f"groups/bind_{result.outcome}.html", r=result)


async def bind_group_in_private(update: Update, context: BotContext) -> None:
    """Explain that /bind_group is sent in the group itself."""
    await reply(update, context, "groups/bind_in_private.html")


async def membership(update: Update, context: BotContext) -> None:
    """Stop posting to a group the bot was removed from."""
    change = update.my_chat_member
    if change is None:
        return
    status = change.new_chat_member.status
    if status in (ChatMember.LEFT, ChatMember.BANNED):
        if await groups.group_left(context.db, change.chat.id):
            logger.info("removed from supervisor group %s; it is now inactive", change.chat.id)


async def migrated(update: Update, context: BotContext) -> None:
    """Follow a group that was upgraded to a supergroup (it gets a new chat id)."""
    message = update.effective_message
    if message is not None and message.migrate_to_chat_id:
        await groups.group_migrated(context.db, message.chat.id, message.migrate_to_chat_id)


async def group_help(update: Update, context: BotContext) -> None:
    """/help in a group: what a supervisor group receives, for which scope and when; or,
    unbound, how an admin binds it."""
    chat = update.effective_chat
    assert chat is not None
    info = await groups.group_info(context.db, chat.id)
    state = context.state
    await reply(update, context, "groups/help.html", r=info, cfg=state.clock_config,
                due_day=state.settings.report_due_day)  # fmt: skip


async def group_digest(update: Update, context: BotContext) -> None:
    """/digest in a group: this group's latest published bulletin (its own scope)."""
    chat = update.effective_chat
    assert chat is not None
    info = await groups.group_info(context.db, chat.id)
    if not info.bound:
        await reply(update, context, "groups/digest_unbound.html")
        return
    await digest_handlers.send_latest_bulletin(context, chat.id, info.root_org_id)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        *admin_command("bind_group", bind_group, where=GROUPS, levels=True),
        CommandHandler("bind_group", bind_group_in_private, filters=PRIVATE),
        CommandHandler("help", group_help, filters=GROUPS),
        CommandHandler("digest", group_digest, filters=GROUPS),
        ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER),
        MessageHandler(filters.StatusUpdate.MIGRATE, migrated),
    ]

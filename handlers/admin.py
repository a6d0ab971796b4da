"""Admin commands in a private chat: /invite, and 分级管理's /invite_admin, /admins,
/remove_admin."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.menus import menu_of, set_menu_for
from bot.services import admins, invites, people
from bot.services.acceptance import is_reviewer
from handlers.common import admin_command, reply, tell
from handlers.review import send_application

MAX_QUERY = 100


async def invite(update: Update, context: BotContext) -> None:
    """Give the admin an invite link for one organization, by 编号 or name."""
    ttl = context.state.settings.invite_ttl_days
    await _issue(update, context, "admin/invite",
                 lambda user_id, query: invites.invite_for(context.db, query, context.now(), ttl,
                                                           user_id))  # fmt: skip


async def invite_admin(update: Update, context: BotContext) -> None:
    """Give an admin invite link for one organization's subtree, by 编号 or name."""
    ttl = context.state.settings.invite_ttl_days
    await _issue(update, context, "admin/invite_admin",
                 lambda user_id, query: admins.invite_admin(context.db, user_id, query,
                                                            context.now(), ttl))  # fmt: skip


async def _issue(
    update: Update, context: BotContext, templates: str,
    issue: Callable[[int, str], Awaitable[invites.InviteRequest | admins.AdminInvite]],
) -> None:  # fmt: skip
    """The query checks, the issuing and the reply shared by both kinds of invite."""
    query = " ".join(context.args or []).strip()
    if not query:
        await reply(update, context, f"{templates}_usage.html")
        return
    if len(query) > MAX_QUERY:
        await reply(update, context, "common/too_long.html", limit=MAX_QUERY)
        return
    user = update.effective_user
    assert user is not None
    result = await issue(user.id, query)
    link = ""
    if result.outcome == "issued" and result.invite is not None:
        link = invites.deep_link(context.bot.username, result.invite.invite.code)
    await reply(update, context, f"{templates}_{result.outcome}.html", r=result, query=query,
                link=link, tz=context.state.settings.timezone)  # fmt: skip


async def list_admins(update: Update, context: BotContext) -> None:
    """List the admins below the sender's level."""
    user = update.effective_user
    assert user is not None
    scope = await context.admin_scope(user.id)
    assert scope is not None  # admin_command let only admins in
    listing = await admins.list_admins(context.db, scope)
    await reply(update, context, "admin/admins.html", listing=listing,
                tz=context.state.settings.timezone)  # fmt: skip


async def remove_admin(update: Update, context: BotContext) -> None:
    """End a lower-level admin's rights, by their Telegram id; they are told."""
    user = update.effective_user
    assert user is not None
    target = " ".join(context.args or []).strip()
    result = await admins.remove_admin(context.db, user.id, target, context.now())
    await reply(update, context, f"admin/remove_{result.outcome}.html", r=result, target=target)
    if result.outcome == "removed" and result.admin is not None:
        gone = result.admin.user_id
        text = context.texts.html("admin/removed_notice.html", r=result)
        await tell(context, gone, text)
        # Their menu loses the admin commands (a secretary keeps the secretary's).
        await set_menu_for(context.application, gone,
                           menu_of(await people.identify(context.db, gone),
                                   reviewer=await is_reviewer(context.db, gone)))  # fmt: skip
        # Their level's pending applications go to whoever decides them now.
        for project_id in result.moved:
            await send_application(context, project_id)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        *admin_command("invite", invite, levels=True),
        *admin_command("invite_admin", invite_admin, levels=True),
        *admin_command("admins", list_admins, levels=True),
        *admin_command("remove_admin", remove_admin, levels=True),
    ]

"""Admin commands in a private chat: /invite."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler, filters

from bot.context import BotContext
from bot.services import invites
from handlers.common import admin_command, reply

MAX_QUERY = 100


async def invite(update: Update, context: BotContext) -> None:
    """Give the admin an invite link for one organization, by 编号 or name."""
    query = " ".join(context.args or []).strip()
    if not query:
        await reply(update, context, "admin/invite_usage.html")
        return
    if len(query) > MAX_QUERY:
        await reply(update, context, "common/too_long.html", limit=MAX_QUERY)
        return
    user = update.effective_user
    assert user is not None
    result = await invites.invite_for(
        context.db, query, context.now(), context.state.settings.invite_ttl_days, user.id
    )
    link = ""
    if result.outcome == "issued" and result.invite is not None:
        link = invites.deep_link(context.bot.username, result.invite.invite.code)
    await reply(
        update,
        context,
        f"admin/invite_{result.outcome}.html",
        r=result,
        query=query,
        link=link,
        tz=context.state.settings.timezone,
    )


def handlers(admins: filters.User) -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [*admin_command("invite", invite, admins)]

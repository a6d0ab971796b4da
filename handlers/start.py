"""/start (with or without an invite code), /help and /whoami."""

from __future__ import annotations

import logging

from telegram import Update
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.menus import menu_of, set_menu_for
from bot.services import invites, people, public
from handlers import acceptance
from handlers.channel import start_suggestion
from handlers.common import PRIVATE, display_name, reply
from handlers.declare import start_button

logger = logging.getLogger(__name__)

MAX_START_ARG = 64  # Telegram's own limit for a deep-link parameter


async def start(update: Update, context: BotContext) -> None:
    """Bind through an invite code, or greet by role when there is none."""
    user = update.effective_user
    assert user is not None
    if context.args and public.SUGGEST_PAYLOAD.fullmatch(context.args[0]):
        await start_suggestion(update, context, context.args[0])  # a public card's 意见建议 link
        return
    if context.args:
        code = context.args[0][: MAX_START_ARG + 1]
        if not await acceptance.redeem(update, context, code):  # a reviewer invite?
            await _redeem(update, context, code)
        return
    await _greet(update, context, "start")


async def _redeem(update: Update, context: BotContext, code: str) -> None:
    user = update.effective_user
    assert user is not None
    settings = context.state.settings
    name, username = display_name(update)
    result = await invites.redeem(
        context.db,
        code,
        user.id,
        name,
        username,
        context.now(),
        max_failures=settings.invite_max_failures,
        window_minutes=settings.invite_failure_window_minutes,
    )
    logger.info("invite redemption by %s: %s", user.id, result.outcome)
    markup = start_button(context) if result.outcome == "bound" else None
    text = context.texts.html(f"start/redeem_{result.outcome}.html", r=result, name=name)
    await context.bot.send_message(user.id, text, reply_markup=markup)
    if result.outcome in ("bound", "admin_bound"):
        who = await people.identify(context.db, user.id)
        await set_menu_for(context.application, user.id, menu_of(who))


async def _greet(update: Update, context: BotContext, what: str) -> None:
    user = update.effective_user
    assert user is not None
    who = await people.identify(context.db, user.id)
    if who.person is not None:
        name, username = display_name(update)
        await people.touch_profile(context.db, user.id, name, username, context.now())
    markup = start_button(context) if who.role == "secretary" else None
    text = context.texts.html(f"start/{what}_{who.role}.html", who=who, name=user.full_name)
    await context.bot.send_message(user.id, text, reply_markup=markup)
    if what == "start" and who.role in ("admin", "secretary"):
        # The chat-scoped menu can only be set once the person has opened the bot.
        await set_menu_for(context.application, user.id, menu_of(who))


async def help_command(update: Update, context: BotContext) -> None:
    """Tell a stranger, a secretary or an admin what they can do."""
    await _greet(update, context, "help")


async def whoami(update: Update, context: BotContext) -> None:
    """Show the sender's Telegram id, role and organization."""
    user = update.effective_user
    assert user is not None
    who = await people.identify(context.db, user.id)
    await reply(update, context, "start/whoami.html", who=who, user=user)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("start", start, filters=PRIVATE),
        CommandHandler("help", help_command, filters=PRIVATE),
        CommandHandler("whoami", whoami, filters=PRIVATE),
    ]

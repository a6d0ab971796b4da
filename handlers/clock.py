"""Admin commands around the clock: /unreachable and /exempt."""

from __future__ import annotations

from telegram import Update
from telegram.ext import BaseHandler

from bot.context import BotContext
from bot.services import reach
from handlers import digest as digest_handlers
from handlers.common import admin_command, send_long


async def unreachable(update: Update, context: BotContext) -> None:
    """List secretaries the bot cannot reach (blocked, never started) and unbound orgs."""
    user = update.effective_user
    assert user is not None
    report = await reach.unreachable(context.db, await context.admin_scope(user.id))
    text = context.texts.html("clock/unreachable.html", r=report,
                              tz=context.state.settings.timezone)  # fmt: skip
    await send_long(context, user.id, text)


async def exempt(update: Update, context: BotContext) -> None:
    """Exempt an organization from one month's report (not reminded, not counted late)."""
    user = update.effective_user
    assert user is not None
    now = context.now()
    period = str(context.state.calendar.current_period(now))
    result = await reach.exempt(context.db, user.id, list(context.args or [])[:30], now, period)
    await send_long(context, user.id, context.texts.html(f"clock/exempt_{result.outcome}.html",
                                                         r=result))  # fmt: skip
    scope = await context.admin_scope(user.id)
    if result.outcome == "exempted" and scope is not None and scope.top:
        # Before its publication the bulletin's draft changes with it: show it again, to the
        # top level only (the draft is the whole area's) and only for the draft's own month.
        await digest_handlers.resend_draft(context, user.id, result.period)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        *admin_command("unreachable", unreachable, levels=True),
        *admin_command("exempt", exempt, levels=True),
    ]

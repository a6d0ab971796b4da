"""Telegram updates in, service calls out. Every handler is registered here, in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from handlers import (
    acceptance,
    adjust,
    admin,
    channel,
    clock,
    closing,
    declare,
    dialogs,
    digest,
    duban,
    errors,
    evidence,
    fallback,
    flood,
    groups,
    projects,
    replays,
    report,
    review,
    start,
)

if TYPE_CHECKING:
    from bot.context import BotApplication


def register(app: BotApplication) -> None:
    """Add every handler to the application; the fallback goes last so it only catches leftovers."""
    app.add_handlers(flood.handlers(), group=flood.GROUP)
    app.add_handlers(replays.handlers(), group=replays.GROUP)
    # First: most updates are answers in a conversation, and the router takes only private
    # messages that are not commands, which no handler below takes; PTB tries handlers in
    # order, so an answer does not go past every command and button handler first.
    for module in (dialogs, start, admin, groups, channel, declare, review, projects, report,
                   clock, duban, digest, evidence, acceptance, closing, adjust,
                   fallback):  # fmt: skip
        app.add_handlers(module.handlers())
    app.add_handler(fallback.private_only_in_groups(app))  # last in group 0: see its docstring
    app.add_handlers(channel.membership_handlers(), group=channel.MEMBERSHIP_GROUP)
    app.add_error_handler(errors.on_error)

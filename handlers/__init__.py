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
    app.add_handlers(dialogs.handlers())
    app.add_handlers(start.handlers())
    app.add_handlers(admin.handlers())
    app.add_handlers(groups.handlers())
    app.add_handlers(channel.handlers())
    app.add_handlers(channel.membership_handlers(), group=channel.MEMBERSHIP_GROUP)
    app.add_handlers(declare.handlers())
    app.add_handlers(review.handlers())
    app.add_handlers(projects.handlers())
    app.add_handlers(report.handlers())
    app.add_handlers(clock.handlers())
    app.add_handlers(duban.handlers())
    app.add_handlers(digest.handlers())
    app.add_handlers(evidence.handlers())
    app.add_handlers(acceptance.handlers())
    app.add_handlers(closing.handlers())
    app.add_handlers(adjust.handlers())
    app.add_handlers(fallback.handlers())
    app.add_error_handler(errors.on_error)

"""Assemble the python-telegram-bot Application: the one place handlers and resources meet."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime

from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import AIORateLimiter, Application, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot.context import AppState, BotApplication, BotContext, system_clock
from bot.menus import set_command_menus
from bot.services import people
from bot.services.calendar import ReportCalendar
from bot.settings import Settings
from bot.texts import Texts
from storage.db import Database

logger = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = system_clock,
    texts: Texts | None = None,
) -> BotApplication:
    """Build the bot: Bot API endpoint, defaults, rate limiter, resources and every handler."""
    builder = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone))
        .context_types(ContextTypes(context=BotContext, bot_data=AppState))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
    )
    if settings.rate_limit:
        # Telegram's flood limits: ~30 msg/s overall, 20/min per group; retry on RetryAfter.
        builder = builder.rate_limiter(AIORateLimiter(max_retries=3))
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    app: BotApplication = builder.build()  # type: ignore[assignment]
    state = app.bot_data
    state.settings = settings
    state.clock = clock
    state.calendar = ReportCalendar(
        tz=settings.timezone, open_day=settings.report_open_day, due_day=settings.report_due_day
    )
    if texts is not None:
        state.texts = texts
    handlers.register(app)
    return app


async def open_resources(app: BotApplication) -> None:
    """Open the database (applying migrations) and load the admins."""
    state = app.bot_data
    state._db = await Database.open(state.settings.db_path)
    admin_ids = await people.sync_admins(state._db, state.settings.admin_ids, state.clock())
    state.admins.user_ids = admin_ids


async def _post_init(app: BotApplication) -> None:
    await open_resources(app)
    try:
        await set_command_menus(app)
    except TelegramError as exc:
        logger.warning("could not set command menus: %s", exc)


async def _post_shutdown(app: BotApplication) -> None:
    if app.bot_data._db is not None:
        await app.bot_data._db.close()
        app.bot_data._db = None

"""Assemble the python-telegram-bot Application: the one place handlers and resources meet."""

from __future__ import annotations

import asyncio
import gc
import logging
from collections.abc import Callable
from datetime import datetime

from telegram.constants import ParseMode
from telegram.error import TelegramError
from telegram.ext import Application, ContextTypes, Defaults
from telegram.request import BaseRequest

import handlers
from bot import exports
from bot.concurrency import PerPersonUpdates
from bot.context import AppState, BotApplication, BotContext, system_clock
from bot.delivery import settle_interrupted
from bot.menus import set_command_menus
from bot.ratelimit import WindowRateLimiter
from bot.schedule import schedule_from
from bot.services import people
from bot.settings import Settings
from bot.texts import Texts
from scheduler.backup import backup_job
from scheduler.tick import tick_job

logger = logging.getLogger(__name__)


def build_application(
    settings: Settings,
    *,
    request: BaseRequest | None = None,
    updates_request: BaseRequest | None = None,
    clock: Callable[[], datetime] = system_clock,
    texts: Texts | None = None,
    settle: bool = False,
) -> BotApplication:
    """Build the bot: Bot API endpoint, defaults, rate limiter, resources and every handler."""
    builder = (
        Application.builder()
        .token(settings.require_token())
        .base_url(settings.api_base_url)
        .base_file_url(settings.api_base_file_url)
        # Every message goes out in HTML (templates/ are HTML; user text is escaped there).
        .defaults(Defaults(parse_mode=ParseMode.HTML, tzinfo=settings.timezone))
        .context_types(ContextTypes(context=BotContext, bot_data=AppState))
        .post_init(_post_init)
        .post_shutdown(_post_shutdown)
        # Different people's updates at once, each person's in order: one account's flood
        # does not hold up another person's reply (bot/concurrency.py).
        .concurrent_updates(PerPersonUpdates())
    )
    if settings.rate_limit:
        # Telegram's flood limits (30 msg/s overall, 20/min per group), retrying on RetryAfter,
        # counted in rolling windows as Telegram counts them (bot/ratelimit.py).
        # Its retries make the bot an ExtBot[int]; nothing passes rate_limit_args, so the
        # types keep ExtBot[None] (BotContext) whether or not a limiter is set.
        builder = builder.rate_limiter(WindowRateLimiter(max_retries=3))  # type: ignore[arg-type]
    if request is not None:
        builder = builder.request(request).get_updates_request(updates_request or request)
    # PTB's context_types() leaves the job queue typed with the default context; at run time
    # its jobs get a BotContext like every handler.
    app: BotApplication = builder.build()  # type: ignore[assignment]
    state = app.bot_data
    state.settings = settings
    state.clock = clock
    state.calendar, state.clock_config = schedule_from(settings)
    if texts is not None:
        state.texts = texts
    state.settle_heap = settle
    handlers.register(app)
    return app


async def open_resources(app: BotApplication) -> None:
    """Open the database (applying migrations), load the admins, settle interrupted sends."""
    state = app.bot_data
    db = await state.open_db()
    state.admins.user_ids = await people.sync_admins(db, state.settings.admin_ids, state.clock())
    # A restart within seconds (a supervisor restarting a killed bot) settles the dead
    # process's claims too, not only those older than STALE_CLAIM_MINUTES.
    await settle_interrupted(db, state.clock(), at_start=True)
    await people.forget_old_updates(db, state.clock())  # also when the clock's job is off


async def _post_init(app: BotApplication) -> None:
    """Open the resources, start the clock and set the command menus."""
    await open_resources(app)
    seconds = app.bot_data.settings.tick_seconds
    if seconds and app.job_queue is not None:
        # Our own lock skips a tick while the previous fan-out runs; APScheduler must not
        # refuse (and warn about) the overlapping run first.
        app.job_queue.run_repeating(tick_job, interval=seconds, first=seconds, name="clock",
                                    job_kwargs={"max_instances": 3})  # fmt: skip
    settings = app.bot_data.settings
    if settings.backup_dir is not None and app.job_queue is not None:
        at = settings.backup_at.replace(tzinfo=settings.timezone)
        app.job_queue.run_daily(backup_job, time=at, name="backup")
    try:
        await set_command_menus(app)
    except TelegramError as exc:
        logger.warning("could not set command menus: %s", exc)
    if app.bot_data.settle_heap:
        settle_heap(app)
        warm_exports(app)


def settle_heap(app: BotApplication) -> None:
    """Once the bot is up (`python -m bot run`): compile every template, then freeze every
    object alive now (gc.freeze), kept for the whole run anyway, so that full collections
    stop walking the start-up heap in the middle of an update. (One that later becomes
    cyclic garbage, a connection replaced after a network error say, is not reclaimed.)"""
    compiled = app.bot_data.texts.compile_all()
    gc.collect()
    gc.freeze()
    logger.info("%d templates compiled; %d objects frozen", compiled, gc.get_freeze_count())


# The export process's warm-up while it runs (a task must stay referenced until it ends).
_WARMING: set[asyncio.Task[int | None]] = set()


def warm_exports(app: BotApplication) -> asyncio.Task[int | None]:
    """Start the worker processes (exports and lookups) now, in the background (`python -m
    bot run`): spawning each, its imports (matplotlib, the spreadsheet writer) and loading
    the chart font would otherwise be waited for by the first digest or lookup of the run."""

    async def warm() -> int | None:
        state = app.bot_data
        try:
            root = str(state.texts.root)
            compiled, _ = await asyncio.gather(state.db.off_loop(exports.warm_up, root),
                                               state.db.off_loop(exports.warm_up, root,
                                                                 lookup=True))  # fmt: skip
        except Exception:  # the first digest will start it again; nothing is lost
            logger.warning("the export process could not be prepared", exc_info=True)
            return None
        logger.info("export process ready (%d templates compiled)", compiled)
        return compiled

    task = asyncio.get_running_loop().create_task(warm(), name="warm exports")
    _WARMING.add(task)
    task.add_done_callback(_WARMING.discard)
    return task


async def _post_shutdown(app: BotApplication) -> None:
    """Close the database opened in post_init."""
    for task in list(_WARMING):
        task.cancel()
    await app.bot_data.close_db()

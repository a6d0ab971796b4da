"""How the Application is assembled: endpoint, defaults, rate limiter, resources."""

from __future__ import annotations

from dataclasses import replace

from telegram.constants import ParseMode
from telegram.ext import AIORateLimiter

from bot.app import build_application
from bot.settings import Settings
from tests.standin.core import BotApiStandIn
from tests.standin.inprocess import StandInRequest


def test_production_settings_use_the_rate_limiter_and_html(settings: Settings) -> None:
    app = build_application(replace(settings, rate_limit=True))
    assert isinstance(app.bot.rate_limiter, AIORateLimiter)
    assert app.bot.defaults is not None and app.bot.defaults.parse_mode == ParseMode.HTML
    assert str(app.bot.defaults.tzinfo) == "Asia/Shanghai"


def test_custom_bot_api_server(settings: Settings) -> None:
    app = build_application(
        replace(
            settings,
            api_base_url="http://127.0.0.1:8081/bot",
            api_base_file_url="http://127.0.0.1:8081/file/bot",
        )
    )
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{settings.token}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{settings.token}"


async def test_resources_open_and_close_with_the_application(settings: Settings) -> None:
    app = build_application(settings, request=StandInRequest(BotApiStandIn()))
    await app.initialize()
    await app.post_init(app)
    try:
        assert await app.bot_data.db.version() >= 2
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
    assert app.bot_data._db is None

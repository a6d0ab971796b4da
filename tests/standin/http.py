"""The stand-in on loopback HTTP, for runs of the real polling loop (`BOT_API_BASE_URL`)."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from aiohttp import web

from bot.standin.core import BotApiStandIn


def make_app(api: BotApiStandIn) -> web.Application:
    """An aiohttp app serving /bot<token>/<method> like api.telegram.org."""

    async def endpoint(request: web.Request) -> web.Response:
        token = request.match_info["token"]
        method = request.match_info["method"]
        params: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json":
            params.update(await request.json())
        elif request.can_read_body:
            form = await request.post()
            params.update({k: v for k, v in form.items() if isinstance(v, str)})
        status, body = await api.handle(method, params, token)
        return web.json_response(body, status=status)

    app = web.Application()
    app.router.add_route("*", "/bot{token}/{method}", endpoint)
    return app


@asynccontextmanager
async def serve_http(api: BotApiStandIn, host: str = "127.0.0.1") -> AsyncIterator[str]:
    """Serve the stand-in on a free loopback port; yield the base URL to give the bot."""
    # Long-polling getUpdates must not hold up shutdown for its whole timeout.
    runner = web.AppRunner(make_app(api), access_log=None, shutdown_timeout=0.5)
    await runner.setup()
    site = web.TCPSite(runner, host, 0)
    await site.start()
    port = runner.addresses[0][1]  # (host, port) of the socket just bound
    try:
        yield f"http://{host}:{port}/bot"
    finally:
        await runner.cleanup()

"""Webhook mode: the real `python -m bot run` behind PTB's webhook server, fed over loopback.

The stand-in plays Telegram's side of setWebhook/deleteWebhook (getUpdates is refused while
a webhook is set, as Telegram does); the test plays Telegram posting updates.
"""

from __future__ import annotations

import asyncio
import signal
import socket
import subprocess
import sys
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from bot.settings import SettingsError, load_settings
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.http import serve_http
from tests.test_e2e_polling import (
    REPO,
    SECRET,
    Finished,
    clean_env,
    no_traceback,
    private_start,
    wait_until,
)

WEBHOOK_SECRET = "webhook-secret_for-the-test-0123456789"
PUBLIC_URL = "https://bot.example.invalid/telegram/hook"
HEADER = "X-Telegram-Bot-Api-Secret-Token"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


@asynccontextmanager
async def running_bot(env: Mapping[str, str], ended: list[Finished]) -> AsyncIterator[None]:
    """`python -m bot run` until the block ends, then SIGTERM; its output lands in `ended`."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "run", cwd=REPO, env=dict(env),
        stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    assert proc.stdout is not None and proc.stderr is not None
    out_task = asyncio.create_task(proc.stdout.read())  # drained: never a full pipe
    err_task = asyncio.create_task(proc.stderr.read())
    try:
        yield
    finally:
        if proc.returncode is None:
            proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                proc.kill()
                await proc.wait()
        assert proc.returncode is not None
        ended.append(Finished(proc.returncode, (await out_task).decode(),
                              (await err_task).decode()))  # fmt: skip


def update(api: BotApiStandIn, user_id: int, text: str) -> dict[str, Any]:
    return {"update_id": 5000 + user_id % 1000, "message": private_start(api, user_id, "王", text)}


async def test_webhook_takes_only_updates_with_the_secret_then_polling_deletes_it(
    tmp_path: Path,
) -> None:
    api = BotApiStandIn()
    port = free_port()
    hook = f"http://127.0.0.1:{port}/telegram/hook"
    runs: list[Finished] = []
    async with serve_http(api) as base_url:
        polling_env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, BOT_DB_PATH=str(tmp_path / "b.sqlite3"),
                                BOT_API_BASE_URL=base_url, BOT_TICK_SECONDS="0",
                                BOT_LOG_LEVEL="DEBUG")  # fmt: skip
        webhook_env = {
            **polling_env,
            "BOT_WEBHOOK_URL": PUBLIC_URL,
            "BOT_WEBHOOK_PORT": str(port),
            "BOT_WEBHOOK_SECRET": WEBHOOK_SECRET,
        }

        def describe() -> str:
            calls = "\n".join(f"  {c.method} {c.status}" for c in api.calls)
            return f"stand-in calls:\n{calls}\n" + "\n".join(r.output for r in runs)

        async with running_bot(webhook_env, runs), httpx.AsyncClient(trust_env=False) as client:
            await wait_until("setWebhook", lambda: api.webhook is not None, describe)
            assert api.webhook is not None
            assert api.webhook["url"] == PUBLIC_URL
            assert api.webhook["secret_token"] == WEBHOOK_SECRET

            async def post(user_id: int, headers: dict[str, str]) -> int:
                for _ in range(200):  # the server may start listening just after setWebhook
                    try:
                        body = update(api, user_id, "/help")
                        return (await client.post(hook, json=body, headers=headers)).status_code
                    except httpx.ConnectError:
                        await asyncio.sleep(0.05)
                raise AssertionError(f"nothing listens on {hook}\n{describe()}")

            assert await post(3001, {HEADER: "not-the-secret"}) == 403
            assert await post(3002, {}) == 403
            assert await post(3003, {HEADER: WEBHOOK_SECRET}) == 200
            await wait_until("the answer to the update with the secret",
                             lambda: api.sent(3003), describe)  # fmt: skip
            assert api.sent(3001) == [] and api.sent(3002) == []
            assert not api.methods("getUpdates")

        # Back to polling: the webhook is deleted, then updates are fetched again.
        async with running_bot(polling_env, runs):
            await wait_until("polling", lambda: [c for c in api.methods("getUpdates")
                                                 if c.status == 200], describe)  # fmt: skip
            assert api.webhook is None and api.methods("deleteWebhook")
            api.new_update({"message": private_start(api, 3004, "王", "/help")})
            await wait_until("the answer to a polled update", lambda: api.sent(3004), describe)

    for run in runs:
        assert run.returncode == 0, run.output
        no_traceback(run)
        assert WEBHOOK_SECRET not in run.stdout + run.stderr, run.output
        assert SECRET not in run.stdout + run.stderr, run.output
    assert "Webhook" in runs[0].stdout and PUBLIC_URL in runs[0].stdout, runs[0].output


def test_webhook_settings_are_checked() -> None:
    settings = load_settings({"BOT_WEBHOOK_URL": "https://bot.example.org/tg"})
    assert settings.webhook_route() == "/tg" and settings.webhook_port == 8443
    assert settings.webhook_listen == "127.0.0.1" and settings.webhook_secret is None
    assert load_settings({"BOT_WEBHOOK_URL": "https://x.example.org/a",
                          "BOT_WEBHOOK_PATH": "b/"}).webhook_route() == "/b"  # fmt: skip
    for env in ({"BOT_WEBHOOK_URL": "http://bot.example.org/tg"},
                {"BOT_WEBHOOK_URL": "https://x.org/a", "BOT_WEBHOOK_PORT": "70000"},
                {"BOT_WEBHOOK_SECRET": "has spaces and 中文"}):  # fmt: skip
        try:
            load_settings(env)
        except SettingsError as exc:
            assert "has spaces" not in str(exc)
        else:
            raise AssertionError(f"{env} was accepted")

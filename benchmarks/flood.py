"""Benchmark `flood`: one stranger sends hundreds of messages; how long does a secretary's
/whoami, queued right behind them, wait for its reply?

    python -m benchmarks.flood [--flood 300]

The real Application on the in-process Bot API stand-in, with the rate limiter on (30 msg/s
overall): the flood and then the /whoami go into the update queue at once, as polling
hands them over, and are handled as the bot handles them (bot/concurrency.py: different
people at once, each person in order). Measured with no flood at all, with the flood and
the flood guard (bot/services/flood.py), and with the flood but no guard; and, for
comparison, with every update handled one at a time after the one before (PTB's default,
what the bot did before), guard on. Prints one JSON line: the /whoami's wait in each case,
from the moment the updates were queued to the moment its reply reached the stand-in.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from telegram import Update

from bot.app import build_application, open_resources
from bot.context import BotApplication, mark_writes_with
from bot.services.flood import FloodGuard
from bot.settings import Settings
from tests.conftest import load_sample_units
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench
from tests.standin.inprocess import StandInRequest

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SECRETARY = 1001


def _message(api: BotApiStandIn, user_id: int, name: str, text: str) -> dict[str, Any]:
    """A private message as Telegram delivers it (a command with its entity)."""
    content: dict[str, Any] = {"text": text}
    if text.startswith("/"):
        content["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
    return {
        "message_id": api.next_message_id(),
        "date": int(api.clock()),
        "chat": {"id": user_id, "type": "private", "first_name": name},
        "from": {"id": user_id, "is_bot": False, "first_name": name},
        **content,
    }


async def whoami_wait(flood: int, guarded: bool, queued: bool) -> float:
    """Seconds from queueing the flood and the /whoami to the /whoami's reply. `queued`:
    through the update queue as the bot runs; else one update after the other."""
    mark_writes_with(None)  # the previous run's last update, handled in this task
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token=TOKEN, db_path=Path(tmp) / "bot.sqlite3", tick_seconds=0)
        api = BotApiStandIn()
        app: BotApplication = build_application(
            settings, request=StandInRequest(api), clock=lambda: NOW
        )
        await app.initialize()
        await open_resources(app)
        await load_sample_units(app.bot_data.db, NOW)
        if not guarded:
            app.bot_data.flood = FloodGuard(limit=flood + 1)
        await app.start()
        try:
            bodies = [_message(api, 666, "刷屏", f"第{i}条") for i in range(flood)]
            bodies.append(_message(api, SECRETARY, "书记", "/whoami"))
            if queued:
                made = [api.new_update({"message": body}) for body in bodies]
                updates = [Update.de_json(update, app.bot) for update in made]
                start = time.monotonic()
                for update in updates:
                    await app.update_queue.put(update)
                await app.update_queue.join()  # the reply's time is taken by the stand-in
            else:
                bench = Bench(app, api)
                start = time.monotonic()
                for body in bodies:
                    await bench.deliver({"message": body})
            [reply] = api.sent(SECRETARY)
            waited = reply.at - start
        finally:
            await app.stop()
            await app.shutdown()
            await app.bot_data.close_db()
    return waited


async def run(flood: int) -> dict[str, object]:
    return {
        "benchmark": "flood",
        "flood": flood,
        "whoami_wait_s_alone": round(await whoami_wait(0, guarded=True, queued=True), 3),
        # One ordinary message from someone else at the same moment: what any other person
        # talking to the bot costs, as both replies share the overall limit.
        "whoami_wait_s_beside_one": round(await whoami_wait(1, guarded=True, queued=True), 3),
        "whoami_wait_s_guarded": round(await whoami_wait(flood, guarded=True, queued=True), 3),
        "whoami_wait_s_unguarded": round(await whoami_wait(flood, guarded=False, queued=True), 3),
        "whoami_wait_s_one_at_a_time": round(
            await whoami_wait(flood, guarded=True, queued=False), 3
        ),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flood")
    parser.add_argument("--flood", type=int, default=300, help="messages from the stranger")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    print(json.dumps(asyncio.run(run(args.flood)), ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Benchmark `flood`: one stranger sends hundreds of messages; how long does a secretary's
/whoami, queued right behind them, wait for its reply?

    python -m benchmarks.flood [--flood 300]

Updates are handled one at a time and every reply goes through the rate limiter (30 msg/s
overall), so a reply queued behind a flood waits for the flood's own replies. The real
Application on the in-process Bot API stand-in, with the rate limiter on, handles the flood
then the /whoami, once with the flood guard (bot/services/flood.py) and once without it,
plus once with no flood at all. Prints one JSON line: the /whoami's wait in each case.
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
from zoneinfo import ZoneInfo

from bot.app import build_application, open_resources
from bot.context import mark_writes_with
from bot.services.flood import FloodGuard
from bot.settings import Settings
from tests.conftest import load_sample_units
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench
from tests.standin.inprocess import StandInRequest

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
SECRETARY = 1001


async def whoami_wait(flood: int, guarded: bool) -> float:
    """Seconds from the flood's start to the /whoami's reply (all queued at once)."""
    mark_writes_with(None)  # the previous run's last update, handled in this task
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token=TOKEN, db_path=Path(tmp) / "bot.sqlite3", tick_seconds=0)
        api = BotApiStandIn()
        app = build_application(settings, request=StandInRequest(api), clock=lambda: NOW)
        async with app:
            await open_resources(app)
            await load_sample_units(app.bot_data.db, NOW)
            if not guarded:
                app.bot_data.flood = FloodGuard(limit=flood + 1)
            bench = Bench(app, api)
            stranger, secretary = bench.user(666, "刷屏"), bench.user(SECRETARY, "书记")
            start = time.perf_counter()
            for i in range(flood):
                await stranger.send(f"第{i}条")
            replies = await secretary.send("/whoami")
            waited = time.perf_counter() - start
            assert len(replies) == 1
            await app.bot_data.close_db()
    return waited


async def run(flood: int) -> dict[str, object]:
    return {
        "benchmark": "flood",
        "flood": flood,
        "whoami_wait_s_alone": round(await whoami_wait(0, guarded=True), 3),
        "whoami_wait_s_guarded": round(await whoami_wait(flood, guarded=True), 3),
        "whoami_wait_s_unguarded": round(await whoami_wait(flood, guarded=False), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.flood")
    parser.add_argument("--flood", type=int, default=300, help="messages from the stranger")
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR, stream=sys.stderr)
    print(json.dumps(asyncio.run(run(args.flood)), ensure_ascii=False))


if __name__ == "__main__":
    main()

"""Benchmark (`votes`): a 民主评议 burst through the real Application on the in-process
stand-in: how fast ballots are taken, and how many edits of the channel post they cost.

    python -m benchmarks.votes [--ballots 2000] [--per-second 20]

Ballots from distinct accounts arrive `per-second` a (simulated) second, a quarter of them
changed afterwards; the tally job runs every simulated second with BOT_TALLY_SECONDS at its
default. Prints one JSON line: ballots/s handled (wall clock), p50/p99 latency of a press,
and the edits of the post (total, and the most in any simulated minute, against Telegram's
20 a minute per channel).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import statistics
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot import public as posts
from bot.app import build_application, open_resources
from bot.services import public
from bot.settings import Settings
from tests.conftest import load_sample_units
from tests.projects_helpers import seed_project
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench
from tests.standin.inprocess import StandInRequest

TZ = ZoneInfo("Asia/Shanghai")
START = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)
CHANNEL = -1001500000001
ADMIN = 900001


async def run(ballots: int, per_second: int) -> dict[str, Any]:
    now = [START]
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(token=TOKEN, db_path=Path(tmp) / "bot.sqlite3", rate_limit=False,
                            tick_seconds=0, admin_ids=frozenset({ADMIN}))  # fmt: skip
        api = BotApiStandIn()
        app = build_application(settings, request=StandInRequest(api), clock=lambda: now[0])
        await app.initialize()
        await open_resources(app)
        try:
            db = app.bot_data.db
            await load_sample_units(db, START)
            bench = Bench(app, api)
            bench.channel(CHANNEL, "晒频道", "bench", admins=(ADMIN,))
            await public.bind_channel(db, CHANNEL, "晒频道", "bench", ADMIN, None, START)
            pid = await seed_project(db, "WH01", 1001, START + timedelta(seconds=1))
            project = await public.card(db, pid)
            assert project is not None
            opened = await public.open_vote(db, [project.number, "7"], ADMIN, START)
            assert opened.vote is not None
            await posts.post_votes(app, START)
            post = next(m for m in api.messages.values() if "民主评议" in (m.get("text") or ""))
            labels = ["满意", "基本满意", "不满意"]
            latencies: list[float] = []
            edit_times: list[datetime] = []
            presses = [(10_000 + i, labels[i % 3]) for i in range(ballots)]
            presses += [(10_000 + i, labels[(i + 1) % 3]) for i in range(0, ballots, 4)]
            started = time.perf_counter()
            for index, (user_id, label) in enumerate(presses):
                now[0] = START + timedelta(seconds=index / per_second)
                t0 = time.perf_counter()
                await bench.user(user_id).press(label, post)
                latencies.append(time.perf_counter() - t0)
                if (index + 1) % per_second == 0:  # the job's moment, once a simulated second
                    if await posts.refresh_tallies(app, now[0]):
                        edit_times.append(now[0])
            elapsed = time.perf_counter() - started
            now[0] += timedelta(seconds=settings.tally_seconds)
            if await posts.refresh_tallies(app, now[0]):
                edit_times.append(now[0])
            tally = await public.satisfaction(db, pid)
            assert tally.total == ballots, tally
            per_minute = max(
                sum(1 for t in edit_times if start <= t < start + timedelta(minutes=1))
                for start in edit_times
            )
            latencies.sort()
            return {
                "benchmark": "votes",
                "presses": len(presses),
                "ballots": tally.total,
                "presses_per_s": round(len(presses) / elapsed, 1),
                "p50_ms": round(statistics.median(latencies) * 1000, 2),
                "p99_ms": round(latencies[int(len(latencies) * 0.99)] * 1000, 2),
                "simulated_seconds": round(len(presses) / per_second),
                "edits": len(edit_times),
                "max_edits_per_minute": per_minute,
            }
        finally:
            await app.bot_data.close_db()
            await app.shutdown()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--ballots", type=int, default=2000)
    parser.add_argument("--per-second", type=int, default=20)
    args = parser.parse_args()
    print(json.dumps(asyncio.run(run(args.ballots, args.per_second)), ensure_ascii=False))


if __name__ == "__main__":
    main()

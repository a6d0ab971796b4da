"""Benchmark 2 (`updates`): full monthly-report conversations through the real Application
on the in-process Bot API stand-in, against the floor a step cannot beat.

    python -m benchmarks.updates [--reports 200]

Prints one JSON line: reports/s, steps/s, p50/p99 step latency, the floor (a bare PTB echo
bot on the same stand-in, and one durable aiosqlite insert+commit on the same database
settings), bound = 1 / (1/echo + 1/commit), and ratio = steps/s ÷ bound.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import statistics
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from telegram import Update
from telegram.ext import Application, MessageHandler, filters

from bot.app import build_application, open_resources
from bot.settings import Settings
from storage.db import Database
from tests.conftest import load_sample_units
from tests.projects_helpers import seed_project
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench, TgUser
from tests.standin.inprocess import StandInRequest

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 21, 10, 0, tzinfo=TZ)
# One report: /report, progress, 下一步 (milestones), completion, problems, plan, 跳过, 提交
SCRIPT = ["/report", "本月完成了主要工作并召开议事会", "下一步", "60", "无", "下月继续推进",
          "跳过"]  # fmt: skip


async def echo_rate(n: int) -> float:
    """Updates/s of a bare PTB bot that answers every message, on the same stand-in."""
    api = BotApiStandIn()
    app = Application.builder().token(TOKEN).request(StandInRequest(api)).build()

    async def echo(update: Update, context: object) -> None:
        assert update.effective_message is not None
        await update.effective_message.reply_text("ok")

    app.add_handler(MessageHandler(filters.ALL, echo))
    async with app:
        bench = Bench(app, api)
        user = bench.user(1, "echo")
        start = time.perf_counter()
        for i in range(n):
            await user.send(f"message {i}")
        return n / (time.perf_counter() - start)


async def commit_rate(path: Path, n: int) -> float:
    """Durable insert+commit per second on the same database settings (WAL, FULL)."""
    db = await Database.open(path)
    try:
        await db.conn.execute("CREATE TABLE IF NOT EXISTS bench (id INTEGER PRIMARY KEY, v TEXT)")
        start = time.perf_counter()
        for i in range(n):
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO bench (v) VALUES (?)", (f"v{i}",))
        return n / (time.perf_counter() - start)
    finally:
        await db.close()


async def conversations(path: Path, reports: int) -> tuple[float, list[float], int]:
    """Run `reports` full reports (one secretary each); return seconds, step latencies."""
    settings = Settings(token=TOKEN, db_path=path, rate_limit=False, tick_seconds=0)
    api = BotApiStandIn()
    app = build_application(settings, request=StandInRequest(api), clock=lambda: NOW)
    async with app:
        await open_resources(app)
        db = app.bot_data.db
        await load_sample_units(db, NOW)
        from bot.services import units

        rows = [units.UnitRow(i + 2, f"B{i:05d}", f"第{i}党支部", "WH", "党支部")
                for i in range(reports)]  # fmt: skip
        await units.import_units(db, rows, NOW)
        for i in range(reports):
            await seed_project(db, f"B{i:05d}", 10_000 + i, NOW)
        bench = Bench(app, api)
        latencies: list[float] = []
        start = time.perf_counter()
        for i in range(reports):
            user: TgUser = bench.user(10_000 + i, f"书记{i}")
            for text in SCRIPT:
                t0 = time.perf_counter()
                await user.send(text)
                latencies.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            await user.press("✅ 提交")
            latencies.append(time.perf_counter() - t0)
        seconds = time.perf_counter() - start
        filed = (await db.fetchone("SELECT count(*) FROM report_versions"))[0]
        await db.close()
    return seconds, latencies, filed


async def run(reports: int) -> dict[str, object]:
    with tempfile.TemporaryDirectory() as tmp:
        echo = await echo_rate(2000)
        commit = await commit_rate(Path(tmp) / "commit.sqlite3", 2000)
        seconds, latencies, filed = await conversations(Path(tmp) / "bot.sqlite3", reports)
    steps = len(latencies)
    steps_per_s = steps / seconds
    bound = 1 / (1 / echo + 1 / commit)
    ordered = sorted(latencies)
    return {
        "benchmark": "updates",
        "reports": reports,
        "reports_filed": filed,
        "steps": steps,
        "seconds": round(seconds, 3),
        "reports_per_s": round(reports / seconds, 2),
        "steps_per_s": round(steps_per_s, 1),
        "echo_per_s": round(echo, 1),
        "commits_per_s": round(commit, 1),
        "bound_per_s": round(bound, 1),
        "ratio": round(steps_per_s / bound, 3),
        "p50_ms": round(statistics.median(latencies) * 1000, 2),
        "p99_ms": round(ordered[int(0.99 * (steps - 1))] * 1000, 2),
    }


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.updates")
    parser.add_argument("--reports", type=int, default=200)
    args = parser.parse_args()
    logging.basicConfig(level=logging.WARNING, stream=sys.stderr)
    print(json.dumps(asyncio.run(run(args.reports)), ensure_ascii=False))


if __name__ == "__main__":
    main()

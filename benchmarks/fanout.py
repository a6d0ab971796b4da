"""Benchmark 1 (issue 8), `fanout`: N secretaries all due for one reminder.

The real planner and delivery path (`scheduler.tick.run_tick`, `bot.delivery`, the real
`Application` with its rate limiter) send through the loopback HTTP Bot API stand-in, which
here enforces a Telegram-like flood limit (more than 30 sends in any rolling second: 429 with
`retry_after`) and has ~1% of the secretaries blocked (403).

    python -m benchmarks.fanout [--n 5000] [--no-limit] [--blocked 0.01]

Prints exactly one JSON line of figures on stdout; logs go to stderr. `--no-limit` turns the
stand-in's limit and our rate limiter off, to show our own cost per message.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import random
import statistics
import sys
import tempfile
import time
from collections import Counter, deque
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from bot.app import build_application, open_resources
from bot.settings import Settings
from scheduler.tick import run_tick
from storage.db import Database
from storage.rows import ts
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.http import serve_http

logger = logging.getLogger("benchmarks.fanout")

SHANGHAI = ZoneInfo("Asia/Shanghai")
# The 2026-11 report window opens on the 20th (a Friday); reminders go out at 09:00.
NOW = datetime(2026, 11, 20, 9, 0, tzinfo=SHANGHAI)
SPAN = ("2026-01", "2026-12")
PERIOD = "2026-11"  # the report every secretary is reminded of
SEEDED_AT = datetime(2026, 1, 5, 10, 0, tzinfo=UTC)
LIMIT_PER_S = 30  # Telegram: about 30 messages per second overall
USER_BASE = 500_000_000  # secretaries' Telegram user ids: USER_BASE + i
MAX_TICKS = 5
# Later ticks (retries of failed sends) run back to back on the wall clock but an hour apart on
# the bench clock, so a send waiting for a retry back-off (if the code has one) is due again;
# the report_open reminder stays current for days.
TICK_SPACING = timedelta(hours=1)
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
COMMIT_SAMPLES = 200
STALL_S = 0.5  # a gap between two sends this long is a stall (30/s is one per 33 ms)
COUNTED = ("due", "sent", "skipped", "failed", "unreachable")


class FloodLimit:
    """A stand-in fault hook: refuse a send (429, retry after 1 s) when `rate` sends were let
    through in the last `period` seconds. Refused attempts do not count against the window."""

    def __init__(self, rate: int = LIMIT_PER_S, period: float = 1.0) -> None:
        self.rate, self.period = rate, period
        self.window: deque[float] = deque()
        self.refused = 0
        self.peak = 0  # the most sends seen in one rolling window

    def __call__(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        if method not in SEND_METHODS:
            return None
        now = time.monotonic()
        while self.window and self.window[0] <= now - self.period:
            self.window.popleft()
        if len(self.window) >= self.rate:
            self.refused += 1
            return 429, {
                "ok": False,
                "error_code": 429,
                "description": "Too Many Requests: retry after 1",
                "parameters": {"retry_after": 1},
            }
        self.window.append(now)
        self.peak = max(self.peak, len(self.window))
        return None


async def seed(path: Path, n: int) -> list[int]:
    """N organizations, each with a bound secretary and an approved project spanning 2026,
    written in one transaction; return the secretaries' user ids (index i -> org i + 1)."""
    stamp = ts(SEEDED_AT)
    users = [USER_BASE + i for i in range(n)]
    db = await Database.open(path)
    try:
        async with db.transaction() as conn:
            await conn.executemany(
                "INSERT INTO orgs (id, code, name, parent_id, kind, created_at, updated_at) "
                "VALUES (?, ?, ?, NULL, ?, ?, ?)",
                [(i + 1, f"B{i + 1:06d}", f"第{i + 1}党支部", "党支部", stamp, stamp)
                 for i in range(n)],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO people (user_id, full_name, username, role, org_id, created_at, "
                "updated_at) VALUES (?, ?, NULL, 'secretary', ?, ?, ?)",
                [(users[i], f"书记{i + 1}", i + 1, stamp, stamp) for i in range(n)],
            )
            await conn.executemany(
                "INSERT INTO projects (id, org_id, status, number_year, number_seq, name, kind, "
                "problem, measures, targets, start_month, end_month, milestones_set, round, "
                "created_by, created_at, updated_at, submitted_at, approved_at, owed_from) "
                "VALUES (?, ?, 'approved', ?, ?, ?, '创新探索型', '问题', '举措', '目标 10 个', "
                "?, ?, 1, 1, ?, ?, ?, ?, ?, ?)",
                [(i + 1, i + 1, int(SPAN[0][:4]), i + 1, f"街巷党建项目{i + 1}", SPAN[0],
                  SPAN[1], users[i], stamp, stamp, stamp, stamp, SPAN[0]) for i in range(n)],
            )  # fmt: skip
            await conn.executemany(
                "INSERT INTO milestones (project_id, position, month, content) "
                "VALUES (?, 1, ?, '启动')",
                [(i + 1, SPAN[0]) for i in range(n)],
            )
    finally:
        await db.close()
    return users


async def commit_ms(directory: Path, samples: int = COMMIT_SAMPLES) -> float:
    """Median time of one durable insert+commit with the bot's database settings."""
    db = await Database.open(directory / "commit_probe.sqlite3")
    try:
        await db.write(
            lambda conn: conn.execute("CREATE TABLE probe (id INTEGER PRIMARY KEY, v TEXT)"),
            marked=False,
        )
        times = []
        for i in range(samples):
            start = time.perf_counter()
            async with db.transaction() as conn:
                await conn.execute("INSERT INTO probe (v) VALUES (?)", (f"v{i}",))
            times.append(time.perf_counter() - start)
    finally:
        await db.close()
    return statistics.median(times) * 1000


class TimedStandIn(BotApiStandIn):
    """The stand-in, adding up the time it spends itself per call (not the HTTP layer)."""

    spent = 0.0

    async def handle(
        self, method: str, params: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        start = time.perf_counter()
        try:
            return await super().handle(method, params, token)
        finally:
            self.spent += time.perf_counter() - start


@dataclass
class Ticks:
    seconds: float = 0.0  # 0 when the budget ran out (the caller measures the wall time)
    each: list[float] = field(default_factory=list)
    due: int = 0
    skipped: int = 0
    timed_out: bool = False


async def run_ticks(app: Any, budget: float) -> Ticks:
    """Run the clock's tick at the window-open moment until nothing failed (at most
    MAX_TICKS; see TICK_SPACING)."""
    out = Ticks()
    try:
        async with asyncio.timeout(budget):
            for k in range(MAX_TICKS):
                start = time.perf_counter()
                result = await run_tick(app, NOW + k * TICK_SPACING)
                out.each.append(time.perf_counter() - start)
                counts = {f: getattr(result, f) for f in COUNTED}
                logger.info("tick %s: %.2f s, %s", k + 1, out.each[-1], counts)
                if k == 0:
                    out.due, out.skipped = result.due, result.skipped
                if result.failed == 0 and not result.busy:
                    break
    except TimeoutError:
        out.timed_out = True
        logger.error("stopped after %.0f s (budget)", budget)
        return out
    out.seconds = sum(out.each)
    return out


async def status_counts(db: Database) -> dict[str, int]:
    """{status: rows} of the deliveries table: this period's report_open rows ("report_open:"
    prefix) and all rows (the previous period's reminders are recorded as skipped, stale)."""
    found = {}
    for sql, prefix in (
        (f"SELECT status, count(*) FROM deliveries WHERE key LIKE 'report_open:{PERIOD}:%' "
         "GROUP BY status", "report_open:"),
        ("SELECT status, count(*) FROM deliveries GROUP BY status", ""),
    ):  # fmt: skip
        for r in await db.fetchall(sql):
            found[prefix + r[0]] = int(r[1])
    return found


async def fanout(args: argparse.Namespace, directory: Path) -> dict[str, Any]:
    n, limit = args.n, not args.no_limit
    db_path = directory / "fanout.sqlite3"
    started = time.perf_counter()
    users = await seed(db_path, n)
    seed_seconds = time.perf_counter() - started
    probe_ms = await commit_ms(directory)
    logger.info("seeded %s organizations in %.2f s; one commit %.2f ms", n, seed_seconds, probe_ms)

    api = TimedStandIn()
    blocked = set(random.Random(8).sample(users, round(n * args.blocked)))
    api.blocked |= blocked
    flood = FloodLimit()
    if limit:
        api.faults.append(flood)

    figures: dict[str, Any] = {"benchmark": "fanout", "n": n, "limit": limit}
    async with serve_http(api) as url:
        settings = Settings(
            token=TOKEN,
            db_path=db_path,
            api_base_url=url,
            admin_ids=frozenset(),
            rate_limit=limit,
            tick_seconds=0,
        )
        app = build_application(settings)
        async with app:
            try:
                await open_resources(app)
                first_call = len(api.calls)
                api.spent = 0.0
                cpu_start = time.process_time()
                tick_start = time.monotonic()
                budget = args.timeout or 120 + 4 * n / LIMIT_PER_S
                ticks = await run_ticks(app, budget)
                cpu_seconds = time.process_time() - cpu_start
                seconds = ticks.seconds or time.monotonic() - tick_start
                rows = await status_counts(app.bot_data.db)
            finally:
                await app.bot_data.close_db()

    calls = api.calls[first_call:]
    if args.trace:
        write_trace(args.trace, calls, tick_start)
    sends = [c for c in calls if c.method == "sendMessage"]
    accepted = [c for c in sends if c.status == 200]
    per_chat = Counter(c.chat_id for c in accepted)
    reached = set(per_chat)
    first_send = min((c.at for c in sends), default=tick_start) - tick_start
    last_send = max((c.at for c in accepted), default=tick_start) - tick_start
    msgs_per_s = len(accepted) / seconds if seconds else 0.0
    moments = sorted(c.at for c in sends)
    stalls = [b - a for a, b in pairwise(moments) if b - a > STALL_S]
    figures.update(
        {
            "seconds": round(seconds, 3),
            "ticks": len(ticks.each),
            "tick_seconds": [round(s, 3) for s in ticks.each],
            "due": ticks.due,
            "skipped_stale": ticks.skipped,
            "sent": len(accepted),
            "send_attempts": len(sends),
            "msgs_per_s": round(msgs_per_s, 2),
            "ratio_to_limit": round(msgs_per_s / LIMIT_PER_S, 3),
            "duplicates": sum(1 for count in per_chat.values() if count > 1),
            "missing": sum(1 for u in users if u not in blocked and u not in reached),
            "blocked": len(blocked),
            "http_403": sum(1 for c in sends if c.status == 403),
            "http_429": sum(1 for c in calls if c.status == 429),
            "unreachable_recorded": rows.get("unreachable", 0),
            "report_open_rows": {k.split(":")[1]: v for k, v in rows.items() if ":" in k},
            "first_send_s": round(first_send, 3),
            "last_send_s": round(last_send, 3),
            "per_message_ms": round(1000 * seconds / len(sends), 3) if sends else None,
            "cpu_per_message_ms": round(1000 * cpu_seconds / len(sends), 3) if sends else None,
            "standin_per_call_ms": round(1000 * api.spent / len(calls), 3) if calls else None,
            "commit_ms": round(probe_ms, 3),
            "peak_per_rolling_s": flood.peak if limit else None,
            "stalls": len(stalls),  # gaps of more than STALL_S with no send at all
            "stalled_s": round(sum(stalls), 3),
            "seed_seconds": round(seed_seconds, 3),
            "timed_out": ticks.timed_out,
        }
    )
    return figures


def write_trace(path: Path, calls: Sequence[Any], start: float) -> None:
    """Every send attempt as CSV: seconds since the first tick started, chat, HTTP status."""
    with path.open("w", encoding="utf-8") as out:
        out.write("t,chat_id,status\n")
        for c in calls:
            if c.method in SEND_METHODS:
                out.write(f"{c.at - start:.4f},{c.chat_id},{c.status}\n")


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.fanout", description=__doc__)
    parser.add_argument("--n", type=int, default=5000, help="secretaries (default 5000)")
    parser.add_argument(
        "--no-limit", action="store_true", help="no flood limit at the stand-in, no rate limiter"
    )
    parser.add_argument("--blocked", type=float, default=0.01, help="share blocked (0.01)")
    parser.add_argument("--timeout", type=float, default=0, help="seconds (default: from N)")
    parser.add_argument(
        "--trace", type=Path, default=None, help="write every send (t, chat, status) as CSV"
    )
    parser.add_argument("--dir", type=Path, default=None, help="where the temporary DB goes")
    parser.add_argument("-v", "--verbose", action="store_true", help="INFO logs on stderr")
    args = parser.parse_args(argv)
    if args.n < 1 or not 0 <= args.blocked < 1:
        parser.error("--n must be positive and --blocked in [0, 1)")
    return args


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    logging.basicConfig(
        stream=sys.stderr,
        level=logging.INFO if args.verbose else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    if not args.verbose:
        logger.setLevel(logging.INFO)
        # One line per failed send (after the rate limiter's retries) would flood stderr.
        logging.getLogger("bot.delivery").setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="fanout-", dir=args.dir) as tmp:
        figures = asyncio.run(fanout(args, Path(tmp)))
    print(json.dumps(figures, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

"""Fixtures: a temporary database, a movable clock, and the real bot on the stand-in."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from bot.app import build_application
from bot.services import units
from bot.settings import Settings
from storage.db import Database
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench
from tests.standin.inprocess import StandInRequest

SHANGHAI = ZoneInfo("Asia/Shanghai")
ADMIN_ID = 900001
SAMPLE_UNITS = Path(__file__).resolve().parents[1] / "data" / "sample_units.csv"


class Clock:
    """A clock tests move by hand: time is a parameter, never the wall clock."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> datetime:
        self.now += timedelta(**delta)
        return self.now


@pytest.fixture(autouse=True)
def keep_logging() -> Iterator[None]:
    """The CLI installs its own log handler on the root logger; put pytest's back after."""
    root = logging.getLogger()
    handlers, level = root.handlers[:], root.level
    yield
    root.handlers[:] = handlers
    root.setLevel(level)


@pytest.fixture
def clock() -> Clock:
    return Clock(datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI))


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        token=TOKEN,
        db_path=tmp_path / "bot.sqlite3",
        admin_ids=frozenset({ADMIN_ID}),
        bot_username="shuji_test_bot",
        # Real flood limits would make the suite wait ~1 s per 30 messages; the limiter is
        # tested on its own clock (test_ratelimit.py) and its wiring in test_app.py.
        rate_limit=False,
        # No background ticks on the wall clock: tests run the planner with `now` passed in.
        tick_seconds=0,
        # Vote tallies are edited when a test calls the clock, not by a job on the wall clock.
        tally_seconds=0,
    )


@pytest.fixture
async def db(settings: Settings) -> AsyncIterator[Database]:
    database = await Database.open(settings.db_path)
    yield database
    await database.close()


async def load_sample_units(database: Database, now: datetime) -> None:
    """Import the 五华区 sample organization file the README points to."""
    await units.import_units(database, units.read_units_file(SAMPLE_UNITS), now)


@asynccontextmanager
async def traced(database: Database) -> AsyncIterator[list[str]]:
    """The statements both connections run during the block: the reading one through
    aiosqlite's trace callback, the writing one's set by a write of its own (the statements
    of those two writes are left out)."""
    statements: list[str] = []
    assert database.reader is not None
    await database.reader.set_trace_callback(statements.append)
    await database.write(lambda conn: conn.set_trace_callback(statements.append), marked=False)
    statements.clear()  # that write's COMMIT
    try:
        yield statements
    finally:
        await database.reader.set_trace_callback(None)
        seen = len(statements)
        await database.write(lambda conn: conn.set_trace_callback(None), marked=False)
        del statements[seen:]  # that write's BEGIN


class BotHarness:
    """Start, stop and restart the real Application on one stand-in and one database."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings, self.clock = settings, clock
        self.api = BotApiStandIn()
        # Telegram dates messages by the same moved clock (a message's date says when it
        # was written, which binds an answer to the question it answers).
        self.api.clock = lambda: clock().timestamp()
        self.app = None
        # Exceptions that reached the error handler: a test fails on any it did not expect.
        self.errors: list[BaseException] = []

    async def start(self) -> Bench:
        self.app = build_application(
            self.settings, request=StandInRequest(self.api), clock=self.clock
        )
        self.app.add_error_handler(self._record_error)
        await self.app.initialize()
        await self.app.post_init(self.app)
        await self.app.start()
        return Bench(self.app, self.api)

    async def _record_error(self, update: object, context: object) -> None:
        self.errors.append(context.error)  # type: ignore[attr-defined]

    async def stop(self) -> None:
        if self.app is not None:
            await self.app.stop()
            await self.app.shutdown()
            await self.app.post_shutdown(self.app)
            self.app = None

    async def restart(self) -> Bench:
        await self.stop()
        return await self.start()


@pytest.fixture
async def harness(settings: Settings, clock: Clock) -> AsyncIterator[BotHarness]:
    h = BotHarness(replace(settings), clock)
    yield h
    await h.stop()
    assert not h.errors, f"handlers raised: {h.errors!r}"


@pytest.fixture
async def bench(harness: BotHarness, clock: Clock) -> Bench:
    """The running bot with the sample organizations loaded."""
    b = await harness.start()
    await load_sample_units(b.app.bot_data.db, clock())
    return b

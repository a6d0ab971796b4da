"""The clock never swallows an error: a claim or a record that breaks is logged, counted as
failed, and never leaves its row `sending` for good (nor sends the message twice)."""

from __future__ import annotations

import logging

import aiosqlite
import pytest

from scheduler.tick import run_tick
from storage import deliveries
from tests.conftest import Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench
from tests.test_clock_faults import at, status

ALICE = 1001


@pytest.fixture
async def key(bench: Bench, clock: Clock) -> str:
    project = await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    return f"report_open:2026-11:{project}"


def broken_logged(caplog: pytest.LogCaptureFixture, key: str) -> list[logging.LogRecord]:
    return [r for r in caplog.records if key in r.getMessage() and r.exc_info is not None]


async def test_a_claim_that_breaks_is_logged_counted_and_tried_again(
    bench: Bench, key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = deliveries.claim

    async def locked(conn: aiosqlite.Connection, *args: object) -> int | None:
        raise aiosqlite.OperationalError("database is locked")

    monkeypatch.setattr(deliveries, "claim", locked)
    with caplog.at_level(logging.ERROR):
        result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert result.failed == 1 and result.sent == 0
    assert any(key in e and "locked" in e for e in result.errors)
    assert broken_logged(caplog, key)
    assert await status(bench, key) is None  # the claim was rolled back: nothing stuck
    monkeypatch.setattr(deliveries, "claim", real)
    result = await run_tick(bench.app, at("2026-11-20 09:01"))
    assert result.sent == 1 and len(bench.api.sent(ALICE)) == 1


async def test_a_record_that_breaks_is_settled_uncertain_never_sent_twice(
    bench: Bench, key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    real = deliveries.finish

    async def full(conn: aiosqlite.Connection, *args: object, **kwargs: object) -> None:
        raise aiosqlite.OperationalError("database or disk is full")

    monkeypatch.setattr(deliveries, "finish", full)
    with caplog.at_level(logging.ERROR):
        result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert result.failed == 1 and result.sent == 0
    assert any(key in e and "full" in e for e in result.errors)
    assert broken_logged(caplog, key)
    assert len(bench.api.sent(ALICE)) == 1 and await status(bench, key) == "sending"
    monkeypatch.setattr(deliveries, "finish", real)
    await run_tick(bench.app, at("2026-11-20 09:01"))
    assert await status(bench, key) == "uncertain"  # may have arrived: listed, not resent
    await run_tick(bench.app, at("2026-11-20 10:00"))
    assert len(bench.api.sent(ALICE)) == 1


async def test_a_part_sent_but_not_recorded_is_never_sent_again(
    bench: Bench, key: str, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    """A message of several parts: the first goes out, recording that fails. Sent again, the
    first part would arrive twice: the message is settled uncertain instead."""
    from bot import delivery

    real = delivery._render

    async def long_text(*args: object) -> delivery.Outgoing:
        out = await real(*args)  # type: ignore[arg-type]
        return delivery.Outgoing("\n".join([out.html, *("很长的一行" * 100 for _ in range(12))]))

    async def locked(conn: aiosqlite.Connection, *args: object) -> None:
        raise aiosqlite.OperationalError("database is locked")

    monkeypatch.setattr(delivery, "_render", long_text)
    monkeypatch.setattr(deliveries, "part_sent", locked)
    with caplog.at_level(logging.ERROR):
        result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert len(bench.api.sent(ALICE)) == 1 and result.sent == 0 and result.uncertain == 1
    assert broken_logged(caplog, key) and await status(bench, key) == "uncertain"
    await run_tick(bench.app, at("2026-11-20 10:00"))
    assert len(bench.api.sent(ALICE)) == 1  # not a part twice

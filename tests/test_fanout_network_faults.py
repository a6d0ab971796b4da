"""Timeouts and dropped connections during a fan-out of reminders.

A request that never left (connection refused, connect timeout, no free connection, body
not written in time) is retried. One that may have reached Telegram (read timeout,
connection dropped while waiting for the answer) might have been delivered: it is marked
'uncertain' and not sent again, like a send cut short by a crash, so nobody gets a
reminder twice; admins see it in /unreachable."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

import httpx
import pytest
from telegram.error import NetworkError, TimedOut

from scheduler.tick import run_tick
from storage import deliveries
from tests.conftest import SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench
from tests.standin.inprocess import StandInRequest

ALICE, BOB = 1001, 1002


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def status(bench: Bench, key: str) -> str | None:
    found = await deliveries.known(bench.app.bot_data.db, [key])
    return found[key].status if key in found else None


def fail_once_for(
    monkeypatch: pytest.MonkeyPatch, chat_id: int, error: Callable[[], Exception],
    *, after_sending: bool,
) -> None:  # fmt: skip
    """The first sendMessage to chat_id fails with error(), before or after the stand-in
    took the message (i.e. before the request left, or while waiting for the answer)."""
    real = StandInRequest.do_request
    left = {"n": 1}

    async def flaky(self: StandInRequest, url: str, method: str, *args: Any, **kw: Any) -> Any:
        data = kw.get("request_data") or (args[0] if args else None)
        target = dict(data.parameters).get("chat_id") if data else None
        if url.endswith("/sendMessage") and target == chat_id and left["n"]:
            left["n"] -= 1
            if after_sending:
                await real(self, url, method, *args, **kw)
            raise error()
        return await real(self, url, method, *args, **kw)

    monkeypatch.setattr(StandInRequest, "do_request", flaky)


def _caused(outer: Exception, cause: Exception) -> Exception:
    outer.__cause__ = cause  # as PTB's HTTPXRequest raises them: `raise TimedOut from err`
    return outer


MAYBE_DELIVERED = {
    "read_timeout": lambda: _caused(TimedOut(), httpx.ReadTimeout("read")),
    "dropped_while_waiting": lambda: _caused(
        NetworkError("httpx.RemoteProtocolError: Server disconnected"),
        httpx.RemoteProtocolError("Server disconnected without sending a response."),
    ),
}
NEVER_LEFT = {
    "connect_timeout": lambda: _caused(TimedOut(), httpx.ConnectTimeout("connect")),
    "connection_refused": lambda: _caused(
        NetworkError("httpx.ConnectError: refused"), httpx.ConnectError("refused")
    ),
    "pool_timeout": lambda: _caused(TimedOut("Pool timeout"), httpx.PoolTimeout("pool")),
    # The request body was not fully written: Telegram cannot have acted on it.
    "write_timeout": lambda: _caused(TimedOut(), httpx.WriteTimeout("write")),
}


@pytest.fixture
async def two(bench: Bench, clock: Clock) -> tuple[int, int]:
    db = bench.app.bot_data.db
    return (await seed_project(db, "WH01", ALICE, clock()),
            await seed_project(db, "WH02", BOB, clock()))  # fmt: skip


@pytest.mark.parametrize("fault", sorted(MAYBE_DELIVERED))
async def test_a_send_that_may_have_arrived_is_never_repeated(
    fault: str, bench: Bench, two: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once_for(monkeypatch, ALICE, MAYBE_DELIVERED[fault], after_sending=True)
    result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert result.sent == 1  # Bob's
    key = f"report_open:2026-11:{two[0]}"
    assert await status(bench, key) == "uncertain"
    for later in ("09:01", "09:05", "10:00", "15:00"):
        await run_tick(bench.app, at(f"2026-11-20 {later}"))
    assert len(bench.api.sent(ALICE)) == 1  # it did arrive, once; no second copy
    assert len(bench.api.sent(BOB)) == 1
    assert await status(bench, key) == "uncertain"
    problems = await deliveries.troubled(bench.app.bot_data.db)
    assert [p.key for p in problems] == [key]


@pytest.mark.parametrize("fault", sorted(NEVER_LEFT))
async def test_a_send_that_never_left_is_retried_and_arrives_once(
    fault: str, bench: Bench, two: tuple[int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    fail_once_for(monkeypatch, ALICE, NEVER_LEFT[fault], after_sending=False)
    result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert result.sent == 1 and result.failed == 1
    key = f"report_open:2026-11:{two[0]}"
    assert await status(bench, key) == "failed"
    assert bench.api.sent(ALICE) == []
    await run_tick(bench.app, at("2026-11-20 09:01"))  # the first retry is due after 1 min
    assert await status(bench, key) == "sent"
    await run_tick(bench.app, at("2026-11-20 09:05"))
    assert len(bench.api.sent(ALICE)) == 1 and len(bench.api.sent(BOB)) == 1


async def test_http_500_is_retried_and_arrives_once(bench: Bench, two: tuple[int, int]) -> None:
    left = {"n": 1}

    def internal_error(method: str, params: dict) -> tuple[int, dict] | None:
        if method == "sendMessage" and params.get("chat_id") == ALICE and left["n"]:
            left["n"] -= 1
            return 500, {"ok": False, "error_code": 500, "description": "Internal Server Error"}
        return None

    bench.api.faults.append(internal_error)
    await run_tick(bench.app, at("2026-11-20 09:00"))
    assert await status(bench, f"report_open:2026-11:{two[0]}") == "failed"
    await run_tick(bench.app, at("2026-11-20 09:01"))
    await run_tick(bench.app, at("2026-11-20 09:05"))
    assert len(bench.api.sent(ALICE)) == 1 and len(bench.api.sent(BOB)) == 1

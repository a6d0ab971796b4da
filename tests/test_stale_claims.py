"""Claims left 'sending' by a process that died: marked uncertain at the next start, at
once when that process is known to be gone, after STALE_CLAIM_MINUTES otherwise."""

from __future__ import annotations

import asyncio
import os
import socket
import sys

from bot.delivery import OWNER, gone_owners
from storage import deliveries
from storage.rows import ts
from tests.conftest import BotHarness, Clock
from tests.standin.dialogue import Bench


async def _dead_pid() -> int:
    proc = await asyncio.create_subprocess_exec(sys.executable, "-c", "pass")
    await proc.wait()
    return proc.pid  # reaped: no process has this id (until the system reuses it)


async def _claim(bench: Bench, key: str, owner: str, clock: Clock) -> None:
    async with bench.app.bot_data.db.transaction() as conn:
        await deliveries.claim(conn, key, "report_open", 1001, "2026-11-20T01:00:00+00:00",
                               ts(clock()), owner)  # fmt: skip


async def _status(bench: Bench, key: str) -> str:
    return (await deliveries.known(bench.app.bot_data.db, [key]))[key].status


async def test_gone_owners_are_this_host_s_dead_processes() -> None:
    host, dead = socket.gethostname(), await _dead_pid()
    alive = f"{host}:{os.getppid()}"  # the process that started the tests
    owners = [f"{host}:{dead}", f"{host}:1", "other-host:999999", f"{host}:x", alive]
    assert gone_owners(owners) == [f"{host}:{dead}"]  # pid 1 runs; other hosts unknown


async def test_a_quick_restart_settles_the_dead_process_s_claims(
    harness: BotHarness, bench: Bench, clock: Clock
) -> None:
    host = socket.gethostname()
    dead, elsewhere = f"{host}:{await _dead_pid()}", "another-host:4242"
    await _claim(bench, "a", dead, clock)
    await _claim(bench, "b", elsewhere, clock)
    bench = await harness.restart()  # seconds later, not STALE_CLAIM_MINUTES
    assert await _status(bench, "a") == "uncertain"  # listed in /unreachable
    assert await _status(bench, "b") == "sending"  # may still be at work on its host
    clock.advance(minutes=deliveries.STALE_CLAIM_MINUTES + 1)
    bench = await harness.restart()
    assert await _status(bench, "b") == "uncertain"


async def test_a_restart_under_the_same_pid_settles_the_predecessor_s_claims(
    harness: BotHarness, bench: Bench, clock: Clock
) -> None:
    """A container restarts its bot as pid 1 under the same hostname: the dead process's
    owner has this process's host and pid, and only the nonce differs."""
    predecessor = f"{socket.gethostname()}:{os.getpid()}:0123456789ab"
    await _claim(bench, "c", predecessor, clock)
    await _claim(bench, "d", OWNER, clock)  # this very process, still at work
    assert gone_owners([predecessor, OWNER]) == [predecessor]
    bench = await harness.restart()
    assert await _status(bench, "c") == "uncertain"
    assert await _status(bench, "d") == "sending"

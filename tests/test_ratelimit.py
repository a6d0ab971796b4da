"""The flood-limit rate limiter (bot/ratelimit.py), on a clock that moves only when it sleeps."""

from __future__ import annotations

import asyncio
import heapq
import itertools
import math
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
from telegram.error import Forbidden, RetryAfter
from telegram.ext import BaseRateLimiter, ExtBot

from bot.app import build_application
from bot.ratelimit import RollingWindow, WindowRateLimiter
from bot.settings import Settings
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.inprocess import StandInRequest

Callback = Callable[..., Coroutine[Any, Any, Any]]


class FakeTime:
    """Time as a parameter: it moves only when every task waits, to the next wake-up."""

    def __init__(self) -> None:
        self.now = 0.0
        self._wakeups: list[tuple[float, int, asyncio.Future[None]]] = []
        self._order = itertools.count()

    def clock(self) -> float:
        """Read the fake clock."""
        return self.now

    async def sleep(self, seconds: float) -> None:
        """Wait until `seconds` have passed (at least a little: a real sleep never wakes early)."""
        when = self.now + max(seconds, 0.0)
        if seconds > 0:
            when = max(when, math.nextafter(self.now, math.inf))
        wakeup: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        heapq.heappush(self._wakeups, (when, next(self._order), wakeup))
        await wakeup

    async def run(self, *aws: Awaitable[Any]) -> list[Any]:
        """Run `aws` together to the end, moving the clock whenever all of them wait."""
        together = asyncio.gather(*aws)
        while True:
            await settle()
            if together.done():
                return together.result()
            if not self._wakeups:
                together.cancel()
                raise AssertionError("stuck: every task waits and none sleeps")
            when, _, wakeup = heapq.heappop(self._wakeups)
            self.now = max(self.now, when)
            wakeup.set_result(None)


@pytest.fixture
def fake() -> FakeTime:
    return FakeTime()


def most_in_any_window(moments: Sequence[float], period: float) -> int:
    """The most moments in one rolling window (t - period, t], as the stand-in counts.

    Written m + period > t rather than m > t - period: on the fake clock a moment can fall
    exactly on the edge, and the two roundings differ there by one unit in the last place."""
    ordered = sorted(moments)
    return max((sum(1 for m in ordered if t < m + period and m <= t) for t in ordered), default=0)


async def settle() -> None:
    """Let every ready task run until it waits (no time passes)."""
    for _ in range(50):
        await asyncio.sleep(0)


class Telegram:
    """Callbacks that record when Telegram received each request, on the fake clock."""

    def __init__(self, fake: FakeTime) -> None:
        self.fake = fake
        self.started: list[float] = []  # the request left
        self.arrived: list[float] = []  # Telegram counted it: here, just before the answer
        self.to: list[Any] = []

    def send(self, latency: float = 0.0, chat: Any = 1) -> Callback:
        """A request taking `latency` to arrive; the answer comes back at once."""

        async def call() -> bool:
            self.started.append(self.fake.now)
            await self.fake.sleep(latency)
            self.arrived.append(self.fake.now)
            self.to.append(chat)
            return True

        return call

    def refuse(self, times: int, retry_after: float = 1.0, chat: Any = 1) -> Callback:
        """A request answered with RetryAfter `times` times, then accepted."""
        left = [times]

        async def call() -> bool:
            self.started.append(self.fake.now)
            if left[0] > 0:
                left[0] -= 1
                raise RetryAfter(timedelta(seconds=retry_after))
            self.arrived.append(self.fake.now)
            self.to.append(chat)
            return True

        return call


async def through(
    limiter: WindowRateLimiter,
    callback: Callback,
    data: dict[str, Any],
    endpoint: str = "sendMessage",
    rate_limit_args: int | None = None,
) -> Any:
    """Send one request through the limiter as PTB's ExtBot does."""
    return await limiter.process_request(callback, (), {}, endpoint, data, rate_limit_args)


# -- the window ---------------------------------------------------------------------------------


@pytest.mark.parametrize("paced", [False, True])
async def test_never_more_than_rate_arrive_in_any_window_whatever_the_latency(
    fake: FakeTime, paced: bool
) -> None:
    window = RollingWindow(30, 1.0, paced=paced, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    latencies = [0.0, 0.2, 0.05, 0.0, 0.12]  # uneven: a slow one, then quick ones behind it

    async def one(i: int) -> None:
        async with window.place():
            await telegram.send(latencies[i % len(latencies)])()

    await fake.run(*(one(i) for i in range(200)))
    assert len(telegram.arrived) == 200
    assert most_in_any_window(telegram.arrived, 1.0) <= 30
    assert most_in_any_window(telegram.started, 1.0) <= 30


async def test_a_place_is_held_until_a_period_after_the_answer(fake: FakeTime) -> None:
    window = RollingWindow(1, 1.0, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one(latency: float) -> None:
        async with window.place():
            await telegram.send(latency)()

    await fake.run(one(0.5), one(0.0))
    # The first answer came back at 0.5: it may have been counted then, so not 1.0 but 1.5.
    assert telegram.started == [0.0, 1.5]


async def test_unpaced_window_lets_rate_go_at_once_then_waits_no_longer_than_needed(
    fake: FakeTime,
) -> None:
    window = RollingWindow(3, 1.0, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one() -> None:
        async with window.place():
            await telegram.send()()

    await fake.run(*(one() for _ in range(9)))
    assert telegram.started == [0.0, 0.0, 0.0, 1.0, 1.0, 1.0, 2.0, 2.0, 2.0]


async def test_paced_window_spreads_starts_and_still_reaches_the_rate(fake: FakeTime) -> None:
    window = RollingWindow(30, 1.0, paced=True, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one() -> None:
        async with window.place():
            await telegram.send()()

    await fake.run(*(one() for _ in range(301)))
    gaps = [b - a for a, b in zip(telegram.started, telegram.started[1:], strict=False)]
    assert min(gaps) >= 1 / 60 - 1e-9  # never a burst: at most half a step early
    assert telegram.started[-1] <= 10.0 + 1e-9  # 300 steps of 1/30 s: the full rate


async def test_when_every_place_is_in_flight_the_next_waits_for_an_answer(
    fake: FakeTime,
) -> None:
    window = RollingWindow(2, 1.0, clock=fake.clock, sleep=fake.sleep)
    answers = [asyncio.Event(), asyncio.Event()]
    started: list[float] = []

    async def held(i: int) -> None:
        async with window.place():
            started.append(fake.now)
            await answers[i].wait()

    async def third() -> None:
        async with window.place():
            started.append(fake.now)

    tasks = [asyncio.create_task(held(0)), asyncio.create_task(held(1))]
    await settle()
    waiting = asyncio.create_task(third())
    await settle()
    assert started == [0.0, 0.0] and not waiting.done()
    fake.now = 0.25
    answers[0].set()  # answered at 0.25: its place frees at 1.25
    await fake.run(waiting, *tasks[:1])
    assert started == [0.0, 0.0, 1.25]
    answers[1].set()
    await tasks[1]


# -- whose request goes first: each chat's turn -------------------------------------------------


async def test_another_chat_goes_before_the_rest_of_one_chats_backlog(fake: FakeTime) -> None:
    window = RollingWindow(30, 1.0, paced=True, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one(chat: str) -> None:
        async with window.place(chat):
            await telegram.send(chat=chat)()

    backlog = [asyncio.create_task(one("A")) for _ in range(5)]
    await settle()  # A's first left at once; the other four wait for the next steps
    await fake.run(one("B"), *backlog)
    assert telegram.to == ["A", "B", "A", "A", "A", "A"]


async def test_a_chat_answered_one_at_a_time_does_not_keep_the_next_place(fake: FakeTime) -> None:
    """The flood's shape: a person's updates are handled in turn, so their next reply waits
    for a place as soon as the last one went; someone else's reply that comes meanwhile
    takes that place."""
    window = RollingWindow(30, 1.0, paced=True, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one_after_another(chat: str, times: int, at: float = 0.0) -> None:
        await fake.sleep(at)
        for _ in range(times):
            async with window.place(chat):
                await telegram.send(chat=chat)()

    # A's first leaves at 0 and its second waits for the next step (1/60 s, half a step
    # early); B's comes at 0.005, while A's second waits.
    await fake.run(one_after_another("A", 4), one_after_another("B", 1, at=0.005))
    assert telegram.to == ["A", "B", "A", "A", "A"]
    assert telegram.started[:2] == [0.0, pytest.approx(1 / 60)]


async def test_turns_keep_each_chats_order_and_first_come_first_served(fake: FakeTime) -> None:
    window = RollingWindow(30, 1.0, paced=True, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    sent: list[tuple[str, int]] = []

    async def one(chat: str, n: int) -> None:
        async with window.place(chat):
            await telegram.send(chat=chat)()
            sent.append((chat, n))

    async def later(chat: str, n: int, at: float) -> None:
        await fake.sleep(at)
        await one(chat, n)

    # Six of A's at once, then a new chat every step: A is not starved by the newcomers.
    newcomers = [later(f"N{i}", 0, i / 30) for i in range(1, 13)]
    await fake.run(*(one("A", n) for n in range(6)), *newcomers)
    assert [n for chat, n in sent if chat == "A"] == list(range(6))  # A's in order
    assert [chat for chat, _ in sent if chat != "A"] == [f"N{i}" for i in range(1, 13)]
    assert max(i for i, (chat, _) in enumerate(sent) if chat == "A") < 12  # interleaved
    assert most_in_any_window(telegram.arrived, 1.0) <= 30


async def test_a_request_given_up_while_waiting_holds_up_nobody(fake: FakeTime) -> None:
    window = RollingWindow(1, 1.0, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)

    async def one(chat: str) -> None:
        async with window.place(chat):
            await telegram.send(chat=chat)()

    first = asyncio.create_task(one("A"))
    waiting = [asyncio.create_task(one(chat)) for chat in ("B", "C", "D")]
    await settle()
    waiting[0].cancel()  # the first in the queue, sleeping for the place
    waiting[2].cancel()  # one behind it
    await fake.run(first, waiting[1])
    assert telegram.to == ["A", "C"] and telegram.started == [0.0, 1.0]
    assert all(task.cancelled() for task in (waiting[0], waiting[2]))


def test_a_window_needs_a_rate_and_a_period() -> None:
    with pytest.raises(ValueError):
        RollingWindow(0, 1.0)
    with pytest.raises(ValueError):
        RollingWindow(30, 0)


# -- the limiter: AIORateLimiter's semantics -----------------------------------------------------


async def test_retry_after_pauses_every_send_then_retries(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(max_retries=3, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    sends = [through(limiter, telegram.refuse(1, retry_after=2.0, chat=1), {"chat_id": 1})]
    sends += [through(limiter, telegram.send(chat=c), {"chat_id": c}) for c in range(2, 6)]
    assert await fake.run(*sends) == [True] * 5
    assert sorted(telegram.to) == [1, 2, 3, 4, 5]
    refused_at = telegram.started[0]
    later = [t for t in telegram.started[1:] if t > refused_at]
    assert later and all(t >= refused_at + 2.1 - 1e-9 for t in later)  # retry_after + 0.1


async def test_retry_after_is_re_raised_when_the_retries_are_spent(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(max_retries=3, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    with pytest.raises(RetryAfter):
        await fake.run(through(limiter, telegram.refuse(10, retry_after=1.0), {"chat_id": 1}))
    assert len(telegram.started) == 4  # one try and three retries
    gaps = [b - a for a, b in zip(telegram.started, telegram.started[1:], strict=False)]
    assert all(g >= 1.1 - 1e-9 for g in gaps)


@pytest.mark.parametrize(("rate_limit_args", "calls"), [(None, 3), (0, 1), (1, 2)])
async def test_rate_limit_args_set_the_retries_of_one_request(
    fake: FakeTime, rate_limit_args: int | None, calls: int
) -> None:
    limiter = WindowRateLimiter(max_retries=2, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    with pytest.raises(RetryAfter):
        await fake.run(
            through(limiter, telegram.refuse(10), {"chat_id": 1}, rate_limit_args=rate_limit_args)
        )
    assert len(telegram.started) == calls


async def test_other_errors_are_not_retried(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(max_retries=3, clock=fake.clock, sleep=fake.sleep)
    calls = []

    async def blocked() -> bool:
        calls.append(fake.now)
        raise Forbidden("Forbidden: bot was blocked by the user")

    with pytest.raises(Forbidden):
        await through(limiter, blocked, {"chat_id": 1})
    assert calls == [0.0]


async def test_the_overall_limit_is_paced_not_bursts_of_30(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    await fake.run(*(through(limiter, telegram.send(chat=c), {"chat_id": c}) for c in range(1, 92)))
    gaps = [b - a for a, b in zip(telegram.arrived, telegram.arrived[1:], strict=False)]
    assert min(gaps) >= 1 / 60 - 1e-9
    assert telegram.arrived[-1] <= 3.0 + 1e-9  # 90 steps of 1/30 s
    assert most_in_any_window(telegram.arrived, 1.0) <= 30


@pytest.mark.parametrize("group", [-100123, "-100123", "@some_channel"])
async def test_a_group_gets_20_a_minute(fake: FakeTime, group: int | str) -> None:
    limiter = WindowRateLimiter(clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    await fake.run(
        *(through(limiter, telegram.send(chat=group), {"chat_id": group}) for _ in range(25))
    )
    assert telegram.arrived[19] - telegram.arrived[0] < 1.0  # 20 go out at once
    assert telegram.arrived[20] >= telegram.arrived[0] + 60.0  # the 21st waits the minute
    assert most_in_any_window(telegram.arrived, 60.0) <= 20


async def test_private_chats_and_other_groups_are_not_held_by_a_full_group(
    fake: FakeTime,
) -> None:
    limiter = WindowRateLimiter(clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    chats: list[int] = [-1] * 20 + [-2] * 20 + list(range(1, 21))
    await fake.run(*(through(limiter, telegram.send(chat=c), {"chat_id": c}) for c in chats))
    assert len(telegram.arrived) == 60
    assert max(telegram.arrived) < 3.0  # only the overall 30/s applies
    assert most_in_any_window(telegram.arrived, 1.0) <= 30


async def test_requests_without_a_chat_are_not_limited(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(
        overall_max_rate=1, overall_time_period=10, clock=fake.clock, sleep=fake.sleep
    )
    telegram = Telegram(fake)
    await fake.run(
        through(limiter, telegram.send(chat=1), {"chat_id": 1}),
        through(limiter, telegram.send(chat=2), {"chat_id": 2}),
        through(
            limiter, telegram.send(chat=None), {"callback_query_id": "7"}, "answerCallbackQuery"
        ),
    )
    arrived = dict(zip(telegram.to, telegram.arrived, strict=True))
    assert arrived == {1: 0.0, None: 0.0, 2: 10.0}


async def test_paid_broadcasts_have_their_own_limit(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(
        overall_max_rate=1, overall_time_period=10, clock=fake.clock, sleep=fake.sleep
    )
    telegram = Telegram(fake)
    await fake.run(through(limiter, telegram.send(chat=1), {"chat_id": 1}))
    await fake.run(
        through(limiter, telegram.send(chat=2), {"chat_id": 2, "allow_paid_broadcast": True})
    )
    assert telegram.arrived == [0.0, 0.0]


async def test_a_zero_rate_means_no_overall_limit(fake: FakeTime) -> None:
    limiter = WindowRateLimiter(overall_max_rate=0, clock=fake.clock, sleep=fake.sleep)
    telegram = Telegram(fake)
    await fake.run(
        *(through(limiter, telegram.send(chat=c), {"chat_id": c}) for c in range(1, 101))
    )
    assert telegram.arrived == [0.0] * 100


# -- through PTB and the stand-in -----------------------------------------------------------------


async def test_ptb_sends_through_the_limiter_and_it_retries_a_429(fake: FakeTime) -> None:
    api = BotApiStandIn()
    counted: list[float] = []
    refused = [0]

    def flood(method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]] | None:
        """Telegram's rule on the fake clock: 30 in any rolling second; the first is refused."""
        if method != "sendMessage":
            return None
        if not refused[0] or most_in_any_window([*counted, fake.now], 1.0) > 30:
            refused[0] += 1
            return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                         "parameters": {"retry_after": 1}}  # fmt: skip
        counted.append(fake.now)
        return None

    api.faults.append(flood)
    limiter = WindowRateLimiter(max_retries=3, clock=fake.clock, sleep=fake.sleep)
    async with ExtBot(TOKEN, request=StandInRequest(api), rate_limiter=limiter) as bot:
        await fake.run(*(bot.send_message(600 + i, f"提醒 {i}") for i in range(75)))
    assert refused[0] == 1  # the one forced refusal, then none
    assert sorted(c.chat_id for c in api.sent()) == [600 + i for i in range(75)]
    assert len(api.methods("sendMessage")) == 76
    assert fake.now >= 1.1  # the retry_after pause ran (on the fake clock)


async def test_ptb_sends_another_chats_message_before_one_chats_backlog(
    fake: FakeTime,
) -> None:
    api = BotApiStandIn()
    limiter = WindowRateLimiter(clock=fake.clock, sleep=fake.sleep)
    async with ExtBot(TOKEN, request=StandInRequest(api), rate_limiter=limiter) as bot:
        backlog = [asyncio.create_task(bot.send_message(666, f"第{i}条")) for i in range(5)]
        await settle()
        await fake.run(bot.send_message(1001, "身份：书记"), *backlog)
    assert [c.chat_id for c in api.sent()] == [666, 1001, 666, 666, 666, 666]


def test_the_application_uses_it_when_the_limit_is_on(settings: Settings) -> None:
    limiter = build_application(replace(settings, rate_limit=True)).bot.rate_limiter
    assert isinstance(limiter, WindowRateLimiter) and isinstance(limiter, BaseRateLimiter)
    assert build_application(settings).bot.rate_limiter is None

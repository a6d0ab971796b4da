"""Telegram's flood limits, counted the way Telegram counts them: in rolling windows.

`WindowRateLimiter` is a `BaseRateLimiter` with AIORateLimiter's arguments and behaviour (30
a second overall, 20 a minute per group, paid broadcasts apart, a pause and retries on
RetryAfter) but its own counting. AIORateLimiter's leaky bucket paces when a request leaves and
forgets it once leaked, while Telegram counts when it arrives: with jittering round trips 31
can land in one second, and the 429 that follows halts every send. Here a request holds its
place from the moment it leaves until `period` after its answer; Telegram cannot have counted
it later, so no rolling window of Telegram's sees more than `rate`, whatever the latency. The
price is one round trip per `period`. Who goes first when several wait: see RollingWindow.
"""

from __future__ import annotations

import asyncio
import contextlib
import heapq
import itertools
import logging
import time
from collections import deque
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine, Hashable
from datetime import timedelta
from typing import Any

from telegram import constants
from telegram.error import RetryAfter
from telegram.ext import BaseRateLimiter

logger = logging.getLogger(__name__)

Clock = Callable[[], float]
Sleep = Callable[[float], Awaitable[None]]
Result = bool | dict[str, Any] | list[dict[str, Any]]

RETRY_MARGIN = 0.1  # seconds added to Telegram's retry_after, as AIORateLimiter does
MAX_GROUP_WINDOWS = 512  # forget idle per-group windows beyond this many, as AIORateLimiter does
TURNS_KEPT = 1024  # chats' turns remembered before the past ones are forgotten


class RollingWindow:
    """Let at most `rate` requests be counted in any rolling `period`, wherever they land.

    Waiting requests go in the order of their chat's turn: at once for a chat with nothing
    sent lately, else one share (`period` / `rate`) after that chat's previous turn. So a chat
    just served, or with a backlog, lets another chat's request that comes meanwhile go first,
    while each chat's own requests, and chats that come one request each, keep their order.
    """

    def __init__(
        self,
        rate: int,
        period: float,
        *,
        paced: bool = False,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        if rate < 1 or period <= 0:
            raise ValueError(f"a window needs rate >= 1 and period > 0, not {rate}/{period}")
        self.rate, self.period = rate, period
        self._clock, self._sleep = clock, sleep
        # Paced: one start every period / rate rather than `rate` at once then a wait. Starts
        # follow a schedule (GCRA) and may run up to half a step early, so a late wake-up of
        # the event loop is made up on the next start instead of adding up.
        self._step = period / rate if paced else 0.0
        self._next = float("-inf")  # when the next start is scheduled
        self._in_flight = 0
        self._ended: deque[float] = deque()  # when the answers came back, oldest first
        self._answered = asyncio.Event()
        # Waiting requests, earliest turn first: (turn, arrival number, wake-up). Only the
        # first one waits for a place; the others wait to become first.
        self._queue: list[tuple[float, int, asyncio.Event]] = []
        self._arrivals = itertools.count()
        self._share = period / rate  # how far one request moves its chat's next turn
        self._turns: dict[Hashable, float] = {}  # each chat's latest turn
        self._turns_kept = TURNS_KEPT

    def _held(self, now: float | None = None) -> int:
        """Count the places taken now: requests in flight and answers younger than `period`."""
        now = self._clock() if now is None else now
        # The same sum as the wait in _wait_needed (not now - period): floats must agree on it.
        while self._ended and self._ended[0] + self.period <= now:
            self._ended.popleft()
        return self._in_flight + len(self._ended)

    @property
    def idle(self) -> bool:
        """Whether nothing holds or waits for a place (the window can be forgotten)."""
        return self._held() == 0 and not self._queue

    def _turn_of(self, chat: Hashable) -> float:
        """The chat's turn for one more request: a share after its previous one, or now."""
        now = self._clock()
        if len(self._turns) >= self._turns_kept:  # forget chats whose turn is past
            self._turns = {c: t for c, t in self._turns.items() if t + self._share > now}
            self._turns_kept = max(TURNS_KEPT, 2 * len(self._turns))
        turn = max(now, self._turns.get(chat, float("-inf")) + self._share)
        self._turns[chat] = turn
        return turn

    def _wait_needed(self) -> float | None:
        """Seconds until a place is free (0: now), or None when every place is in flight."""
        now = self._clock()
        if self._held(now) >= self.rate:
            if not self._ended:
                return None
            # The oldest answer leaves the window at a known moment (after now: _held).
            return self._ended[0] + self.period - now
        return max(self._next - self._step / 2 - now, 0.0)

    async def _acquire(self, chat: Hashable) -> None:
        """Wait for the first turn in the queue and a free place, and take it."""
        me = (self._turn_of(chat), next(self._arrivals), asyncio.Event())
        heapq.heappush(self._queue, me)
        try:
            while True:
                if self._queue[0] is not me:
                    me[2].clear()
                    await me[2].wait()  # set when it becomes first
                elif (wait := self._wait_needed()) is None:
                    # Every place is in flight: one must be answered before it ages out.
                    self._answered.clear()
                    await self._answered.wait()
                elif wait > 0:
                    await self._sleep(wait)  # one that comes first meanwhile goes instead
                else:
                    break
        finally:
            self._queue.remove(me)
            heapq.heapify(self._queue)
            if self._queue:
                self._queue[0][2].set()
        self._next = max(self._next, self._clock()) + self._step
        self._in_flight += 1

    def _release(self) -> None:
        """Keep the place until `period` after the answer."""
        self._in_flight -= 1
        self._ended.append(self._clock())
        self._answered.set()

    @contextlib.asynccontextmanager
    async def place(self, chat: Hashable = None) -> AsyncIterator[None]:
        """Hold a place in the window for one request to `chat`, its answer and `period`
        after it."""
        await self._acquire(chat)
        try:
            yield
        finally:
            self._release()


class WindowRateLimiter(BaseRateLimiter[int]):
    """Flood limits in rolling windows (see the module doc); `rate_limit_args` is the number
    of retries for one request, as in AIORateLimiter."""

    def __init__(
        self,
        overall_max_rate: float = constants.FloodLimit.MESSAGES_PER_SECOND,
        overall_time_period: float = 1,
        group_max_rate: float = constants.FloodLimit.MESSAGES_PER_MINUTE_PER_GROUP,
        group_time_period: float = 60,
        max_retries: int = 0,
        *,
        clock: Clock = time.monotonic,
        sleep: Sleep = asyncio.sleep,
    ) -> None:
        self._clock, self._sleep = clock, sleep
        # Paced overall, bursts per group (20 at once, as AIORateLimiter's group buckets).
        self._overall = self._window(overall_max_rate, overall_time_period, paced=True)
        self._group_rate = (int(group_max_rate), group_time_period)
        self._group_windows: dict[int | str, RollingWindow] = {}
        self._paid = self._window(constants.FloodLimit.PAID_MESSAGES_PER_SECOND, 1)
        self._retries = max_retries
        self._paused_until = float("-inf")

    async def initialize(self) -> None:
        """Nothing to open: the windows are in-memory counters."""

    async def shutdown(self) -> None:
        """Nothing to close."""

    def _window(self, rate: float, period: float, paced: bool = False) -> RollingWindow | None:
        """A window, or None where rate or period is 0 (no limit, as in AIORateLimiter)."""
        if not rate or not period:
            return None
        return RollingWindow(int(rate), period, paced=paced, clock=self._clock, sleep=self._sleep)

    def _group_window(self, group: int | str) -> RollingWindow | None:
        """The window of one group or channel, made on first use and forgotten when idle."""
        if group in self._group_windows:
            return self._group_windows[group]
        if len(self._group_windows) >= MAX_GROUP_WINDOWS:
            for key, held in list(self._group_windows.items()):
                if held.idle:
                    del self._group_windows[key]
        window = self._window(*self._group_rate)
        if window is not None:
            self._group_windows[group] = window
        return window

    async def _wait_out_pause(self) -> None:
        """Hold every request while Telegram's last retry_after runs."""
        while (left := self._paused_until - self._clock()) > 0:
            await self._sleep(left)

    async def _run(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        windows: list[RollingWindow | None],
        chat: Hashable,
    ) -> Result:
        """Call once, holding a place in each window (group first, then overall)."""
        await self._wait_out_pause()  # not taking places (and queueing a burst) during a pause
        async with contextlib.AsyncExitStack() as stack:
            for window in windows:
                if window is not None:
                    await stack.enter_async_context(window.place(chat))
            await self._wait_out_pause()
            return await callback(*args, **kwargs)

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Result]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Result:
        """Send within the limits; on RetryAfter pause all sends, retry, re-raise when spent."""
        max_retries = self._retries if rate_limit_args is None else rate_limit_args
        chat_id = data.get("chat_id")
        # As AIORateLimiter: only requests to a chat count (not answerCallbackQuery and the
        # like); negative ids and @usernames are groups or channels, with their own limit.
        with contextlib.suppress(ValueError, TypeError):
            chat_id = int(chat_id)  # type: ignore[arg-type]  # None: TypeError, suppressed
        group = (
            chat_id
            if isinstance(chat_id, str) or (isinstance(chat_id, int) and chat_id < 0)
            else None
        )
        windows: list[RollingWindow | None]
        if data.get("allow_paid_broadcast", False):
            windows = [self._paid]
        elif chat_id is None:
            windows = []
        else:
            windows = [self._group_window(group) if group is not None else None, self._overall]
        for attempt in range(max_retries + 1):
            try:
                return await self._run(callback, args, kwargs, windows, chat_id)
            except RetryAfter as exc:
                if attempt == max_retries:
                    logger.warning("%s: flood limit still hit after %s retries", endpoint, attempt)
                    raise
                wait = _seconds(exc) + RETRY_MARGIN
                logger.info("%s: flood limit hit; every send waits %.1f s", endpoint, wait)
                self._paused_until = max(self._paused_until, self._clock() + wait)
                await self._wait_out_pause()
        raise AssertionError("unreachable: the last attempt returns or raises")


def _seconds(exc: RetryAfter) -> float:
    """Telegram's retry_after in seconds (a timedelta, or an int in PTB's old mode)."""
    value = exc.retry_after
    return value.total_seconds() if isinstance(value, timedelta) else float(value)

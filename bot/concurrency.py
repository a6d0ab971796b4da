"""Updates of different people handled at once, each person's own strictly in order.

PTB hands every update to the processor as a task of its own. One person's updates (by
user, else by chat) wait their turn on that person's lock, first come first served, so a
conversation's answers are applied in the order they were sent, while another person's
update does not wait behind them: one account's flood costs only that account's turn.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable
from typing import Any

from telegram import Update
from telegram.ext import BaseUpdateProcessor

RUNNING = 64  # updates of different people handled at once; more wait for a free place
# PTB takes its place in its own bound before this processor sees the update: a person's
# updates waiting their turn must not fill it, so that bound is set beyond reach and
# RUNNING is counted here, once an update's turn has come.
UNBOUNDED = 2**31 - 1


class Line:
    """One person's turn: the lock, and how many of their updates hold or wait for it."""

    __slots__ = ("lock", "queued")

    def __init__(self) -> None:
        self.lock = asyncio.Lock()
        self.queued = 0


def person_of(update: object) -> int | None:
    """The user an update comes from, else the chat it is in; None for neither (polls)."""
    if not isinstance(update, Update):
        return None
    if update.effective_user is not None:
        return update.effective_user.id
    if update.effective_chat is not None:
        return update.effective_chat.id
    return None


class PerPersonUpdates(BaseUpdateProcessor):
    """Handle updates concurrently across people and in arrival order within one person;
    a person's line is forgotten once it is empty, so memory follows the updates in hand."""

    def __init__(self, running: int = RUNNING) -> None:
        super().__init__(UNBOUNDED)
        self._running = asyncio.Semaphore(running)
        self._lines: dict[int, Line] = {}

    async def do_process_update(self, update: object, coroutine: Awaitable[Any]) -> None:
        """Wait for the person's turn, then for a free place, then handle the update."""
        person = person_of(update)
        if person is None:
            async with self._running:
                await coroutine
            return
        line = self._lines.setdefault(person, Line())
        line.queued += 1
        try:
            async with line.lock, self._running:
                await coroutine
        finally:
            line.queued -= 1
            if not line.queued:
                del self._lines[person]

    async def initialize(self) -> None:
        """Nothing to open: the lines are in memory."""

    async def shutdown(self) -> None:
        """Nothing to close."""

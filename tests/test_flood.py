"""One account's flood: past the limit its updates go unanswered for a while (told once),
and everyone else is answered as usual (bot/services/flood.py, handlers/flood.py)."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import datetime, timedelta

from telegram import Update

from bot.concurrency import PerPersonUpdates
from bot.services.flood import LIMIT, PAUSE, WINDOW, FloodGuard
from tests.conftest import Clock, traced
from tests.projects_helpers import bound_secretary
from tests.standin.dialogue import Bench, TgUser


async def test_a_flooding_stranger_is_told_once_then_left_unanswered(
    bench: Bench, clock: Clock
) -> None:
    secretary = await bound_secretary(bench)
    stranger = bench.user(666, "刷屏")
    answered = [len(await stranger.send(f"第{i}条")) for i in range(LIMIT)]
    assert all(answered)  # within the limit, every message gets its reply
    told = await stranger.send("再来一条")
    assert len(told) == 1 and "太多" in told.text and "5 分钟" in told.text
    assert "不会保存" in told.text  # never left to think a later message was kept
    for i in range(50):
        assert len(await stranger.send(f"又{i}条")) == 0
    assert "身份：书记" in (await secretary.send("/whoami")).text  # others as usual
    clock.advance(seconds=PAUSE.total_seconds())
    assert len(await stranger.send("/start")) == 1  # the pause is over


async def test_a_paused_accounts_updates_cost_no_database_work(bench: Bench) -> None:
    stranger = bench.user(666, "刷屏")
    for i in range(LIMIT):
        await stranger.send(f"第{i}条")
    assert len(await stranger.send("再来一条")) == 1  # told once
    async with traced(bench.app.bot_data.db) as statements:
        for i in range(10):
            assert len(await stranger.send(f"又{i}条")) == 0
    assert statements == []  # not even whether the account became an admin meanwhile


def test_the_window_rolls_and_each_account_counts_alone() -> None:
    guard = FloodGuard(limit=3, window=WINDOW, pause=PAUSE)
    start = datetime(2026, 11, 21, 10, 0)
    for second in range(3):
        assert guard.admit(1, start + timedelta(seconds=second)) == "ok"
    assert guard.admit(2, start) == "ok"  # another account
    later = start + WINDOW + timedelta(seconds=1)  # the first update has left the window
    assert guard.admit(1, later) == "ok"
    assert guard.admit(1, later) == "ok"
    assert guard.admit(1, later) == "pause"
    assert guard.admit(1, later + PAUSE - timedelta(seconds=1)) == "drop"
    assert guard.admit(1, later + PAUSE) == "ok"


async def test_admins_are_not_counted_and_group_commands_are(bench: Bench) -> None:
    from tests.conftest import ADMIN_ID

    admin = bench.user(ADMIN_ID)
    for i in range(LIMIT + 5):
        assert len(await admin.send("/whoami")) == 1, i
    group = bench.group(-100555)
    member = bench.user(777, "群成员")
    replies = [await group.send(member, "/whoami@shuji_test_bot") for _ in range(LIMIT + 5)]
    assert [len(r) for r in replies] == [1] * LIMIT + [1] + [0] * 4  # cut off in groups too
    told = replies[LIMIT][0]
    assert told.chat_id == 777 and "太多" in told.text  # the notice goes to them, not the group
    assert len(await member.send("/start")) == 0  # the pause holds in private as well


async def test_an_admin_of_a_level_is_not_cut_off_either(bench: Bench) -> None:
    from tests.scopes_helpers import two_towns

    town_a, _ = await two_towns(bench)
    for i in range(LIMIT + 5):
        assert "管理员" in (await town_a.send("/whoami")).text, i


def test_the_photos_of_one_album_count_once() -> None:
    guard = FloodGuard(limit=2, window=WINDOW, pause=PAUSE)
    now = datetime(2026, 11, 21, 10, 0)
    assert guard.admit(1, now) == "ok"
    assert all(guard.admit(1, now, album="a1") == "ok" for _ in range(10))  # one album
    assert guard.admit(1, now, album="a2") == "pause"  # a second album is the third update


# -- different people at once, each person in order (bot/concurrency.py) ----------------------


def _update(update_id: int, user_id: int) -> Update:
    """A private message from `user_id`."""
    chat = {"id": user_id, "type": "private", "first_name": "某"}
    sender = {"id": user_id, "is_bot": False, "first_name": "某"}
    message = {"message_id": update_id, "date": 0, "chat": chat, "from": sender, "text": "x"}
    return Update.de_json({"update_id": update_id, "message": message}, None)


class MeasuredLines(PerPersonUpdates):
    """The processor, telling how many people have updates in hand or waiting their turn."""

    @property
    def people_in_line(self) -> int:
        return len(self._lines)


async def until_quiet(tasks: list[asyncio.Task[None]], done: Callable[[], bool]) -> None:
    """Let every task run until `done` (no I/O here: each gets its turn in a few rounds)."""
    while not done():
        assert not any(t.done() and t.exception() for t in tasks)
        await asyncio.sleep(0)


async def test_a_persons_updates_keep_their_order_and_nobody_waits_behind_them() -> None:
    processor = MeasuredLines()
    gate = asyncio.Event()
    handled: list[str] = []

    async def handle(name: str, wait: bool = False) -> None:
        if wait:
            await gate.wait()
        handled.append(name)

    lined_up = [
        (_update(1, 1), handle("a1", wait=True)),  # person 1's first update is slow
        (_update(2, 1), handle("a2")),
        (_update(3, 2), handle("b1")),
        ("a custom update", handle("custom")),  # neither user nor chat: no line
    ]
    tasks = [asyncio.create_task(processor.process_update(u, c)) for u, c in lined_up]
    await until_quiet(tasks, lambda: "custom" in handled)
    assert handled == ["b1", "custom"]  # a2 waits for a1; nobody else does
    assert processor.people_in_line == 1
    gate.set()
    await asyncio.gather(*tasks)
    assert handled == ["b1", "custom", "a1", "a2"]
    assert processor.people_in_line == 0  # an idle person's line is forgotten


async def test_a_burst_from_more_people_than_run_at_once_is_answered_in_order() -> None:
    """Three updates each from twice as many people as are handled at once, interleaved,
    everyone's first one slow: all are handled, each person's in the order sent, and the
    lines are gone after; then one person's slow update holds up nobody else's."""
    processor = MeasuredLines(running=8)
    people = range(1, 17)
    gate = asyncio.Event()
    handled: dict[int, list[int]] = {p: [] for p in people}

    async def handle(person: int, n: int, until: asyncio.Event | None = None) -> None:
        if until is not None:
            await until.wait()
        handled[person].append(n)

    tasks = [asyncio.create_task(processor.process_update(
        _update(100 * p + n, p), handle(p, n, gate if n == 0 else None)))
        for n in range(3) for p in people]  # fmt: skip
    await until_quiet(tasks, lambda: processor.people_in_line == len(people))
    assert not any(handled.values())  # every person's later updates wait for the first
    gate.set()
    await asyncio.gather(*tasks)
    assert handled == {p: [0, 1, 2] for p in people}
    assert processor.people_in_line == 0
    slow = asyncio.Event()
    later = [asyncio.create_task(processor.process_update(
        _update(100 * p + 3, p), handle(p, 3, slow if p == 1 else None)))
        for p in people]  # fmt: skip
    await asyncio.gather(*later[1:])  # everyone else's next update, past person 1's
    assert handled[1] == [0, 1, 2] and processor.people_in_line == 1
    slow.set()
    await later[0]
    assert handled == {p: [0, 1, 2, 3] for p in people}


async def test_a_secretary_is_answered_while_a_flooders_reply_is_stuck(bench: Bench) -> None:
    """Through the real update queue: the stranger's first reply is held on its way (as a
    slow send would be), their flood queued behind it; the secretary's /whoami, queued
    last, is answered meanwhile. Handled one at a time, it would wait for the flood."""
    app, api = bench.app, bench.api
    secretary = await bound_secretary(bench)
    stranger = bench.user(666, "刷屏")
    held = api.hold(lambda c: c.chat_id == stranger.id)

    def update(user: TgUser, text: str) -> Update:
        message = user._message({"text": text, "entities": [
            {"type": "bot_command", "offset": 0, "length": len(text)}]} if text[0] == "/"
            else {"text": text})  # fmt: skip
        return Update.de_json(api.new_update({"message": message}), app.bot)

    async def until(what: Callable[[], bool]) -> bool:
        # A failure's deadline only: each step waits on the database's thread.
        for _ in range(3000):
            if what():
                return True
            await asyncio.sleep(0.01)
        return False

    try:
        for i in range(LIMIT + 10):
            await app.update_queue.put(update(stranger, f"第{i}条"))
        await app.update_queue.put(update(secretary, "/whoami"))
        assert await until(lambda: bool(api.sent(secretary.id)[-1:] and "身份：书记" in
                                         api.sent(secretary.id)[-1].text))  # fmt: skip
        assert len(held.calls) == 1  # the stranger's first reply, still on its way
    finally:
        api.release_holds()
    await app.update_queue.join()
    replies = api.sent(stranger.id)
    assert len(replies) == LIMIT + 1 and "太多" in replies[-1].text  # the guard still holds

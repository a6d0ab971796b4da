"""Replays are recognised by their exact update id: after a week without updates Telegram
may number them from anywhere (Bot API, Update.update_id), lower than before."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

from bot.context import mark_writes_with
from bot.services import people
from storage import projects
from storage.db import was_handled
from tests.conftest import Clock
from tests.projects_helpers import ANSWERS, bound_secretary, declare_step
from tests.standin.dialogue import Bench
from tests.test_declare import walk_to


async def test_answers_after_the_ids_start_again_lower_are_stored(bench: Bench) -> None:
    bench.api.restart_update_ids(1_000_000)
    alice = await bound_secretary(bench)
    await walk_to(alice, 3)
    bench.api.restart_update_ids(500)  # below every id so far, as Telegram may do
    reply = await alice.send(ANSWERS["problem"])
    assert "上一条消息已经保存" not in reply.text  # taken as what it is: a new answer
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.problem == ANSWERS["problem"]
    assert declare_step("targets") in (await alice.send(ANSWERS["measures"])).text
    again = await bench.replay()  # and a real replay of a low id is still dropped
    assert "上一条消息已经保存" in again.text


async def test_after_the_ids_start_again_report_still_answers(bench: Bench) -> None:
    bench.api.restart_update_ids(1_000_000)
    alice = await bound_secretary(bench)
    await alice.send("/whoami")
    bench.api.restart_update_ids(500)
    assert (await alice.send("/whoami")).text  # it used to get no reply at all


async def test_handled_ids_are_forgotten_after_a_week(bench: Bench, clock: Clock) -> None:
    alice = await bound_secretary(bench)
    await walk_to(alice, 3)
    db = bench.app.bot_data.db
    handled = bench.last_update
    mark_writes_with(None)  # the bench handled updates in this task: the clock's are its own
    assert handled is not None and await was_handled(db, handled["update_id"])
    assert await people.forget_old_updates(db, clock() + timedelta(days=6)) == 0
    assert await people.forget_old_updates(db, clock() + timedelta(days=8)) > 0
    assert not await was_handled(db, handled["update_id"])


async def test_the_upgrade_keeps_each_persons_last_handled_update(tmp_path: Path) -> None:
    """Migration 0009 replaces seen_updates: a crash just before the upgrade may still
    redeliver each person's last update, which must still be known as handled."""
    import sqlite3

    from storage.db import Database, migrations

    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    for number, _, sql in migrations()[:8]:
        raw.executescript(sql)
        raw.execute(f"PRAGMA user_version = {number}")
    raw.execute("INSERT INTO seen_updates (user_id, update_id) VALUES (1001, 7000)")
    raw.close()
    db = await Database.open(path)
    try:
        assert await was_handled(db, 7000) and not await was_handled(db, 6999)
    finally:
        await db.close()

"""The clock's review findings, pinned: outages longer than a few ticks, a bug in one
message, dispatch days that move into the next month, quiet-hour settings, late reports in
the overdue list, messages sent in parts, groups that removed the bot, never-started."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.services import groups
from bot.settings import SettingsError, load_settings
from scheduler.tick import run_tick
from storage import deliveries
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench

ALICE = 1001


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def status(bench: Bench, key: str) -> str | None:
    found = await deliveries.known(bench.app.bot_data.db, [key])
    return found[key].status if key in found else None


@pytest.fixture
async def alice(bench: Bench, clock: Clock) -> int:
    return await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())


async def test_a_long_outage_of_the_bot_api_loses_nothing(bench: Bench, alice: int) -> None:
    down = {"on": True}

    def bad_gateway(method: str, params: dict) -> tuple[int, dict] | None:
        if method == "sendMessage" and down["on"]:
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return None

    bench.api.faults.append(bad_gateway)
    key = f"report_open:2026-11:{alice}"
    minutes = ["09:00", "09:01", "09:02", "09:04", "09:08", "09:16", "09:32", "10:04"]
    tried = 0
    for m in minutes:  # ticks every minute in reality; backoff decides which ones retry
        result = await run_tick(bench.app, at(f"2026-11-20 {m}"))
        tried += result.failed
    assert tried >= 6 and await status(bench, key) == "failed"  # more than 5 attempts
    down["on"] = False
    result = await run_tick(bench.app, at("2026-11-20 11:10"))
    assert result.sent == 1 and await status(bench, key) == "sent"
    assert len(bench.api.sent(ALICE)) == 1


async def test_backoff_spaces_the_retries(bench: Bench, alice: int) -> None:
    bench.api.faults.append(lambda m, p: (502, {"ok": False, "error_code": 502,
                                                "description": "Bad Gateway"})
                            if m == "sendMessage" else None)  # fmt: skip
    await run_tick(bench.app, at("2026-11-20 09:00"))  # attempt 1, next in 1 min
    await run_tick(bench.app, at("2026-11-20 09:00"))  # too early: not tried
    assert len(bench.api.methods("sendMessage")) == 1
    await run_tick(bench.app, at("2026-11-20 09:01"))  # attempt 2, next in 2 min
    await run_tick(bench.app, at("2026-11-20 09:02"))
    assert len(bench.api.methods("sendMessage")) == 2


async def test_a_bug_in_one_message_costs_that_message_only(
    bench: Bench, alice: int, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", 1002, clock())
    texts = bench.app.bot_data.texts
    real = texts.html

    def broken(template: str, /, **context: object) -> str:
        due = context.get("d")
        if due is not None and getattr(due, "chat_id", None) == ALICE:
            raise RuntimeError("a template bug")
        return real(template, **context)

    monkeypatch.setattr(texts, "html", broken)
    result = await run_tick(bench.app, at("2026-11-20 09:00"))
    assert result.sent == 1 and result.failed == 1
    assert len(bench.api.sent(1002)) == 1
    assert await status(bench, f"report_open:2026-11:{alice}") == "failed"  # retried later


async def test_a_dispatch_day_that_moves_into_the_next_month(bench: Bench, clock: Clock) -> None:
    # February 2027: the 28th is a Sunday, so the dispatch day is Monday 1 March.
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock(),
                       span=("2027-01", "2027-12"))  # fmt: skip
    await run_tick(bench.app, at("2027-02-26 09:00"))  # 3 days before, a Friday
    assert any("将于 <b>2027-03-01</b> 进行" in c.text for c in bench.api.sent(ALICE))
    await run_tick(bench.app, at("2027-03-01 09:00"))
    assert any("双月调度日" in c.text for c in bench.api.sent(ADMIN_ID))


@pytest.mark.parametrize(
    "env",
    [{"BOT_REMIND_AT": "23:00"}, {"BOT_AFTERNOON_AT": "07:30"},
     {"BOT_AFTERNOON_AT": "08:30", "BOT_REMIND_AT": "09:00"}],
)  # fmt: skip
def test_reminder_times_inside_quiet_hours_are_refused(env: dict[str, str]) -> None:
    with pytest.raises(SettingsError):
        load_settings(env=env)


async def test_a_message_in_parts_is_not_repeated_on_retry(
    bench: Bench, monkeypatch: pytest.MonkeyPatch
) -> None:
    from bot.delivery import Tally, deliver
    from bot.services.planner import FAR_FUTURE, Due

    texts = bench.app.bot_data.texts
    monkeypatch.setattr(texts, "html", lambda template, /, **c: "甲" * 4000 + "\n" + "乙" * 100)
    refused = {"done": False}

    def refuse_second_part(method: str, params: dict) -> tuple[int, dict] | None:
        if (
            method == "sendMessage"
            and str(params.get("text", "")).startswith("乙")
            and not (refused["done"])
        ):
            refused["done"] = True
            return 502, {"ok": False, "error_code": 502, "description": "Bad Gateway"}
        return None

    bench.api.faults.append(refuse_second_part)
    due = Due("calendar_uncovered:2031:1", "calendar_uncovered", ADMIN_ID, at("2026-11-20 09:00"),
              FAR_FUTURE, {"year": 2031})  # fmt: skip
    first, second = Tally(), Tally()
    await deliver(bench.app, due, at("2026-11-20 09:00"), first)
    await deliver(bench.app, due, at("2026-11-20 09:05"), second)
    parts = [c.text[:1] for c in bench.api.sent(ADMIN_ID) if c.text[:1] in "甲乙"]
    assert (first.failed, second.sent) == (1, 1) and parts == ["甲", "乙"]


async def test_a_group_that_removed_the_bot_while_it_was_down(bench: Bench, alice: int,
                                                              clock: Clock) -> None:  # fmt: skip
    db = bench.app.bot_data.db
    await groups.bind_group(db, -5001, "群", ADMIN_ID, None, clock())
    bench.api.blocked.add(-5001)
    await run_tick(bench.app, at("2026-11-26 11:00"))  # the bulletin's publication
    assert not await groups.may_post(db, -5001)


async def test_never_started_and_gone_chats(bench: Bench, alice: int, clock: Clock) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", 1002, clock())
    bench.api.never_started.add(ALICE)
    await run_tick(bench.app, at("2026-11-20 09:00"))
    text = (await bench.user(ADMIN_ID).send("/unreachable")).text
    assert "⛔ 从未打开机器人：书记1001" in text


def test_tick_command_exit_code_when_sends_fail(tmp_path, monkeypatch) -> None:
    import asyncio

    from bot.cli import main
    from storage.db import Database
    from tests.conftest import load_sample_units
    from tests.standin.core import TOKEN

    db_path = tmp_path / "t.sqlite3"

    async def prepare() -> None:
        db = await Database.open(db_path)
        try:
            await load_sample_units(db, at("2026-11-01 10:00"))
            await seed_project(db, "WH01", ALICE, at("2026-11-01 10:00"))
        finally:
            await db.close()

    asyncio.run(prepare())
    monkeypatch.setenv("BOT_DB_PATH", str(db_path))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    # nothing listens here: every send fails with a network error
    monkeypatch.setenv("BOT_API_BASE_URL", "http://127.0.0.1:9/bot")
    assert main(["tick", "--at", "2026-11-20 09:00"]) == 1


async def test_one_chats_messages_go_one_after_another(bench: Bench) -> None:
    """Two messages due to one chat at one tick: the second is not begun before the first is
    done (a digest's parts never interleave with another's); other chats' go at once."""
    import asyncio

    from bot.delivery import Tally, deliver_all
    from bot.services.planner import FAR_FUTURE, Due

    db, now = bench.app.bot_data.db, at("2026-11-20 09:00")
    dues = [Due(f"calendar_uncovered:{year}:1", "calendar_uncovered", chat, now, FAR_FUTURE,
                {"year": year}) for chat, year in ((ADMIN_ID, 2031), (ADMIN_ID, 2032),
                                                    (ALICE, 2033))]  # fmt: skip
    async with db.transaction(marked=False):  # every claim waits at the writer meanwhile
        task = asyncio.create_task(deliver_all(bench.app, dues, now, Tally()))
        # Each delivery begun counts as a writer at once (before it waits for the lock).
        while db.writers < 3 and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0)
        assert db.writers == 3  # this block, the admin's first message and Alice's
    await task
    years = [c.text for c in bench.api.sent(ADMIN_ID) if "2031" in c.text or "2032" in c.text]
    assert len(years) == 2 and "2031" in years[0] and "2032" in years[1]
    assert any("2033" in c.text for c in bench.api.sent(ALICE))

"""Guards a mutation run showed untested, each pinned by a test that fails when its line
breaks: numbers from the per-year sequence (not row ids), the delivery claim's status
guard (two processes, an uncertain send), the dispatch button's admin check, and the day
a 督办单 becomes overdue."""

from __future__ import annotations

from datetime import datetime

from bot import delivery
from bot.services import groups, planner
from scheduler.tick import run_tick
from storage import deliveries, notices, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import approved_project, bound_secretary, declare, seed_project
from tests.standin.dialogue import Bench

ALICE = 1001
OTHER_PROCESS = "another-host:4242:0123456789ab"  # alive as far as this host can tell


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_project_numbers_skip_no_number_when_ids_are_not_contiguous(bench: Bench) -> None:
    await declare(await bound_secretary(bench, "WH01", 1001))  # project 1: never approved
    await approved_project(bench, "WH02", 1002)  # project 2
    await approved_project(bench, "WH03", 1003)  # project 3
    conn = bench.app.bot_data.db
    numbers = [(await projects.get(conn, i)).number for i in (1, 2, 3)]  # type: ignore[union-attr]
    assert numbers == [None, "2027-001", "2027-002"]


async def test_duban_numbers_skip_no_number_when_ids_are_not_contiguous(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新")
    await admin.send("取消")  # draft 1: never issued
    for problem in ("台账未更新", "公示栏未更新"):
        await admin.send(f"/duban 2026-001 {problem} | 补齐 | 7天")
        assert "已下发" in (await admin.press("📤 下发")).text
    issued = {n.id: n.seq for n in await notices.listing(bench.app.bot_data.db)}
    assert issued == {2: 1, 3: 2}


async def plan_and_claim_elsewhere(bench: Bench, now: datetime) -> list[planner.Due]:
    """Plan `now` as this process's tick would, then let another process's tick, which
    planned the same moment, claim every message first (the race two ticks run)."""
    state = bench.app.bot_data
    decision = await planner.decide(state.db, state.calendar, state.clock_config, now)
    assert [d.chat_id for d in decision.todo] == [ALICE]
    async with state.db.transaction() as conn:
        for due in decision.todo:
            claimed = await deliveries.claim(conn, due.key, due.kind, due.chat_id, ts(due.at),
                                             ts(now), OTHER_PROCESS)  # fmt: skip
            assert claimed == 0
    return decision.todo


async def test_two_processes_ticking_at_once_never_send_a_message_twice(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    now = at("2026-11-20 09:00")
    todo = await plan_and_claim_elsewhere(bench, now)
    tally = delivery.Tally()
    await delivery.deliver_all(bench.app, todo, now, tally)  # this process, a moment later
    assert bench.api.sent(ALICE) == [] and tally.sent == 0 and tally.failed == 0
    found = await deliveries.known(bench.app.bot_data.db, [todo[0].key])
    assert found[todo[0].key].status == "sending"  # still the other process's to finish


async def test_an_uncertain_send_is_never_claimed_again(bench: Bench, clock: Clock) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    now = at("2026-11-20 09:00")
    todo = await plan_and_claim_elsewhere(bench, now)
    async with bench.app.bot_data.db.transaction() as conn:  # the other process died
        assert await deliveries.mark_uncertain_of(conn, [OTHER_PROCESS], ts(now)) == 1
    tally = delivery.Tally()
    for later in ("2026-11-20 09:00", "2026-11-20 10:00", "2026-11-21 09:00"):
        await delivery.deliver_all(bench.app, todo, at(later), tally)
        await run_tick(bench.app, at(later))
    assert bench.api.sent(ALICE) == [] and tally.sent == 0
    found = await deliveries.known(bench.app.bot_data.db, [todo[0].key])
    assert found[todo[0].key].status == "uncertain"


async def test_a_forged_dispatch_button_from_a_non_admin_publishes_nothing(
    bench: Bench, clock: Clock
) -> None:
    db = bench.app.bot_data.db
    await groups.bind_group(db, -4001, "全区", ADMIN_ID, None, clock())
    await seed_project(db, "WH01", ALICE, clock())
    secretary = bench.user(ALICE)
    await secretary.send("/whoami")
    alerts = []
    for data in ("g:202612:s", "g:202612:k", "g:202612:c"):
        await secretary.press_data(data)
        alerts.append(bench.api.methods("answerCallbackQuery")[-1].params)
    assert bench.api.sent(-4001) == []
    key = "dispatch_group:2026-12:-4001"
    assert await deliveries.known(db, [key]) == {}
    assert all(a.get("show_alert") is True and "管理员" in a["text"] and "督导群" in a["text"]
               for a in alerts)  # fmt: skip


async def test_a_duban_notice_is_overdue_from_the_first_moment_after_its_deadline_day(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())  # 2026-11-21 10:00
    admin, alice = bench.user(ADMIN_ID), bench.user(ALICE)
    await admin.send("/duban 2026-001 台账未更新 | 补齐台账 | 2026-11-26")
    await admin.press("📤 下发")
    await alice.press("✅ 签收", alice.last_bot_message(with_button="✅ 签收"))
    for when, overdue in [("2026-11-26 23:59", False), ("2026-11-27 00:00", True)]:
        clock.now = at(when)
        assert ("已逾期" in (await admin.send("/duban_list")).text) is overdue, when

    async def reminded(when: str) -> bool:
        since = len(bench.api.calls)
        await run_tick(bench.app, at(when))
        texts = [c.text for c in bench.api.sent(ALICE, since=since)]
        return any("督办" in t and "已逾期" in t for t in texts)

    assert not await reminded("2026-11-26 09:00")  # the deadline day itself
    assert not await reminded("2026-11-26 15:00")
    assert await reminded("2026-11-27 09:00")  # the morning after

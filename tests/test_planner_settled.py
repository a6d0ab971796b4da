"""What the clock settled stays settled: sent or skipped messages are left in SQLite (not
planned, looked up or sent again), however many; and the lean planner decides what the old
one decided (every owing project's reminders due by now, sorted into stale, to send and
superseded), on a generated province and through the real tick."""

from __future__ import annotations

import shutil
from collections import Counter
from datetime import datetime
from pathlib import Path

import pytest

from bot.services.calendar import ReportCalendar
from bot.services.planner import ClockConfig, Decision, decide, report_series
from scheduler.tick import run_tick
from storage import deliveries, people, planning, projects
from storage.db import Database
from storage.rows import ts
from tests.conftest import SHANGHAI, BotHarness, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench
from tests.test_planner_lean import old_owing, province, seeded  # noqa: F401

ALICE = 1001
OLD_FINAL = {"sent", "sending", "unreachable", "skipped", "uncertain"}  # as the tick had it
CAL, CFG = ReportCalendar(tz=SHANGHAI), ClockConfig()


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def reference(db: Database, now: datetime) -> tuple[set[str], set[str]]:
    """(stale never recorded, due and not settled) reminder keys, the old way: every owing
    project's every reminder due by now, looked up one by one."""
    stale, live = set(), set()
    current = CAL.current_period(now)
    for period in (current.plus(-1), current):
        for pid, _ in await old_owing(db, str(period)):
            for slot in report_series(CAL, CFG, period):
                if slot.at > now:
                    continue
                key = f"{slot.kind}:{period}:{pid}"
                found = await deliveries.known(db, [key])
                status = found[key].status if key in found else None
                if now >= slot.stale_at:
                    if status is None:
                        stale.add(key)
                elif status not in OLD_FINAL:
                    live.add(key)
    return stale, live


def reminders(keys: object) -> set[str]:
    return {k.key for k in keys if k.kind.startswith("report_")}  # type: ignore[attr-defined]


async def record(db: Database, decision: Decision, now: datetime) -> None:
    """What run_tick writes: the stale and superseded skipped, the rest sent."""
    skipped = [*decision.stale, *decision.superseded]
    async with db.transaction() as conn:
        await deliveries.skip_many(conn, [(d.key, d.kind, d.chat_id, ts(d.at)) for d in skipped],
                                   ts(now))  # fmt: skip
        for d in decision.todo:
            await deliveries.claim(conn, d.key, d.kind, d.chat_id, ts(d.at), ts(now), "test")
            await deliveries.finish(conn, d.key, "sent", ts(now))


async def test_the_decision_is_the_old_one_after_an_outage(province: Database) -> None:  # noqa: F811
    seen = {}
    for when in ("2026-11-20 09:00", "2026-11-25 10:00", "2026-11-26 09:00", "2026-12-02 10:00",
                 "2026-12-28 10:00"):  # fmt: skip
        now = at(when)
        decision = await decide(province, CAL, CFG, now)
        keys = [d.key for d in [*decision.stale, *decision.todo, *decision.superseded]]
        assert len(keys) == len(set(keys)) == decision.due, when  # each once
        stale, live = await reference(province, now)
        assert reminders(decision.stale) == stale, when
        assert reminders([*decision.todo, *decision.superseded]) == live, when
        assert stale or live, when
        seen[when] = stale, live
    stale, live = seen["2026-11-25 10:00"]
    assert "report_due_am:2026-11:1" in live  # failed: tried again while it is not stale
    assert "report_open:2026-11:1" not in live | stale  # sent
    assert "report_open:2026-11:13" in live and "report_open:2026-10:13" in stale
    late = Counter(d.kind for d in decision.stale)  # the 28th: the notices of the 25th
    chats = await people.secretaries_by_org(province)
    active = await projects.active_in(province, "2026-12")
    assert late["dispatch_notice"] == len({chats[p.org_id] for p in active if p.org_id in chats})


async def test_hundreds_of_settled_messages_are_neither_planned_nor_sent_again(
    province: Database,  # noqa: F811
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    first = await decide(province, CAL, CFG, at("2026-11-25 15:00"))
    await record(province, first, at("2026-11-25 15:00"))
    settled = {d.key for d in [*first.stale, *first.superseded, *first.todo]}
    assert len(settled) > 500 and len(first.stale) > 300
    busy = await decide(province, CAL, CFG, at("2026-11-26 09:00"))
    planned = {d.key for d in [*busy.stale, *busy.superseded, *busy.todo]}
    assert not planned & settled
    owing = {pid for pid, _ in await old_owing(province, "2026-11")}
    assert reminders(busy.todo) == {f"report_overdue_1:2026-11:{pid}" for pid in owing} - {
        "report_overdue_1:2026-11:3"  # recorded as uncertain: never twice
    }
    kinds = Counter(d.kind for d in busy.todo)
    # the admins get the bulletin's draft now; the groups get it at its publication
    assert kinds["bulletin_draft"] >= 1 and "bulletin" not in kinds and not busy.superseded
    assert busy.due == len(busy.todo) + len(busy.stale)
    await record(province, busy, at("2026-11-26 09:00"))
    scopes = []  # a group's scope can be the whole province: not walked once its lists went

    async def owes_in_scope(*args: object) -> bool:
        scopes.append(args)
        return True

    monkeypatch.setattr(planning, "owes_in_scope", owes_in_scope)
    quiet = await decide(province, CAL, CFG, at("2026-11-26 09:01"))
    assert (quiet.due, quiet.stale, quiet.todo, quiet.superseded) == (0, [], [], [])
    assert scopes == []


async def test_the_real_tick_on_a_province_sends_each_message_once(
    harness: BotHarness,
    seeded: Path,  # noqa: F811
) -> None:
    shutil.copy(seeded, harness.settings.db_path)
    bench = await harness.start()
    db = bench.app.bot_data.db
    first = await run_tick(bench.app, at("2026-11-25 15:00"))  # after an outage
    assert first.sent > 50 and first.skipped > first.sent and first.failed == 0
    busy = await run_tick(bench.app, at("2026-11-26 09:00"))
    assert busy.sent == busy.due > 0 and busy.skipped == 0
    idle = await run_tick(bench.app, at("2026-11-26 09:01"))
    assert (idle.due, idle.sent, idle.skipped) == (0, 0, 0)
    per_chat = Counter(c.chat_id for c in bench.api.calls if c.chat_id and c.chat_id > 0
                       and c.method in ("sendMessage", "sendPhoto"))  # fmt: skip
    rows = await db.execute_fetchall(
        "SELECT chat_id, count(*), sum(kind LIKE 'report%') FROM deliveries "
        "WHERE status = 'sent' AND chat_id > 0 GROUP BY chat_id"
    )
    sent = {chat: (messages, reminders) for chat, messages, reminders in rows}
    assert {c: n for c, n in per_chat.items()} == {c: m for c, (m, _) in sent.items()}
    assert max(r for _, r in sent.values()) == 2  # the newest after the outage, then day 1


async def test_a_dispatch_notice_found_stale_is_recorded_not_sent(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    await run_tick(bench.app, at("2026-12-28 10:00"))  # down since before the 25th
    found = await deliveries.known(bench.app.bot_data.db, ["dispatch_notice:2026-12:1001"])
    assert found["dispatch_notice:2026-12:1001"].status == "skipped"
    assert not any("双月调度将于" in c.text for c in bench.api.sent(ALICE))


async def test_a_failed_reminder_that_went_stale_stays_failed(bench: Bench, clock: Clock) -> None:
    pid = await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    down = {"on": True}
    bench.api.faults.append(
        lambda m, p: (502, {"ok": False, "error_code": 502, "description": "Bad Gateway"})
        if m == "sendMessage" and down["on"] else None
    )  # fmt: skip
    await run_tick(bench.app, at("2026-11-20 09:00"))
    down["on"] = False
    result = await run_tick(bench.app, at("2026-11-26 09:30"))
    known = await deliveries.known(
        bench.app.bot_data.db,
        [f"{k}:2026-11:{pid}" for k in ("report_open", "report_due_am", "report_overdue_1")],
    )
    assert [known[f"{k}:2026-11:{pid}"].status for k in
            ("report_open", "report_due_am", "report_overdue_1")] == [
        "failed", "skipped", "sent"]  # fmt: skip
    assert result.sent == 1 and len(bench.api.sent(ALICE)) == 1

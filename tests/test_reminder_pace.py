"""A report reminder says where the plan in force puts the project, and where its last
report put it; the first month of a plan has no pace to give, so nothing is said."""

from __future__ import annotations

from datetime import datetime

from scheduler.tick import run_tick
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench
from tests.test_adjust import ask_for_later_end
from tests.test_adjust import project as adjustable_project

ALICE = 1001


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def reminders(bench: Bench, chat: int, *moments: str) -> list[str]:
    """Tick at each moment; the texts sent to `chat` meanwhile."""
    since = len(bench.api.calls)
    for moment in moments:
        await run_tick(bench.app, at(moment))
    return [c.text for c in bench.api.sent(chat, since=since)]


async def test_each_reminder_gives_the_pace_and_the_last_report(bench: Bench, clock: Clock) -> None:
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", ALICE, clock())  # 2026-01 to 2026-12
    await seed_report(db, pid, "2026-10", at("2026-10-22 10:00"), completion=45)
    sent = await reminders(bench, ALICE, "2026-11-20 09:00", "2026-11-20 09:01",
                           "2026-11-23 09:00", "2026-11-25 09:00", "2026-11-25 15:00",
                           "2026-11-26 09:00")  # fmt: skip
    line = "按计划，到 2026 年 11 月底应完成约 92%，上次报告为 45%。"  # 11 of 12 months
    assert len(sent) == 5  # each reminder once, the second tick of the 20th sends nothing
    assert all(line in text for text in sent), sent
    assert "月报开始填写了" in sent[0] and "月报已逾期 1 个工作日" in sent[-1]


async def test_no_earlier_report_gives_the_pace_alone(bench: Bench, clock: Clock) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock(), span=("2026-10", "2027-09"))
    [text] = await reminders(bench, ALICE, "2026-11-20 09:00")
    assert "按计划，到 2026 年 11 月底应完成约 17%。" in text  # 2 of 12 months
    assert "上次报告" not in text


async def test_the_first_month_has_no_pace_line_the_second_has(bench: Bench, clock: Clock) -> None:
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", ALICE, clock(), span=("2026-11", "2027-10"))
    [text] = await reminders(bench, ALICE, "2026-11-20 09:00")
    assert "月报开始填写了" in text
    assert "按计划" not in text and "上次报告" not in text
    await seed_report(db, pid, "2026-11", at("2026-11-23 10:00"), completion=10)
    [text] = await reminders(bench, ALICE, "2026-12-21 09:00")  # the 20th is a Sunday
    assert "按计划，到 2026 年 12 月底应完成约 17%，上次报告为 10%。" in text


async def test_after_an_approved_change_the_pace_is_the_new_plans(
    bench: Bench, clock: Clock
) -> None:
    db = bench.app.bot_data.db
    pid = await adjustable_project(bench, clock)  # 2026-01 to 2026-12
    await seed_report(db, pid, "2026-06", at("2026-06-22 10:00"), completion=40)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)  # to end in 2027-06, from July
    await bench.user(ADMIN_ID).press("✅ 同意调整")
    [text] = await reminders(bench, 1001, "2026-07-20 09:00")
    # 7 of 18 months under the new plan (the plan of 立项 would say 58%).
    assert "按计划，到 2026 年 7 月底应完成约 39%，上次报告为 40%。" in text

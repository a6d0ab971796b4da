"""Reports filed late before publication: the secretary's update only marks them, and the
clock's next tick sends each top admin one updated draft for all of them, naming them;
once, across a restart, and never after publication."""

from __future__ import annotations

from dataclasses import replace

from bot.services import groups
from scheduler.tick import run_tick
from tests.conftest import ADMIN_ID, BotHarness, Clock, load_sample_units
from tests.projects_helpers import seed_project
from tests.standin.core import Call
from tests.standin.dialogue import Bench
from tests.test_dispatch_review import GROUP, OTHER_ADMIN, SPAN, at

SECRETARIES = (1001, 1002, 1003)


def redrafts(bench: Bench, admin: int = ADMIN_ID) -> list[str]:
    return [c.text for c in bench.api.sent(admin) if "刚刚" in c.text and "补报" in c.text]


def _draft_of(call: Call) -> str:
    """Which draft a message to an admin belongs to, by its workbook's name or its caption
    ("" for any other message)."""
    named = (call.upload[0] if call.upload else "") + call.text
    return "bulletin" if "月通报" in named else "dispatch" if "双月调度" in named else ""


async def world(harness: BotHarness, clock: Clock) -> Bench:
    """Two top admins; three secretaries who have not filed December (due on the 25th)."""
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID, OTHER_ADMIN}))
    bench = await harness.start()
    db = bench.app.bot_data.db
    await load_sample_units(db, clock())
    for n, secretary in enumerate(SECRETARIES, 1):
        await seed_project(db, f"WH0{n}", secretary, clock(), span=SPAN, name=f"WH0{n}项目")
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-12-28 09:00"))  # the drafts of both digests
    return bench


async def file_late(bench: Bench, secretary: int) -> None:
    user = bench.user(secretary, "李娜")
    await user.send("/report")
    await user.send("完成文林街整治，召开议事会两次")
    await user.press("下一步 ›")
    await user.send("30")
    await user.press("无")
    await user.send("完成剩余街巷整治")
    await user.press("跳过")
    assert "月报已提交" in (await user.press("✅ 提交")).text


async def test_three_late_reports_before_a_tick_make_one_redraft_each(
    harness: BotHarness, clock: Clock
) -> None:
    bench = await world(harness, clock)
    clock.now = at("2026-12-28 10:00")
    for secretary in SECRETARIES:
        await file_late(bench, secretary)
    assert redrafts(bench) == []
    before = len(bench.api.calls)
    await run_tick(bench.app, at("2026-12-28 10:01"))
    await run_tick(bench.app, at("2026-12-28 10:02"))
    for admin in (ADMIN_ID, OTHER_ADMIN):
        # Each draft whole, its workbook then its chart, before the next: never interleaved.
        parts = [d for c in bench.api.calls[before:] if c.chat_id == admin
                 and (d := _draft_of(c))]  # fmt: skip
        assert parts == ["bulletin", "bulletin", "dispatch", "dispatch"]
        bulletin, dispatch = redrafts(bench, admin)
        assert bulletin.startswith("刚刚有 3 份逾期月报补报：")
        assert all(f"“WH0{n}项目”2026 年 12 月月报" in bulletin for n in (1, 2, 3))
        assert "月通报草稿尚未发布，已按此更新，如下：\n📝" in bulletin
        assert "双月调度汇总草稿尚未发布" in dispatch


async def test_a_report_after_publication_sends_no_draft(harness: BotHarness, clock: Clock) -> None:
    bench = await world(harness, clock)
    await run_tick(bench.app, at("2026-12-28 11:00"))  # both published at their set time
    clock.now = at("2026-12-28 11:30")
    await file_late(bench, SECRETARIES[0])
    await run_tick(bench.app, at("2026-12-28 11:31"))
    assert redrafts(bench) == [] and redrafts(bench, OTHER_ADMIN) == []


async def test_a_restart_between_the_report_and_the_tick_still_redrafts_once(
    harness: BotHarness, clock: Clock
) -> None:
    bench = await world(harness, clock)
    clock.now = at("2026-12-28 10:00")
    await file_late(bench, SECRETARIES[0])
    assert redrafts(bench) == []  # only marked: the tick sends it
    bench = await harness.restart()
    await run_tick(bench.app, at("2026-12-28 10:01"))
    bench = await harness.restart()
    await run_tick(bench.app, at("2026-12-28 10:02"))
    lead = "护国街道党工委“WH01项目”刚刚补报了 2026 年 12 月月报（逾期）。"
    assert [t.split("\n")[0] for t in redrafts(bench)] == [
        lead + "月通报草稿尚未发布，已按此更新，如下：",
        lead + "双月调度汇总草稿尚未发布，已按此更新，如下：",
    ]

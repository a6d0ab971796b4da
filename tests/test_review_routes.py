"""分级管理: an application's stage and its deciders are fixed when it is sent; 四看 per stage."""

from __future__ import annotations

from dataclasses import replace

from bot.callbacks import ProjectReview
from storage import orgs, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, BotHarness
from tests.projects_helpers import bound_secretary, declare
from tests.scopes_helpers import TOWN_A, add_communities, scoped_admin
from tests.standin.dialogue import Bench
from tests.test_four_checks import labels
from tests.test_scopes import last_alert, status_of


async def two_stages(harness: BotHarness) -> Bench:
    harness.settings = replace(harness.settings, review_stages=2)
    bench = await harness.restart()
    await add_communities(bench)
    return bench


async def test_a_level_gaining_an_admin_leaves_the_tops_审定_in_force(
    harness: BotHarness, bench: Bench
) -> None:
    bench = await two_stages(harness)
    secretary = await bound_secretary(bench, "WH0101", 1001)
    await declare(secretary)  # no admin at the town yet: straight to 审定 at the top
    top = bench.user(ADMIN_ID)
    application = top.last_bot_message(with_button="✅ 立项")
    town = await scoped_admin(bench, "WH01", TOWN_A, "护国小张")
    # The town's new admin got nothing and cannot take it over with a forged 预审 button.
    assert not any("提交了书记项目申报" in m.text for m in bench.api.sent(TOWN_A))
    replies = await town.press_data(ProjectReview(1, 1, "p").pack())
    assert "本次操作未生效" in replies.text
    assert not await projects.passed_in_round(bench.app.bot_data.db, 1, 1)
    # The top's buttons still decide it.
    assert "已立项" in (await top.press("✅ 立项", application)).text
    assert await status_of(bench, 1) == "approved"


async def test_a_level_gaining_an_admin_mid_预审_does_not_take_it_over(
    harness: BotHarness, bench: Bench
) -> None:
    bench = await two_stages(harness)
    db = bench.app.bot_data.db
    async with db.transaction() as conn:  # a branch below the community
        stamp = ts(bench.app.bot_data.clock())
        await orgs.upsert_many(conn, [("WH010101", "钱局第一党支部", "党支部")], stamp)
        await orgs.set_parents(conn, [("WH010101", "WH0101")], stamp)
    town = await scoped_admin(bench, "WH01", TOWN_A, "护国小张")
    secretary = await bound_secretary(bench, "WH010101", 1001)
    await declare(secretary)
    assert "请作为 护国街道党工委 的管理员<b>预审</b>" in bench.api.sent(TOWN_A)[-1].text
    community = await scoped_admin(bench, "WH0101", 2003, "钱局小孙")
    replies = await community.press_data(ProjectReview(1, 1, "p").pack())
    assert "已通过预审" not in replies.text and "只有管理员可以审批项目" in last_alert(bench)
    replies = await community.press_data(ProjectReview(1, 1, "b").pack())
    assert "请输入退回" not in replies.text
    assert "已通过预审" in (await town.press("⬆️ 预审通过，报送审定")).text
    assert "已通过护国街道党工委预审" in bench.api.sent(ADMIN_ID)[-1].text


async def test_四看_of_预审_and_审定_are_kept_apart_in_the_history(
    harness: BotHarness, bench: Bench
) -> None:
    bench = await two_stages(harness)
    town = await scoped_admin(bench, "WH01", TOWN_A, "护国小张")
    secretary = await bound_secretary(bench, "WH0101", 1001)
    await declare(secretary)
    await town.press("✅ 目标高低适当", town.last_bot_message(with_button="↩️ 退回修改"))
    await town.press("⬆️ 预审通过，报送审定")
    top = bench.user(ADMIN_ID)
    application = top.last_bot_message(with_button="✅ 立项")
    assert "预审时四看未通过：目标过高或过低" in application["text"]
    assert labels(application)[:4] == ["✅ 内容符合实际", "✅ 目标高低适当", "✅ 要求具体实在",
                                       "✅ 能解决实际问题"]  # fmt: skip
    await top.press("✅ 内容符合实际", application)
    asked = await top.press("↩️ 退回修改", top.last_bot_message(with_button="✅ 立项"))
    assert "四看未通过：内容不符合实际" in asked.text and "目标过高" not in asked.text
    assert "已退回" in (await top.send("请补充实地调研情况")).text
    told = bench.api.sent(secretary.id)[-1].text
    assert "四看未通过：内容不符合实际" in told and "目标过高" not in told
    card = (await top.send("/project #1")).text
    assert "预审通过，报送审定（四看未通过：目标过高或过低）" in card
    assert "审定退回：请补充实地调研情况（四看未通过：内容不符合实际）" in card

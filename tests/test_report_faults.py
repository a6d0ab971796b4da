"""The issue-4 review's findings, each pinned by a test."""

from __future__ import annotations

from datetime import datetime

from storage import projects, reports
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock
from tests.projects_helpers import (
    ANSWERS,
    approved_project,
    bound_secretary,
    declare_step,
    report_step,
)
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue
from tests.test_declare import walk_to
from tests.test_report import FIRST_MILESTONE, MARCH_21, file_march, report_row, secretary

__all__ = ["secretary"]  # the fixture, used by name below


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_a_replayed_answer_is_not_stored_again(bench: Bench) -> None:
    alice = await bound_secretary(bench)
    await walk_to(alice, 3)
    await alice.send(ANSWERS["problem"])
    again = await bench.replay()  # dropped: not stored again, not taken for the next step
    assert len(again) == 1 and "上一条消息已经保存，不必再发一遍" in again.text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.measures is None  # not shifted into the next field
    assert declare_step("targets") in (await alice.send(ANSWERS["measures"])).text


async def test_a_replay_after_a_restart_is_dropped_too(harness: BotHarness, bench: Bench,
                                                       secretary: TgUser) -> None:  # fmt: skip
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    await secretary.press(FIRST_MILESTONE)
    update = bench.last_update
    bench = await harness.restart()
    bench.last_update = update
    await bench.replay()  # the toggle, again: it must not untick
    r = await report_row(bench)
    assert r is not None and len(r.milestones_done) == 1


async def test_new_updates_after_a_replay_go_through(bench: Bench) -> None:
    alice = await bound_secretary(bench)
    await walk_to(alice, 2)
    await bench.replay()
    assert declare_step("problem") in (await alice.press("创新探索型")).text


async def test_a_milestone_counts_in_one_month_only(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    clock.now = at("2027-04-21 10:00")
    admin = bench.user(ADMIN_ID)
    await admin.send("/reopen 2027-001 2027-03")
    await secretary.send("/report 2027-04")  # April: tick the March milestone here
    await secretary.send("四月完成了党群服务中心建设")
    await secretary.press(FIRST_MILESTONE)
    for step in ("下一步 ›", "30%", "无"):
        await secretary.press(step)
    await secretary.send("五月计划")
    await secretary.press("跳过")
    await secretary.press("✅ 提交")
    replies = await secretary.press("📝 填写月报")  # the reopen notice: March
    await secretary.send("三月的进展补报")
    text = bench.api.sent(secretary.id)[-1].text
    assert (
        "完成节点" not in text and f"{report_step('completion', milestones=False)}：完成度" in text
    )
    [m1, *_] = await projects.milestones(bench.app.bot_data.db, 1)
    assert m1.done_month == "2027-04"
    del replies


async def test_files_can_be_cleared_and_sent_again(bench: Bench, secretary: TgUser) -> None:
    await secretary.send("/report")
    for answer in ("完成文林街整治，召开议事会两次", "下一步", "30", "无", "完成剩余街巷整治"):
        await secretary.send(answer)
    await secretary.send_media("photo")
    replies = await secretary.press("🗑 清空重传")
    assert "已清空佐证材料" in replies.text
    r = await report_row(bench)
    assert r is not None and await reports.files(bench.app.bot_data.db, r.id) == []
    assert "已收到第 1 份" in (await secretary.send_media("document")).text


async def test_completion_reason_rules(bench: Bench, secretary: TgUser, clock: Clock) -> None:
    await file_march(secretary, completion="50%")
    clock.now = at("2027-04-21 10:00")
    await secretary.send("/report")
    await secretary.send("四月推进了议事会")
    assert "存在问题和困难" in (await secretary.send("50")).text  # equal: no reason asked
    await secretary.send("上一步")
    assert "低于上月的 50%" in (await secretary.send("40")).text
    await secretary.send("场地改建")
    await secretary.send("无")
    await secretary.send("五月计划")
    await secretary.press("跳过")
    await expect_dialogue(
        secretary,
        [
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("完成度下降原因"), "请说明原因"),
            ("原定场地改建，推迟一月", "完成度下降原因：</b>\n原定场地改建，推迟一月"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("完成度"), "当前：40%"),
            ("70", lambda r: "完成度：</b>70%" in r.text and "下降原因" not in r.text),
        ],
    )
    r = await report_row(bench, "2027-04")
    assert r is not None and r.completion == 70 and r.completion_reason is None


async def test_editing_a_month_compares_with_the_month_before(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    clock.now = at("2027-02-21 10:00")
    await secretary.send("/report")
    for answer in ("二月的进展情况", "20", "无", "三月计划是建中心"):
        await secretary.send(answer)
    await secretary.press("跳过")
    await secretary.press("✅ 提交")
    clock.now = MARCH_21
    await file_march(secretary, plan="四月计划")
    await secretary.send("/report")
    replies = await secretary.press("✏️ 修改本月报告")
    assert "（上月 20%）" in replies.text  # February's, not March's own first version


async def test_a_reopening_expires(bench: Bench, secretary: TgUser, clock: Clock) -> None:
    clock.now = at("2027-04-21 10:00")
    await bench.user(ADMIN_ID).send("/reopen 2027-001 2027-03")
    clock.now = at("2027-04-28 10:01")  # 7 days later
    replies = await secretary.press("📝 填写月报")
    assert "已截止" in replies.text


async def test_an_answer_after_the_window_closed_is_not_stored(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    clock.now = at("2027-04-19 20:00")  # March is late but still open
    await secretary.send("/report")
    clock.now = at("2027-04-20 08:00")  # March closed overnight
    replies = await secretary.send("三月的进展终于补上")
    assert "本条没有保存" in replies.text
    r = await report_row(bench)
    assert r is not None and r.progress is None


async def test_ended_project_and_a_future_reopen(bench: Bench, secretary: TgUser,
                                                 clock: Clock) -> None:  # fmt: skip
    assert "还没有开始" in (await bench.user(ADMIN_ID).send("/reopen 2027-001 2027-05")).text
    clock.now = at("2028-01-25 10:00")
    assert "周期已结束" in (await secretary.send("/report")).text


async def test_problem_and_plan_limits_and_buttons_only_steps(
    bench: Bench, secretary: TgUser
) -> None:
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    assert "请点按钮勾选" in (await secretary.send_media("photo")).text
    await secretary.send("下一步")
    await secretary.send("30")
    assert "最多 500 字，你发了 501 字" in (await secretary.send("难" * 501)).text
    await secretary.send("经费不足")
    assert "最多 500 字" in (await secretary.send("计" * 501)).text
    await secretary.send("下月计划")
    await secretary.press("跳过")
    assert "请点上面核对消息下的按钮" in (await secretary.send_media("photo")).text
    assert "请点上面核对消息下的按钮" in (await secretary.send("提交吧")).text


async def test_reopen_notice_for_a_secretary_who_is_also_filing_the_current_month(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary)
    clock.now = at("2027-04-22 10:00")
    await bench.user(ADMIN_ID).send("/reopen 2027-001 2027-03")
    assert "现在有 2 期月报可以填写" in (await secretary.send("/report")).text
    assert "开始填写 2027 年 4 月月报" in (await secretary.press("2027 年 4 月（本期）")).text
    await secretary.send("取消")
    replies = await secretary.press("📝 填写月报")
    assert "管理员已重新开放本期" in replies.text


async def test_two_devices_share_one_draft(bench: Bench) -> None:
    alice = await approved_project(bench)
    del alice
    # Telegram gives both devices of one account the same user id: one dialog row.
    phone, desktop = bench.user(1001, "李娜"), bench.user(1001, "李娜")
    await phone.send("/new_project")
    replies = await desktop.send("第二个项目名称")
    assert declare_step("kind") in replies.text

"""Every answer lands in the question it answers: edits, replies, resends, a second device."""

from __future__ import annotations

from datetime import datetime

import pytest

from storage import dialogs, projects, reports
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import (
    ANSWERS,
    approved_project,
    bound_secretary,
    declare,
    declare_step,
)
from tests.standin.dialogue import Bench, TgUser

MARCH_21 = datetime(2027, 3, 21, 10, 0, tzinfo=SHANGHAI)
PROGRESS = "完成文林街整治，召开议事会两次"


@pytest.fixture
async def reporter(bench: Bench, clock: Clock) -> TgUser:
    """A secretary with project 2027-001 approved; it is 2027-03-21."""
    user = await approved_project(bench)
    clock.now = MARCH_21
    return user


async def report_row(bench: Bench):
    return await reports.of_period(bench.app.bot_data.db, 1, "2027-03")


async def where(bench: Bench, user: TgUser) -> str | None:
    dialog = await dialogs.get(bench.app.bot_data.db, user.id)
    return dialog.step if dialog else None


async def test_an_edited_answer_replaces_the_answer_it_edits(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send("完成文林街整治，召开议事会一次")
    answer = reporter.sent[-1]
    assert "完成节点" in (await reporter.send("/report")).text
    replies = await reporter.edit(PROGRESS, answer)
    assert "已按你修改后的消息更新“本月主要进展”" in replies.text
    assert "原为：完成文林街整治，召开议事会一次" in replies.text
    assert f"现为：{PROGRESS}" in replies.text
    assert "完成节点" in replies.text  # the open question is asked again, not the next one
    row = await report_row(bench)
    assert row is not None and row.progress == PROGRESS and not row.milestones_set
    assert await where(bench, reporter) == "milestones"


async def test_an_edit_after_submitting_changes_nothing_and_says_so(
    bench: Bench, reporter: TgUser, clock: Clock
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    answer = reporter.sent[-1]
    await reporter.press("下一步 ›")
    await reporter.press("30%")
    await reporter.press("无")
    await reporter.send("完成剩余街巷整治")
    await reporter.press("跳过")
    await reporter.press("✅ 提交")
    replies = await reporter.edit("改过的进展，不应保存", answer)
    # The reply points the way that works while the report can change: 修改本月报告.
    assert "月报已经提交，修改已发送的消息不会改动它" in replies.text
    assert "可修改至 2027-04-19" in replies.text and "/report" in replies.text
    assert "重新发送" not in replies.text
    row = await report_row(bench)
    assert row is not None and row.progress == PROGRESS
    await reporter.press("✏️ 修改本月报告")
    await reporter.press("✏️ 修改某项")
    await reporter.press("本月主要进展")
    assert "请核对" in (await reporter.send("改过的进展，经修改本月报告保存")).text
    await reporter.press("✅ 提交")
    row = await report_row(bench)
    assert row is not None and (row.version, row.progress) == (2, "改过的进展，经修改本月报告保存")
    # Once the period has closed, the same edit is told the report can no longer change.
    clock.now = datetime(2027, 4, 21, 10, 0, tzinfo=SHANGHAI)
    replies = await reporter.edit("再改一次", answer)
    assert "2027 年 3 月月报已截止，不能再修改" in replies.text and not replies.buttons


async def test_an_edit_to_a_draft_left_with_cancel_says_to_continue_with_report(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    answer = reporter.sent[-1]
    await reporter.send("取消")
    replies = await reporter.edit("改过的进展", answer)
    assert "月报还没有提交" in replies.text and "发送 /report 继续填写" in replies.text


async def test_a_reply_to_an_earlier_question_answers_that_question(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    asked_progress = reporter.last_bot_message()
    await reporter.send("完成文林街整治")
    await reporter.press("下一步 ›")
    replies = await reporter.send(PROGRESS, reply_to=asked_progress)
    assert "已把这条消息作为“本月主要进展”的回答保存，替换了原来的回答" in replies.text
    assert "完成度" in replies.text
    row = await report_row(bench)
    assert row is not None and row.progress == PROGRESS and row.completion is None
    assert await where(bench, reporter) == "completion"


async def test_a_span_sent_twice_is_not_taken_for_the_milestones(
    bench: Bench, clock: Clock
) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    for step in ("name", "kind", "problem", "measures", "targets"):
        if step == "kind":
            await secretary.press("典型示范型")
        else:
            await secretary.send(ANSWERS[step])
    assert declare_step("milestones") in (await secretary.send(ANSWERS["span"])).text
    clock.advance(seconds=20)
    replies = await secretary.send(ANSWERS["span"])
    # It could be read as one milestone ("2027-01 至 2027-12"), so the person is asked.
    assert "这条消息和你刚才对“起止时间”的回答一样。它是重发的" in replies.text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and not project.milestones_set
    assert declare_step("milestones") in (await secretary.press("不保存")).text
    await secretary.send(ANSWERS["milestones"])
    milestones = await projects.milestones(bench.app.bot_data.db, 1)
    assert [m.month for m in milestones] == ["2027-03", "2027-06", "2027-12"]


async def test_none_twice_is_a_resend_where_none_cannot_answer(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    await reporter.press("下一步 ›")
    await reporter.press("30%")
    assert "下月工作计划" in (await reporter.send("无")).text
    replies = await reporter.send("无")
    assert "像是重发的，没有再保存" in replies.text and "下月工作计划" in replies.text
    row = await report_row(bench)
    assert row is not None and (row.problems, row.plan) == ("无", None)


async def test_the_same_text_that_also_answers_the_open_question_is_asked_about(
    bench: Bench,
) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    await secretary.send(ANSWERS["name"])
    await secretary.press("典型示范型")
    await secretary.send(ANSWERS["problem"])
    replies = await secretary.send(ANSWERS["problem"])
    assert "它是重发的，还是也作为“主要内容和举措”的回答？" in replies.text
    assert [b for b, _ in replies.buttons] == ["作为“主要内容和举措”的回答", "不保存"]
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.measures is None  # nothing stored before the choice
    choice = secretary.last_bot_message()
    assert declare_step("targets") in (await secretary.press("作为“主要内容和举措”的回答")).text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.measures == ANSWERS["problem"]
    # The choice is made once: its other button, pressed later, changes nothing.
    [not_kept] = [b for row in choice["reply_markup"]["inline_keyboard"] for b in row
                  if b["text"] == "不保存"]  # fmt: skip
    assert await secretary.press_data(not_kept["callback_data"], choice) == []
    assert "已失效" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.measures == ANSWERS["problem"]


async def test_a_resend_not_kept_when_the_person_says_so(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    await secretary.send(ANSWERS["name"])
    await secretary.press("典型示范型")
    await secretary.send(ANSWERS["problem"])
    await secretary.send(ANSWERS["problem"])
    replies = await secretary.press("不保存")
    assert "这条消息没有保存" in replies.text and declare_step("measures") in replies.text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.measures is None


async def test_a_second_device_answering_an_answered_question_is_asked_which(
    bench: Bench, clock: Clock
) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")  # 项目名称 asked
    typed_on_tablet = clock().timestamp() + 30  # written on a second device, sent late
    clock.advance(seconds=60)
    assert declare_step("kind") in (await secretary.send(ANSWERS["name"])).text
    clock.advance(seconds=60)
    tablet = bench.user(secretary.id, "李娜")
    replies = await tablet.send("南强街巷党建项目", written=typed_on_tablet)
    assert "可能是对“项目名称”的回答，而那一项已经回答过了" in replies.text
    assert [b for b, _ in replies.buttons] == [
        "改为“项目名称”的回答",
        "作为“项目类型”的回答",
        "不保存",
    ]
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.name == ANSWERS["name"] and project.kind is None
    replies = await tablet.press("改为“项目名称”的回答")
    assert "已把这条消息作为“项目名称”的回答保存" in replies.text and "项目类型" in replies.text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.name == "南强街巷党建项目" and project.kind is None
    assert await where(bench, secretary) == "kind"


async def test_earlier_questions_lose_their_buttons(bench: Bench, reporter: TgUser) -> None:
    await reporter.send("/report")
    first = reporter.last_bot_message()
    assert first.get("reply_markup")  # 取消 under the first question
    await reporter.send(PROGRESS)
    shown = bench.api.messages[(reporter.id, first["message_id"])]
    assert not shown.get("reply_markup", {}).get("inline_keyboard")


async def test_a_quoted_name_inside_quotes_uses_single_quotes(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary, name="文林街“红色管家”项目")
    admin = bench.user(ADMIN_ID)
    replies = await admin.press("↩️ 退回修改")
    assert "请输入退回“文林街‘红色管家’项目”（护国街道党工委）的理由" in replies.text


async def test_the_files_step_names_only_the_button_it_shows(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    await reporter.press("下一步 ›")
    await reporter.press("30%")
    await reporter.press("无")
    replies = await reporter.send("完成剩余街巷整治")
    assert "没有就点“跳过”" in replies.text and "“完成”" not in replies.text
    assert "跳过" in [b for b, _ in replies.buttons]
    replies = await reporter.send_media("photo")
    assert "发完点“完成”" in replies.text and "✅ 完成" in [b for b, _ in replies.buttons]


async def test_the_receipt_gives_one_last_day_for_changes(bench: Bench, reporter: TgUser) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    await reporter.press("下一步 ›")
    await reporter.press("30%")
    await reporter.press("无")
    await reporter.send("完成剩余街巷整治")
    await reporter.press("跳过")
    receipt = (await reporter.press("✅ 提交")).text
    assert "截止 2027-03-25" in receipt and "可修改至 2027-04-19" in receipt
    assert "截止前" not in receipt
    again = (await reporter.send("/report")).text
    assert "可修改至 2027-04-19" in again and "截止前" not in again


async def test_a_refused_edit_keeps_the_open_question_and_its_buttons(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    answer = reporter.sent[-1]
    replies = await reporter.edit("好", answer)  # too short for 本月主要进展
    assert "请多写几个字" in replies.text and "完成节点" in replies.text
    assert all(":milestones:" in data for _, data in replies.buttons)
    row = await report_row(bench)
    assert row is not None and row.progress == PROGRESS


async def test_the_same_answer_again_after_going_back_is_taken(
    bench: Bench, reporter: TgUser
) -> None:
    await reporter.send("/report")
    await reporter.send(PROGRESS)
    assert "本月主要进展" in (await reporter.send("上一步")).text
    replies = await reporter.send(PROGRESS)  # the question is open again: this answers it
    assert "重发" not in replies.text and "完成节点" in replies.text
    assert await where(bench, reporter) == "milestones"

"""督办单 through the real Application: issuing (both forms), numbering, the secretary's
签收 and 反馈, 办结 and 退回, every refusal, and each reminder with `now` passed in."""

from __future__ import annotations

import asyncio
import re
from datetime import UTC, datetime

import pytest

from bot.services import duban, groups
from scheduler.tick import run_tick
from storage import notices
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue

ALICE, BOB = 1001, 1002


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
async def alice(bench: Bench, clock: Clock) -> TgUser:
    """WH01's secretary with project 2026-001; it is 2026-11-21 (Saturday) 10:00."""
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    return bench.user(ALICE, "李娜")


async def issue(
    bench: Bench, line: str = "/duban 2026-001 台账未更新 | 补齐3-5月台账 | 7天"
) -> str:
    admin = bench.user(ADMIN_ID)
    await admin.send(line)
    replies = await admin.press("📤 下发")
    return replies.text


async def sign_and_answer(alice: TgUser) -> None:
    """签收, then 反馈 in a few words with no file, and 提交."""
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    await alice.send("已整改完毕")
    await alice.press("跳过")
    await alice.press("✅ 提交")


async def notice(bench: Bench, notice_id: int = 1):
    found = await notices.get(bench.app.bot_data.db, notice_id)
    assert found is not None
    return found


async def test_whole_life_step_by_step(bench: Bench, alice: TgUser) -> None:
    admin = bench.user(ADMIN_ID)
    await expect_dialogue(
        admin,
        [
            ("/duban 2026-001 台账未更新", "督办单 · 整改要求"),
            ("补齐 3–5 月台账，并在月报中逐项说明", "督办单 · 整改期限"),
            (Press("7天"), "书记将收到如下督办单"),
            (Press("📤 下发"), "已下发 <b>督办〔2026〕第1号</b>"),
        ],
    )
    # 7 days from Saturday 11-21 is Saturday 11-28, moved to Monday 11-30
    to_alice = bench.api.sent(ALICE)[-1]
    assert (
        "<b>督办〔2026〕第1号</b>" in to_alice.text and "2026-11-30 前反馈整改情况" in to_alice.text
    )
    assert [b for b, _ in to_alice.buttons] == ["✅ 签收"]
    # An official notice: title, number, addressee, problem, requirement, deadline, issuer,
    # date, in that order; then 签收.
    order = ["书记项目督办通知单", "督办〔2026〕第1号", "书记 ", "一、存在问题", "台账未更新",
             "二、整改要求", "三、整改期限", "组织部", "2026年11月21日", "签收"]  # fmt: skip
    places = [to_alice.text.find(part) for part in order]
    assert -1 not in places and places == sorted(places), places
    assert "已签收 督办〔2026〕第1号" in (await alice.press("✅ 签收")).text
    assert (await notice(bench)).status == "signed"
    await alice.press("📝 反馈整改情况")
    await alice.send("已补齐 3–5 月台账 3 本")
    assert "已收到第 1 份" in (await alice.send_media("photo")).text
    await alice.press("✅ 完成")
    assert "等待组织部办结" in (await alice.press("✅ 提交")).text
    to_admin = bench.api.sent(ADMIN_ID)[-1]
    assert "收到整改反馈" in to_admin.text and "已补齐 3–5 月台账 3 本" in to_admin.text
    assert [b for b, _ in to_admin.buttons] == ["✅ 办结", "↩️ 退回"]
    first_round = admin.last_bot_message(with_button="✅ 办结")
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回"), "请输入退回 督办〔2026〕第1号 的理由"),
            ("", "不能为空"),
            ("照片看不清，请补拍台账封面", "已退回 督办〔2026〕第1号"),
        ],
    )
    assert (await notice(bench)).status == "signed"
    assert "理由：照片看不清，请补拍台账封面" in bench.api.sent(ALICE)[-1].text
    await expect_dialogue(
        alice,
        [
            (Press("📝 反馈整改情况"), "上次反馈：已补齐 3–5 月台账 3 本"),
            (Press("沿用上次内容 ›"), "佐证材料"),
            (Press("✅ 完成"), "请核对"),
            (Press("✅ 提交"), "等待组织部办结"),
        ],
    )
    # the first round's 办结 is stale now
    await admin.press("✅ 办结", first_round)
    assert "状态已经变了" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    assert (await notice(bench)).status == "answered"
    assert "已办结，已通知书记" in (await admin.press("✅ 办结")).text
    assert "已办结，感谢配合" in bench.api.sent(ALICE)[-1].text
    n = await notice(bench)
    assert (n.status, n.round, n.year, n.seq) == ("closed", 2, 2026, 1)
    history = await notices.events(bench.app.bot_data.db, 1)
    assert [(e.action, e.by_user) for e in history] == [
        ("issue", ADMIN_ID), ("sign", ALICE), ("answer", ALICE), ("return", ADMIN_ID),
        ("answer", ALICE), ("close", ADMIN_ID),
    ]  # fmt: skip
    text = (await admin.send("/duban_show 督办〔2026〕第1号")).text
    assert "退回：照片看不清，请补拍台账封面" in text and "状态：已办结" in text
    assert "（附 1 份材料）" in text


async def test_one_line_form(bench: Bench, alice: TgUser) -> None:
    admin = bench.user(ADMIN_ID)
    replies = await admin.send("/duban 2026-001 台账未更新 | 补齐3-5月台账 | 2026-12-04")
    assert "书记将收到如下督办单" in replies.text and "2026-12-04 前反馈" in replies.text
    await admin.press("📤 下发")
    assert (await notice(bench)).deadline == "2026-12-04"
    replies = await admin.send("/duban 2026-001 问题 | 要求 | ２０２６－１２－０８")
    assert "2026-12-08 前反馈" in replies.text  # full-width, as a Chinese keyboard types it
    await admin.send("/cancel")
    replies = await admin.send("/duban 2026-001 问题 | 要求 | 下周")
    assert "没有看懂期限" in replies.text and "整改期限" in replies.text
    assert "书记将收到" in (await admin.send("10天")).text


async def test_the_deadline_example_is_a_date_after_today(
    bench: Bench, alice: TgUser, clock: Clock
) -> None:
    """The prompt's example date obeys the rule beside it (after today), whatever today is."""
    clock.now = at("2027-03-21 10:00")
    admin = bench.user(ADMIN_ID)
    text = (await admin.send("/duban 2026-001 问题 | 要求 | 下周")).text
    assert "没有看懂期限" in text and "写今天之后的日期" in text
    [example] = re.findall(r"日期（如 (\d{4}-\d{2}-\d{2})）", text)
    assert example > "2027-03-21"
    assert "书记将收到" in (await admin.send(example)).text  # and the bot takes it


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        ("/duban", "用法：/duban 项目编号 发现的问题"),
        ("/duban 2026-001", "用法"),
        ("/duban 2026-999 台账未更新", "找不到项目“2026-999”"),
        ("/duban 2026-001 " + "问" * 501, "最多 500 字"),
        ("/duban 2026-001 问题 | 要求", "用法"),
    ],
)
async def test_issue_refusals(bench: Bench, alice: TgUser, line: str, expected: str) -> None:
    assert expected in (await bench.user(ADMIN_ID).send(line)).text
    assert await notices.listing(bench.app.bot_data.db) == []


async def test_a_closed_or_unapproved_project_is_refused(bench: Bench, alice: TgUser) -> None:
    async with bench.app.bot_data.db.transaction() as conn:
        await conn.execute("UPDATE projects SET status = 'concluded' WHERE id = 1")
    text = (await bench.user(ADMIN_ID).send("/duban 2026-001 台账未更新")).text
    assert "当前状态为“已结题”，只有在建（已立项）的项目可以督办" in text


async def test_only_admins_issue_close_and_return(bench: Bench, alice: TgUser) -> None:
    assert "仅限管理员" in (await alice.send("/duban 2026-001 台账未更新")).text
    assert "仅限管理员" in (await alice.send("/duban_list")).text
    await issue(bench)
    await sign_and_answer(alice)
    for data in ("v:1:1:c", "v:1:1:r"):
        await alice.press_data(data)
        assert "只有管理员" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    assert (await notice(bench)).status == "answered"


async def test_only_the_projects_secretary_signs_and_answers(
    bench: Bench, alice: TgUser, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", BOB, clock())
    await issue(bench)
    message = alice.last_bot_message(with_button="✅ 签收")
    bob = bench.user(BOB)
    for who, data in ((bob, "n:1:sign:1"), (bench.user(ADMIN_ID), "n:1:sign:1"),
                      (bob, "n:1:ans:1")):  # fmt: skip
        await who.press_data(data, message)
        assert "只有该项目所在组织的书记" in bench.api.methods("answerCallbackQuery")[-1].params[
            "text"]  # fmt: skip
    assert (await notice(bench)).status == "issued"
    assert "请先签收" in (await alice.press_data("n:1:ans:1", message)).text
    await alice.press("✅ 签收", message)
    assert "当前状态：已签收" in (await alice.press_data("n:1:sign:1", message)).text
    for forged in ("n:1:ans:7", "n:99:sign:1", "n:x", "a:1:preview:submit", "v:1:1:c"):
        await alice.press_data(forged, message)
    assert (await notice(bench)).status == "signed"


async def test_answer_bad_input_and_cancel(bench: Bench, alice: TgUser) -> None:
    await issue(bench)
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    assert "这一步需要文字回答" in (await alice.send_media("sticker")).text
    assert "最多 1000 字" in (await alice.send("改" * 1001)).text
    await alice.send("<b>已整改</b> & 完毕")
    assert "这一步请发送照片或文件" in (await alice.send("没有照片")).text
    assert "已退出" in (await alice.send("/cancel")).text
    n = await notice(bench)
    assert n.status == "signed" and n.feedback == "<b>已整改</b> & 完毕"


async def test_drafting_can_be_cancelled_and_leaves_no_number(bench: Bench, alice: TgUser):
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新")
    assert "督办单没有下发" in (await admin.send("取消")).text
    await admin.send("/duban 2026-001 问题 | 要求 | 3天")
    await admin.send("/cancel")
    await issue(bench)
    [only] = await notices.listing(bench.app.bot_data.db)
    assert only.seq == 1  # cancelled drafts take no number


async def test_numbers_are_gap_free_under_concurrency_and_per_year(
    bench: Bench, alice: TgUser, clock: Clock
) -> None:
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    admins = [ADMIN_ID]
    drafts = []
    for i in range(8):
        async with db.transaction() as conn:
            drafts.append(await notices.create_draft(conn, 1, f"问题{i}", ADMIN_ID, ts(clock())))
            await notices.set_draft(conn, drafts[-1], {"requirement": "要求",
                                                       "deadline": "2026-12-31"})  # fmt: skip
    results = await asyncio.gather(*(duban._issue(db, cal, admins[0], d, clock())
                                     for d in drafts))  # fmt: skip
    assert all(r.kind == "issued" for r in results)
    numbers = sorted([(await notice(bench, d)).seq for d in drafts])  # type: ignore[misc]
    assert numbers == list(range(1, 9))
    # a new year starts again at 1
    async with db.transaction() as conn:
        next_year = await notices.create_draft(conn, 1, "新年问题", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, next_year, {"requirement": "要求",
                                                  "deadline": "2027-01-20"})  # fmt: skip
    await duban._issue(db, cal, ADMIN_ID, next_year, at("2027-01-04 09:00"))
    n = await notice(bench, next_year)
    assert (n.year, n.seq) == (2027, 1)


async def test_list_and_show(bench: Bench, alice: TgUser, clock: Clock) -> None:
    await issue(bench)
    await issue(bench, "/duban 2026-001 第二个问题 | 要求 | 3天")
    await alice.press("✅ 签收", alice.last_bot_message(with_button="✅ 签收"))
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-25 10:00")  # #1 unsigned > 24 h; #2 due 11-24 (Tue), now late
    text = (await admin.send("/duban_list")).text
    assert "共 2 份" in text
    assert "督办〔2026〕第2号 护国街道党工委 · 已签收（待反馈） ⚠️ 已逾期" in text
    assert "督办〔2026〕第1号 护国街道党工委 · 已下发（待签收） ⚠️ 已逾期" in text
    assert "共 1 份" in (await admin.send("/duban_list 未签收")).text
    assert "没有看懂“随便”" in (await admin.send("/duban_list 随便")).text
    assert "找不到督办单“99”" in (await admin.send("/duban_show 99")).text
    assert "<b>督办〔2026〕第2号</b>" in (await admin.send("/duban_show 2026-2")).text


async def test_reminders(bench: Bench, alice: TgUser, clock: Clock) -> None:
    db = bench.app.bot_data.db
    await groups.bind_group(db, -3001, "督导群", ADMIN_ID, None, clock())
    await groups.bind_group(db, -3002, "别的片区", ADMIN_ID, "WH05", clock())
    await issue(bench, "/duban 2026-001 台账未更新 | 补齐台账 | 2026-11-26")

    async def tick(when: str) -> list[str]:
        since = len(bench.api.calls)
        await run_tick(bench.app, at(when))
        return [c.text for c in bench.api.sent(since=since)
                if "督办" in c.text and "月通报" not in c.text]  # fmt: skip

    assert await tick("2026-11-22 09:59") == []
    [nudge] = await tick("2026-11-22 10:00")  # 24 h after 10:00 on the 21st
    assert "超过 24 小时还没有签收" in nudge
    assert await tick("2026-11-22 10:30") == []  # once
    await alice.press("✅ 签收", alice.last_bot_message(with_button="✅ 签收"))
    [eve] = await tick("2026-11-25 09:00")
    assert "明天（2026-11-26）到期" in eve
    reminder = next(c for c in reversed(bench.api.sent(ALICE)) if "明天" in c.text)
    assert [b for b, _ in reminder.buttons] == ["📝 反馈整改情况"]
    sent = await tick("2026-11-27 09:00")
    assert len(sent) == 2 and any("已逾期" in t for t in sent)
    [group] = [c.text for c in bench.api.sent(-3001) if "<b>督办单逾期</b>" in c.text]
    assert "督办单逾期" in group and "已签收、尚未反馈" in group
    assert bench.api.sent(-3002) == []  # not its organization
    assert await tick("2026-11-28 09:00") == []


async def test_no_reminder_for_an_answered_notice_or_at_night(bench: Bench, alice: TgUser):
    await issue(bench, "/duban 2026-001 台账未更新 | 补齐台账 | 2026-11-26")
    result = await run_tick(bench.app, at("2026-11-22 23:00"))
    assert result.quiet and not any("督办" in c.text for c in bench.api.sent(ALICE)[1:])
    await alice.press("✅ 签收", alice.last_bot_message(with_button="✅ 签收"))
    await alice.press("📝 反馈整改情况")
    await alice.send("已整改完毕")
    await alice.press("跳过")
    await alice.press("✅ 提交")
    since = len(bench.api.calls)
    for when in ("2026-11-25 09:00", "2026-11-27 09:00"):
        await run_tick(bench.app, at(when))
    assert not any("督办" in c.text for c in bench.api.sent(since=since))


async def test_a_photo_while_drafting_is_not_the_requirement(bench: Bench, alice: TgUser):
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新")
    assert "这一步需要文字回答" in (await admin.send_media("photo")).text
    draft = await notice(bench)
    assert draft.requirement is None


async def test_back_while_drafting_and_answering(bench: Bench, alice: TgUser) -> None:
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新")
    await admin.send("补齐台账")
    assert "整改要求" in (await admin.send("上一步")).text
    assert (await notice(bench)).requirement == "补齐台账"  # 上一步 is not stored as content
    await admin.send("补齐台账")
    await admin.press("7天")
    await admin.press("📤 下发")
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    await alice.send("已整改")
    assert "整改情况" in (await alice.send("上一步")).text
    assert (await notice(bench)).feedback == "已整改"


async def test_an_old_preview_cannot_issue_a_passed_deadline(bench: Bench, alice: TgUser,
                                                             clock: Clock) -> None:  # fmt: skip
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新 | 补齐台账 | 3天")
    clock.now = at("2026-12-20 10:00")
    replies = await admin.press("📤 下发")
    assert "没有看懂期限" in replies.text and "整改期限" in replies.text
    assert (await notice(bench)).status == "draft"


async def test_caption_is_the_answer_and_files_can_be_cleared(bench: Bench,
                                                              alice: TgUser) -> None:  # fmt: skip
    await issue(bench)
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    replies = await alice.send_media("photo", caption="已补齐台账，见照片")
    assert "已收到 1 份" in replies.text
    n = await notice(bench)
    assert n.feedback == "已补齐台账，见照片" and len(n.feedback_files) == 1
    assert "已清空材料" in (await alice.press("🗑 清空重传")).text
    assert (await notice(bench)).feedback_files == []


async def test_a_given_up_return_leaves_buttons_to_finish_it(bench: Bench, alice: TgUser):
    await issue(bench)
    await sign_and_answer(alice)
    admin = bench.user(ADMIN_ID)
    await admin.press("↩️ 退回")
    replies = await admin.send("取消")
    assert [b for b, _ in replies.buttons] == ["✅ 办结", "↩️ 退回"]
    replies = await admin.send("/duban_show 1")
    assert [b for b, _ in replies.buttons] == ["✅ 办结", "↩️ 退回"]
    assert "已办结" in (await admin.press("✅ 办结")).text


async def test_the_year_of_a_number_is_the_local_year(bench: Bench, alice: TgUser,
                                                      clock: Clock) -> None:  # fmt: skip
    clock.now = datetime(2026, 12, 31, 17, 0, tzinfo=UTC)  # 01:00 on 1 January, local
    await issue(bench, "/duban 2026-001 台账 | 补齐 | 7天")
    n = await notice(bench)
    assert (n.year, n.seq) == (2027, 1)


async def test_old_draft_buttons_never_act_on_a_new_draft(bench: Bench, alice: TgUser) -> None:
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 第一个 | 要求 | 3天")
    old = admin.last_bot_message(with_button="📤 下发")
    await admin.send("取消")
    await admin.send("/duban 2026-001 第二个 | 要求 | 3天")
    await admin.press("📤 下发", old)
    assert await notices.listing(bench.app.bot_data.db) == []


async def test_cancel_command_on_a_return_reason_gives_the_decision_back(
    bench: Bench, alice: TgUser
) -> None:
    await issue(bench)
    await sign_and_answer(alice)
    admin = bench.user(ADMIN_ID)
    await admin.press("↩️ 退回")
    replies = await admin.send("/cancel")
    assert [b for b, _ in replies.buttons] == ["✅ 办结", "↩️ 退回"]
    assert "已办结" in (await admin.press("✅ 办结")).text


async def test_a_terminated_projects_open_notice_stops_nagging(
    bench: Bench, alice: TgUser, clock: Clock
) -> None:
    await groups.bind_group(bench.app.bot_data.db, -3001, "督导群", ADMIN_ID, None, clock())
    await issue(bench, "/duban 2026-001 台账未更新 | 补齐台账 | 2026-11-26")
    done = await bench.user(ADMIN_ID).send("/terminate 2026-001 项目主体撤并")
    assert "已终止" in done.text
    since = len(bench.api.calls)
    for when in ("2026-11-22 10:00", "2026-11-25 09:00", "2026-11-27 09:00"):
        await run_tick(bench.app, at(when))
    assert not any("督办" in c.text for c in bench.api.sent(since=since))
    # Withdrawn with its project, in the same transaction: never listed as overdue.
    assert (await notice(bench)).status == "withdrawn"
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-27 10:00")  # past its deadline
    listing = (await admin.send("/duban_list")).text
    assert "已撤销（因项目终止）" in listing and "逾期" not in listing
    assert "暂无督办单" in (await admin.send("/duban_list 逾期")).text
    assert "撤销（项目终止）：项目主体撤并" in (await admin.send("/duban_show 1")).text
    # The secretary's 签收 under the old notice changes nothing and says where it stands.
    await alice.press("✅ 签收")
    assert (await notice(bench)).status == "withdrawn"


async def test_an_answer_being_written_ends_when_the_project_is_terminated(
    bench: Bench, alice: TgUser
) -> None:
    await issue(bench)
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    done = await bench.user(ADMIN_ID).send("/terminate 2026-001 项目主体撤并")
    assert "督办单 1 份已撤销" in done.text
    assert "督办单已撤销" in bench.api.sent(ALICE)[-1].text
    replies = await alice.send("已整改完毕")
    assert "督办〔2026〕第1号已撤销（因项目终止），不再需要反馈" in replies.text
    found = await notice(bench)
    assert (found.status, found.feedback) == ("withdrawn", None)


async def test_a_button_of_an_answer_to_a_withdrawn_notice_says_it_was_withdrawn(
    bench: Bench, alice: TgUser
) -> None:
    await issue(bench)
    await alice.press("✅ 签收")
    await alice.press("📝 反馈整改情况")
    await alice.send("已整改完毕")
    await alice.press("跳过")
    await bench.user(ADMIN_ID).send("/terminate 2026-001 项目主体撤并")
    # 提交 on the preview: told why, not the generic alert, and the conversation is over.
    replies = await alice.press("✅ 提交")
    assert "督办〔2026〕第1号已撤销（因项目终止），不再需要反馈" in replies.text
    assert (await notice(bench)).status == "withdrawn"
    assert "督办〔2026〕第1号已撤销" not in (await alice.send("上一步")).text

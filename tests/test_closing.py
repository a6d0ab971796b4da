"""结题: the closing report on the step engine, the admins' decision, early closing, and the
clock's invitation and reminders, each once, on working days."""

from __future__ import annotations

import asyncio
import contextvars
import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from bot.services.planner import CLOSING_REMINDERS
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from scheduler.tick import run_tick
from storage import closing, plans, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import closing_step, seed_project
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue

SECRETARY = 1001
OVERVIEW = "针对老旧小区无物业、停车难等问题，2026 年 1 月立项，计划整治背街小巷 12 条。"
DOING = "成立街巷党小组 6 个，建立党员认领、每周巡查、问题销号机制，12 条街巷全部整治完成。"
RESULTS = "群众满意率由 72% 提高到 93%，做法已在 3 个社区推广。"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def project(
    bench: Bench, clock: Clock, span: tuple[str, str] = ("2026-01", "2026-12")
) -> int:
    return await seed_project(bench.app.bot_data.db, "WH01", SECRETARY, clock(), span=span)


async def write_and_submit(secretary: TgUser) -> None:
    await expect_dialogue(
        secretary,
        [
            ("/closing", closing_step("overview") + "：<b>项目概况</b>"),
            ("短", "至少写 10 个字"),
            (OVERVIEW, closing_step("implementation") + "：<b>实施情况</b>"),
            (DOING, closing_step("results") + "：<b>成果经验</b>"),
            ("上一步", closing_step("implementation")),
            (DOING, closing_step("results")),
            (RESULTS, closing_step("evaluation") + "：<b>评价建议</b>"),
            ("目标全部完成，长效管护还需完善。", closing_step("files") + "：<b>佐证材料</b>"),
        ],
    )
    assert "已收到第 1 份" in (await secretary.send_media("photo")).text
    await expect_dialogue(
        secretary,
        [
            (Press("✅ 完成"), "请核对结题报告"),
            (Press("✅ 提交"), "结题报告已提交（第 1 次）"),
        ],
    )


async def test_write_return_resubmit_and_accept(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await write_and_submit(secretary)
    admin = bench.user(ADMIN_ID, "组织部小王")
    first = admin.last_bot_message(with_button="✅ 通过结题")
    assert "提交了结题报告（第 1 次提交）" in first["text"] and RESULTS in first["text"]
    # Someone else's buttons change nothing.
    stranger = bench.user(4001, "路人")
    await stranger.send("/help")
    await stranger.press_data("cr:1:1:a")
    assert "只有管理员" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    await stranger.press_data("cs:1:preview:submit:")
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回修改"), "请输入退回“街巷党建项目”（护国街道党工委）结题报告的理由"),
            ("", "退回理由不能为空"),
            ("成果经验要写清楚推广到了哪几个社区", "已退回“街巷党建项目”的结题报告"),
        ],
    )
    told = bench.api.sent(SECRETARY)[-1]
    assert "理由：成果经验要写清楚推广到了哪几个社区" in told.text
    await expect_dialogue(
        secretary,
        [
            (Press("📝 填写结题报告"), "理由：成果经验要写清楚推广到了哪几个社区"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("成果经验"), closing_step("results")),
            ("群众满意率提高到 93%，做法已在华山、大观、翠湖 3 个社区推广。", "请核对结题报告"),
            (Press("✅ 提交"), "结题报告已提交（第 2 次）"),
        ],
    )
    # The first round's buttons are stale now.
    stale = await admin.press("✅ 通过结题", first)
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert stale.text == ""
    assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    assert (await projects.get(bench.app.bot_data.db, pid)).status == "approved"  # type: ignore[union-attr]
    accepted = await admin.press("✅ 通过结题")
    assert "项目已结题" in accepted.text
    assert (await projects.get(bench.app.bot_data.db, pid)).status == "concluded"  # type: ignore[union-attr]
    assert "结题报告已通过，项目已结题" in bench.api.sent(SECRETARY)[-1].text
    report = await closing.of_project(bench.app.bot_data.db, pid)
    assert report is not None and report.status == "accepted"
    assert await closing.versions(bench.app.bot_data.db, report.id) == 2
    events = [e.action for e in await closing.events(bench.app.bot_data.db, pid)]
    assert events == ["submit", "return", "submit", "accept"]
    assert "已通过，项目已结题" in (await secretary.send("/closing")).text
    # The year's ledger carries the closing report, as it stands, with its submissions.
    await admin.send("/ledger 2026")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert doc.upload is not None
    book = load_workbook(io.BytesIO(doc.upload[1]))
    assert "结题报告" in book.sheetnames
    [row] = [[c.value for c in r] for r in book["结题报告"].iter_rows(min_row=3)]
    assert row[:5] == ["2026-001", "街巷党建项目", "护国街道党工委", "已通过", 2]
    assert row[6] == OVERVIEW and "翠湖" in row[8] and row[10] == 1


async def test_not_before_the_last_month_unless_opened_early(bench: Bench, clock: Clock) -> None:
    await project(bench, clock)
    clock.now = at("2026-10-12 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    assert "还没到填写结题报告的时候" in (await secretary.send("/closing")).text
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "用法：/close_early" in (await admin.send("/close_early")).text
    assert "请写明提前结题的原因" in (await admin.send("/close_early 2026-001")).text
    assert "仅限" in (await secretary.send("/close_early 2026-001 完成了")).text
    opened = await admin.send("/close_early 2026-001 目标已于 9 月全部完成")
    assert "已同意“街巷党建项目”（2026-001）提前结题，已通知书记" in opened.text
    assert "目标已于 9 月全部完成" in bench.api.sent(SECRETARY)[-1].text
    first = await secretary.press("📝 填写结题报告")
    assert closing_step("overview") in first.text
    # The next question is the acknowledgement: no "✅ 已保存。" before each one.
    second = await secretary.send(OVERVIEW)
    assert second.text.startswith("结题报告 · ") and "已保存" not in second.text
    assert "无需再开放" in (await admin.send("/close_early 2026-001 再来一次")).text


async def test_opened_early_is_one_notice_then_weekly_reminders(bench: Bench, clock: Clock) -> None:
    await project(bench, clock)
    clock.now = at("2026-10-12 10:00")  # a Monday
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.send("/close_early 2026-001 目标已于 9 月全部完成")

    def sent() -> list[str]:
        return [c.text for c in bench.api.sent(SECRETARY) if "结题" in c.text]

    assert len(sent()) == 1 and "提前结题" in sent()[0]
    for moment in ("2026-10-12 10:01", "2026-10-13 09:00", "2026-10-14 09:00"):
        await run_tick(bench.app, at(moment))
    assert len(sent()) == 1  # the early notice was the invitation
    await run_tick(bench.app, at("2026-10-19 09:00"))
    assert len(sent()) == 2 and "结题报告还没有提交" in sent()[1]
    assert not [t for t in sent() if "最后一个月" in t]


async def test_the_clock_invites_then_reminds_weekly_once_each(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    secretary = bench.user(SECRETARY, "李娜")

    def sent(word: str) -> list[str]:
        return [c.text for c in bench.api.sent(SECRETARY) if word in c.text]

    await run_tick(bench.app, at("2026-11-30 09:00"))
    assert sent("结题报告") == []  # the last month has not begun
    # 2026-12-01 is a Tuesday, a working day.
    for moment in ("2026-12-01 08:59", "2026-12-01 09:00", "2026-12-01 09:01", "2026-12-02 09:00"):
        await run_tick(bench.app, at(moment))
    assert len(sent("已进入最后一个月（2026-12）")) == 1
    await run_tick(bench.app, at("2026-12-08 09:00"))
    await run_tick(bench.app, at("2026-12-08 15:00"))
    assert len(sent("结题报告还没有提交")) == 1
    # Filed: no more reminders.
    clock.now = at("2026-12-09 10:00")
    await write_and_submit(secretary)
    for week in range(2, CLOSING_REMINDERS + 2):
        await run_tick(bench.app, at("2026-12-01 09:00") + timedelta(days=7 * week))
    assert len(sent("结题报告还没有提交")) == 1
    assert (await closing.of_project(bench.app.bot_data.db, pid)).status == "submitted"  # type: ignore[union-attr]


async def test_the_admin_is_told_whether_the_secretary_was(bench: Bench, clock: Clock) -> None:
    await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    await write_and_submit(bench.user(SECRETARY, "李娜"))
    bench.api.blocked.add(SECRETARY)
    admin = bench.user(ADMIN_ID, "组织部小王")
    accepted = await admin.press("✅ 通过结题")
    assert "项目已结题；通知书记时没有发送成功" in accepted.text
    assert "已通知书记" not in accepted.text
    # No secretary bound: /close_early says so instead of "已通知书记".
    db = bench.app.bot_data.db
    await seed_project(db, "WH02", None, clock(), span=("2027-01", "2027-12"))
    opened = await admin.send("/close_early 2027-001 目标已全部完成")
    assert "还没有绑定书记" in opened.text and "已通知书记" not in opened.text


async def test_the_ledger_shows_the_submitted_text_not_unsent_edits(
    bench: Bench, clock: Clock
) -> None:
    await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await write_and_submit(secretary)
    admin = bench.user(ADMIN_ID, "组织部小王")
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回修改"), "请输入退回"),
            ("成果经验要写清楚推广到了哪几个社区", "已退回"),
        ],
    )
    await expect_dialogue(
        secretary,
        [
            (Press("📝 填写结题报告"), "理由"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("成果经验"), "成果经验"),
            ("还没改完的新写法，尚未提交给组织部。", "请核对结题报告"),
        ],
    )
    await admin.send("/ledger 2026")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert doc.upload is not None
    [row] = [[c.value for c in r] for r in
             load_workbook(io.BytesIO(doc.upload[1]))["结题报告"].iter_rows(min_row=3)]  # fmt: skip
    assert row[4] == 1 and row[8] == RESULTS and row[10] == 1


async def test_bad_input_at_a_closing_question_is_refused_and_loses_nothing(
    bench: Bench, clock: Clock
) -> None:
    """A sticker, 5,000 characters or markup at 项目概况: a clear reply each, the question
    stays open, and text with markup is kept as typed and shown escaped."""
    await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    assert closing_step("overview") in (await secretary.send("/closing")).text
    sticker = await secretary.send_media("sticker")
    assert sticker.text and closing_step("implementation") not in sticker.text
    too_long = await secretary.send("概" * 5000)
    assert "2000" in too_long.text and closing_step("implementation") not in too_long.text
    marked = "<b>老旧小区</b> 无物业、停车难，计划整治背街小巷 12 条。"
    assert closing_step("implementation") in (await secretary.send(marked)).text
    row = await closing.of_project(bench.app.bot_data.db, 1)
    assert row is not None and row.overview == marked
    await expect_dialogue(
        secretary,
        [
            (DOING, closing_step("results")),
            (RESULTS, closing_step("evaluation")),
            ("目标全部完成，长效管护还需完善。", closing_step("files")),
            (Press("跳过"), "请核对结题报告"),
        ],
    )
    preview = bench.api.sent(SECRETARY)[-1].params["text"]
    assert "&lt;b&gt;老旧小区&lt;/b&gt;" in preview and "<b>老旧小区</b>" not in preview


async def writer(bench: Bench, clock: Clock) -> TgUser:
    """The secretary of an approved 2026 project, in its last month, with /closing open."""
    await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await secretary.send("/closing")
    return secretary


async def stored(bench: Bench) -> closing.Closing:
    row = await closing.of_project(bench.app.bot_data.db, 1)
    assert row is not None
    return row


async def test_an_edited_closing_answer_replaces_the_answer_it_edits(
    bench: Bench, clock: Clock
) -> None:
    secretary = await writer(bench, clock)
    await secretary.send("针对老旧小区无物业问题立项，整治街巷 10 条。")
    answer = secretary.sent[-1]
    replies = await secretary.edit(OVERVIEW, answer)
    assert "已按你修改后的消息更新“项目概况”" in replies.text
    assert f"现为：{OVERVIEW}" in replies.text
    assert closing_step("implementation") in replies.text  # still the open question
    row = await stored(bench)
    assert row.overview == OVERVIEW and row.implementation is None


async def test_a_reply_to_an_earlier_closing_question_answers_it(
    bench: Bench, clock: Clock
) -> None:
    secretary = await writer(bench, clock)
    asked_overview = secretary.last_bot_message()
    await secretary.send("针对老旧小区无物业问题立项，整治街巷 10 条。")
    await secretary.send(DOING)
    replies = await secretary.send(OVERVIEW, reply_to=asked_overview)
    assert "已把这条消息作为“项目概况”的回答保存" in replies.text
    assert closing_step("results") in replies.text
    row = await stored(bench)
    assert (row.overview, row.implementation, row.results) == (OVERVIEW, DOING, None)


async def test_a_closing_answer_sent_twice_is_not_stored_twice(bench: Bench, clock: Clock) -> None:
    secretary = await writer(bench, clock)
    await secretary.send(OVERVIEW)
    clock.advance(seconds=20)
    replies = await secretary.send(OVERVIEW)
    # It would do for 实施情况 too, so the person is asked, and nothing is stored meanwhile.
    assert "它是重发的，还是也作为“实施情况”的回答？" in replies.text
    assert (await stored(bench)).implementation is None
    assert "这条消息没有保存" in (await secretary.press("不保存")).text
    assert (await stored(bench)).implementation is None


async def test_a_second_device_answering_a_closing_question_is_asked_which(
    bench: Bench, clock: Clock
) -> None:
    secretary = await writer(bench, clock)
    typed_on_tablet = clock().timestamp() + 30
    clock.advance(seconds=60)
    await secretary.send(OVERVIEW)
    clock.advance(seconds=60)
    tablet = bench.user(secretary.id, "李娜")
    replies = await tablet.send("老旧小区停车难，2026 年立项整治街巷。", written=typed_on_tablet)
    assert "可能是对“项目概况”的回答，而那一项已经回答过了" in replies.text
    assert (await stored(bench)).implementation is None
    await tablet.press("作为“实施情况”的回答")
    row = await stored(bench)
    assert (row.overview, row.implementation) == (OVERVIEW, "老旧小区停车难，2026 年立项整治街巷。")


async def test_earlier_closing_questions_lose_their_buttons(bench: Bench, clock: Clock) -> None:
    secretary = await writer(bench, clock)
    await secretary.send(OVERVIEW)
    second = secretary.last_bot_message()
    assert second.get("reply_markup")  # 上一步 and 取消 under 实施情况
    await secretary.send(DOING)
    shown = bench.api.messages[(secretary.id, second["message_id"])]
    assert not shown.get("reply_markup", {}).get("inline_keyboard")


async def test_typing_at_the_closing_preview_sends_no_second_preview(
    bench: Bench, clock: Clock
) -> None:
    secretary = await writer(bench, clock)
    for text in (OVERVIEW, DOING, RESULTS, "目标全部完成，长效管护还需完善。"):
        await secretary.send(text)
    assert "请核对结题报告" in (await secretary.press("跳过")).text
    preview = secretary.last_bot_message()
    replies = await secretary.send("好了")
    assert "请点上面核对消息下的按钮" in replies.text and "请核对结题报告" not in replies.text
    assert replies.buttons == []
    assert "结题报告已提交" in (await secretary.press("✅ 提交", preview)).text


async def test_accepting_after_termination_is_stale(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await write_and_submit(secretary)
    admin = bench.user(ADMIN_ID, "组织部小王")
    earlier = admin.last_bot_message(with_button="✅ 通过结题")
    assert "已终止" in (await admin.send("/terminate 2026-001 项目主体撤并")).text
    told = len(bench.api.sent(SECRETARY))
    await admin.press("✅ 通过结题", earlier)
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    db = bench.app.bot_data.db
    assert (await projects.get(db, pid)).status == "terminated"  # type: ignore[union-attr]
    report = await closing.of_project(db, pid)
    assert report is not None and report.status == "withdrawn"
    assert [e.action for e in await closing.events(db, pid)] == ["submit"]
    assert len(bench.api.sent(SECRETARY)) == told
    # 退回修改 is as stale as 通过结题: the report was withdrawn with the project.
    await admin.press("↩️ 退回修改", earlier)
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    # /project, /history and the ledger's 结题 sheet say it was withdrawn, and why.
    assert "结题报告：已撤回（因项目终止）" in (await admin.send("/project 2026-001")).text
    assert "结题报告已撤回（因项目终止）" in (await admin.send("/history 2026-001")).text
    await admin.send("/ledger 2026")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert doc.upload is not None
    [row] = [[c.value for c in r] for r in
             load_workbook(io.BytesIO(doc.upload[1]))["结题报告"].iter_rows(min_row=3)]  # fmt: skip
    assert row[3] == "已撤回（因项目终止）"


async def test_termination_ends_the_closing_report_being_written(
    bench: Bench, clock: Clock
) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await expect_dialogue(secretary, [
        ("/closing", closing_step("overview")),
        (OVERVIEW, closing_step("implementation")),
    ])  # fmt: skip
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "结题报告已撤回" in (await admin.send("/terminate 2026-001 项目主体撤并")).text
    assert "结题报告已随之撤回" in bench.api.sent(SECRETARY)[-1].text
    # The next answer is not stored: the secretary is told the report was withdrawn, once.
    replies = await secretary.send(DOING)
    assert "已撤回（因项目终止）" in replies.text and "不再需要填写" in replies.text
    report = await closing.of_project(bench.app.bot_data.db, pid)
    assert report is not None and (report.status, report.implementation) == ("withdrawn", None)
    assert "已撤回" not in (await secretary.send("取消")).text


async def test_a_submit_racing_terminate_leaves_the_report_withdrawn(
    bench: Bench, clock: Clock
) -> None:
    """✅ 提交 makes its checks, then /terminate commits before its write: the report stays
    withdrawn, no version is frozen and the secretary is told the project was terminated."""
    db = bench.app.bot_data.db
    pid = await project(bench, clock)
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await expect_dialogue(secretary, [
        ("/closing", closing_step("overview")),
        (OVERVIEW, closing_step("implementation")),
        (DOING, closing_step("results")),
        (RESULTS, closing_step("evaluation")),
        ("目标全部完成，长效管护还需完善。", closing_step("files")),
    ])  # fmt: skip
    await secretary.send_media("photo")
    await expect_dialogue(secretary, [(Press("✅ 完成"), "请核对结题报告")])
    async with db.transaction(marked=False) as conn:
        task = asyncio.create_task(secretary.press("✅ 提交"), context=contextvars.copy_context())
        # No event says when the press reaches the lock: yield until it has.
        while db.writers < 2 and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0)
        # What /terminate writes, committing first.
        assert await plans.terminate(conn, pid, "2026-12", ADMIN_ID, "撤并", ts(clock()))
        assert await closing.withdraw(conn, pid, ts(clock()))
    replies = await task
    assert "已撤回（因项目终止）" in replies.text and "已提交" not in replies.text
    report = await closing.of_project(db, pid)
    assert report is not None and (report.status, report.round) == ("withdrawn", 0)
    assert await closing.versions(db, report.id) == 0

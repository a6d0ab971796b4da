"""Admins review the 月通报 before it is published (issue 17, item 3): a draft with 发布,
添加点评 and 调整红旗/蜗牛; without them it goes out as drafted at the set time."""

from __future__ import annotations

import asyncio
import contextvars
from collections.abc import Awaitable, Callable
from datetime import datetime

import pytest

from bot.services import bulletin_review, groups
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from scheduler.tick import run_tick
from storage import bulletins, plans
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench, Replies

GROUP = -4001


def assert_stale_alert(bench: Bench, replies: Replies) -> None:
    """The one stale-button alert, and no message."""
    assert replies.text == ""
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert (alert.get("show_alert"), alert["text"]) == (True, Texts().plain(STALE_ALERT))


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
async def world(bench: Bench, clock: Clock) -> dict[str, int]:
    """WH01 on time at 95% (red flag); WH02 no report (snail); WH03 on time, behind pace;
    a supervisor group for everything."""
    db = bench.app.bot_data.db
    ms = [("2026-12", "总结")]  # not due yet: no snail for an open milestone
    ids = {code: await seed_project(db, code, None, clock(), name=f"{code}项目", milestones=ms)
           for code in ("WH01", "WH02", "WH03")}  # fmt: skip
    await seed_report(db, ids["WH01"], "2026-11", at("2026-11-21 10:00"), completion=95)
    await seed_report(db, ids["WH03"], "2026-11", at("2026-11-21 10:00"), completion=40)
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    return ids


def bulletins_in_group(bench: Bench) -> list[str]:
    return [c.text for c in bench.api.sent(GROUP) if "月通报" in c.text]


async def draft(bench: Bench, clock: Clock) -> str:
    clock.now = at("2026-11-26 09:00")
    await run_tick(bench.app, clock.now)
    [text] = [c.text for c in bench.api.sent(ADMIN_ID) if "月通报草稿" in c.text]
    return text


async def behind_the_clock(
    bench: Bench, action: Callable[[], Awaitable[Replies]], when: datetime
) -> Replies:
    """Run an admin's `action` so that it makes its checks before `when`, the set time of
    publication, and the clock's publication write at `when` commits before its own."""
    state = bench.app.bot_data
    async with state.db.transaction(marked=False) as conn:
        task = asyncio.create_task(action(), context=contextvars.copy_context())
        # No event says when the task reaches the lock: yield until it has.
        while state.db.writers < 2 and not task.done():  # noqa: ASYNC110
            await asyncio.sleep(0)
        await bulletin_review.record_due(conn, state.calendar, state.clock_config, when)
    return await task


async def test_the_draft_goes_to_admins_first_and_out_as_drafted_at_the_set_time(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    text = await draft(bench, clock)
    assert "如无人操作，将于 11-26 11:00 按此稿发布" in text
    message = bench.user(ADMIN_ID).last_bot_message(with_button="📤 发布")
    labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["📤 发布", "✍️ 添加点评", "🔧 调整红旗/蜗牛"]
    assert bulletins_in_group(bench) == []
    await run_tick(bench.app, at("2026-11-26 10:59"))
    assert bulletins_in_group(bench) == []
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [published] = bulletins_in_group(bench)
    assert "应报 3，按时 2，逾期 0，未报 1" in published and "通报点评" not in published
    await run_tick(bench.app, at("2026-11-26 11:01"))
    assert len(bulletins_in_group(bench)) == 1


async def test_comment_and_publish_now(bench: Bench, world: dict[str, int], clock: Clock) -> None:
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 09:10")
    asked = await admin.press("✍️ 添加点评")
    assert "请发送通报点评" in asked.text and "不超过 200 字" in asked.text
    assert "超过了 200 字，没有保存" in (await admin.send("长" * 201)).text
    assert "通报点评请发送文字" in (await admin.send_media("sticker")).text
    comment = "本月整体按时率较高，大观街道要‘补短板’，尽快补报。"
    replies = await admin.send(comment)
    assert "通报点评已加入草稿" in replies.text
    assert f"<b>通报点评</b>：{comment}" in replies.text  # the draft again, with it
    assert bulletins_in_group(bench) == []
    clock.now = at("2026-11-26 09:20")
    button = admin.last_bot_message(with_button="📤 发布")
    done = await admin.press("📤 发布", button)
    assert "已发布到 1 个督导群" in done.text
    [published] = bulletins_in_group(bench)
    assert comment in published
    # the clock does not send it again, and a second 发布 sends nothing
    await run_tick(bench.app, at("2026-11-26 11:00"))
    assert len(bulletins_in_group(bench)) == 1
    again = await admin.press_data(button["reply_markup"]["inline_keyboard"][0][0]["callback_data"])
    assert again.text == "2026 年 11 月月通报已经发布，没有重复发送。"
    assert len(bulletins_in_group(bench)) == 1
    # Another period's buttons: an old one says it went out, a future one that there is no
    # draft; nothing is sent either way.
    for action in "pcf":
        old = await admin.press_data(f"m:202601:{action}")
        assert old.text == "2026 年 1 月月通报已经发布，没有重复发送。"
        future = await admin.press_data(f"m:202702:{action}")
        assert "现在没有待发布的月通报草稿" in future.text
    assert_stale_alert(bench, await admin.press_data("m:202611:x"))  # not a button of ours
    assert len(bulletins_in_group(bench)) == 1
    # after publication a comment is no longer taken
    assert "没有待发布的月通报草稿" in (await admin.send("/flag 2026-001 蜗牛 迟报")).text


async def test_a_comment_with_markup_is_kept_as_typed_and_shown_escaped(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 09:10")
    await admin.press("✍️ 添加点评")
    typed = "<b>大观街道</b> & <i>护国</i> 要补报 {{ 名单 }} <a href='x'>"
    shown = (
        "&lt;b&gt;大观街道&lt;/b&gt; &amp; &lt;i&gt;护国&lt;/i&gt; 要补报 {{ 名单 }} "
        "&lt;a href=&#39;x&#39;&gt;"
    )
    replies = await admin.send(typed)
    assert "通报点评已加入草稿" in replies.text
    assert f"<b>通报点评</b>：{shown}" in replies.text
    review = await bulletins.review(bench.app.bot_data.db, "2026-11")
    assert review is not None and review.comment == typed
    await admin.press("📤 发布")
    [published] = bulletins_in_group(bench)
    assert shown in published and typed not in published


async def test_flags_are_adjusted_with_a_reason_and_kept(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 09:30")
    assert "/flag 项目编号 移出蜗牛 原因" in (await admin.press("🔧 调整红旗/蜗牛")).text
    assert "请写明原因" in (await admin.send("/flag 2026-002 移出蜗牛")).text
    assert "找不到" in (await admin.send("/flag 2099-001 蜗牛 迟报")).text
    # 立项 after November's deadline: not in November's bulletin, so no flag for it there.
    await seed_project(bench.app.bot_data.db, "WH04", None, clock(), name="WH04项目",
                       owed_from="2026-12")  # fmt: skip
    assert "找不到" in (await admin.send("/flag 2026-004 红旗 示范带动作用突出")).text
    replies = await admin.send("/flag 2026-002 移出蜗牛 因疫情封控无法开展，已报备")
    assert "已把 2026-002“WH02项目”移出蜗牛项目" in replies.text
    assert "🐌 蜗牛：本月暂无" in replies.text  # the updated draft
    replies = await admin.send("/flag 2026-003 蜗牛 连续三个月进度明显落后")
    assert "“WH03项目”，连续三个月进度明显落后" in replies.text
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [published] = bulletins_in_group(bench)
    assert "WH02项目" not in published and "🐌 蜗牛：护国" not in published
    assert "连续三个月进度明显落后" in published
    changes = await bulletins.flag_changes(bench.app.bot_data.db, "2026-11")
    assert [(c.flag, c.action, c.reason, c.by_user) for c in changes] == [
        ("snail", "remove", "因疫情封控无法开展，已报备", ADMIN_ID),
        ("snail", "add", "连续三个月进度明显落后", ADMIN_ID),
    ]


async def test_an_exemption_or_a_late_report_before_publication_is_in_it(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db = bench.app.bot_data.db
    late = await seed_project(db, "WH04", None, clock(), milestones=[("2026-12", "总结")])
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 09:40")
    replies = await admin.send("/exempt WH02 2026-11 换届选举")
    assert "月通报草稿尚未发布，已按此更新" in replies.text
    assert "应报 3，按时 2，逾期 0，未报 1，免报 1" in replies.text
    await seed_report(db, late, "2026-11", at("2026-11-26 10:30"), on_time=False)
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [published] = bulletins_in_group(bench)
    assert "应报 3，按时 2，逾期 1，未报 0，免报 1" in published


async def test_only_top_admins_review(bench: Bench, world: dict[str, int], clock: Clock) -> None:
    await draft(bench, clock)
    message = bench.user(ADMIN_ID).last_bot_message(with_button="📤 发布")
    data = message["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
    stranger = bench.user(1001)
    await stranger.press_data(data, message)
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert "只有组织部管理员可以审核月通报" in alert["text"]
    assert bulletins_in_group(bench) == []
    assert "仅限管理员" in (await stranger.send("/flag 2026-001 蜗牛 迟报")).text


@pytest.mark.parametrize("first", ["clock", "admin"])
async def test_a_comment_at_the_last_moment_is_in_it_or_said_too_late(
    bench: Bench, world: dict[str, int], clock: Clock, first: str
) -> None:
    """A 点评 sent a moment before the set time but written after the clock recorded the
    publication is refused as too late (the admin gets it back); written before, it is in
    the bulletin."""
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 10:50")
    await admin.press("✍️ 添加点评")
    clock.now = at("2026-11-26 10:59:59.900")
    comment = "各街道要按时报送。"
    if first == "clock":
        replies = await behind_the_clock(bench, lambda: admin.send(comment),
                                         at("2026-11-26 11:00"))  # fmt: skip
        assert "来不及加入，没有保存" in replies.text and comment in replies.text
        assert "已加入草稿" not in replies.text
    else:
        assert "通报点评已加入草稿" in (await admin.send(comment)).text
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [published] = bulletins_in_group(bench)
    review = await bulletins.review(bench.app.bot_data.db, "2026-11")
    assert review is not None and review.published_by is None
    assert (review.comment == comment) == (comment in published) == (first == "admin")


async def test_a_flag_behind_the_publication_is_said_too_late(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 10:59:59.900")
    replies = await behind_the_clock(
        bench, lambda: admin.send("/flag 2026-002 移出蜗牛 已报备"), at("2026-11-26 11:00")
    )
    assert "2026 年 11 月月通报已经发布，来不及调整，没有记录" in replies.text
    assert await bulletins.flag_changes(bench.app.bot_data.db, "2026-11") == []
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [published] = bulletins_in_group(bench)
    assert "WH02项目" in published


def labels_of(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]  # fmt: skip


@pytest.mark.parametrize("word", ["上一步", "⬅️ 上一步", "取消", "/cancel"])
async def test_leaving_the_comment_gives_the_drafts_buttons_back(
    bench: Bench, world: dict[str, int], clock: Clock, word: str
) -> None:
    """添加点评 is a side-step of the draft: its buttons go while the 点评 is asked, and 取消,
    上一步 or /cancel give them back; nothing is kept."""
    await draft(bench, clock)
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-26 09:10")
    the_draft = admin.last_bot_message(with_button="✍️ 添加点评")
    await admin.press("✍️ 添加点评", the_draft)
    assert labels_of(bench.api.messages[(ADMIN_ID, the_draft["message_id"])]) == []
    replies = await admin.send(word)
    assert "没有添加通报点评" in replies.text and "草稿仍待发布" in replies.text
    assert [label for label, _ in replies.buttons] == ["📤 发布", "✍️ 添加点评", "🔧 调整红旗/蜗牛"]
    review = await bulletins.review(bench.app.bot_data.db, "2026-11")
    assert review is None or review.comment is None
    assert "已发布到 1 个督导群" in (await admin.press("📤 发布")).text
    [published] = bulletins_in_group(bench)
    assert "通报点评" not in published and word not in published


async def test_bad_comments_are_answered_and_lose_nothing(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await draft(bench, clock)
    admin, stranger = bench.user(ADMIN_ID), bench.user(1001)
    clock.now = at("2026-11-26 09:10")
    the_draft = admin.last_bot_message(with_button="✍️ 添加点评")
    await stranger.press("✍️ 添加点评", the_draft)
    assert "只有组织部管理员" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    await admin.press("✍️ 添加点评", the_draft)
    for kind in ("photo", "sticker"):
        assert "通报点评请发送文字（不超过 200 字）" in (await admin.send_media(kind)).text
    assert "通报点评有 5000 字，超过了 200 字，没有保存" in (await admin.send("长" * 5000)).text
    assert "通报点评不能为空" in (await admin.send("\u200b\u2060 \u200b")).text
    replies = await admin.send("<b>\u200b")
    assert "通报点评已加入草稿" in replies.text and "<b>通报点评</b>：&lt;b&gt;" in replies.text
    db = bench.app.bot_data.db
    review = await bulletins.review(db, "2026-11")
    assert review is not None and review.comment == "<b>"
    # An edit of the comment sent is not read again (as at every side-step), and says so.
    assert "修改已发送的消息不会被重新处理" in (await admin.edit("改过的点评")).text
    review = await bulletins.review(db, "2026-11")
    assert review is not None and review.comment == "<b>"
    await admin.press("📤 发布")
    stale = await admin.press("✍️ 添加点评", the_draft)
    assert stale.text == "2026 年 11 月月通报已经发布，没有重复发送。"
    assert "通报点评" not in (await admin.send("迟到的点评")).text  # the side-step is over


async def test_a_scope_whose_only_project_ended_after_filing_still_gets_the_month(
    bench: Bench, clock: Clock
) -> None:
    """WH05's one project filed November's report, then was terminated in November: it owed
    that report (ran_in), so WH05's group gets November's bulletin with it."""
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH05", None, clock(), name="终止项目")
    await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=60)
    async with db.transaction() as conn:
        stop = ts(at("2026-11-24 10:00"))
        assert await plans.terminate(conn, pid, "2026-11", ADMIN_ID, "撤并", stop)
    await groups.bind_group(db, -4005, "街道", ADMIN_ID, "WH05", clock())
    for when in ("2026-11-26 09:00", "2026-11-26 11:00"):
        await run_tick(bench.app, at(when))
    [published] = [c.text for c in bench.api.sent(-4005) if "月通报" in c.text]
    assert "应报 1，按时 1" in published

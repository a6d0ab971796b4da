"""The public side (晒): channels bound and posted to, 民主评议 and 意见建议, through the real
Application and the stand-in; and the rule that nothing but public fields reaches a channel."""

from __future__ import annotations

import io
import json
from dataclasses import replace
from datetime import datetime, timedelta
from typing import Any

from openpyxl import load_workbook

from bot import public as posts
from bot.callbacks import VoteBallot
from bot.services import public
from bot.standin.dialogue import Bench, Replies, TgChannel, TgUser
from scheduler.tick import run_tick
from storage import acceptance, notices, reports
from storage import public as public_store
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock, load_sample_units, traced
from tests.projects_helpers import approved_project, bound_secretary, seed_project, seed_report
from tests.scopes_helpers import TOWN_A, TOWN_B, add_communities, two_towns
from tests.test_closing import RESULTS as CLOSING_RESULTS
from tests.test_closing import write_and_submit

CHANNEL = -1001500000001


def at(text: str) -> datetime:
    return datetime.strptime(text, "%Y-%m-%d %H:%M").replace(tzinfo=SHANGHAI)


async def bound_channel(bench: Bench, scope: str = "") -> TgChannel:
    """A channel with the admin among its admins, bound by a command posted in it."""
    channel = bench.channel(CHANNEL, "五华区书记项目公示", "wuhua_shuji", admins=(ADMIN_ID,))
    replies = await channel.post(f"/bind_channel {scope}".strip())
    assert "已登记为晒频道" in bench.api.sent(ADMIN_ID)[-1].text, replies.text
    return channel


def texts(channel: TgChannel) -> list[str]:
    return [m.get("text") or m.get("caption") or "" for m in channel.posts()]


# -- channels and posts --------------------------------------------------------------------------


async def test_a_channel_bound_in_it_gets_a_card_at_approval_once(bench: Bench) -> None:
    channel = await bound_channel(bench)
    assert channel.posts() == []  # the command itself is deleted: the channel keeps posts only
    await approved_project(bench)
    [card] = texts(channel)
    assert "书记项目公示：南强街巷街区党建项目" in card
    assert "项目编号：2027-001　护国街道党工委　典型示范型" in card
    assert "年内整治背街小巷 12 条" in card and "2027 年 6 月　完成首批 6 条街巷整治" in card
    link = channel.posts()[0]["text"]
    assert 'href="https://t.me/shuji_test_bot?start=yj_1"' in link
    # The clock's tick finds nothing owed: a card goes up once per channel.
    await run_tick(bench.app, at("2026-11-21 10:05"))
    assert len(channel.posts()) == 1


async def test_a_channel_of_strangers_is_not_bound(bench: Bench) -> None:
    channel = bench.channel(CHANNEL, "别人的频道", admins=(424242,))
    replies = await channel.post("/bind_channel")
    assert "管理员中没有本机器人的管理员" in replies.text
    await approved_project(bench)
    assert len(channel.posts()) == 2  # the command and the refusal; no card


async def test_bind_from_private_checks_rights_and_keeps_to_its_scope(bench: Bench) -> None:
    admin = bench.user(ADMIN_ID)
    bench.channel(CHANNEL, "护国街道书记项目", "huguo", admins=(ADMIN_ID,))
    bench.channel(-1001500000002, "无权频道", "norights", admins=(ADMIN_ID,), bot_admin=False)
    bench.channel(-1001500000003, "别人的频道", "others", admins=(424242,))
    assert "用法" in (await admin.send("/bind_channel")).text
    assert "找不到频道 @nosuch" in (await admin.send("/bind_channel @nosuch")).text
    assert "机器人还不是频道" in (await admin.send("/bind_channel @norights")).text
    assert "你不是频道 @others 的管理员" in (await admin.send("/bind_channel @others")).text
    assert "找不到组织编号“XX”" in (await admin.send("/bind_channel @huguo XX")).text
    replies = await admin.send("/bind_channel @huguo WH01")
    assert "范围：护国街道党工委（WH01）及下属" in replies.text
    stranger = bench.user(5151)
    assert "仅限管理员" in (await stranger.send("/bind_channel @huguo")).text
    await approved_project(bench, org="WH02", user_id=1002)  # outside the channel's scope
    assert bench.api.methods("sendMessage")[-1].chat_id != CHANNEL
    await approved_project(bench, org="WH01", user_id=1001)
    assert bench.api.sent(CHANNEL)[-1].text.count("书记项目公示") == 1


async def test_monthly_progress_goes_out_once_with_only_public_photos(bench: Bench) -> None:
    channel = await bound_channel(bench)
    db = bench.app.bot_data.db
    now = at("2026-11-21 10:00")
    steps = [("2026-11", "建成议事厅"), ("2026-12", "全部完成")]
    pid = await seed_project(db, "WH01", 1001, now, milestones=steps)
    await seed_project(db, "WH02", 1002, now, name="楼道整治项目")
    [first, _] = await public_store_milestones(bench, pid)
    await seed_report(db, pid, "2026-11", at("2026-11-24 10:00"), completion=80, tick=[first])
    report = await reports.of_period(db, pid, "2026-11")
    assert report is not None
    async with db.transaction() as conn:
        for unique in ("pub1", "pub2", "private1"):
            await reports.add_file(conn, report.id, "photo", f"file-{unique}", unique, ts(now))
        await public_store.set_file_public(conn, report.id, "pub1", True)
        await public_store.set_file_public(conn, report.id, "pub2", True)
        # Only a submitted version's 可公开 is public: submit the files as version 2.
        files = await reports.files(conn, report.id)
        await reports.add_version(conn, report, files, 0, ts(now), True)
    await run_tick(bench.app, at("2026-11-26 08:59"))
    # Both cards (approved after the binding), and no 晒动态 before the month's moment, nor
    # October's (its moment came before the channel was bound).
    assert [t.split("\n")[0] for t in texts(channel)] == [
        "📋 <b>书记项目公示：街巷党建项目</b>", "📋 <b>书记项目公示：楼道整治项目</b>"
    ]  # fmt: skip
    await run_tick(bench.app, at("2026-11-26 09:00"))
    shown = texts(channel)[2:]
    assert "书记项目动态 · 2026 年 11 月" in shown[0]
    assert "完成度：80%" in shown[0] and "本月完成：建成议事厅" in shown[0]
    assert "楼道整治项目" in shown[0] and "尚未报送" in shown[0]
    album = bench.api.methods("sendMediaGroup")[-1].params["media"]
    assert [item["media"] for item in album] == ["file-pub1", "file-pub2"]
    # A later tick of the month looks up the claim and builds nothing (no report is read).
    async with traced(db) as statements:
        assert await posts.post_monthly(bench.app, at("2026-11-26 09:01")) == 0
    assert statements and not any("report" in sql for sql in statements), statements
    await run_tick(bench.app, at("2026-11-26 09:01"))
    await run_tick(bench.app, at("2026-11-27 09:00"))
    assert len(channel.posts()) == 5  # the cards, the text and its two photos, once


async def test_a_month_before_the_first_owed_has_no_line_in_the_progress_post(
    bench: Bench,
) -> None:
    """A project 立项 after November's deadline owed no November report: the 晒动态 does not
    list it as 尚未报送 (storage/ran.py since_approved)."""
    db = bench.app.bot_data.db
    now = at("2026-11-21 10:00")
    await seed_project(db, "WH01", 1001, now, name="早立项目")
    await seed_project(db, "WH02", 1002, now, name="晚立项目", owed_from="2026-12")
    names = [line.project.name for line in await public_store.month_lines(db, None, "2026-11")]
    assert names == ["早立项目"]
    names = [line.project.name for line in await public_store.month_lines(db, None, "2026-12")]
    assert names == ["早立项目", "晚立项目"]


async def with_photos(
    db: Any, project_id: int, period: str, now: datetime, shown: list[str], *,
    hidden: tuple[str, ...] = (), submit: bool = True,
) -> None:  # fmt: skip
    """Photos added to the project's report of `period` (created as a working copy if there
    is none), `shown` marked 可公开; submitted as a new version unless `submit` is False."""
    report = await reports.of_period(db, project_id, period)
    async with db.transaction() as conn:
        report_id = report.id if report else await reports.create(conn, project_id, period, 0,
                                                                  ts(now))  # fmt: skip
        for unique in [*shown, *hidden]:
            await reports.add_file(conn, report_id, "photo", f"file-{unique}", unique, ts(now))
        for unique in shown:
            await public_store.set_file_public(conn, report_id, unique, True)
        if submit:
            files = await reports.files(conn, report_id)
            report = await reports.get(conn, report_id)
            await reports.add_version(conn, report, files, 0, ts(now), True)


async def test_monthly_progress_of_a_subtree_keeps_each_projects_own_line_and_photos(
    bench: Bench,
) -> None:
    # Built for the whole scope at once: each line must still get its own project's
    # completion, milestones and photos, and nothing outside the channel's subtree.
    await add_communities(bench)
    channel = await bound_channel(bench, "WH01")
    db = bench.app.bot_data.db
    now = at("2026-11-21 10:00")
    steps = [("2026-11", "建成议事厅"), ("2026-11", "开通服务热线"), ("2026-12", "全部完成")]
    qianju = await seed_project(db, "WH0101", 1001, now, name="钱局街项目", milestones=steps)
    huguo = await seed_project(db, "WH01", 1002, now, name="护国项目",
                               milestones=[("2026-10", "启动会")])  # fmt: skip
    wenmiao = await seed_project(db, "WH0102", 1003, now, name="文庙项目")
    zhuantang = await seed_project(db, "WH0201", 1004, now, name="篆塘项目")
    await seed_project(db, "WH01", None, now, name="明年项目", span=("2027-01", "2027-12"))
    first, second, _ = await public_store_milestones(bench, qianju)
    [kickoff] = await public_store_milestones(bench, huguo)
    await seed_report(db, qianju, "2026-10", at("2026-10-24 10:00"), completion=30)
    await seed_report(db, qianju, "2026-11", at("2026-11-24 10:00"), completion=60,
                      tick=[first, second])  # fmt: skip
    await with_photos(db, qianju, "2026-11", now, ["q1", "q2"], hidden=("q3",))
    await seed_report(db, huguo, "2026-10", at("2026-10-24 10:00"), completion=40,
                      tick=[kickoff])  # fmt: skip
    await with_photos(db, huguo, "2026-11", now, ["h1"], submit=False)  # a working copy only
    await seed_report(db, wenmiao, "2026-11", at("2026-11-24 11:00"), completion=25)
    await with_photos(db, wenmiao, "2026-11", now, ["w1"])
    await seed_report(db, zhuantang, "2026-11", at("2026-11-24 12:00"), completion=90)
    await with_photos(db, zhuantang, "2026-11", now, ["z1"])
    await run_tick(bench.app, at("2026-11-26 09:00"))
    [shown] = [t for t in texts(channel) if "书记项目动态" in t]
    assert shown.split("\n\n")[1:] == [
        "<b>钱局街项目</b>（2026-001，钱局街社区党委）\n完成度：60%\n本月完成：建成议事厅；开通服务热线",
        "<b>护国项目</b>（2026-002，护国街道党工委）\n完成度：40%",
        "<b>文庙项目</b>（2026-003，文庙社区党委）\n完成度：25%",
    ]  # fmt: skip
    album = bench.api.methods("sendMediaGroup")[-1]
    assert album.chat_id == CHANNEL
    assert [item["media"] for item in album.params["media"]] == ["file-q1", "file-q2"]
    assert album.params["media"][0]["caption"] == "钱局街项目（2026-001）佐证照片"
    [photo] = [c for c in bench.api.methods("sendPhoto") if c.chat_id == CHANNEL]
    assert photo.params["photo"] == "file-w1"
    assert photo.params["caption"] == "文庙项目（2026-003）佐证照片"


async def public_store_milestones(bench: Bench, project_id: int) -> list[int]:
    from storage import projects

    return [m.id for m in await projects.milestones(bench.app.bot_data.db, project_id)]


async def test_an_admin_withholds_and_deletes_posts(bench: Bench) -> None:
    channel = await bound_channel(bench)
    await approved_project(bench)
    await approved_project(bench, org="WH02", user_id=1002, name="楼道整治项目")
    admin = bench.user(ADMIN_ID)
    listing = await admin.send("/posts")
    assert "1 号　项目公示　南强街巷街区党建项目　已发布" in listing.text
    assert "2 号　项目公示　楼道整治项目　已发布" in listing.text
    assert "没有 9 号帖子" in (await admin.send("/withhold 9")).text
    assert "不是帖子号" in (await admin.send("/withhold 第一")).text
    assert "仅限管理员" in (await bench.user(1001).send("/withhold 1")).text
    assert "1 号帖子已撤下" in (await admin.send("/withhold 1")).text
    assert texts(channel)[0] == "本条内容已由组织部撤下。"
    assert "2 号帖子已从频道删除" in (await admin.send("/delete_post 2")).text
    assert len(channel.posts()) == 1
    assert "现在不在频道里" in (await admin.send("/delete_post 2")).text
    assert "已撤下" in (await admin.send("/posts 2027-001")).text


async def test_a_channel_that_drops_the_bot_gets_nothing_more(bench: Bench) -> None:
    channel = await bound_channel(bench)
    await channel.demote_bot()
    await approved_project(bench)
    assert bench.api.sent(CHANNEL) == []


# -- 民主评议 -------------------------------------------------------------------------------------


async def open_vote(bench: Bench, number: str = "2027-001", days: int = 7) -> dict[str, Any]:
    replies = await bench.user(ADMIN_ID).send(f"/vote {number} {days}")
    assert "已发起" in replies.text, replies.text
    return [m for m in bench.api.messages.values() if "民主评议" in (m.get("text") or "")][-1]


async def test_a_vote_is_cast_changed_counted_and_closed(bench: Bench, clock: Clock) -> None:
    channel = await bound_channel(bench)
    await approved_project(bench)
    post = await open_vote(bench)
    assert [b["text"] for b in post["reply_markup"]["inline_keyboard"][0]] == [
        "满意", "基本满意", "不满意"
    ]  # fmt: skip
    alice, bob = bench.user(3001, "王芳"), bench.user(3002, "赵强")
    for label, said in (("满意", "已记录你的评价：满意"), ("不满意", "已改为：不满意"),
                        ("不满意", "无需重复投票")):  # fmt: skip
        await _press(alice, post, label)
        assert said in _alert(bench)
    await _press(bob, post, "基本满意")
    now = bench.app.bot_data.clock()
    assert await posts.refresh_tallies(bench.app, now) == 1
    shown = texts(channel)[-1]
    assert "满意 0 票　基本满意 1 票　不满意 1 票" in shown and "满意率 50%" in shown
    assert await posts.refresh_tallies(bench.app, now) == 0  # nothing changed: no edit
    result = await public.satisfaction(bench.app.bot_data.db, 1)
    assert (result.satisfied, result.basic, result.unsatisfied, result.rate) == (0, 1, 1, 50)
    # After the window: the press changes nothing, and the post shows the final tally.
    later = clock.advance(days=7, minutes=1)
    await _press(alice, post, "满意")
    assert "本次民主评议已经结束" in _alert(bench)
    assert (await public.satisfaction(bench.app.bot_data.db, 1)).unsatisfied == 1
    await run_tick(bench.app, later.replace(hour=10))
    final = channel.posts()[-1]
    assert "评议已于" in final["text"] and "reply_markup" not in final
    voters = await bench.user(ADMIN_ID).send("/voters 2027-001")
    assert "合计 2 票" in voters.text and "无法分辨专门注册来刷票的账号" in voters.text
    # Every ballot, with its account, in the workbook sent with it.
    [book] = [c.upload for c in bench.api.sent(ADMIN_ID) if c.method == "sendDocument"]
    assert book is not None and book[0] == "民主评议投票记录 2027-001.xlsx"
    rows = list(load_workbook(io.BytesIO(book[1]))["投票账号"].iter_rows(values_only=True))
    assert rows[0][3:7] == ("Telegram ID", "姓名", "用户名", "选择")
    assert [(r[3], r[4], r[6], r[9]) for r in rows[1:]] == [
        (3001, "王芳", "不满意", 1), (3002, "赵强", "基本满意", 0)
    ]  # fmt: skip


async def test_tally_edits_are_coalesced(harness: BotHarness) -> None:
    harness.settings = replace(harness.settings, tally_seconds=5)
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, at("2026-11-21 10:00"))
    queue = bench.app.job_queue
    assert queue is not None
    queue.scheduler.pause()  # the job's moment is played below on the test's clock
    channel = await bound_channel(bench)
    await approved_project(bench)
    post = await open_vote(bench)
    t0 = bench.app.bot_data.clock()
    for voter in (3001, 3002, 3003):
        await _press(bench.user(voter), post, "满意")
    assert len(queue.get_jobs_by_name(posts.TALLY_JOB)) == 1  # one edit for the three ballots
    assert await posts.refresh_tallies(bench.app, t0 + timedelta(seconds=5)) == 1
    assert "满意 3 票" in texts(channel)[-1]
    await _press(bench.user(3004), post, "不满意")
    assert await posts.refresh_tallies(bench.app, t0 + timedelta(seconds=7)) == 0  # too soon
    assert await posts.refresh_tallies(bench.app, t0 + timedelta(seconds=10)) == 1
    assert "不满意 1 票" in texts(channel)[-1]
    assert len(bench.api.methods("editMessageText")) == 2


async def test_a_forged_vote_button_for_another_project_changes_nothing(bench: Bench) -> None:
    await bound_channel(bench)
    await approved_project(bench)
    await approved_project(bench, org="WH02", user_id=1002, name="楼道整治项目")
    first = await open_vote(bench, "2027-001")
    await open_vote(bench, "2027-002")
    voter = bench.user(3001)
    for forged in (VoteBallot(1, 2, "s"), VoteBallot(2, 2, "s"), VoteBallot(2, 1, "u")):
        await voter.press_data(forged.pack(), first)
        assert "这个按钮已失效" in _alert(bench)
    await voter.press_data("t:1:1:x", first)
    assert "这个按钮已失效" in _alert(bench)
    db = bench.app.bot_data.db
    assert (await public.satisfaction(db, 1)).total == 0
    assert (await public.satisfaction(db, 2)).total == 0


def _alert(bench: Bench) -> str:
    """The text of the bot's latest answer to a button press."""
    return str(bench.api.methods("answerCallbackQuery")[-1].params.get("text", ""))


async def _press(user: TgUser, post: dict[str, Any], label: str) -> Replies:
    return await user.press(label, post)


# -- 意见建议 -------------------------------------------------------------------------------------


async def test_a_suggestion_through_the_card_link(bench: Bench) -> None:
    await bound_channel(bench)
    secretary = await approved_project(bench)
    resident = bench.user(6001, "陈阿姨", username="chen_ayi")
    assert "对书记项目“南强街巷街区党建项目”" in (await resident.send("/start yj_1")).text
    assert "最多 500 字" in (await resident.send("建" * 501)).text
    assert "请用文字发送" in (await resident.send_media("voice")).text
    assert "请用文字发送" in (await resident.send_media("sticker")).text
    assert await public.suggestions(bench.app.bot_data.db, 1) == []  # the prompt stays open
    receipt = await resident.send("文林街晚上路灯不亮，希望整治时一并解决。")
    assert "你的意见建议已收到（第 1 号）" in receipt.text
    # The admins see who wrote; the secretary it is about gets the suggestion only.
    told = bench.api.sent(ADMIN_ID)[-1].text
    assert "收到群众意见建议" in told and "文林街晚上路灯不亮" in told
    assert "陈阿姨 @chen_ayi" in told and "6001" in told
    told = bench.api.sent(secretary.id)[-1].text
    assert "收到群众意见建议" in told and "文林街晚上路灯不亮" in told
    assert not any(who in told for who in ("陈阿姨", "chen_ayi", "6001", "来自")), told
    history = await bench.user(ADMIN_ID).send("/history 2027-001")
    assert "群众意见建议（1 条）" in history.text and "陈阿姨 @chen_ayi：文林街" in history.text
    history = await secretary.send("/history 2027-001")
    assert "群众意见建议（1 条）" in history.text and "文林街晚上路灯不亮" in history.text
    assert "陈阿姨" not in history.text and "chen_ayi" not in history.text
    # After the receipt, the next message is not taken as another suggestion.
    assert "意见建议已收到" not in (await resident.send("还有一条")).text


async def test_a_message_a_day_after_the_link_is_not_a_suggestion(
    bench: Bench, clock: Clock
) -> None:
    await bound_channel(bench)
    await approved_project(bench)
    resident = bench.user(6001, "陈阿姨")
    await resident.send("/start yj_1")
    clock.advance(hours=25)
    assert "超过一天，这条消息没有作为意见建议保存" in (await resident.send("你好")).text
    assert await public.suggestions(bench.app.bot_data.db, 1) == []
    assert "意见建议" not in (await resident.send("你好")).text  # the link's question is over


async def test_suggestions_are_limited_and_cancellable(bench: Bench) -> None:
    await bound_channel(bench)
    await approved_project(bench)
    resident = bench.user(6001, "陈阿姨")
    assert "不存在或尚未公示" in (await resident.send("/start yj_99")).text
    await resident.send("/start yj_1")
    assert "已取消" in (await resident.send("取消")).text
    await resident.send("/start yj_1")
    assert "已取消" in (await resident.send("/cancel")).text
    await resident.send("/start yj_1")
    assert "已取消" in (await resident.send("⬅️ 上一步")).text  # not kept as a suggestion
    assert await public.suggestions(bench.app.bot_data.db, 1) == []
    for n in range(public.SUGGESTIONS_PER_DAY):
        await resident.send("/start yj_1")
        assert "已收到" in (await resident.send(f"第 {n} 条建议")).text
    assert "已达 5 条，没有保存" in (await resident.send("/start yj_1")).text
    drafting = await bound_secretary(bench, "WH03", 1003)
    await drafting.send("/new_project")
    assert "请先完成它" in (await drafting.send("/start yj_1")).text


# -- privacy -----------------------------------------------------------------------------------


async def test_nothing_but_public_fields_reaches_a_channel(bench: Bench, clock: Clock) -> None:
    """Every secret below is written where the bot keeps it; none may reach a channel."""
    channel = await bound_channel(bench)
    db = bench.app.bot_data.db
    secretary = await approved_project(bench, user_id=7654321)
    now = at("2026-11-21 10:00")
    pid = await seed_project(db, "WH02", 1002, now, name="楼道整治项目")
    await seed_report(db, pid, "2026-11", at("2026-11-24 10:00"), completion=60,
                      problems="机密：经费缺口二十万")  # fmt: skip
    report = await reports.of_period(db, pid, "2026-11")
    assert report is not None
    async with db.transaction() as conn:
        await reports.add_file(conn, report.id, "photo", "secret-photo-file", "sp", ts(now))
        notice = await notices.create_draft(conn, pid, "机密：台账造假嫌疑", ADMIN_ID, ts(now))
        await notices.issue(conn, notice, 2026, ts(now))
    # An edit given up is not public: 可公开 switched on, then 取消 instead of 提交.
    clock.now = at("2026-11-25 10:00")
    owner = bench.user(1002)
    assert "修改已提交的报告" in (await owner.send("/report")).text
    await owner.press("✏️ 修改某项")
    await owner.press("佐证材料")
    await owner.press("🔒 第 1 张照片：不公开")
    assert "原来的回答不变" in (await owner.send("取消")).text
    assert [f.public for f in await reports.files(db, report.id)] == [False]
    await bound_secretary(bench, "WH03", 1003)
    drafting = bench.user(1003)
    await drafting.send("/new_project")
    await drafting.send("机密草稿项目")
    resident = bench.user(8765432, "机密投票人")
    await resident.send("/start yj_1")
    await resident.send("机密：意见建议内容")
    await open_vote(bench, "2027-001")
    await _press(resident, await open_vote_post(bench), "满意")
    await run_tick(bench.app, at("2026-11-26 09:00"))
    async with db.transaction() as conn:
        assert await acceptance.mark_concluded(conn, 1, ts(at("2026-11-26 09:30")))
    await run_tick(bench.app, at("2026-11-26 10:00"))
    await posts.refresh_tallies(bench.app, at("2026-11-26 10:00"))
    assert secretary is not None
    reached = [json.dumps(c.params, ensure_ascii=False) for c in bench.api.calls
               if c.chat_id == CHANNEL]  # fmt: skip
    assert any("书记项目动态" in r for r in reached) and any("项目成效" in r for r in reached)
    for secret in ("机密", "secret-photo-file", "7654321", "8765432"):
        assert not any(secret in r for r in reached), secret
    assert len(channel.posts()) >= 4


async def open_vote_post(bench: Bench) -> dict[str, Any]:
    return [m for m in bench.api.messages.values() if "民主评议" in (m.get("text") or "")][-1]


async def test_the_vote_is_offered_to_acceptance_as_satisfaction(bench: Bench) -> None:
    """验收's 群众满意率 step suggests the 民主评议 result (满意 and 基本满意 over all)."""
    await bound_channel(bench)
    await approved_project(bench)
    post = await open_vote(bench)
    for voter, label in ((3001, "满意"), (3002, "基本满意"), (3003, "不满意"), (3004, "满意")):
        await _press(bench.user(voter), post, label)
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        assert await acceptance.mark_concluded(conn, 1, ts(at("2026-11-21 11:00")))
    admin = bench.user(ADMIN_ID)
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    await admin.send("/score 2027-001")
    assert "民主评议的满意率是 75" in (await admin.press("90")).text


async def test_a_photo_the_secretary_marks_public_reaches_the_monthly_post(
    bench: Bench, clock: Clock
) -> None:
    channel = await bound_channel(bench)
    secretary = await approved_project(bench)
    clock.now = at("2027-03-21 10:00")
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    await secretary.press("下一步 ›")
    await secretary.press("30%")
    await secretary.press("无")
    await secretary.send("完成剩余街巷整治")
    await secretary.send_media("photo")
    assert "照片默认不公开" in (await secretary.send_media("document")).text
    flipped = await secretary.press("🔒 第 1 张照片：不公开")
    assert "🌐 第 1 张照片：可公开" in [label for label, _ in flipped.buttons]
    assert "其中 1 张照片可公开" in (await secretary.press("✅ 完成")).text
    assert "月报已提交" in (await secretary.press("✅ 提交")).text
    await run_tick(bench.app, at("2027-03-26 09:00"))
    assert "书记项目动态 · 2027 年 3 月" in texts(channel)[-2]
    photo = bench.api.methods("sendPhoto")[-1]
    assert photo.chat_id == CHANNEL and photo.params["photo"] == "AgPhoto1"
    in_channel = [json.dumps(c.params) for c in bench.api.calls if c.chat_id == CHANNEL]
    assert not any("BQDoc1" in sent for sent in in_channel)  # documents are never public


async def test_a_concluded_project_gets_its_result_post_once(bench: Bench) -> None:
    channel = await bound_channel(bench, "WH01")
    await approved_project(bench)
    await approved_project(bench, org="WH02", user_id=1002, name="楼道整治项目")
    post = await open_vote(bench)
    await _press(bench.user(3001), post, "满意")
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        for pid in (1, 2):
            assert await acceptance.mark_concluded(conn, pid, ts(at("2026-11-21 11:00")))
    await run_tick(bench.app, at("2026-11-21 11:01"))
    await run_tick(bench.app, at("2026-11-21 11:02"))
    results = [t for t in texts(channel) if "书记项目成效" in t]
    assert len(results) == 1 and "南强街巷街区党建项目" in results[0]  # WH02 is out of scope
    assert "共 1 票，满意 1，基本满意 0，不满意 0，满意率 100%" in results[0]
    assert "2027 年 3 月　建成党群服务中心" in results[0] and "?start=yj_1" in results[0]


async def test_a_post_left_sending_by_a_dead_process_is_never_sent_twice(
    bench: Bench, clock: Clock
) -> None:
    channel = await bound_channel(bench)
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", 1001, clock())
    # A process claimed the card and died before it recorded the send: it may be up.
    assert await public.claim(db, f"card:{pid}:{CHANNEL}", "card", CHANNEL, clock(),
                              project_id=pid)  # fmt: skip
    await run_tick(bench.app, clock.advance(minutes=1))
    assert (await public_store.post(db, 1)).status == "sending"  # type: ignore[union-attr]
    await run_tick(bench.app, clock.advance(minutes=10))
    assert (await public_store.post(db, 1)).status == "uncertain"  # type: ignore[union-attr]
    assert channel.posts() == []
    assert "不确定是否发出" in (await bench.user(ADMIN_ID).send("/posts")).text


async def test_a_suggestion_reaches_the_admins_of_its_level_only(
    bench: Bench, clock: Clock
) -> None:
    await bound_channel(bench)
    await two_towns(bench)  # 护国 (WH01) and 大观 (WH02) each with an admin
    pid = await seed_project(bench.app.bot_data.db, "WH0101", 1101, clock())
    resident = bench.user(6001, "陈阿姨")
    await resident.send(f"/start yj_{pid}")
    assert "已收到" in (await resident.send("社区门口的路灯坏了")).text
    # Like an application: the nearest level above with admins (the top only without one).
    for chat, told in ((ADMIN_ID, False), (TOWN_A, True), (TOWN_B, False), (1101, True)):
        sent = bench.api.sent(chat)
        assert (bool(sent) and "社区门口的路灯坏了" in sent[-1].text) is told, chat


async def test_the_result_goes_up_when_an_admin_accepts_the_closing_report(
    bench: Bench, clock: Clock
) -> None:
    channel = await bound_channel(bench)
    await seed_project(bench.app.bot_data.db, "WH01", 1001, clock())
    clock.now = at("2026-12-02 10:00")
    await write_and_submit(bench.user(1001, "李娜"))
    await bench.user(ADMIN_ID).press("✅ 通过结题")
    shown = texts(channel)
    assert "书记项目成效：街巷党建项目" in shown[-1]  # at once, not at the next tick
    # The closing report itself is not public: none of its text or evidence is shown.
    reached = [json.dumps(c.params, ensure_ascii=False) for c in bench.api.calls
               if c.chat_id == CHANNEL]  # fmt: skip
    for secret in (CLOSING_RESULTS[:12], "目标全部完成，长效管护", "AgPhoto1"):
        assert not any(secret in r for r in reached), secret


async def test_a_town_admin_keeps_to_the_town_in_channels(bench: Bench, clock: Clock) -> None:
    """Admins of a subtree use the channel commands for their own projects and channels;
    another town's, named or forged by number, is not shown to exist."""
    county = bench.channel(CHANNEL, "五华区书记项目公示", "wuhua", admins=(ADMIN_ID, TOWN_A))
    assert "已登记为晒频道" in (await bench.user(ADMIN_ID).send("/bind_channel @wuhua")).text
    bench.channel(-1001500000002, "护国街道书记项目", "huguo", admins=(TOWN_A,))
    town_a, town_b = await two_towns(bench)
    db = bench.app.bot_data.db
    ours = await seed_project(db, "WH0101", 1101, clock(), name="钱局街项目")
    theirs = await seed_project(db, "WH0201", 1201, clock(), name="篆塘项目")
    await run_tick(bench.app, clock.advance(minutes=1))
    number = {}
    for pid in (ours, theirs):
        shown = await public.card(db, pid)
        assert shown is not None
        number[pid] = shown.number
    posted = {p.project_id: p.id for p in await public_store.recent_posts(db, None)}
    assert len(county.posts()) == 2 and set(posted) == {ours, theirs}
    # Lists, take-downs and votes: the town's own projects only.
    listing = (await town_a.send("/posts")).text
    assert "钱局街项目" in listing and "篆塘项目" not in listing
    assert "找不到项目" in (await town_a.send(f"/posts {number[theirs]}")).text
    forged = posted[theirs]
    assert f"没有 {forged} 号帖子" in (await town_a.send(f"/withhold {forged}")).text
    assert f"没有 {forged} 号帖子" in (await town_a.send(f"/delete_post {forged}")).text
    assert "找不到已立项的项目" in (await town_a.send(f"/vote {number[theirs]} 7")).text
    assert "找不到已立项的项目" in (await town_a.send(f"/voters {number[theirs]}")).text
    assert "已发起“钱局街项目”" in (await town_a.send(f"/vote {number[ours]} 7")).text
    assert "民主评议投票记录：钱局街项目" in (await town_a.send(f"/voters {number[ours]}")).text
    assert "已撤下" in (await town_a.send(f"/withhold {posted[ours]}")).text
    assert f"没有 {posted[ours]} 号帖子" in (await town_b.send(f"/withhold {posted[ours]}")).text
    assert "篆塘项目" in (await bench.user(ADMIN_ID).send("/posts")).text  # the top: all
    # Channels: at or below the town, never taking over the county's.
    assert "找不到组织编号“WH02”" in (await town_a.send("/bind_channel @huguo WH02")).text
    assert "已由上级管理员登记" in (await town_a.send("/bind_channel @wuhua")).text
    bound = await town_a.send("/bind_channel @huguo")
    assert "范围：护国街道党工委（WH01）及下属" in bound.text
    # From inside a channel, a town's admin among its administrators binds it for the town.
    daguan = bench.channel(-1001500000003, "大观街道书记项目", "daguan", admins=(TOWN_B,))
    await daguan.post("/bind_channel")
    assert "范围：大观街道党工委（WH02）及下属" in bench.api.sent(TOWN_B)[-1].text


async def test_a_channel_bound_elsewhere_says_by_whom_and_for_what(
    bench: Bench, clock: Clock
) -> None:
    """A town's admin cannot rebind a channel another town's admin bound, in private or from
    inside it; the refusal names that town, not a level above."""
    town_a, _ = await two_towns(bench)
    bench.channel(CHANNEL, "大观街道书记项目", "daguan", admins=(TOWN_A, TOWN_B))
    bound = await bench.user(TOWN_B).send("/bind_channel @daguan")
    assert "范围：大观街道党工委（WH02）及下属" in bound.text
    refused = (
        "频道“大观街道书记项目”已由大观街道党工委（WH02）的管理员登记为该组织及下属的晒频道，"
        "不属于你管理的护国街道党工委（WH01）及下属，你不能更改它的范围。"
        "如需调整，请联系大观街道党工委或上级管理员。"
    )
    assert (await town_a.send("/bind_channel @daguan")).text == refused
    # From inside a channel whose only admin of ours is 护国's.
    inside = bench.channel(CHANNEL - 1, "大观街道书记项目", "daguan2", admins=(TOWN_A,))
    db = bench.app.bot_data.db
    await public.bind_channel(db, inside.id, "大观街道书记项目", "daguan2", TOWN_B, None, clock())
    assert (await inside.post("/bind_channel")).text == refused
    for chat_id in (CHANNEL, inside.id):
        row = await public_store.channel(db, chat_id)
        assert row is not None and row.bound_by == TOWN_B

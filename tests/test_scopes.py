"""分级管理: admins of a subtree, invited from above, seeing and deciding only their own."""

from __future__ import annotations

import io
from dataclasses import replace

from openpyxl import load_workbook

from bot.callbacks import DubanReview, ProjectReview, ProjectsPage
from handlers.buttons import STALE_ALERT
from scheduler.tick import run_tick
from storage import admins, orgs, projects
from tests.conftest import ADMIN_ID, BotHarness, Clock
from tests.projects_helpers import bound_secretary, declare, seed_project, seed_report
from tests.scopes_helpers import TOWN_A, TOWN_B, admin_link, scoped_admin, two_towns
from tests.standin.dialogue import Bench, Press, expect_dialogue
from tests.test_digest import at


async def status_of(bench: Bench, project_id: int) -> str:
    project = await projects.get(bench.app.bot_data.db, project_id)
    assert project is not None
    return project.status


def stale_alert(bench: Bench) -> str:
    """The one alert every dead, forged or out-of-scope button gets."""
    return bench.app.bot_data.texts.plain(STALE_ALERT)


def last_alert(bench: Bench) -> str:
    """The text of the latest alert answering a button."""
    return str(bench.api.methods("answerCallbackQuery")[-1].params.get("text", ""))


async def test_an_admin_invite_makes_a_subtree_admin_once(bench: Bench) -> None:
    town_a, _ = await two_towns(bench)
    # The level's menu: its admin commands, not the top level's own (示范项目, 晒 channels).
    [*_, menu] = [c for c in bench.api.methods("setMyCommands")
                  if c.params.get("scope", {}).get("chat_id") == TOWN_A]  # fmt: skip
    commands = str(menu.params["commands"])
    assert "reports" in commands and "invite_admin" in commands and "accept" in commands
    assert "'models'" not in commands and "'model'" not in commands
    assert "仅限最高一级管理员" not in (await town_a.send("/accept 2026-001")).text
    assert "仅限最高一级管理员" in (await town_a.send("/models")).text
    who = await town_a.send("/whoami")
    assert "护国街道党工委（WH01）及其下属组织的管理员" in who.text
    listing = await bench.user(ADMIN_ID).send("/admins")
    assert "护国街道党工委（WH01）：护国小张，ID <code>2001</code>" in listing.text
    assert "大观街道党工委（WH02）：大观小赵" in listing.text
    # A used link cannot be used again, by anyone.
    code = await admin_link(bench, "WH03")
    assert "及其下属组织的<b>管理员</b>" in (await bench.user(3003).send(f"/start {code}")).text
    assert "已经被使用过" in (await bench.user(3004).send(f"/start {code}")).text
    # One scope per account; a configured admin needs none.
    assert (
        "一个账号只能管理一个组织"
        in (await town_a.send(f"/start {await admin_link(bench, 'WH04')}")).text
    )
    assert (
        "管理员"
        in (await bench.user(ADMIN_ID).send(f"/start {await admin_link(bench, 'WH05')}")).text
    )
    # A town's admin invites below their own level only, and never outside it.
    assert "是你自己这一级" in (await town_a.send("/invite_admin WH01")).text
    assert "不在你管理的范围内" in (await town_a.send("/invite_admin WH0201")).text
    assert "start=" in (await town_a.send("/invite_admin WH0101")).text
    town_listing = await town_a.send("/admins")
    assert "大观" not in town_listing.text and "你是 <b>护国街道党工委</b>" in town_listing.text


async def test_a_town_secretary_is_also_the_admin_of_the_subtree(bench: Bench) -> None:
    await two_towns(bench)
    secretary = await bound_secretary(bench, "WH01", 1005, "镇书记")
    replies = await secretary.send(f"/start {await admin_link(bench, 'WH01')}")
    assert "护国街道党工委</b>（WH01）及其下属组织的<b>管理员</b>" in replies.text
    who = await secretary.send("/whoami")
    assert (
        "身份：书记" in who.text and "同时是护国街道党工委（WH01）及其下属组织的管理员" in who.text
    )
    # Still the town's secretary: their own declaration goes to the level above (the top).
    await declare(secretary)
    assert "提交了书记项目申报" in bench.api.sent(ADMIN_ID)[-1].text
    assert "南强街巷街区党建项目" in (await secretary.send("/projects")).text


async def test_two_towns_never_see_each_others_projects(bench: Bench) -> None:
    town_a, town_b = await two_towns(bench)
    top = bench.user(ADMIN_ID)
    in_a = await bound_secretary(bench, "WH0101", 1001, "钱局书记")
    in_b = await bound_secretary(bench, "WH0201", 1002, "篆塘书记")
    top_before = len(bench.api.sent(ADMIN_ID))
    await declare(in_a, name="钱局街巷党建项目")
    await declare(in_b, name="篆塘河道治理项目")
    # Each application reaches its own town's admins only, once.
    assert [m.text.count("钱局街巷") for m in bench.api.sent(TOWN_A)][-1] >= 1
    assert not any("篆塘河道" in m.text for m in bench.api.sent(TOWN_A))
    assert not any("钱局街巷" in m.text for m in bench.api.sent(TOWN_B))
    assert len(bench.api.sent(ADMIN_ID)) == top_before
    # Lists, filters, cards: only the own subtree.
    listing = await town_a.send("/projects")
    assert "钱局街巷党建项目" in listing.text and "篆塘" not in listing.text
    assert "篆塘" not in (await town_a.send("/projects WH02")).text
    assert "篆塘" not in (await town_a.send("/projects WH0201")).text
    assert "篆塘" not in (await town_a.send("/project #2")).text
    for org_code in ("WH02", "WH0201"):
        org = await orgs.by_code(bench.app.bot_data.db, org_code)
        assert org is not None
        forged_page = ProjectsPage(0, None, org.id).pack()
        assert "篆塘" not in (await town_a.press_data(forged_page)).text
    # Both are the top level's to see.
    everything = await top.send("/projects")
    assert "钱局街巷党建项目" in everything.text and "篆塘河道治理项目" in everything.text
    # A forged 立项 or 退回修改 for the other town's project changes nothing.
    for action in ("a", "r", "p", "b"):
        replies = await town_a.press_data(ProjectReview(2, 1, action).pack())  # type: ignore[arg-type]
        assert not replies.text and "已失效" in last_alert(bench)
    assert await status_of(bench, 2) == "submitted"
    # Invites stay inside the subtree too.
    assert "找不到组织" in (await town_a.send("/invite WH0201")).text
    assert "start=" in (await town_a.send("/invite WH0102")).text
    # Each town decides its own.
    assert "已立项" in (await town_a.press("✅ 立项")).text
    assert "已立项" in (await town_b.press("✅ 立项")).text
    assert await status_of(bench, 1) == await status_of(bench, 2) == "approved"


async def test_an_admin_removed_mid_conversation_loses_rights_at_once(bench: Bench) -> None:
    town_a, town_b = await two_towns(bench)
    secretary = await bound_secretary(bench, "WH0101", 1001)
    await declare(secretary)
    assert "请输入退回" in (await town_a.press("↩️ 退回修改")).text
    # Only an admin above may remove: not a neighbour, not oneself.
    assert "没有 ID 为 2001 的管理员" in (await town_b.send("/remove_admin 2001")).text
    assert "只有上级管理员可以撤销" in (await town_a.send("/remove_admin 2001")).text
    removed = await bench.user(ADMIN_ID).send("/remove_admin 2001")
    assert "已撤销 护国小张 作为 护国街道党工委（WH01）管理员的权限" in removed.text
    assert "权限已被上级管理员撤销" in bench.api.sent(TOWN_A)[-1].text
    # The reason typed next is refused, and the project stays where it was.
    assert "仅限管理员" in (await town_a.send("目标不清楚")).text
    assert await status_of(bench, 1) == "submitted"
    assert "只有书记和管理员可以查看" in (await town_a.send("/projects")).text
    replies = await town_a.press_data(ProjectReview(1, 1, "a").pack())
    assert await status_of(bench, 1) == "submitted" and "已立项" not in replies.text
    record = await admins.active_within(bench.app.bot_data.db, None)
    assert [a.user_id for a in record] == [TOWN_B]
    listing = (await bench.user(ADMIN_ID).send("/admins")).text
    assert "最近撤销" in listing and "由 ID <code>900001</code> 撤销" in listing
    # Their menu lost the admin commands.
    [*_, menu] = [c for c in bench.api.methods("setMyCommands")
                  if c.params.get("scope", {}).get("chat_id") == TOWN_A]  # fmt: skip
    assert "reports" not in str(menu.params["commands"])
    rows = await bench.app.bot_data.db.execute_fetchall(
        "SELECT removed_by FROM org_admins WHERE user_id = ?", (TOWN_A,)
    )
    assert [r[0] for r in rows] == [ADMIN_ID]


async def test_two_stage_review_with_a_return_at_each_stage(
    harness: BotHarness, bench: Bench
) -> None:
    harness.settings = replace(harness.settings, review_stages=2)
    bench = await harness.restart()
    town_a, _ = await two_towns(bench)
    top = bench.user(ADMIN_ID)
    secretary = await bound_secretary(bench, "WH0101", 1001)
    top_before = len(bench.api.sent(ADMIN_ID))
    await declare(secretary)
    application = bench.api.sent(TOWN_A)[-1]
    assert "请作为 护国街道党工委 的管理员<b>预审</b>" in application.text
    assert [b for b, _ in application.buttons][-2:] == ["⬆️ 预审通过，报送审定", "↩️ 退回修改"]
    assert len(bench.api.sent(ADMIN_ID)) == top_before  # not the top's yet
    # The town cannot approve at 预审, even with a forged button; nor the top pass it up.
    assert "已立项" not in (await town_a.press_data(ProjectReview(1, 1, "a").pack())).text
    assert "已通过预审" not in (await top.press_data(ProjectReview(1, 1, "p").pack())).text
    assert "只有管理员可以审批项目" in last_alert(bench)
    assert not await projects.passed_in_round(bench.app.bot_data.db, 1, 1)
    assert await status_of(bench, 1) == "submitted"
    # 预审 returns it.
    await expect_dialogue(town_a, [
        (Press("↩️ 退回修改"), "请输入退回"),
        ("请写清楚整治哪几条街巷", "已退回"),
    ])  # fmt: skip
    told = bench.api.sent(secretary.id)[-1].text
    assert "在<b>预审</b>时被退回修改" in told and "请写清楚整治哪几条街巷" in told
    await expect_dialogue(secretary, [
        (Press("✏️ 修改申报"), "理由"),
        (Press("✅ 提交"), "已重新提交"),
    ])  # fmt: skip
    # 预审 passes it up; the top gets it for 审定, once.
    assert "已通过预审" in (await town_a.press("⬆️ 预审通过，报送审定")).text
    to_top = bench.api.sent(ADMIN_ID)[top_before:]
    assert len(to_top) == 1 and "已通过护国街道党工委预审" in to_top[0].text
    assert [b for b, _ in to_top[0].buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]
    assert "已立项" not in (await town_a.press_data(ProjectReview(1, 2, "a").pack())).text
    # 审定 returns it.
    await expect_dialogue(top, [
        (Press("↩️ 退回修改"), "请输入退回"),
        ("预期目标要量化", "已退回"),
    ])  # fmt: skip
    told = bench.api.sent(secretary.id)[-1].text
    assert "在<b>审定</b>时被退回修改" in told and "预期目标要量化" in told
    await expect_dialogue(secretary, [
        (Press("✏️ 修改申报"), "理由"),
        (Press("✅ 提交"), "已重新提交"),
    ])  # fmt: skip
    await town_a.press("⬆️ 预审通过，报送审定")
    assert "已立项" in (await top.press("✅ 立项")).text
    history = await projects.reviews(bench.app.bot_data.db, 1)
    assert [(r.action, r.round, r.stage, r.by_user) for r in history] == [
        ("submit", 1, None, 1001), ("return", 1, "pre", TOWN_A),
        ("submit", 2, None, 1001), ("pass", 2, "pre", TOWN_A), ("return", 2, "final", ADMIN_ID),
        ("submit", 3, None, 1001), ("pass", 3, "pre", TOWN_A), ("approve", 3, "final", ADMIN_ID),
    ]  # fmt: skip
    card = await secretary.send("/project")
    assert "预审退回" in card.text and "审定立项" in card.text


async def test_two_stages_without_a_level_below_go_straight_to_the_top(
    harness: BotHarness, bench: Bench
) -> None:
    harness.settings = replace(harness.settings, review_stages=2)
    bench = await harness.restart()
    await two_towns(bench)
    secretary = await bound_secretary(bench, "WH03", 1003)
    await declare(secretary)
    application = bench.api.sent(ADMIN_ID)[-1]
    assert [b for b, _ in application.buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]
    assert "已立项" in (await bench.user(ADMIN_ID).press("✅ 立项")).text


def cells(data: bytes) -> str:
    """Every cell of every sheet of a workbook, as one text."""
    book = load_workbook(io.BytesIO(data))
    return " ".join(
        str(value)
        for sheet in book.worksheets
        for row in sheet.iter_rows(values_only=True)
        for value in row
        if value is not None
    )


async def test_every_admin_command_stays_inside_the_subtree(bench: Bench, clock: Clock) -> None:
    town_a, town_b = await two_towns(bench)
    db, top = bench.app.bot_data.db, bench.user(ADMIN_ID)
    mine = await seed_project(db, "WH0101", 1001, clock(), name="钱局街巷项目")
    theirs = await seed_project(db, "WH0201", 1002, clock(), name="篆塘河道项目")
    for pid in (mine, theirs):
        await seed_report(db, pid, "2026-10", at("2026-10-24 10:00"))
    # /reports, /history, /reopen
    reports = (await town_a.send("/reports 2026-10")).text
    assert "应报 1，已报 1" in reports and "篆塘" not in reports
    assert "应报 2，已报 2" in (await top.send("/reports 2026-10")).text
    assert "找不到已立项的项目" in (await town_a.send("/history 2026-002")).text
    assert "2026 年 10 月" in (await town_a.send("/history 2026-001")).text
    assert "找不到这个项目" in (await town_a.send("/reopen 2026-002 2026-10")).text
    # /exempt, /unreachable
    assert "找不到组织编号“WH0201”" in (await town_a.send("/exempt WH0201 2026-11 换届")).text
    assert "找不到组织编号" not in (await town_a.send("/exempt WH0102 2026-11 换届")).text
    unreachable = (await town_a.send("/unreachable")).text
    assert (
        "大观街道党工委" not in unreachable
        and "大观街道党工委" in (await top.send("/unreachable")).text
    )
    # /digest and /ledger: the subtree's own
    digest = (await town_a.send("/digest 2026-10")).text
    assert "篆塘" not in digest
    await town_a.send("/ledger 2026")
    [ledger] = [c for c in bench.api.methods("sendDocument") if c.chat_id == TOWN_A][-1:]
    assert ledger.upload is not None
    book = cells(ledger.upload[1])
    assert "钱局街巷项目" in book and "篆塘" not in book
    # 督办单: issue, list, show, close and return only inside
    refused = (await town_a.send("/duban 2026-002 台账未更新 | 补齐台账 | 7天")).text
    assert "找不到项目" in refused
    await town_a.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    assert "督办〔2026〕第1号" in (await town_a.press("📤 下发")).text
    await top.send("/duban 2026-002 进度滞后 | 说明原因 | 7天")
    await top.press("📤 下发")
    listing = (await town_a.send("/duban_list")).text
    assert "钱局" in listing and "篆塘" not in listing
    assert "找不到督办单" in (await town_a.send("/duban_show 2")).text
    for action in ("c", "r"):
        replies = await town_a.press_data(DubanReview(2, 1, action).pack())  # type: ignore[arg-type]
        assert not replies.text and "已失效" in last_alert(bench)
    # 反馈 goes to the nearest level (and the issuer), each once
    theirs_secretary = bench.user(1002)
    await theirs_secretary.press("✅ 签收")
    await theirs_secretary.press("📝 反馈整改情况")
    await theirs_secretary.send("已说明原因并补齐进度")
    await theirs_secretary.press("跳过")
    await theirs_secretary.press("✅ 提交")
    feedback = [c.chat_id for c in bench.api.sent() if "收到整改反馈" in c.text]
    assert sorted(feedback) == sorted([TOWN_B, ADMIN_ID])
    # Answered now, the other town's forged 办结 or 退回 still meets the one stale alert.
    for action in ("c", "r"):
        replies = await town_a.press_data(DubanReview(2, 1, action).pack())  # type: ignore[arg-type]
        assert not replies.text and last_alert(bench) == stale_alert(bench)
    assert "办结" in (await town_b.press("✅ 办结")).text
    # Groups bind at or below the admin's level
    group = bench.group(-5001, "护国督导群")
    assert "找不到组织编号" in (await group.send(town_a, "/bind_group WH02")).text
    assert "护国街道党工委" in (await group.send(town_a, "/bind_group")).text
    wide = bench.group(-5002, "全区督导群")
    await wide.send(top, "/bind_group")
    assert "不能更改它的范围" in (await wide.send(town_a, "/bind_group WH0101")).text


async def test_each_level_gets_its_own_overdue_list_and_the_top_the_roll_up(
    bench: Bench, clock: Clock
) -> None:
    town_a, town_b = await two_towns(bench)
    db = bench.app.bot_data.db
    await seed_project(db, "WH0101", 1001, clock(), name="钱局街巷项目")
    await seed_project(db, "WH0201", 1002, clock(), name="篆塘河道项目")
    await seed_project(db, "WH03", 1003, clock(), name="华山项目")
    before = {chat: len(bench.api.sent(chat)) for chat in (TOWN_A, TOWN_B, ADMIN_ID)}
    # The first working day after November's deadline, 09:00: nobody has reported. The top
    # admins review the draft; at 11:00 it is published, to each level too.
    await run_tick(bench.app, at("2026-11-26 09:00"))
    await run_tick(bench.app, at("2026-11-26 11:00"))
    await run_tick(bench.app, at("2026-11-26 12:00"))  # once per event, not per tick

    def bulletins(chat: int) -> list[str]:
        return [c.text for c in bench.api.sent(chat)[before[chat] :] if "月通报" in c.text]

    [for_a], [for_b], [draft, roll_up] = bulletins(TOWN_A), bulletins(TOWN_B), bulletins(ADMIN_ID)
    assert "月通报草稿" in draft and "草稿" not in roll_up
    assert "护国街道党工委" in for_a and "应报 1" in for_a and "篆塘" not in for_a
    assert "大观街道党工委" in for_b and "应报 1" in for_b and "钱局" not in for_b
    assert "应报 3" in roll_up
    # 双月调度 (December): the top admins review the draft; at its publication each level
    # gets its own subtree's summary, and each group its own scope's.
    inside, outside = bench.group(-5101, "护国督导群"), bench.group(-5102, "大观督导群")
    await inside.send(town_a, "/bind_group")
    await outside.send(town_b, "/bind_group")
    await run_tick(bench.app, at("2026-12-28 09:00"))
    assert not any("双月调度汇总" in c.text for c in bench.api.sent(TOWN_A))
    draft = next(c for c in bench.api.sent(ADMIN_ID) if "双月调度汇总草稿" in c.text)
    assert "钱局" in draft.text and "篆塘" in draft.text
    await run_tick(bench.app, at("2026-12-28 11:00"))
    [summary] = [c for c in bench.api.sent(TOWN_A) if "双月调度汇总" in c.text]
    assert "钱局" in summary.text and "篆塘" not in summary.text and not summary.buttons
    [for_a] = [c.text for c in bench.api.sent(-5101) if "双月调度汇总</b>" in c.text]
    [for_b] = [c.text for c in bench.api.sent(-5102) if "双月调度汇总</b>" in c.text]
    assert "钱局" in for_a and "篆塘" not in for_a and "篆塘" in for_b and "钱局" not in for_b


async def test_an_admin_removed_while_drafting_a_notice_issues_nothing(
    bench: Bench, clock: Clock
) -> None:
    town_a, _ = await two_towns(bench)
    await seed_project(bench.app.bot_data.db, "WH0101", 1001, clock(), name="钱局街巷项目")
    assert "整改要求" in (await town_a.send("/duban 2026-001 台账未更新")).text
    await bench.user(ADMIN_ID).send("/remove_admin 2001")
    assert "只有管理员可以下发督办单" in (await town_a.send("补齐 3–5 月台账")).text
    assert "仅限管理员" in (await town_a.send("/duban 2026-001 台账未更新")).text
    rows = await bench.app.bot_data.db.execute_fetchall(
        "SELECT count(*) FROM notices WHERE status != 'draft'"
    )
    assert rows[0][0] == 0 and not bench.api.sent(1001)


async def test_a_residents_suggestion_goes_to_the_nearest_level(bench: Bench, clock: Clock) -> None:
    await two_towns(bench)
    await seed_project(bench.app.bot_data.db, "WH0101", 1001, clock(), name="钱局街巷项目")
    before = len(bench.api.sent(ADMIN_ID))
    resident = bench.user(6001, "陈阿姨")
    assert "钱局街巷项目" in (await resident.send("/start yj_1")).text
    await resident.send("文林街晚上路灯不亮。")
    assert "收到群众意见建议" in bench.api.sent(TOWN_A)[-1].text
    assert "收到群众意见建议" in bench.api.sent(1001)[-1].text
    assert len(bench.api.sent(ADMIN_ID)) == before


async def test_an_admin_invite_dies_with_its_inviters_rights_or_its_time(
    bench: Bench, clock: Clock
) -> None:
    await two_towns(bench)
    from_town = await admin_link(bench, "WH0101", by=TOWN_A)
    late = await admin_link(bench, "WH0102", by=TOWN_A)
    await bench.user(ADMIN_ID).send("/remove_admin 2001")
    replies = await bench.user(3101).send(f"/start {from_town}")
    assert "这个管理员邀请已失效" in replies.text
    assert await admins.active_of(bench.app.bot_data.db, 3101) is None
    # A top-level invite left unused past its lifetime is refused too.
    fresh = await admin_link(bench, "WH0102")
    clock.advance(days=bench.app.bot_data.settings.invite_ttl_days + 1)
    assert "已过期" in (await bench.user(3102).send(f"/start {fresh}")).text
    assert "已过期" in (await bench.user(3103).send(f"/start {late}")).text


def last_menu(bench: Bench, chat_id: int) -> str:
    """The commands of the latest menu set for one private chat."""
    [*_, menu] = [c for c in bench.api.methods("setMyCommands")
                  if c.params.get("scope", {}).get("chat_id") == chat_id]  # fmt: skip
    return str(menu.params["commands"])


async def test_a_restart_sets_every_levels_menu_and_resets_the_removed(
    harness: BotHarness, bench: Bench
) -> None:
    await two_towns(bench)
    secretary = await bound_secretary(bench, "WH0101", 1001)
    await scoped_admin(bench, "WH0101", 1001, "钱局书记")
    assert "已撤销" in (await bench.user(ADMIN_ID).send("/remove_admin 2002")).text
    assert "已撤销" in (await bench.user(ADMIN_ID).send("/remove_admin 1001")).text
    assert secretary.id == 1001
    for _ in range(2):  # twice: the same menus again, nothing more
        before = len(bench.api.methods("setMyCommands"))
        bench = await harness.restart()
        chats = [c.params.get("scope", {}).get("chat_id")
                 for c in bench.api.methods("setMyCommands")[before:]]  # fmt: skip
        assert sorted(c for c in chats if c in (TOWN_A, TOWN_B, 1001)) == [1001, TOWN_A, TOWN_B]
        assert "invite_admin" in last_menu(bench, TOWN_A)  # still the town's admin
        assert "reports" not in last_menu(bench, TOWN_B)  # removed: a stranger's menu
        assert "invite_admin" not in last_menu(bench, 1001)  # removed: the secretary's again
        assert "report" in last_menu(bench, 1001)

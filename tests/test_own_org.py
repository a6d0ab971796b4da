"""Nobody supervises their own organization: a secretary who is also an admin (of their own
organization's subtree, or of the level above) is refused every decision about it — 立项,
结题, /close_early, /exempt, /reopen and 督办 — with the level-above wording, and a forged
button of it changes nothing."""

from __future__ import annotations

from bot.callbacks import AcceptConfirm, ClosingReview, DubanDraft, DubanReview, ProjectReview
from scheduler.tick import run_tick
from storage import closing, deliveries, notices, projects, reports
from storage import public as public_store
from storage.rows import Project, ts
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import bound_secretary, declare, file_closing_report, seed_project
from tests.scopes_helpers import add_communities, admin_link, scoped_admin
from tests.standin.dialogue import Bench, TgUser
from tests.test_public import bound_channel

DUBAN_OWN = "本组织项目的督办单由上级组织办理，你不能下发、办结或退回。"


async def secretary_admin(bench: Bench, org: str = "WH01", admin_of: str = "WH01") -> TgUser:
    """The secretary of `org` who also opened an admin invite for `admin_of`'s subtree."""
    await add_communities(bench)
    secretary = await bound_secretary(bench, org, 1005, "镇书记")
    replies = await secretary.send(f"/start {await admin_link(bench, admin_of)}")
    assert "及其下属组织的<b>管理员</b>" in replies.text, replies.text
    return secretary


def last_alert(bench: Bench) -> tuple[bool, str]:
    params = bench.api.methods("answerCallbackQuery")[-1].params
    return params.get("show_alert", False), params.get("text", "")


async def own_project(bench: Bench, clock: Clock) -> Project:
    pid = await seed_project(bench.app.bot_data.db, "WH01", 1005, clock(), name="护国自己的项目")
    project = await projects.get(bench.app.bot_data.db, pid)
    assert project is not None
    return project


async def test_own_month_and_report_are_the_level_aboves(bench: Bench, clock: Clock) -> None:
    secretary = await secretary_admin(bench)
    project = await own_project(bench, clock)
    db = bench.app.bot_data.db
    replies = await secretary.send("/exempt WH01 2026-11 换届")
    assert replies.text == "护国街道党工委由它的上级组织决定是否免报，你不能为本组织设置免报。"
    assert await deliveries.exemptions(db, "2026-11") == {}
    replies = await secretary.send("/reopen 2026-001 2026-10")
    assert len(replies) == 1  # nothing told to the secretary as if reopened
    assert replies.text == (
        "“护国自己的项目”由它的上级组织决定是否重新开放月报，你不能为本组织的项目重新开放月报。"
    )
    assert await reports.reopened(db, project.id, "2026-11-21") == []
    # Below it their rights stand: a community of their subtree can be exempted.
    assert "已设置" in (await secretary.send("/exempt WH0101 2026-11 换届")).text


async def test_a_village_secretary_admin_of_the_town_above_is_refused_too(
    bench: Bench, clock: Clock
) -> None:
    secretary = await secretary_admin(bench, org="WH0101", admin_of="WH01")
    replies = await secretary.send("/exempt WH0101 2026-11 换届")
    assert "你不能为本组织设置免报" in replies.text
    assert "已设置" in (await secretary.send("/exempt WH0102 2026-11 换届")).text
    pid = await seed_project(bench.app.bot_data.db, "WH0101", 1005, clock(), name="钱局街项目")
    replies = await secretary.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    assert replies.text == "“钱局街项目”由它的上级组织督办，你不能督办本组织的项目。"
    assert await notices.get(bench.app.bot_data.db, 1) is None
    assert pid == 1


async def test_no_duban_to_ones_own_organization(bench: Bench, clock: Clock) -> None:
    secretary = await secretary_admin(bench)
    await own_project(bench, clock)
    replies = await secretary.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    assert replies.text == "“护国自己的项目”由它的上级组织督办，你不能督办本组织的项目。"
    assert replies.buttons == []
    assert await notices.get(bench.app.bot_data.db, 1) is None
    # A forged 下发 of a draft the top level is writing does not issue it.
    top = bench.user(ADMIN_ID)
    await top.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    await secretary.press_data(DubanDraft(1, "preview", "send").pack())
    assert last_alert(bench) == (True, DUBAN_OWN)
    found = await notices.get(bench.app.bot_data.db, 1)
    assert found is not None and found.seq is None


async def test_a_secretary_admin_cannot_close_their_own_notice(bench: Bench, clock: Clock) -> None:
    secretary = await secretary_admin(bench)
    await own_project(bench, clock)
    top = bench.user(ADMIN_ID)
    await top.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    await top.press("📤 下发")
    await secretary.press("✅ 签收")
    await secretary.press("📝 反馈整改情况")
    await secretary.send("只写了一点点")
    await secretary.press("跳过")
    replies = await secretary.press("✅ 提交")
    to_them = [b for c in replies if c.chat_id == secretary.id for b in c.buttons]
    assert all(label != "✅ 办结" for label, _ in to_them)  # the 反馈 goes above
    for action in ("c", "r"):
        await secretary.press_data(DubanReview(1, 1, action).pack())
        assert last_alert(bench) == (True, DUBAN_OWN)
    found = await notices.get(bench.app.bot_data.db, 1)
    assert found is not None and found.status == "answered"
    shown = await secretary.send("/duban_show 1")
    assert "督办〔2026〕第1号" in shown.text and shown.buttons == []
    assert any(label == "✅ 办结" for label, _ in (await top.send("/duban_show 1")).buttons)


async def test_own_application_and_closing_say_the_level_above_decides(
    bench: Bench, clock: Clock
) -> None:
    secretary = await secretary_admin(bench)
    await declare(secretary)
    await secretary.press_data(ProjectReview(1, 1, "a").pack())
    assert last_alert(bench) == (True, "本组织的申报由上级组织审批，你不能审批。")
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "submitted"  # type: ignore[union-attr]

    project = await own_project(bench, clock)
    replies = await secretary.send(f"/close_early {project.number} 已经完成")
    assert replies.text == (
        "“护国自己的项目”由它的上级组织决定是否提前结题，你不能为本组织的项目开放结题。"
    )
    await bench.user(ADMIN_ID).send(f"/close_early {project.number} 已经完成")
    await file_closing_report(secretary)
    await secretary.press_data(ClosingReview(1, 1, "a").pack())
    assert last_alert(bench) == (True, "本组织的结题报告由上级组织审核，你不能审核。")
    found = await closing.get(bench.app.bot_data.db, 1)
    assert found is not None and found.status == "submitted"


async def test_a_town_admin_who_is_not_its_secretary_supervises_below_only(
    bench: Bench, clock: Clock
) -> None:
    await add_communities(bench)
    town = await scoped_admin(bench, "WH01", 2001, "护国小张")
    await seed_project(bench.app.bot_data.db, "WH01", 1005, clock(), name="护国自己的项目")
    replies = await town.send("/duban 2026-001 台账未更新 | 补齐台账 | 7天")
    assert "你不能督办本组织的项目" in replies.text
    assert "你不能为本组织设置免报" in (await town.send("/exempt WH01 2026-11 换届")).text


async def test_own_acceptance_vote_and_posts_are_the_level_aboves(
    bench: Bench, clock: Clock
) -> None:
    channel = await bound_channel(bench)
    secretary = await secretary_admin(bench)
    project = await own_project(bench, clock)
    await run_tick(bench.app, clock.advance(minutes=1))  # the card goes up in the channel
    assert len(channel.posts()) == 1
    replies = await secretary.send(f"/accept {project.number}")
    assert replies.text == "“护国自己的项目”由它的上级组织验收，你不能验收本组织的项目。"
    assert replies.buttons == []
    await secretary.press_data(AcceptConfirm(project.id, 0, "c").pack())
    assert last_alert(bench) == (True, "本组织的项目由上级组织验收，你不能验收。")
    replies = await secretary.send(f"/vote {project.number} 7")
    assert replies.text == "“护国自己的项目”由它的上级组织发起民主评议，你不能为本组织的项目发起。"
    db = bench.app.bot_data.db
    assert await public_store.open_vote_of(db, project.id, ts(clock())) is None
    for command in ("/withhold 1", "/delete_post 1"):
        replies = await secretary.send(command)
        assert replies.text == "1 号帖子是本组织项目的，由上级组织决定是否撤下，你不能撤下。"
    [post] = await public_store.recent_posts(db, None)
    assert post.status == "posted" and len(channel.posts()) == 1


async def test_a_secretary_suggests_nothing_on_their_own_project(
    bench: Bench, clock: Clock
) -> None:
    secretary = await secretary_admin(bench)
    project = await own_project(bench, clock)
    replies = await secretary.send(f"/start yj_{project.id}")
    assert "是你所在组织的书记项目，意见建议留给群众提出" in replies.text
    before = len(bench.api.sent(ADMIN_ID))
    await secretary.send("我自己提个建议看看")
    assert len(bench.api.sent(ADMIN_ID)) == before  # nothing reaches 组织部 as a resident's
    assert await public_store.suggestions(bench.app.bot_data.db, project.id) == []
    # A resident still can.
    resident = bench.user(7001, "居民")
    assert "提意见建议" in (await resident.send(f"/start yj_{project.id}")).text

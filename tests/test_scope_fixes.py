"""分级管理, the reviewers' findings: what a subtree admin must not see or be able to do."""

from __future__ import annotations

from bot.callbacks import ProjectReview
from scheduler.tick import run_tick
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import bound_secretary, declare, seed_project
from tests.scopes_helpers import TOWN_A, TOWN_B, add_communities, scoped_admin, two_towns
from tests.standin.dialogue import Bench
from tests.test_digest import at
from tests.test_scopes import status_of


async def test_a_town_admins_exemption_sends_them_no_draft_of_the_whole_area(
    bench: Bench, clock: Clock
) -> None:
    town_a, _ = await two_towns(bench)
    db = bench.app.bot_data.db
    await seed_project(db, "WH0101", 1001, clock(), name="钱局街巷项目")
    await seed_project(db, "WH0201", 1002, clock(), name="篆塘河道项目")
    clock.now = at("2026-11-26 09:00")
    await run_tick(bench.app, clock.now)  # the top admins get November's draft
    before = len(bench.api.sent(TOWN_A))
    clock.now = at("2026-11-26 09:40")
    replies = await town_a.send("/exempt WH0101 2026-11 换届选举")
    assert "已设置：钱局街社区党委 2026-11 免报" in replies.text
    assert "已按此更新" not in replies.text
    after = bench.api.sent(TOWN_A)[before:]
    assert not any("篆塘" in m.text or "月通报" in m.text for m in after)
    assert not any(b == "📤 发布" for m in after for b, _ in m.buttons)
    assert not [c for c in bench.api.methods("sendDocument") if c.chat_id == TOWN_A]
    # The top admin's exemption of another month leaves November's draft as it was.
    top = bench.user(ADMIN_ID)
    other = await top.send("/exempt WH03 2026-12 换届选举")
    assert "已设置" in other.text and "已按此更新" not in other.text
    same = await top.send("/exempt WH03 2026-11 换届选举")
    assert "月通报草稿尚未发布，已按此更新" in same.text


async def test_a_town_admin_is_offered_only_organizations_of_their_own_subtree(
    bench: Bench,
) -> None:
    town_a, _ = await two_towns(bench)
    communities = (await town_a.send("/invite 社区")).text
    assert "WH0101" in communities and "WH0102" in communities
    assert "篆塘" not in communities and "WH0201" not in communities
    towns = (await town_a.send("/invite 街道")).text
    assert "大观" not in towns and "WH02" not in towns and "匹配到多个组织" not in towns
    below = (await town_a.send("/invite_admin 社区")).text
    assert "WH0101" in below and "篆塘" not in below
    assert "是你自己这一级" in (await town_a.send("/invite_admin 街道")).text
    # The top level still chooses among all of them.
    assert "WH0201" in (await bench.user(ADMIN_ID).send("/invite 社区")).text


async def test_an_id_too_long_to_be_telegrams_gets_the_usage(bench: Bench) -> None:
    await two_towns(bench)
    replies = await bench.user(ADMIN_ID).send("/remove_admin 99999999999999999999")
    assert "用法" in replies.text and "Traceback" not in replies.text


async def test_a_secretary_who_is_the_towns_only_admin_never_decides_their_own(
    bench: Bench,
) -> None:
    await add_communities(bench)
    secretary = await bound_secretary(bench, "WH0101", 1001, "钱局书记")
    await scoped_admin(bench, "WH01", 1001, "钱局书记")
    top_before = len(bench.api.sent(ADMIN_ID))
    await declare(secretary)
    # Nobody else at the town: it goes on up to the top level, not back to its author.
    to_top = bench.api.sent(ADMIN_ID)[top_before:]
    assert len(to_top) == 1 and "提交了书记项目申报" in to_top[0].text
    assert not any("请作为" in m.text for m in bench.api.sent(1001))
    replies = await secretary.press_data(ProjectReview(1, 1, "a").pack())
    assert "已立项" not in replies.text and await status_of(bench, 1) == "submitted"
    assert "已立项" in (await bench.user(ADMIN_ID).press("✅ 立项")).text


async def test_removing_a_levels_last_admin_sends_its_applications_on_up(bench: Bench) -> None:
    await two_towns(bench)
    secretary = await bound_secretary(bench, "WH0101", 1001)
    await declare(secretary)
    assert "提交了书记项目申报" in bench.api.sent(TOWN_A)[-1].text
    top = bench.user(ADMIN_ID)
    before = len(bench.api.sent(ADMIN_ID))
    assert "已撤销" in (await top.send("/remove_admin 2001")).text
    [application] = [m for m in bench.api.sent(ADMIN_ID)[before:] if "提交了书记项目申报" in m.text]
    assert [b for b, _ in application.buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]
    assert not any("提交了书记项目申报" in m.text for m in bench.api.sent(TOWN_B))
    assert "已立项" in (await top.press("✅ 立项")).text
    assert await status_of(bench, 1) == "approved"

"""分级管理 of the year's end: 结题 and 验收 stay inside each admin's subtree."""

from __future__ import annotations

from bot.callbacks import AcceptConfirm, ClosingReview
from bot.services import scopes
from bot.services.acceptance import Rules, standing, standings, to_score
from storage import acceptance, admins, orgs, planning, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import bound_secretary, seed_project
from tests.scopes_helpers import TOWN_A, TOWN_B, two_towns
from tests.standin.dialogue import Bench
from tests.test_closing import at, write_and_submit
from tests.test_scopes import last_alert, stale_alert


async def status(bench: Bench, pid: int) -> str:
    project = await projects.get(bench.app.bot_data.db, pid)
    assert project is not None
    return project.status


async def test_a_towns_admin_decides_the_closing_of_its_subtree_only(
    bench: Bench, clock: Clock
) -> None:
    town_a, town_b = await two_towns(bench)
    db = bench.app.bot_data.db
    mine = await seed_project(db, "WH0101", 1001, clock(), name="钱局街巷项目")
    top_before = len(bench.api.sent(ADMIN_ID))
    clock.now = at("2026-12-02 10:00")
    await write_and_submit(bench.user(1001, "李娜"))
    # The report goes to the town's admins only, not the other town's nor the top's.
    assert any("提交了结题报告" in m.text for m in bench.api.sent(TOWN_A))
    assert not any("提交了结题报告" in m.text for m in bench.api.sent(TOWN_B))
    assert not any("提交了结题报告" in m.text for m in bench.api.sent(ADMIN_ID)[top_before:])
    # The other town's forged buttons and arguments find nothing.
    for action in ("a", "r"):
        replies = await town_b.press_data(ClosingReview(1, 1, action).pack())  # type: ignore[arg-type]
        assert not replies.text and last_alert(bench) == stale_alert(bench)
    assert "找不到" in (await town_b.send("/close_early 2026-001 提前完成")).text
    assert await status(bench, mine) == "approved"
    assert "项目已结题" in (await town_a.press("✅ 通过结题")).text
    assert await status(bench, mine) == "concluded"


async def test_a_towns_admin_names_reviewers_and_sees_results_inside_only(
    bench: Bench, clock: Clock
) -> None:
    town_a, _ = await two_towns(bench)
    db = bench.app.bot_data.db
    mine = await seed_project(db, "WH0101", 1001, clock(), name="钱局街巷项目")
    theirs = await seed_project(db, "WH0201", 1002, clock(), name="篆塘河道项目")
    async with db.transaction() as conn:
        for pid in (mine, theirs):
            assert await acceptance.mark_concluded(conn, pid, ts(clock()))
    await bound_secretary(bench, "WH0102", 1003, "文庙书记")
    assert "找不到 ID 为 1002" in (await town_a.send("/reviewer_add 1002")).text
    assert "已把 文庙书记" in (await town_a.send("/reviewer_add 1003")).text
    assert "已把" in (await bench.user(ADMIN_ID).send("/reviewer_add 1002")).text
    listing = (await town_a.send("/reviewers")).text
    assert "文庙书记" in listing and "1002" not in listing
    assert "不是验收评委" in (await town_a.send("/reviewer_drop 1002")).text
    overview = (await town_a.send("/acceptance")).text
    assert "钱局街巷项目" in overview and "篆塘" not in overview
    assert "篆塘" not in (await town_a.send("/accept 2026-002")).text
    replies = await town_a.press_data(AcceptConfirm(theirs, 0, "c").pack())
    assert not replies.text and last_alert(bench) == stale_alert(bench)
    # The town's reviewer scores the town's projects only.
    reviewer = bench.user(1003, "文庙书记")
    assert "篆塘" not in (await reviewer.send("/score")).text
    assert "钱局街巷项目" in (await reviewer.send("/score")).text
    assert "篆塘" not in (await reviewer.send("/score 2026-002")).text
    assert await status(bench, theirs) == "concluded"


async def test_the_lists_read_at_once_match_each_project_read_alone(
    bench: Bench, clock: Clock
) -> None:
    """/acceptance and /models read every project's standing in a few queries: on projects
    of several levels, with and without scores, a result and 示范, that is what reading
    each project alone gives, and a town's admin still gets its subtree only."""
    town_a, _ = await two_towns(bench)
    db, rules, stamp = bench.app.bot_data.db, Rules(), ts(clock())
    codes = ("WH01", "WH0101", "WH0102", "WH0201", "WH02")
    pids = [await seed_project(db, code, 1001 + i, clock(), name=f"{code}项目")
            for i, code in enumerate(codes)]  # fmt: skip
    async with db.transaction() as conn:
        for reviewer, name in ((5001, "评委甲"), (5002, "评委乙")):
            await acceptance.name_reviewer(conn, reviewer, name, None, ADMIN_ID, stamp)
        for pid in pids:
            assert await acceptance.mark_concluded(conn, pid, stamp)
        for pid, reviewer, values in ((pids[0], 5001, (90, 80, 70, 60)),
                                      (pids[0], 5002, (70, 70, 70, 70)),
                                      (pids[1], 5002, (95, 95, 90, 90)),
                                      (pids[3], 5001, (85, 85, 85, 85)),
                                      (pids[4], 5001, (60, 60, 60, 60))):  # fmt: skip
            await acceptance.submit(conn, pid, reviewer, values, None, stamp)
        assert await acceptance.accept(conn, pids[3], 85.0, "good", 1, ADMIN_ID, stamp)
        assert await acceptance.accept(conn, pids[4], 60.0, "pass", 1, ADMIN_ID, stamp)
        await acceptance.choose_model(conn, pids[4], 2026, "经验已推广", ADMIN_ID, stamp)
    statuses = ("concluded", "accepted")
    alone = [await standing(db, p, rules) for p in await acceptance.of_status(db, statuses)]
    assert [len(s.scores) for s in alone] == [2, 1, 0, 1, 1]
    assert await standings(db, statuses, None, rules) == alone
    assert await standings(db, statuses, 2025, rules) == []
    accepted = [s for s in alone if s.result is not None]
    assert await standings(db, ("accepted",), 2026, rules) == accepted and accepted[1].model
    scope = await scopes.admin_scope(db, TOWN_A)
    assert scope is not None and scope.root is not None
    town = [s for s in alone if await admins.within(db, s.project.org_id, scope.root.id)]
    assert [s.project.id for s in town] == pids[:3]
    assert await standings(db, statuses, None, rules, await scopes.org_ids(db, scope)) == town
    text = (await town_a.send("/acceptance")).text
    assert "WH0101项目（钱局街社区党委）：已有 1 位评委打分，目前 93.0 分（优秀）" in text
    assert "WH0102项目（文庙社区党委）：待打分" in text and "WH0201" not in text


async def test_a_reviewers_list_read_at_once_matches_each_project_read_alone(
    bench: Bench, clock: Clock
) -> None:
    """/score without a number reads the concluded projects in a few queries: for a reviewer
    of every project who belongs to an organization, a town's reviewer, and one belonging
    to one town and scoring the other, that is what checking each project alone gives."""
    await two_towns(bench)
    db, stamp = bench.app.bot_data.db, ts(clock())
    codes = ("WH01", "WH0101", "WH0102", "WH0201", "WH02")
    pids = [await seed_project(db, code, 1001 + i, clock(), name=f"{code}项目")
            for i, code in enumerate(codes)]  # fmt: skip
    ids = {}
    for code in ("WH01", "WH0101", "WH02"):
        org = await orgs.by_code(db, code)
        assert org is not None
        ids[code] = org.id
    async with db.transaction() as conn:
        named = ((5001, "评委甲", ids["WH0101"], None), (5002, "评委乙", None, ids["WH01"]),
                 (5003, "评委丙", ids["WH01"], ids["WH02"]))  # fmt: skip
        for user, name, org_id, root_id in named:
            await acceptance.name_reviewer(conn, user, name, org_id, ADMIN_ID, stamp, root_id)
        for pid in pids:
            assert await acceptance.mark_concluded(conn, pid, stamp)
        for pid, user in ((pids[0], 5002), (pids[3], 5001), (pids[4], 5003), (pids[0], 5001)):
            await acceptance.submit(conn, pid, user, (80, 80, 80, 80), None, stamp)
    counts = []
    for user in (5001, 5002, 5003):
        reviewer = await acceptance.reviewer(db, user)
        assert reviewer is not None
        alone = []
        for project in await acceptance.of_status(db, ("concluded",)):
            above = await planning.ancestors(db, [project.org_id])
            if reviewer.org_id in above.get(project.org_id, set()) | {project.org_id}:
                continue  # the reviewer's own organization or one below it
            if reviewer.root_id is not None and not await admins.within(
                db, project.org_id, reviewer.root_id
            ):
                continue
            mine = [s for s in await acceptance.scores(db, project.id) if s.reviewer_id == user]
            alone.append((project, await orgs.by_id(db, project.org_id), mine[0] if mine else None))
        assert (await to_score(db, user)).projects == alone
        counts.append((len(alone), sum(score is not None for _, _, score in alone)))
    assert counts == [(4, 2), (3, 1), (2, 1)]

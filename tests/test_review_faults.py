"""The issue-3 review's findings, each pinned by a test: stale, foreign and late buttons,
roles changing mid-dialog, two admins at once, and input that used to slip through."""

from __future__ import annotations

from dataclasses import replace
from datetime import timedelta

import pytest

from bot.services.declare import Outcome, parse_milestones, parse_span
from bot.services.months import Month
from bot.texts import Texts
from storage import dialogs, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, BotHarness, Clock, load_sample_units
from tests.projects_helpers import ANSWERS, bound_secretary, declare
from tests.standin.dialogue import Bench
from tests.test_declare import walk_to

SECOND_ADMIN = ADMIN_ID + 7


@pytest.fixture
async def two_admins(harness: BotHarness, clock: Clock) -> Bench:
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID, SECOND_ADMIN}))
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, clock())
    return bench


async def status(bench: Bench, project_id: int = 1) -> str:
    project = await projects.get(bench.app.bot_data.db, project_id)
    assert project is not None
    return project.status


async def test_old_discard_button_does_not_delete_later_answers(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    await secretary.send("取消")
    await secretary.send("/new_project")
    old = secretary.last_bot_message(with_button="🗑 放弃草稿")
    await secretary.send(ANSWERS["problem"])
    await secretary.press("🗑 放弃草稿", old)
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.problem == ANSWERS["problem"]


async def test_a_refused_button_answer_does_not_hide_the_decision(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)

    def too_old(method: str, params: dict) -> tuple[int, dict] | None:
        if method == "answerCallbackQuery":
            return 400, {"ok": False, "error_code": 400,
                         "description": "Bad Request: query is too old"}  # fmt: skip
        return None

    bench.api.faults.append(too_old)
    replies = await bench.user(ADMIN_ID).press("✅ 立项")
    assert "已立项" in replies.text
    assert "已立项，项目编号" in bench.api.sent(secretary.id)[-1].text
    # (the harness fails the test if any handler raised)


async def test_a_secretary_made_admin_is_not_stuck_in_the_draft(
    harness: BotHarness, bench: Bench
) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID, secretary.id}))
    bench = await harness.restart()
    me = bench.user(secretary.id, "李娜")
    assert "现在没有正在填写的申报" in (await me.send("一些回答")).text
    assert await dialogs.get(bench.app.bot_data.db, me.id) is None
    assert "当前没有进行中的操作" in (await me.send("/cancel")).text


async def test_old_edit_button_after_resubmitting_changes_nothing(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID)
    await admin.press("↩️ 退回修改")
    await admin.send("请补充目标")
    notice = secretary.last_bot_message(with_button="✏️ 修改申报")
    await secretary.press("✏️ 修改申报")
    await secretary.press("✅ 提交")
    replies = await secretary.press("✏️ 修改申报", notice)
    assert "开始申报" not in replies.text
    assert await projects.get(bench.app.bot_data.db, 2) is None
    assert await status(bench) == "submitted"


async def test_two_admins_a_late_reason_for_an_old_round_is_stale(two_admins: Bench) -> None:
    bench = two_admins
    secretary = await bound_secretary(bench)
    await declare(secretary)
    first, second = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN)
    await first.press("↩️ 退回修改")  # starts typing a reason…
    await second.press("↩️ 退回修改")
    await second.send("材料不全")  # …the other admin returns it first
    await secretary.press("✏️ 修改申报")
    await secretary.press("✅ 提交")  # round 2
    replies = await first.send("目标不具体")
    assert "已经处理过或已更新" in replies.text
    assert await status(bench) == "submitted"
    history = await projects.reviews(bench.app.bot_data.db, 1)
    assert [r.reason for r in history if r.action == "return"] == ["材料不全"]


async def test_approval_while_another_admin_types_a_reason(two_admins: Bench) -> None:
    bench = two_admins
    await declare(await bound_secretary(bench))
    first, second = bench.user(ADMIN_ID), bench.user(SECOND_ADMIN)
    await first.press("↩️ 退回修改")
    await second.press("✅ 立项")
    replies = await first.send("目标不具体")
    assert "已经处理过或已更新（当前状态：已立项" in replies.text  # not lost in the fallback
    assert await status(bench) == "approved"


async def test_removed_admin_cannot_finish_a_return(harness: BotHarness, two_admins: Bench):
    bench = two_admins
    await declare(await bound_secretary(bench))
    await bench.user(SECOND_ADMIN).press("↩️ 退回修改")
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID}))
    bench = await harness.restart()
    replies = await bench.user(SECOND_ADMIN).send("目标不具体")
    assert "仅限管理员" in replies.text
    assert await status(bench) == "submitted"


async def test_back_to_preview_while_editing_one_field(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    await secretary.press("✏️ 修改某项")
    await secretary.press("项目名称")
    replies = await secretary.press("↩️ 返回预览")
    assert "请核对申报内容" in replies.text
    assert (await projects.get(bench.app.bot_data.db, 1)).name == ANSWERS["name"]  # type: ignore[union-attr]


async def test_buttons_of_someone_elses_draft_with_a_draft_of_ones_own(bench: Bench) -> None:
    alice = await bound_secretary(bench, "WH01", 1001)
    bob = await bound_secretary(bench, "WH02", 1002, "张伟")
    await walk_to(alice, 2)
    await walk_to(bob, 2)  # bob is on the same step of his own draft (#2)
    message = alice.last_bot_message(with_button="创新探索型")
    await bob.press("创新探索型", message)
    conn = bench.app.bot_data.db
    assert (await projects.get(conn, 1)).kind is None  # type: ignore[union-attr]
    assert (await projects.get(conn, 2)).kind is None  # type: ignore[union-attr]


async def test_year_limit_is_checked_again_at_submission(bench: Bench, clock: Clock) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    await walk_to(secretary, 8)  # the second draft, at the preview
    db = bench.app.bot_data.db
    async with db.transaction() as conn:  # meanwhile another 2027 project was filed
        org_id = (await projects.get(conn, 1)).org_id  # type: ignore[union-attr]
        pid = await projects.create_draft(conn, org_id, secretary.id, ts(clock()))
        await projects.set_fields(conn, pid, {"start_month": "2027-05"}, ts(clock()))
        await projects.mark_submitted(conn, pid, ts(clock() + timedelta(seconds=1)))
    replies = await secretary.press("✅ 提交")
    assert "2027 年已申报 2 个书记项目，达到上限" in replies.text
    assert await status(bench, 2) == "draft"


async def test_answers_cannot_change_a_submitted_project(bench: Bench, clock: Clock) -> None:
    await declare(await bound_secretary(bench))
    async with bench.app.bot_data.db.transaction() as conn:
        await projects.set_fields(conn, 1, {"name": "偷改"}, ts(clock()))
    assert (await projects.get(bench.app.bot_data.db, 1)).name == ANSWERS["name"]  # type: ignore[union-attr]


async def test_drafts_are_private_and_old_pages_show_the_last(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    admin = bench.user(ADMIN_ID)
    assert "暂无项目" in (await admin.send("/projects")).text
    assert "找不到项目" in (await admin.send("/project #1")).text
    assert "申报号 1" in (await secretary.send("/projects")).text
    replies = await secretary.press_data("l:50:-:-")
    assert "1. 申报号 1" in replies.text


async def test_photo_at_the_preview_points_to_the_buttons(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    assert "请点下方按钮" in (await secretary.send_media("photo")).text


def test_month_parsing_does_not_misread_longer_numbers() -> None:
    items, problems = parse_milestones(
        "2027-123 建成\n2027.3.15 开会\n2027-03 好", Month(2027, 1), Month(2027, 12)
    )
    assert items == [("2027-03", "好")]
    assert [(line, kind) for line, kind, _ in problems] == [(1, "ms_format"), (2, "ms_format")]


@pytest.mark.parametrize(
    ("text", "start", "end"),
    [("2027年1月至12月", "2027-01", "2027-12"), ("2027年3月-8月", "2027-03", "2027-08"),
     ("2027-01 至 2027-12.", "2027-01", "2027-12"),
     ("２０２７年１－１２月", "2027-01", "2027-12"),
     ("２０２７年３月－８月", "2027-03", "2027-08")],
)  # fmt: skip
def test_spans_people_write(text: str, start: str, end: str, clock: Clock) -> None:
    problem, _, s, e = parse_span(text, clock())
    assert problem == "" and (str(s), str(e)) == (start, end)


@pytest.mark.parametrize("text", ["2027年底前完成", "第一个季度启动", "2027-06 前建成"])
async def test_dates_are_not_quantities(bench: Bench, text: str) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 5)
    assert "可量化" in (await secretary.send(text)).text


@pytest.mark.parametrize(
    ("text", "problem"),
    [("1999-01 至 1999-12", "span_year"), ("2150-01 至 2150-06", "span_year"),
     ("2027-13 至 2027-14", "span_format")],
)  # fmt: skip
def test_a_span_in_a_year_out_of_range_is_told_the_years(
    text: str, problem: str, clock: Clock
) -> None:
    """A real month of a year outside 2000–2100 is a year problem, not a format one."""
    assert parse_span(text, clock())[0] == problem


def test_a_milestone_month_without_its_year_is_read_in_a_one_year_project() -> None:
    items, problems = parse_milestones(
        "3月 召开议事会\n12 月 全部完成\n2027-05 建成\n13月 不存在", Month(2027, 1), Month(2027, 12)
    )
    assert items == [("2027-03", "召开议事会"), ("2027-12", "全部完成"), ("2027-05", "建成")]
    assert problems == [(4, "ms_format", {"line": "13月 不存在"})]  # as written


def test_a_milestone_month_without_its_year_takes_the_year_that_fits() -> None:
    """Across two years, "3月" is the one March inside the project; asked only when two fit."""
    items, problems = parse_milestones(
        "3月 召开议事会\n12月 总结", Month(2026, 11), Month(2027, 10)
    )
    assert items == [("2027-03", "召开议事会"), ("2026-12", "总结")] and problems == []
    items, problems = parse_milestones("3月 召开议事会", Month(2026, 3), Month(2027, 3))
    assert items == [] and [kind for _, kind, _ in problems] == ["ms_year"]
    text = Texts().html(
        "declare/milestones_invalid.html", o=Outcome("x", params={"problems": problems})
    )
    assert "项目跨年，请写明年份，如 2026-03 或 2027-03" in text
    _, problems = parse_milestones("13月 x\n0月 y", Month(2026, 11), Month(2027, 10))
    assert [kind for _, kind, _ in problems] == ["ms_format", "ms_format"]

"""审批立项, /projects and /project: the review round trip, numbering, lists and cards."""

from __future__ import annotations

import asyncio
from datetime import datetime

from bot.services import review
from storage import projects
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock
from tests.projects_helpers import approved_project, bound_secretary, declare, declare_step
from tests.standin.dialogue import Bench, Press, expect_dialogue


async def test_return_resubmit_approve_round_trip(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID, "组织部小王")
    first_round = admin.last_bot_message(with_button="↩️ 退回修改")
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回修改"), "请输入退回“南强街巷街区党建项目”（护国街道党工委）的理由"),
            ("", "退回理由不能为空"),
            ("理" * 501, "退回理由最多 500 字，你发了 501 字"),
            ("目标要写清楚整治哪几条街巷", "已退回“南强街巷街区党建项目”"),
        ],
    )
    told = bench.api.sent(secretary.id)[-1]
    assert "被退回修改。\n理由：目标要写清楚整治哪几条街巷" in told.text
    assert [b for b, _ in told.buttons] == ["✏️ 修改申报"]
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "returned"  # type: ignore[union-attr]
    await expect_dialogue(
        secretary,
        [
            (Press("✏️ 修改申报"), "理由：目标要写清楚整治哪几条街巷"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("预期目标"), declare_step("targets")),
            ("整治文林街、文化巷等 12 条街巷", "请核对申报内容"),
            (Press("✅ 提交"), "已重新提交（申报号 1）"),
        ],
    )
    second = bench.api.sent(ADMIN_ID)[-1]
    assert "修改后重新提交了书记项目申报（申报号 1，第 2 次提交）" in second.text
    assert "整治文林街、文化巷等 12 条街巷" in second.text
    # the first round's buttons are stale now: nothing changes
    replies = await admin.press("✅ 立项", first_round)
    assert "已经处理过或已更新" in replies.text
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "submitted"  # type: ignore[union-attr]
    replies = await admin.press("✅ 立项")
    assert (
        "已立项：南强街巷街区党建项目（护国街道党工委），项目编号 <b>2027-001</b>" in replies.text
    )
    assert "已立项，项目编号 <b>2027-001</b>" in bench.api.sent(secretary.id)[-1].text
    history = await projects.reviews(bench.app.bot_data.db, 1)
    assert [(r.action, r.round) for r in history] == [
        ("submit", 1), ("return", 1), ("submit", 2), ("approve", 2)
    ]  # fmt: skip
    assert history[1].reason == "目标要写清楚整治哪几条街巷" and history[1].by_user == ADMIN_ID


async def test_return_reason_survives_a_restart_and_can_be_cancelled(
    harness: BotHarness, bench: Bench
) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    await bench.user(ADMIN_ID).press("↩️ 退回修改")
    bench = await harness.restart()
    admin = bench.user(ADMIN_ID)
    assert "请用文字输入退回理由" in (await admin.send_media("sticker")).text
    cancelled = await admin.send("取消")
    assert "已放弃退回" in cancelled.text
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "submitted"  # type: ignore[union-attr]
    # The decision it interrupted is offered again: one admin can still decide it.
    assert [label for label, _ in cancelled.buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]
    assert "已立项" in (await admin.press("✅ 立项")).text


async def test_secretary_cannot_review_even_with_forged_buttons(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    for data in ("r:1:1:a", "r:1:1:r"):
        await secretary.press_data(data)
        answered = bench.api.methods("answerCallbackQuery")[-1]
        assert "只有管理员可以审批项目" in answered.params["text"]
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "submitted"  # type: ignore[union-attr]
    admin = bench.user(ADMIN_ID)
    for data in ("r:1:9:a", "r:abc", "r:2:1:a"):
        await admin.press_data(data)
    assert (await projects.get(bench.app.bot_data.db, 1)).status == "submitted"  # type: ignore[union-attr]


async def test_second_decision_on_the_same_round_is_stale(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID)
    message = admin.last_bot_message(with_button="✅ 立项")
    await admin.press("✅ 立项", message)
    assert (
        "已经处理过或已更新（当前状态：已立项，编号 2027-001）"
        in (await admin.press("↩️ 退回修改", message)).text
    )
    assert "已经处理过" in (await admin.press("✅ 立项", message)).text
    assert (await projects.get(bench.app.bot_data.db, 1)).number == "2027-001"  # type: ignore[union-attr]


async def test_numbers_are_gap_free_per_start_year(bench: Bench) -> None:
    await approved_project(bench, "WH01", 1001)
    await approved_project(bench, "WH02", 1002, span="2027-03 至 2027-12",
                           milestones="2027-06 完成")  # fmt: skip
    await approved_project(bench, "WH03", 1003, span="2028-01 至 2028-12",
                           milestones="2028-06 完成")  # fmt: skip
    conn = bench.app.bot_data.db
    numbers = [(await projects.get(conn, i)).number for i in (1, 2, 3)]  # type: ignore[union-attr]
    assert numbers == ["2027-001", "2027-002", "2028-001"]


async def test_numbers_stay_unique_when_admins_approve_at_once(bench: Bench, clock: Clock) -> None:
    for i in range(6):
        await declare(await bound_secretary(bench, f"WH{i + 1:02d}", 2000 + i, f"书记{i}"))
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    results = await asyncio.gather(
        *(review.approve(db, cal, pid, 1, ADMIN_ID, clock()) for pid in range(1, 7))
    )
    assert all(r.kind == "approved" for r in results)
    numbers = sorted([(await projects.get(db, pid)).number for pid in range(1, 7)])  # type: ignore[union-attr]
    assert numbers == [f"2027-{n:03d}" for n in range(1, 7)]


# -- lists --------------------------------------------------------------------------------------


async def test_secretary_sees_only_their_own(bench: Bench) -> None:
    alice = await approved_project(bench, "WH01", 1001)
    bob = await bound_secretary(bench, "WH02", 1002, "张伟")
    await declare(bob, name="大观项目")
    text = (await alice.send("/projects")).text
    assert "2027-001 南强街巷街区党建项目 — 护国街道党工委 · 已立项" in text
    assert "大观项目" not in text
    assert (
        "申报号 2 大观项目 — 大观街道党工委 · 已申报（待审）" in (await bob.send("/projects")).text
    )
    assert "只有书记和管理员" in (await bench.user(5555).send("/projects")).text


async def test_admin_filters_by_status_and_organization(bench: Bench) -> None:
    await approved_project(bench, "WH01", 1001)
    await declare(await bound_secretary(bench, "WH02", 1002), name="大观项目")
    admin = bench.user(ADMIN_ID)
    text = (await admin.send("/projects")).text
    assert "共 2 个" in text and "大观项目" in text and "南强街巷" in text
    text = (await admin.send("/projects 待审")).text
    assert "已申报（待审）（共 1 个）" in text and "南强街巷" not in text
    text = (await admin.send("/projects WH01")).text
    assert "护国街道党工委（共 1 个）" in text and "大观项目" not in text
    assert "共 2 个" in (await admin.send("/projects WH")).text  # a subtree
    text = (await admin.send("/projects 已立项 WH02")).text
    assert "暂无项目" in text
    assert "没有看懂“<b>”" not in (await admin.send("/projects <b>")).text
    assert "没有看懂“&lt;b&gt;”" in (await admin.send("/projects <b>")).text


async def test_pages_and_their_buttons(bench: Bench) -> None:
    for i in range(12):
        await declare(await bound_secretary(bench, f"WH{i + 1:02d}", 3000 + i, f"书记{i}"),
                      name=f"项目{i + 1:02d}")  # fmt: skip
    admin = bench.user(ADMIN_ID)
    replies = await admin.send("/projects 待审")
    assert "共 12 个，第 1/2 页" in replies.text and "项目10" in replies.text
    assert "项目11" not in replies.text
    assert [b for b, _ in replies.buttons] == ["下一页 ›"]
    replies = await admin.press("下一页 ›")
    assert "第 2/2 页" in replies.text and "11. 申报号 11 项目11" in replies.text
    assert [b for b, _ in replies.buttons] == ["‹ 上一页"]
    # a secretary replaying the admin's page button still sees only their own
    replies = await bench.user(3000).press_data("l:0:-:-")
    assert "共 1 个" in replies.text


# -- the card -----------------------------------------------------------------------------------


async def test_card_marks_milestones_against_this_month(bench: Bench, clock: Clock) -> None:
    secretary = await approved_project(bench)
    db = bench.app.bot_data.db
    [first, *_] = await projects.milestones(db, 1)
    async with db.transaction() as conn:
        await conn.execute("UPDATE milestones SET done_month = '2027-03' WHERE id = ?", (first.id,))
    clock.now = datetime(2027, 7, 10, 9, 0, tzinfo=SHANGHAI)
    text = (await secretary.send("/project 2027-001")).text
    assert text.startswith("<b>南强街巷街区党建项目</b>\n编号：2027-001 · 状态：已立项\n")
    assert "组织：护国街道党工委（WH01） · 书记：李娜" in text
    assert "✅ 2027-03　建成党群服务中心（2027-03 完成）" in text
    assert "⚠️ 2027-06　完成首批 6 条街巷整治" in text
    assert "⏳ 2027-12　全部整治完成" in text
    assert "2026-11-21 10:00 提交" in text and "2026-11-21 10:00 立项" in text
    assert (await secretary.send("/project")).text == text  # their one project, unnamed


async def test_card_refusals(bench: Bench) -> None:
    await approved_project(bench)
    bob = await bound_secretary(bench, "WH02", 1002, "张伟")
    await expect_dialogue(
        bob,
        [
            ("/project", "用法：/project 项目编号"),
            ("/project 2027-001", "找不到项目“2027-001”"),  # another organization's
            ("/project abc<b>", "“abc&lt;b&gt;”不是项目编号"),
            ("/project 2027-999", "找不到项目"),
        ],
    )
    assert "状态：已立项" in (await bench.user(ADMIN_ID).send("/project 2027-001")).text
    assert "状态：已立项" in (await bench.user(ADMIN_ID).send("/project #1")).text
    # Typed on a Chinese keyboard: full-width digits and hyphen.
    assert "状态：已立项" in (await bench.user(ADMIN_ID).send("/project ２０２７－００１")).text
    assert "只有书记和管理员" in (await bench.user(5555).send("/project 2027-001")).text


async def test_a_declaration_number_reads_as_plain_chinese(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    listed = (await secretary.send("/projects")).text
    assert "申报号 1 " in listed and "#" not in listed
    admin = bench.user(ADMIN_ID)
    usage = (await admin.send("/project")).text
    assert "/project 12" in usage and "#" not in usage
    assert "申报号是一个数字" in (await admin.send("/project 一二")).text
    for typed in ("1", "申报号 1", "申报号1", "第1号", "#1"):  # "#1": what older texts taught
        card = (await admin.send(f"/project {typed}")).text
        assert "状态：已申报（待审）" in card and "#" not in card


async def test_long_application_is_split_and_buttons_stay_on_the_last_part(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(
        secretary,
        problem="问" * 500,
        measures="举" * 1000,
        targets="目标 1 " * 100,
        milestones="\n".join(f"2027-{m:02d} " + "节" * 100 for m in range(1, 13))
        + "\n"
        + "\n".join(f"2027-{m:02d} " + "点" * 100 for m in range(1, 13)),
    )
    to_admin = [c for c in bench.api.sent(ADMIN_ID) if "书记项目申报书" in c.text or "点" in c.text]
    assert len(to_admin) >= 2
    assert all(len(c.text) <= 4096 for c in to_admin)
    assert not to_admin[0].buttons and [b for b, _ in to_admin[-1].buttons][-2:] == [
        "✅ 立项",
        "↩️ 退回修改",
    ]

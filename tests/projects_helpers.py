"""Shared steps for the project tests: bind a secretary, declare a project, review it."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from bot.services.closing import CLOSING
from bot.services.declare import DECLARATION
from bot.services.reporting import REPORT
from storage import orgs, people, projects, reports
from storage.rows import ts
from tests.conftest import ADMIN_ID
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue
from tests.test_invites_and_start import invite_code

ANSWERS = {
    "name": "南强街巷街区党建项目",
    "problem": "老旧小区无物业，环境卫生和停车难问题长期得不到解决。",
    "measures": "成立街巷党小组，建立党员认领、每周巡查、问题销号机制。",
    "targets": "年内整治背街小巷 12 条，群众满意率达到 90% 以上。",
    "span": "2027-01 至 2027-12",
    "milestones": "2027-03 建成党群服务中心\n2027-06 完成首批 6 条街巷整治\n2027-12 全部整治完成",
}


async def bound_secretary(
    bench: Bench, org: str = "WH01", user_id: int = 1001, name: str = "李娜"
) -> TgUser:
    """A secretary bound to `org` through an admin's invite."""
    user = bench.user(user_id, name)
    replies = await user.send(f"/start {await invite_code(bench, org)}")
    assert "绑定成功" in replies.text, replies.text
    return user


async def declare(secretary: TgUser, **overrides: str) -> None:
    """Walk the whole declaration and submit it."""
    a = {**ANSWERS, **overrides}
    await expect_dialogue(
        secretary,
        [
            ("/new_project", f"{declare_step('name')}：项目名称"),
            (a["name"], f"{declare_step('kind')}：项目类型"),
            (Press("典型示范型"), declare_step("problem")),
            (a["problem"], declare_step("measures")),
            (a["measures"], declare_step("targets")),
            (a["targets"], declare_step("span")),
            (a["span"], declare_step("milestones")),
            (a["milestones"], "请核对申报内容"),
            (Press("✅ 提交"), "已提交"),
        ],
    )


async def approve_latest(bench: Bench) -> str:
    """The admin presses 立项 on the newest application; return the bot's answer."""
    replies = await bench.user(ADMIN_ID).press("✅ 立项")
    return replies.text


async def approved_project(
    bench: Bench, org: str = "WH01", user_id: int = 1001, **overrides: str
) -> TgUser:
    """A secretary with one approved project."""
    secretary = await bound_secretary(bench, org, user_id)
    await declare(secretary, **overrides)
    assert "已立项" in await approve_latest(bench)
    return secretary


async def seed_project(
    db: Any,
    org_code: str,
    user_id: int | None,
    now: datetime,
    span: tuple[str, str] = ("2026-01", "2026-12"),
    name: str = "街巷党建项目",
    milestones: list[tuple[str, str]] | None = None,
    owed_from: str | None = None,
) -> int:
    """An approved project of `org_code`, with `user_id` bound as secretary (None: unbound),
    written straight to storage (for tests of what comes after declaring). It owes every
    month of its span, as one 立项 before it began, unless `owed_from` ('YYYY-MM') says
    from which month (as cal.first_owed of a late 立项 would)."""
    stamp = ts(now)
    org = await orgs.by_code(db, org_code)
    assert org is not None
    async with db.transaction() as conn:
        if user_id is not None and await people.get(conn, user_id) is None:
            await people.bind_secretary(conn, user_id, f"书记{user_id}", None, org.id, stamp)
        pid = await projects.create_draft(conn, org.id, user_id or 0, stamp)
        await projects.set_fields(
            conn,
            pid,
            {"name": name, "kind": "创新探索型", "problem": "问题", "measures": "举措",
             "targets": "目标 10 个", "start_month": span[0], "end_month": span[1]},
            stamp,
        )  # fmt: skip
        await projects.set_milestones(conn, pid, milestones or [(span[0], "启动")], stamp)
        round_ = await projects.mark_submitted(conn, pid, stamp)
        await projects.mark_approved(
            conn, pid, round_, int(span[0][:4]), stamp, owed_from or span[0]
        )
    return pid


async def seed_report(
    db: Any,
    project_id: int,
    period: str,
    submitted_at: datetime,
    *,
    completion: int = 50,
    problems: str = "无",
    on_time: bool = True,
    tick: list[int] | None = None,
) -> None:
    """A submitted monthly report, written straight to storage."""
    stamp = ts(submitted_at)
    async with db.transaction() as conn:
        report_id = await reports.create(conn, project_id, period, 0, stamp)
        await conn.run(
            reports.set_fields,
            report_id,
            {"progress": f"{period} 的进展", "completion": completion, "problems": problems,
             "plan": "下月计划", "milestones_done": tick or [], "milestones_set": 1,
             "files_set": 1},
            stamp,
        )  # fmt: skip
        report = await reports.get(conn, report_id)
        await reports.add_version(conn, report, [], 0, stamp, on_time)
        await reports.set_milestone_done(conn, project_id, tick or [], period)


def report_step(name: str, milestones: bool = True, reason: bool = False) -> str:
    """ "第 n/m 步" of a report question, from the report's field list: which questions are
    asked depends on open milestones and on a lower 完成度 (its reason)."""
    skipped = {"milestones"} if not milestones else set()
    if not reason:
        skipped.add("completion_reason")
    asked = [n for n in REPORT.names if n not in skipped]
    return f"第 {asked.index(name) + 1}/{len(asked)} 步"


def declare_step(name: str) -> str:
    """ "第 n/m 步" of a declaration question, from the declaration's field list."""
    return f"第 {DECLARATION.names.index(name) + 1}/{len(DECLARATION.names)} 步"


def closing_step(name: str) -> str:
    """ "第 n/m 步" of a closing report question, from the closing report's field list."""
    return f"第 {CLOSING.names.index(name) + 1}/{len(CLOSING.names)} 步"


async def file_closing_report(secretary: TgUser) -> None:
    """From the 填写结题报告 button of an early closing: every text field, no files, 提交."""
    await secretary.press("📝 填写结题报告")
    for answer in ("项目概况写在这里，共十个字以上。", "实施情况写在这里，共十个字以上。",
                   "成果经验写在这里，共十个字以上。", "评价建议写在这里"):  # fmt: skip
        await secretary.send(answer)
    await secretary.send("跳过")
    await secretary.press("✅ 提交")

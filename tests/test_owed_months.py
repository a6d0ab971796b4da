"""A month is owed only if the project was 立项 before that month's deadline: earlier months of
its span are neither offered, reminded, 未报 nor late anywhere (storage/ran.py)."""

from __future__ import annotations

import sqlite3
from datetime import datetime
from pathlib import Path

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from scheduler.tick import run_tick
from storage.db import Database, _statements, migrations
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import (
    approve_latest,
    approved_project,
    bound_secretary,
    declare,
    seed_project,
    seed_report,
)
from tests.standin.dialogue import Bench, TgUser

NAME = "南强街巷街区党建项目"
SPAN = "2027-01 至 2027-12"
MILESTONES = "2027-02 成立街巷党小组\n2027-06 完成首批 6 条街巷整治\n2027-12 全部整治完成"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def late_approval(bench: Bench, clock: Clock, when: str = "2027-03-10 10:00") -> TgUser:
    """The secretary of 2027-001 (2027-01..12), declared and 立项 at `when`."""
    clock.now = at(when)
    return await approved_project(bench, span=SPAN, milestones=MILESTONES)


async def test_the_first_report_is_the_first_month_whose_deadline_was_ahead(
    bench: Bench, clock: Clock
) -> None:
    """立项 on 10 March: February's deadline (25 February) had passed, so /report does not
    open February as late; it names March and the day it opens, and opens it then."""
    secretary = await late_approval(bench, clock)
    approved = bench.api.sent(secretary.id)[-1].text
    assert "立项时 2027 年 3 月之前各月的月报截止日已过" in approved
    assert "从 2027 年 3 月起请每月按时报送进展" in approved
    reply = (await secretary.send("/report")).text
    assert "逾期" not in reply and "2027 年 2 月月报已过截止日" in reply
    assert "第一期月报是 2027 年 3 月，2027-03-20 开放填写" in reply
    clock.now = at("2027-03-21 10:00")
    assert "开始填写 2027 年 3 月月报，截止 2027-03-25" in (await secretary.send("/report")).text


async def test_history_lists_no_month_before_it_was_owed(bench: Bench, clock: Clock) -> None:
    secretary = await late_approval(bench, clock)
    assert "还没有需要报告的月份" in (await secretary.send("/history")).text
    clock.now = at("2027-04-10 10:00")  # March's deadline passed without a report
    text = (await secretary.send("/history")).text
    assert text.endswith("月报记录</b>\n2027 年 3 月：❌ 未报")


async def test_reports_and_projects_missing_leave_out_months_before_approval(
    bench: Bench, clock: Clock
) -> None:
    await late_approval(bench, clock)
    admin = bench.user(ADMIN_ID, "组织部小王")
    february = (await admin.send("/reports 2027-02")).text
    assert "应报 0" in february and "未报 0" in february
    assert NAME not in (await admin.send("/projects 未报")).text
    reopened = (await admin.send("/reopen 2027-001 2027-02")).text
    assert "这个月不需要月报，无需重新开放" in reopened
    assert "该项目从 2027 年 3 月起按月报告" in reopened


async def test_a_project_approved_late_is_no_snail_of_the_months_before(
    bench: Bench, clock: Clock
) -> None:
    """The tester's case: a project of 2026-03..2027-02 立项 in November is neither 应报 nor
    🐌 in October's bulletin; WH02's project, owing October and silent, still is."""
    db = bench.app.bot_data.db
    await seed_project(db, "WH02", 1002, at("2026-02-10 10:00"), span=("2026-03", "2027-02"),
                       name="大观项目")  # fmt: skip
    clock.now = at("2026-11-10 10:00")
    await approved_project(bench, span="2026-03 至 2027-02",
                           milestones="2026-06 成立街巷党小组\n2027-02 全部完成")  # fmt: skip
    admin = bench.user(ADMIN_ID, "组织部小王")
    bulletin = (await admin.send("/digest 2026-10")).text
    assert "应报 1" in bulletin and "未报 1" in bulletin
    assert "大观项目" in bulletin and NAME not in bulletin


async def test_no_reminder_of_a_month_whose_deadline_passed_before_approval(
    bench: Bench, clock: Clock
) -> None:
    """立项 on 26 March, the day after March's deadline: none of March's overdue reminders
    go out; April's window notice does."""
    secretary = await late_approval(bench, clock, "2027-03-26 10:00")
    assert (
        "第一期月报是 2027 年 4 月，2027-04-20 开放填写" in (await secretary.send("/report")).text
    )
    since = len(bench.api.calls)
    for day in ("2027-03-26", "2027-03-29", "2027-03-30", "2027-03-31"):
        for hour in ("09:00", "15:00"):
            await run_tick(bench.app, at(f"{day} {hour}"))
    assert [c.text for c in bench.api.sent(secretary.id, since=since)] == []
    await run_tick(bench.app, at("2027-04-20 09:00"))
    assert any("2027 年 4 月月报开始填写了" in c.text
               for c in bench.api.sent(secretary.id, since=since))  # fmt: skip


async def test_a_milestone_planned_before_approval_is_due_not_overdue(
    bench: Bench, clock: Clock
) -> None:
    """February's milestone on a card of 10 March is due by the first report (March), and
    overdue only once March has passed undone."""
    secretary = await late_approval(bench, clock)
    assert "⏳ 2027-02　成立街巷党小组" in (await secretary.send("/project")).text
    clock.now = at("2027-04-02 10:00")
    assert "⚠️ 2027-02　成立街巷党小组" in (await secretary.send("/project")).text


async def test_the_bulletin_counts_such_a_milestone_overdue_only_after_the_first_month(
    bench: Bench, clock: Clock
) -> None:
    """March's report leaves February's milestone open: no 蜗牛 for it in March's bulletin
    (the first month owed), one in April's."""
    await late_approval(bench, clock)
    db = bench.app.bot_data.db
    await seed_report(db, 1, "2027-03", at("2027-03-21 10:00"), completion=30)
    await seed_report(db, 1, "2027-04", at("2027-04-21 10:00"), completion=40)
    admin = bench.user(ADMIN_ID, "组织部小王")
    clock.now = at("2027-04-28 10:00")
    overdue = "原定 2027 年 2 月完成的“成立街巷党小组”至今未完成"
    assert overdue not in (await admin.send("/digest 2027-03")).text
    assert overdue in (await admin.send("/digest 2027-04")).text


def test_the_first_month_owed_follows_the_deadline_moved_to_a_working_day() -> None:
    """25 October 2026 is a Sunday: October's report is due on Monday the 26th, so 立项
    that morning still owes October; the 27th owes November first."""
    cal = ReportCalendar(tz=SHANGHAI)
    assert cal.first_owed(at("2026-10-26 09:00")) == Month(2026, 10)
    assert cal.first_owed(at("2026-10-27 09:00")) == Month(2026, 11)
    assert cal.first_owed(at("2026-11-01 00:30")) == Month(2026, 11)


async def test_the_migration_sets_the_first_month_owed_from_the_approval(tmp_path: Path) -> None:
    """0026 fills owed_from for projects 立项 before it: by the approval's day in Shanghai;
    0027 lowers it to a month filed before then."""
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    for number, _, sql in migrations()[:25]:
        for statement in _statements(sql):
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {number}")
    raw.execute("INSERT INTO orgs (id, code, name, kind, created_at, updated_at) "
                "VALUES (1, 'WH01', '护国', '党工委', '', '')")  # fmt: skip
    for pid, approved in ((1, "2027-03-10T02:00:00+00:00"), (2, "2027-03-25T17:00:00+00:00"),
                          (3, None)):  # fmt: skip
        raw.execute(
            "INSERT INTO projects (id, org_id, status, start_month, end_month, created_by, "
            "created_at, updated_at, approved_at) VALUES (?, 1, ?, '2027-01', '2027-12', 1, "
            "'', '', ?)",
            (pid, "approved" if approved else "draft", approved),
        )
    # Filed before 0026 although 立项 came after its deadline (the old code asked for it),
    # and a month begun but never submitted: the filed one keeps counting (0027).
    for pid, period, version in ((2, "2027-02", 1), (1, "2027-01", 0)):
        raw.execute("INSERT INTO reports (project_id, period, version, created_by, created_at, "
                    "updated_at) VALUES (?, ?, ?, 1, '', '')", (pid, period, version))  # fmt: skip
    raw.close()
    db = await Database.open(path)
    try:
        rows = await db.execute_fetchall("SELECT owed_from FROM projects ORDER BY id")
        assert [r[0] for r in rows] == ["2027-03", "2027-02", None]
    finally:
        await db.close()


async def test_a_project_approved_after_its_last_deadline_is_told_it_owes_no_report(
    bench: Bench, clock: Clock
) -> None:
    """Declared for 2027-01..03 in March, 立项 in April after March's deadline: no month is
    owed, and every message says so, pointing to 结题 rather than to monthly reports."""
    clock.now = at("2027-03-20 10:00")
    secretary = await bound_secretary(bench)
    await declare(secretary, span="2027-01 至 2027-03",
                  milestones="2027-02 成立街巷党小组\n2027-03 完成街巷整治")  # fmt: skip
    clock.now = at("2027-04-10 10:00")
    assert "已立项" in await approve_latest(bench)
    approved = bench.api.sent(secretary.id)[-1].text
    assert "这个项目不需要月报" in approved and "/closing" in approved
    assert "按时报送" not in approved
    reply = (await secretary.send("/report")).text
    assert "不需要月报" in reply and "/closing" in reply and "补报" not in reply
    refused = (await bench.user(ADMIN_ID).send("/reopen 2027-001 2027-03")).text
    assert "周期内的月份都不需要月报" in refused and "起按月报告" not in refused

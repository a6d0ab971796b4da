"""季度互比: after each quarter the clock sends each supervisor group its scope's
sub-organizations side by side, once, on the first working day after the quarter."""

from __future__ import annotations

import io
from datetime import datetime, timedelta

from openpyxl import load_workbook

from bot import charts
from bot.services import groups
from bot.services.quarterly import Quarter, comparison_from, due_time
from scheduler.tick import run_tick
from storage import bulletins, notices
from storage.db import Database
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import file_closing_report, seed_project, seed_report
from tests.standin.dialogue import Bench


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def world(bench: Bench, clock: Clock) -> None:
    """Three 2026 projects: WH01 reports every month of Q3 on time and ahead of pace;
    WH02 reports July late and then nothing; WH03 on time, behind pace."""
    db = bench.app.bot_data.db
    plan = [("2026-12", "全部完成")]  # nothing overdue: only reports make the difference
    ids = {org: await seed_project(db, org, 1000 + i, clock(), milestones=plan)
           for i, org in enumerate(("WH01", "WH02", "WH03"))}  # fmt: skip
    for month, pct in (("07", 70), ("08", 80), ("09", 90)):
        await seed_report(db, ids["WH01"], f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=pct)  # fmt: skip
        await seed_report(db, ids["WH03"], f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=30 + int(month))  # fmt: skip
    await seed_report(db, ids["WH02"], "2026-07", at("2026-07-28 10:00"), completion=40,
                      on_time=False)  # fmt: skip


async def test_the_comparison_counts_each_sub_organization(bench: Bench, clock: Clock) -> None:
    await world(bench, clock)
    state = bench.app.bot_data
    c = await comparison_from(state.db, state.calendar, Quarter(2026, 3), at("2026-10-09 09:00"),
                              None)  # fmt: skip
    sides = {s.org.code: s for s in c.sides}
    assert list(sides) == ["WH01", "WH03", "WH02"]  # by on-time rate, then pace
    wh01, wh02, wh03 = sides["WH01"], sides["WH02"], sides["WH03"]
    assert (wh01.expected, wh01.filed, wh01.report_rate, wh01.on_time_rate) == (3, 3, 100, 100)
    assert wh01.versus_pace == 90 - 75  # September: 9 of 12 months
    assert (wh02.filed, wh02.report_rate, wh02.on_time_rate) == (1, 33, 0)
    assert wh02.snail == 2  # August and September missing
    assert wh03.versus_pace == 39 - 75 and wh03.red == 0
    assert wh01.red == 3
    figure = charts.quarter_figure(state.texts, c)
    assert charts.missing_glyphs(figure) == set()
    total = c.total
    assert (total.expected, total.filed, total.on_time, total.projects) == (9, 7, 6, 3)


async def test_each_group_gets_its_scope_once_after_the_quarter(bench: Bench, clock: Clock) -> None:
    await world(bench, clock)
    state = bench.app.bot_data
    await groups.bind_group(state.db, -5001, "全区", ADMIN_ID, None, clock())
    await groups.bind_group(state.db, -5002, "大观", ADMIN_ID, "WH02", clock())
    await groups.bind_group(state.db, -5003, "西翥", ADMIN_ID, "WH10", clock())  # no projects
    when = due_time(state.calendar, Quarter(2026, 3), state.clock_config.remind_at)
    # The first working day after 2026-09-30: the National Day holiday moves it.
    assert when.date() > datetime(2026, 10, 1).date()
    assert state.calendar.work.on_or_after(when.date()) == when.date()

    def comparisons(chat: int) -> list[str]:
        return [c.text for c in bench.api.sent(chat) if "季度互比" in c.text]

    await run_tick(bench.app, when - timedelta(minutes=1))
    assert comparisons(-5001) == []
    await run_tick(bench.app, when)
    await run_tick(bench.app, when + timedelta(minutes=1))
    await run_tick(bench.app, when + timedelta(days=1))
    [whole] = comparisons(-5001)
    assert "2026 年第 3 季度书记项目季度互比" in whole
    assert "1. 护国街道党工委：报送率 100%，按时率 100%，完成度平均快于计划 15 个百分点" in whole
    assert "大观街道党工委：报送率 33%，按时率 0%" in whole and "蜗牛 2" in whole
    [scoped] = comparisons(-5002)
    assert "（大观街道党工委）" in scoped and "护国" not in scoped
    # its completions come from the scoped query (named parameters, the root among them)
    assert "1. 大观街道党工委：报送率 33%，按时率 0%，完成度平均落后计划 35 个百分点" in scoped
    assert comparisons(-5003) == []  # nothing in its scope ran in the quarter
    [photo] = [c for c in bench.api.methods("sendPhoto") if c.chat_id == -5001]
    assert photo.upload is not None and photo.upload[1].startswith(b"\x89PNG")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == -5001]
    assert doc.upload is not None and doc.upload[0] == "2026年第3季度互比.xlsx"
    sheet = load_workbook(io.BytesIO(doc.upload[1]))["季度互比"]
    rows = [[cell.value for cell in row] for row in sheet.iter_rows(min_row=2)]
    assert rows[0] == ["护国街道党工委", 1, 3, 3, 100, 100, 15, 3, 0, 0]
    assert rows[-1][:4] == ["合计", 3, 9, 7]
    # Later ticks inside the week it stays worth sending: nothing is sent again.
    await run_tick(bench.app, when + timedelta(days=3))
    assert len(comparisons(-5001)) == 1


async def test_a_comparison_held_up_past_a_week_is_skipped(bench: Bench, clock: Clock) -> None:
    await world(bench, clock)
    state = bench.app.bot_data
    await groups.bind_group(state.db, -5001, "全区", ADMIN_ID, None, clock())
    when = due_time(state.calendar, Quarter(2026, 3), state.clock_config.remind_at)
    await run_tick(bench.app, when + timedelta(days=8))
    assert not [c for c in bench.api.sent(-5001) if "季度互比" in c.text]


async def test_exactly_on_pace_ranks_above_behind_pace(bench: Bench, clock: Clock) -> None:
    """A pace of exactly 0 points is a pace, not a missing one."""
    db = bench.app.bot_data.db
    plan = [("2026-12", "全部完成")]
    ids = {org: await seed_project(db, org, 1000 + i, clock(), milestones=plan)
           for i, org in enumerate(("WH01", "WH03"))}  # fmt: skip
    for month, wh01, wh03 in (("07", 50, 40), ("08", 60, 41), ("09", 75, 42)):
        await seed_report(db, ids["WH01"], f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=wh01)  # fmt: skip
        await seed_report(db, ids["WH03"], f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=wh03)  # fmt: skip
    state = bench.app.bot_data
    await groups.bind_group(state.db, -5001, "全区", ADMIN_ID, None, clock())
    await run_tick(
        bench.app, due_time(state.calendar, Quarter(2026, 3), state.clock_config.remind_at)
    )
    [whole] = [c.text for c in bench.api.sent(-5001) if "季度互比" in c.text]
    assert "1. 护国街道党工委" in whole and "2. " in whole


async def fourth_quarter(bench: Bench, clock: Clock) -> str:
    """The 2026 fourth quarter's comparison the whole district's group gets in January."""
    state = bench.app.bot_data
    await groups.bind_group(state.db, -5001, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, due_time(state.calendar, Quarter(2026, 4),
                                       state.clock_config.remind_at))  # fmt: skip
    [whole] = [c.text for c in bench.api.sent(-5001) if "季度互比" in c.text]
    return whole


async def test_completion_is_the_latest_report_not_only_the_last_months(
    bench: Bench, clock: Clock
) -> None:
    """WH02 reported 60 % in October and then nothing: at the end of the year it stands at
    60 %, 40 points behind a plan that ends in December — not at 0 %. WH03's project begins
    in December: it owes that month only, and its 5 % is 3 points behind the first month's
    share of a 12-month plan."""
    db = bench.app.bot_data.db
    plan = [("2026-12", "全部完成")]
    wh02 = await seed_project(db, "WH02", 1002, clock(), milestones=plan)
    await seed_report(db, wh02, "2026-10", at("2026-10-21 10:00"), completion=60)
    late_start = await seed_project(db, "WH03", 1003, clock(), span=("2026-12", "2027-11"))
    await seed_report(db, late_start, "2026-12", at("2026-12-21 10:00"), completion=5)
    whole = await fourth_quarter(bench, clock)
    assert "大观街道党工委：报送率 33%，按时率 33%，完成度平均落后计划 40 个百分点" in whole
    assert "华山街道党工委：报送率 100%，按时率 100%，完成度平均落后计划 3 个百分点" in whole


async def test_a_snail_the_admins_took_off_the_list_is_not_counted(
    bench: Bench, clock: Clock
) -> None:
    """调整红旗/蜗牛: the count is of the lists as published. WH01 missed November's report,
    but the admins took it off that month's snail list with a reason (and put WH03 on
    December's): November's snail is not counted; WH03's is."""
    db = bench.app.bot_data.db
    plan = [("2026-12", "全部完成")]
    wh01 = await seed_project(db, "WH01", 1001, clock(), milestones=plan)
    wh03 = await seed_project(db, "WH03", 1003, clock(), milestones=plan)
    for month in ("10", "12"):
        await seed_report(db, wh01, f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=70 + int(month))  # fmt: skip
    for month in ("10", "11", "12"):
        await seed_report(db, wh03, f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=50 + int(month))  # fmt: skip
    async with db.transaction() as conn:
        await bulletins.add_flag_change(conn, "2026-11", wh01, "snail", "remove",
                                        "因疫情封控无法开展，已报备", ADMIN_ID,
                                        ts(at("2026-11-26 09:30")))  # fmt: skip
        await bulletins.add_flag_change(conn, "2026-12", wh03, "snail", "add",
                                        "连续三个月进度明显落后", ADMIN_ID,
                                        ts(at("2026-12-28 09:30")))  # fmt: skip
    state = bench.app.bot_data
    c = await comparison_from(state.db, state.calendar, Quarter(2026, 4), at("2027-01-04 09:00"),
                              None)  # fmt: skip
    sides = {s.org.code: s for s in c.sides}
    assert (sides["WH01"].snail, sides["WH03"].snail) == (0, 1)


async def notice(db: Database, project_id: int, deadline: str, issued: datetime) -> int:
    """A 督办单 issued at `issued`, answer due by `deadline`, written as /duban writes it."""
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, project_id, "进度滞后", ADMIN_ID, ts(issued))
        await notices.set_draft(conn, nid, {"requirement": "按计划推进", "deadline": deadline})
        await notices.issue(conn, nid, issued.year, ts(issued))
        await notices.record(conn, nid, "issue", 1, ADMIN_ID, ts(issued))
    return nid


async def step(
    db: Database, nid: int, action: str, status: tuple[str, str], when: datetime
) -> None:
    """A step of the notice's life (签收, 反馈), recorded as /duban records it."""
    async with db.transaction() as conn:
        assert await notices.move(conn, nid, (status[0],), status[1], ts(when))
        await notices.record(conn, nid, action, 1, 1001, ts(when))


async def test_overdue_notices_are_those_overdue_in_the_quarter(bench: Bench, clock: Clock) -> None:
    """督办单逾期 counts the notices that were overdue at some time in the quarter, by their
    history: one answered in January, after its November deadline, counts (and made the
    project a snail in November and December, as those months stood); one signed late
    and answered in time counts (unsigned for a day); one issued in January, unsigned when
    the comparison goes out, belongs to the next quarter; one answered in time does not."""
    db = bench.app.bot_data.db
    plan = [("2026-12", "全部完成")]
    wh01 = await seed_project(db, "WH01", 1001, clock(), milestones=plan)
    for month in ("10", "11", "12"):
        await seed_report(db, wh01, f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=70 + int(month))  # fmt: skip
    answered_late = await notice(db, wh01, "2026-11-20", at("2026-11-02 10:00"))
    await step(db, answered_late, "sign", ("issued", "signed"), at("2026-11-02 11:00"))
    await step(db, answered_late, "answer", ("signed", "answered"), at("2027-01-02 10:00"))
    signed_late = await notice(db, wh01, "2026-12-20", at("2026-12-01 10:00"))
    await step(db, signed_late, "sign", ("issued", "signed"), at("2026-12-03 10:00"))
    await step(db, signed_late, "answer", ("signed", "answered"), at("2026-12-10 10:00"))
    in_time = await notice(db, wh01, "2026-12-20", at("2026-12-01 10:00"))
    await step(db, in_time, "sign", ("issued", "signed"), at("2026-12-01 12:00"))
    await step(db, in_time, "answer", ("signed", "answered"), at("2026-12-18 10:00"))
    await notice(db, wh01, "2027-01-20", at("2027-01-02 10:00"))  # unsigned since
    whole = await fourth_quarter(bench, clock)
    assert "护国街道党工委：报送率 100%，按时率 100%" in whole
    # Overdue at the end of November and of December: a snail in both months' bulletins.
    assert "蜗牛 2，督办单逾期 2 份" in whole


async def test_a_report_filed_after_its_month_counts_late_and_was_a_snail(
    bench: Bench, clock: Clock
) -> None:
    """November's report, filed on 3 December: filed (late) for the report rate, and missing
    when November ended — a snail that month, as its bulletin said."""
    db = bench.app.bot_data.db
    wh01 = await seed_project(db, "WH01", 1001, clock(), milestones=[("2026-12", "全部完成")])
    await seed_report(db, wh01, "2026-10", at("2026-10-21 10:00"), completion=80)
    await seed_report(db, wh01, "2026-11", at("2026-12-03 10:00"), completion=85, on_time=False)
    await seed_report(db, wh01, "2026-12", at("2026-12-21 10:00"), completion=90)
    whole = await fourth_quarter(bench, clock)
    assert "护国街道党工委：报送率 100%，按时率 67%" in whole
    assert "红旗 0、蜗牛 1" in whole


async def test_projects_ended_in_the_quarter_count_for_the_months_they_ran(
    bench: Bench, clock: Clock
) -> None:
    """WH01's project closed early, its 结题 accepted in December: it owed October and
    November and stands at November's 95 % against December's pace (12 of its 18 months).
    WH02's was terminated in November with only October filed: it owed October, and has no
    pace to keep."""
    db = bench.app.bot_data.db
    closed = await seed_project(db, "WH01", 1001, clock(), span=("2026-01", "2027-06"))
    stopped = await seed_project(db, "WH02", 1002, clock())
    await seed_report(db, closed, "2026-10", at("2026-10-21 10:00"), completion=80)
    await seed_report(db, closed, "2026-11", at("2026-11-21 10:00"), completion=95)
    await seed_report(db, stopped, "2026-10", at("2026-10-21 10:00"), completion=60)
    admin, secretary = bench.user(ADMIN_ID, "组织部小王"), bench.user(1001, "李娜")
    clock.now = at("2026-11-02 10:00")
    assert "已终止" in (await admin.send("/terminate 2026-002 项目主体撤并")).text
    clock.now = at("2026-12-10 10:00")
    await admin.send("/close_early 2026-001 目标已提前全部完成")
    await file_closing_report(secretary)
    assert "项目已结题" in (await admin.press("✅ 通过结题")).text
    whole = await fourth_quarter(bench, clock)
    assert "共 2 个单位、2 个项目" in whole
    assert "护国街道党工委：报送率 100%，按时率 100%，完成度平均快于计划 28 个百分点" in whole
    assert "大观街道党工委：报送率 100%，按时率 100%，暂无完成度" in whole

"""预警 before 蜗牛 (issue 17, item 9): a project whose last three reports' pace will not
reach 100 % by its end month, or whose open milestones outnumber its months left, is named
in the 双月调度 summary with the reason in plain words (README "预警")."""

from __future__ import annotations

from datetime import datetime

from bot.services import digest
from bot.services.months import Month
from storage import plans
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_the_trend_of_three_reports_warns_before_a_snail(bench: Bench, clock: Clock) -> None:
    db, state = bench.app.bot_data.db, bench.app.bot_data
    span, ms = ("2026-07", "2027-06"), [("2027-06", "总结")]
    slow = await seed_project(db, "WH01", None, clock(), span, "慢项目", ms)
    fine = await seed_project(db, "WH02", None, clock(), span, "正常项目", ms)
    once = await seed_project(db, "WH03", None, clock(), span, "只报一次", ms)
    for month, slow_c, fine_c in (("2026-10", 30, 30), ("2026-11", 33, 40), ("2026-12", 36, 50)):
        await seed_report(db, slow, month, at(f"{month}-21 10:00"), completion=slow_c)
        await seed_report(db, fine, month, at(f"{month}-21 10:00"), completion=fine_c)
    await seed_report(db, once, "2026-12", at("2026-12-21 10:00"), completion=10)
    s = await digest.dispatch_summary(db, state.calendar, Month(2026, 12), at("2026-12-28 09:00"))
    by_code = {ln.org.code: ln for ln in s.lines}
    # 3 points a month, 6 months left after December: 36 + 18 = 54 %; 10 a month: 100 %
    assert digest.forecast(by_code["WH01"], s.month) == 54
    assert digest.forecast(by_code["WH02"], s.month) == 100
    assert digest.forecast(by_code["WH03"], s.month) is None  # one report: no trend
    assert [(w.line.org.code, w.reach, w.crowded) for w in s.warnings] == [("WH01", 54, False)]
    text = state.texts.html("digest/dispatch.html", s=s)
    assert "⚠️ 预警 1 个：照目前的进度，到期完成不了" in text
    assert "“慢项目”，近三个月每月约增加 3 个百分点，照此到 2027 年 6 月结束时约完成 54%" in text


async def test_more_open_milestones_than_months_left_warn_even_on_a_good_trend(
    bench: Bench, clock: Clock
) -> None:
    db, state = bench.app.bot_data.db, bench.app.bot_data
    span = ("2026-07", "2027-03")  # three months left after December
    five = [(f"2027-0{i}", f"节点{i}") for i in (1, 2, 3)] + [
        ("2027-03", "验收"),
        ("2027-03", "总结"),
    ]
    three = five[:3]
    crowded = await seed_project(db, "WH01", None, clock(), span, "节点太多", five)
    fits = await seed_project(db, "WH02", None, clock(), span, "节点正好", three)
    both = await seed_project(db, "WH03", None, clock(), span, "两样都差", five)
    done = await seed_project(db, "WH04", None, clock(), span, "已经完成", five)
    stalled = await seed_project(db, "WH05", None, clock(), span, "原地不动", five)
    for month, good, slow in (("2026-10", 60, 30), ("2026-11", 70, 32), ("2026-12", 80, 34)):
        stamp = at(f"{month}-21 10:00")
        await seed_report(db, crowded, month, stamp, completion=good)
        await seed_report(db, fits, month, stamp, completion=good)
        await seed_report(db, both, month, stamp, completion=slow)
        await seed_report(db, done, month, stamp, completion=100)
        await seed_report(db, stalled, month, stamp, completion=50)
    s = await digest.dispatch_summary(db, state.calendar, Month(2026, 12), at("2026-12-28 09:00"))
    found = {w.line.org.code: w for w in s.warnings}
    # +10 a month reaches 100 %: only the milestones warn; 3 open in 3 months fit; done
    # and stalled projects are not forecast (the stalled one is listed as such).
    assert sorted(found) == ["WH01", "WH03"]
    assert (found["WH01"].reach, found["WH01"].crowded) == (None, True)
    assert (found["WH03"].reach, found["WH03"].crowded) == (40, True)
    assert [w.line.org.code for w in s.warnings] == ["WH03", "WH01"]  # furthest short first
    text = state.texts.html("digest/dispatch.html", s=s)
    assert "“节点太多”，还有 5 个节点未完成，到 2027 年 3 月结束只剩 3 个月" in text
    assert ("“两样都差”，近三个月每月约增加 2 个百分点，照此到 2027 年 3 月结束时约完成 40%；"
            "还有 5 个节点未完成，到 2027 年 3 月结束只剩 3 个月") in text  # fmt: skip
    assert "节点正好" not in text


async def test_a_falling_completion_is_not_forecast_to_fall_further(
    bench: Bench, clock: Clock
) -> None:
    db, state = bench.app.bot_data.db, bench.app.bot_data
    span, ms = ("2026-07", "2027-06"), [("2027-06", "总结")]
    pid = await seed_project(db, "WH01", None, clock(), span, "倒退项目", ms)
    for month, value in (("2026-10", 50), ("2026-11", 55), ("2026-12", 40)):
        await seed_report(db, pid, month, at(f"{month}-21 10:00"), completion=value)
    s = await digest.dispatch_summary(db, state.calendar, Month(2026, 12), at("2026-12-28 09:00"))
    [w] = s.warnings
    assert w.reach == 40 and not w.crowded
    text = state.texts.html("digest/dispatch.html", s=s)
    assert "“倒退项目”，近三个月完成度没有提高，照此到 2027 年 6 月结束时仍约为 40%" in text


async def test_a_project_terminated_in_the_dispatch_month_gets_no_warning(
    bench: Bench, clock: Clock
) -> None:
    """Terminated in August, the dispatch month: still listed for July, but neither warned
    about nor counted in a pace state (it no longer runs)."""
    state = bench.app.bot_data
    db = state.db
    ms = [(f"2026-{m:02d}", f"节点{m}") for m in range(8, 13)]
    pid = await seed_project(db, "WH01", 1001, clock(), milestones=ms)
    await seed_report(db, pid, "2026-06", at("2026-06-21 10:00"), completion=20)
    await seed_report(db, pid, "2026-07", at("2026-07-21 10:00"), completion=30)
    async with db.transaction() as conn:
        stop = ts(at("2026-08-05 10:00"))
        assert await plans.terminate(conn, pid, "2026-08", ADMIN_ID, "撤并", stop)
    s = await digest.dispatch_summary(db, state.calendar, Month(2026, 8), at("2026-08-28 09:00"))
    [line] = [ln for ln in s.lines if ln.project.id == pid]
    assert line.states == ("on_time", "not_due")
    assert s.warnings == []
    assert sum(s.by_pace().values()) == 0

"""预警 before 蜗牛 (issue 17, item 9): a project whose last three reports' pace will not
reach 100 % by its end month is named in the 双月调度 summary with the reason."""

from __future__ import annotations

from datetime import datetime

from bot.services import digest
from bot.services.months import Month
from tests.conftest import SHANGHAI, Clock
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
    assert [(ln.org.code, reach) for ln, reach in s.warnings] == [("WH01", 54)]
    text = state.texts.html("digest/dispatch.html", s=s)
    assert "⚠️ 预警 1 个：按近三个月的进度，到期完成不了" in text
    assert "“慢项目”，按近三个月的进度，到 2027 年 6 月结束时约完成 54%" in text

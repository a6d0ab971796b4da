"""月报开始填写 goes out on a working day, like every other reminder: a window that opens
on a weekend or holiday is announced on the next working day, at the reminder time."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from bot.services.calendar import ReportCalendar, WorkCalendar
from bot.services.months import Month
from bot.services.planner import ClockConfig, report_series
from scheduler.tick import run_tick
from tests.conftest import SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench

ALICE = 1001


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_a_window_opening_on_sunday_is_announced_on_monday(
    bench: Bench, clock: Clock
) -> None:
    # Ends after December: its last month would bring the 结题 invitation as well.
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock(), span=("2026-01", "2027-06"))
    for when in ("2026-12-19 09:00", "2026-12-20 09:00", "2026-12-20 15:00"):  # Sat, Sun
        await run_tick(bench.app, at(when))
    assert bench.api.sent(ALICE) == []
    await run_tick(bench.app, at("2026-12-21 09:00"))  # Monday
    [notice] = [c.text for c in bench.api.sent(ALICE)]
    assert "12 月月报开始填写了" in notice


def test_an_opening_moved_onto_the_deadline_is_not_sent_separately() -> None:
    holidays = frozenset(date(2026, 11, 20) + timedelta(days=d) for d in range(5))  # 20-24
    cal = ReportCalendar(tz=SHANGHAI, work=WorkCalendar(extra_holidays=holidays))
    series = report_series(cal, ClockConfig(), Month(2026, 11))
    assert [s.kind for s in series][:2] == ["report_due_am", "report_due_pm"]
    assert series[0].at == at("2026-11-25 09:00")

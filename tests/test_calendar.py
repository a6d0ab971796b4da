"""Working days and report windows, on China's official calendar."""

from __future__ import annotations

from datetime import date, datetime

import pytest

from bot.services.calendar import ReportCalendar, WorkCalendar
from bot.services.months import Month
from tests.conftest import SHANGHAI


@pytest.mark.parametrize(
    ("day", "expected"),
    [
        (date(2026, 1, 25), date(2026, 1, 26)),  # a Sunday
        (date(2026, 10, 3), date(2026, 10, 8)),  # inside the National Day holiday
        (date(2026, 10, 10), date(2026, 10, 10)),  # an adjusted working Saturday
        (date(2026, 2, 28), date(2026, 2, 28)),  # another adjusted working Saturday
        (date(2026, 9, 25), date(2026, 9, 28)),  # Mid-Autumn Festival, then a weekend
        (date(2026, 11, 25), date(2026, 11, 25)),  # an ordinary Wednesday
    ],
)
def test_next_working_day(day: date, expected: date) -> None:
    assert WorkCalendar().on_or_after(day) == expected


def test_year_without_official_data_falls_back_to_weekends() -> None:
    work = WorkCalendar(extra_holidays=frozenset({date(2031, 1, 1)}))
    assert work.on_or_after(date(2031, 1, 1)) == date(2031, 1, 2)  # listed holiday
    assert work.on_or_after(date(2031, 1, 4)) == date(2031, 1, 6)  # Saturday -> Monday
    assert 2031 not in work.uncovered_years  # the file covers it: admins need no warning
    assert work.on_or_after(date(2032, 1, 3)) == date(2032, 1, 5)
    assert 2032 in work.uncovered_years


def test_report_window() -> None:
    cal = ReportCalendar(tz=SHANGHAI)
    w = cal.window(Month(2026, 9))
    assert w.opens_at == datetime(2026, 9, 20, tzinfo=SHANGHAI)
    assert w.due_date == date(2026, 9, 28)  # the 25th is Mid-Autumn Festival
    assert w.is_on_time(datetime(2026, 9, 28, 23, 59, tzinfo=SHANGHAI))
    assert not w.is_on_time(datetime(2026, 9, 29, 0, 0, tzinfo=SHANGHAI))
    assert w.closes_at == datetime(2026, 10, 20, tzinfo=SHANGHAI)
    assert cal.window(Month(2026, 9)) is w  # worked out once
    assert cal.window(Month(2026, 10)) == cal._window(Month(2026, 10)) != w
    assert ReportCalendar(tz=SHANGHAI, due_day=20).window(Month(2026, 9)).due_date != w.due_date


@pytest.mark.parametrize(
    ("now", "period"),
    [
        (datetime(2026, 11, 20, 0, 0, tzinfo=SHANGHAI), Month(2026, 11)),
        (datetime(2026, 11, 19, 23, 59, tzinfo=SHANGHAI), Month(2026, 10)),
        (datetime(2027, 1, 5, 9, 0, tzinfo=SHANGHAI), Month(2026, 12)),
    ],
)
def test_current_period(now: datetime, period: Month) -> None:
    assert ReportCalendar(tz=SHANGHAI).current_period(now) == period


def test_holidays_file_fills_an_uncovered_year(tmp_path) -> None:
    from bot.schedule import load_work_calendar

    f = tmp_path / "holidays.toml"
    f.write_text('holidays = ["2031-01-01", "2031-01-02"]\nworkdays = ["2031-01-04"]\n',
                 encoding="utf-8")  # fmt: skip
    work = load_work_calendar(f)
    assert work.on_or_after(date(2031, 1, 1)) == date(2031, 1, 3)
    assert work.is_workday(date(2031, 1, 4))  # a Saturday made a working day


def test_bad_holidays_file_is_a_clear_error(tmp_path) -> None:
    from bot.schedule import load_work_calendar
    from bot.settings import SettingsError

    f = tmp_path / "holidays.toml"
    f.write_text('holidays = ["next friday"]\n', encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_work_calendar(f)
    assert err.value.template == "cli/bad_holidays.txt"


def test_clock_settings() -> None:
    from bot.schedule import schedule_from
    from bot.settings import SettingsError, load_settings

    s = load_settings(env={"BOT_REMIND_AT": "8:30", "BOT_QUIET_START": "21:00",
                           "BOT_DISPATCH_MONTHS": "3,6,9,12", "BOT_TICK_SECONDS": "0"})  # fmt: skip
    cfg = schedule_from(s).clock_config
    assert (cfg.remind_at.hour, cfg.remind_at.minute) == (8, 30)
    assert cfg.dispatch_months == frozenset({3, 6, 9, 12}) and s.tick_seconds == 0
    for bad in ({"BOT_REMIND_AT": "25:00"}, {"BOT_DISPATCH_MONTHS": "13"},
                {"BOT_TICK_SECONDS": "-1"}):  # fmt: skip
        with pytest.raises(SettingsError):
            load_settings(env=bad)

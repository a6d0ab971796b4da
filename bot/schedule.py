"""The report calendar and the clock's days and times, built from the settings in one place."""

from __future__ import annotations

import tomllib
from datetime import date
from pathlib import Path
from typing import NamedTuple

from bot.services.calendar import ReportCalendar, WorkCalendar
from bot.services.planner import ClockConfig
from bot.settings import Settings, SettingsError


class Schedule(NamedTuple):
    """When reports are open and due, and when the clock sends what."""

    calendar: ReportCalendar
    clock_config: ClockConfig


def schedule_from(settings: Settings) -> Schedule:
    """The calendar and clock configuration of these settings (reads the holidays file)."""
    calendar = ReportCalendar(
        tz=settings.timezone,
        open_day=settings.report_open_day,
        due_day=settings.report_due_day,
        work=load_work_calendar(settings.holidays_file),
    )
    clock_config = ClockConfig(
        remind_at=settings.remind_at,
        afternoon_at=settings.afternoon_at,
        quiet_start=settings.quiet_start,
        quiet_end=settings.quiet_end,
        due_soon_days=settings.due_soon_days,
        overdue_days=settings.overdue_days,
        dispatch_months=settings.dispatch_months,
        dispatch_day=settings.dispatch_day,
        dispatch_notice_days=settings.dispatch_notice_days,
        dispatch_auto_send=settings.dispatch_auto_send,
        publish_at=settings.publish_at,
        dispatch_publish_at=settings.dispatch_publish_at,
    )
    return Schedule(calendar, clock_config)


def load_work_calendar(path: Path | None) -> WorkCalendar:
    """Official calendar, plus a TOML file `holidays = [...]`, `workdays = [...]` (ISO dates)
    for years the package does not cover yet."""
    if path is None:
        return WorkCalendar()
    try:
        data = tomllib.loads(path.read_text(encoding="utf-8"))
        holidays = frozenset(date.fromisoformat(str(d)) for d in data.get("holidays", []))
        workdays = frozenset(date.fromisoformat(str(d)) for d in data.get("workdays", []))
    except (OSError, ValueError, tomllib.TOMLDecodeError) as exc:
        raise SettingsError("cli/bad_holidays.txt", path=str(path), error=str(exc)) from None
    return WorkCalendar(extra_holidays=holidays, extra_workdays=workdays)

"""Working days (China's official calendar, with adjusted working days) and report periods."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import chinese_calendar

from bot.services.months import Month

logger = logging.getLogger(__name__)


@dataclass
class WorkCalendar:
    """Is a day a working day? The official calendar where the package covers the year;
    weekends plus `extra_holidays` / `extra_workdays` where it does not (yet)."""

    extra_holidays: frozenset[date] = frozenset()
    extra_workdays: frozenset[date] = frozenset()
    uncovered_years: set[int] = field(default_factory=set)

    _known: dict[date, bool] = field(default_factory=dict, repr=False)

    def is_workday(self, day: date) -> bool:
        # chinese_calendar scans its whole table on every call; the planner asks often.
        if day not in self._known:
            self._known[day] = self._is_workday(day)
        return self._known[day]

    def _is_workday(self, day: date) -> bool:
        if day in self.extra_holidays:
            return False
        if day in self.extra_workdays:
            return True
        try:
            return bool(chinese_calendar.is_workday(day))
        except NotImplementedError:
            if any(d.year == day.year for d in self.extra_holidays):
                return day.weekday() < 5  # the holidays file covers this year: no warning
            if day.year not in self.uncovered_years:
                logger.warning("no official holiday data for %s: using weekends", day.year)
            self.uncovered_years.add(day.year)
            return day.weekday() < 5

    def on_or_after(self, day: date) -> date:
        """The day itself if it is a working day, else the next working day."""
        for _ in range(60):
            if self.is_workday(day):
                return day
            day += timedelta(days=1)
        raise ValueError(f"no working day within 60 days of {day}")


@dataclass(frozen=True, slots=True)
class ReportWindow:
    """When one month's report may be filed, when it is due, when it closes for edits."""

    period: Month
    opens_at: datetime
    due_date: date  # the last day that counts as on time, moved to a working day
    due_end: datetime  # the first moment that is late
    closes_at: datetime  # the next period opens; afterwards only an admin can reopen

    def is_on_time(self, moment: datetime) -> bool:
        return moment < self.due_end

    @property
    def last_edit_day(self) -> date:
        """The last day a filed report can still be changed (the day before `closes_at`)."""
        return (self.closes_at - timedelta(days=1)).date()

    def is_open(self, moment: datetime) -> bool:
        return self.opens_at <= moment < self.closes_at


@dataclass(frozen=True)
class ReportCalendar:
    """The monthly report rhythm: window opens on `open_day`, due on `due_day` (moved to the
    next working day), in the deployment's time zone."""

    tz: ZoneInfo
    open_day: int = 20
    due_day: int = 25
    work: WorkCalendar = field(default_factory=WorkCalendar)
    _windows: dict[Month, ReportWindow] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    def _start(self, day: date) -> datetime:
        return datetime.combine(day, time(0, 0), tzinfo=self.tz)

    def window(self, period: Month) -> ReportWindow:
        """The window of the report for `period` (a calendar month); worked out once (every
        conversation step asks, and the working-day calendar does not change while running)."""
        known = self._windows.get(period)
        if known is None:
            known = self._windows[period] = self._window(period)
        return known

    def _window(self, period: Month) -> ReportWindow:
        opens = self._start(date(period.year, period.month, self.open_day))
        due = self.work.on_or_after(date(period.year, period.month, self.due_day))
        following = period.plus(1)
        closes = self._start(date(following.year, following.month, self.open_day))
        return ReportWindow(period, opens, due, self._start(due + timedelta(days=1)), closes)

    def first_owed(self, approved_at: datetime) -> Month:
        """The first month a project 立项 at `approved_at` owes a report for: the first whose
        deadline is still ahead then (a holiday can push last month's past the 1st)."""
        month = Month.of(approved_at.astimezone(self.tz)).plus(-1)
        while not approved_at < self.window(month).due_end:
            month = month.plus(1)
        return month

    def current_period(self, now: datetime) -> Month:
        """The period a report filed now belongs to: this month from the open day on, else
        last month (still open, late)."""
        local = now.astimezone(self.tz)
        month = Month.of(local)
        return month if local.day >= self.open_day else month.plus(-1)

"""台账: Excel workbooks of the projects' monthly reports (and the 督办单), for leaders.

Two layouts, so that a province's year stays a file a leader can open and a bot can send:
- a month (`period`): the detailed ledger, one row per project with every report field;
- a year: the overview (年度汇总), one row per project with a column per month (status and
  completion) and the year's totals; `detail=True` adds each month's detailed sheet (for
  the command line: at 100,000 organizations that is 1.2 million rows, over 100 MB).
Both end with the sheet of the year's 督办单. Column headings and status words come from
templates (the caller passes them in); this module arranges the data: frozen header,
filters, widths, dates as real dates. Sheets are streamed (openpyxl's write-only mode) from
lean queries (storage/summary.py), so memory stays flat whatever the size; a sheet that
would pass Excel's row limit continues on the next one.
"""

from __future__ import annotations

import io
import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import IO
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.cell import WriteOnlyCell
from openpyxl.utils import get_column_letter
from openpyxl.worksheet._write_only import WriteOnlyWorksheet

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage import notices, summary
from storage.db import Database
from storage.rows import Notice

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
SHEET_NAME = 31  # Excel's longest sheet name
DATETIME, DATE = "yyyy-mm-dd hh:mm", "yyyy-mm-dd"


@dataclass(frozen=True)
class LedgerWords:
    """The words of the workbook, rendered from templates/ledger/."""

    report_sheet: str
    report_columns: list[str]
    notice_sheet: str
    notice_columns: list[str]
    states: dict[str, str]  # on_time / late / missing / exempt / not_due
    notice_states: dict[str, str]
    overview_sheet: str
    overview_columns: list[str]  # the identity and totals, before the month columns
    month_column: str  # str.format with month (1–12)
    month_sheet: str  # str.format with period: a month's detailed sheet in a yearly book
    filed_cell: str  # str.format with state and completion: a filed month in the overview


REPORT_WIDTHS = (12, 28, 10, 22, 10, 8, 18, 6, 8, 40, 30, 30, 30, 8, 8)
NOTICE_WIDTHS = (18, 12, 22, 36, 36, 12, 12, 18, 18, 18, 18, 8)
OVERVIEW_WIDTHS = (12, 28, 10, 22, 8, 6, 6, 6, 6, 10, 8)
MONTH_WIDTH = 10


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


class _Sheet:
    """A streamed sheet with its header frozen, filters on and widths set; past Excel's row
    limit it continues on a new sheet named "<title> (2)", header repeated."""

    def __init__(
        self, book: Workbook, title: str, header: Sequence[str], widths: Sequence[int],
        formats: dict[int, str] | None = None,
    ) -> None:  # fmt: skip
        self.book, self.title, self.header, self.widths = book, title, list(header), widths
        self.formats = formats or {}  # 0-based column -> number format
        self.part = 0
        self.sheet: WriteOnlyWorksheet | None = None
        self.rows = 0
        self._start()

    def _start(self) -> None:
        self._finish()
        self.part += 1
        suffix = f" ({self.part})" if self.part > 1 else ""
        sheet = self.book.create_sheet(self.title[: SHEET_NAME - len(suffix)] + suffix)
        for i, width in enumerate(self.widths, start=1):  # before any row is written
            sheet.column_dimensions[get_column_letter(i)].width = width
        sheet.freeze_panes = "A2"
        sheet.append(self.header)
        self.sheet, self.rows = sheet, 1

    def append(self, row: list[object]) -> None:
        if self.rows >= MAX_ROWS:
            self._start()
        assert self.sheet is not None
        for i, fmt in self.formats.items():
            if row[i] is not None:
                cell = WriteOnlyCell(self.sheet, row[i])
                cell.number_format = fmt
                row[i] = cell
        self.sheet.append(row)
        self.rows += 1

    def _finish(self) -> None:
        if self.sheet is not None:
            last = get_column_letter(len(self.header))
            self.sheet.auto_filter.ref = f"A1:{last}{self.rows}"

    def close(self) -> None:
        self._finish()
        self.sheet = None


async def build_ledger(
    db: Database,
    words: LedgerWords,
    calendar: ReportCalendar,
    now: datetime,
    *,
    year: int | None = None,
    period: Month | None = None,
    detail: bool = False,
) -> bytes:
    """The workbook (see write_ledger) as bytes."""
    out = io.BytesIO()
    await write_ledger(db, words, calendar, now, out, year=year, period=period, detail=detail)
    return out.getvalue()


async def write_ledger(
    db: Database,
    words: LedgerWords,
    calendar: ReportCalendar,
    now: datetime,
    out: IO[bytes],
    *,
    year: int | None = None,
    period: Month | None = None,
    detail: bool = False,
) -> None:
    """Write the workbook of a month (detailed), or of a year (the overview, and each month's
    detailed sheet if `detail`) to `out`; months after now are left out."""
    current = Month.of(now.astimezone(calendar.tz))
    if period is not None:
        year = period.year
        months = [period]
    else:
        assert year is not None
        months = [Month(year, m) for m in range(1, 13) if Month(year, m) <= current]
    year_notices = await notices.listing(db.conn, year=year)
    book = Workbook(write_only=True)
    if period is None:
        await _overview(db, book, words, calendar, now, year, months, year_notices)
    if period is not None or detail:
        for month in months:
            title = words.report_sheet if period else words.month_sheet.format(period=month)
            await _month(db, book, words, calendar, now, month, title, year_notices)
    await _notices(db, book, words, calendar.tz, year, year_notices)
    book.save(out)


def _states(calendar: ReportCalendar, now: datetime, months: Sequence[Month]) -> list[str]:
    """What an unfiled, non-exempt month is: missing once its deadline has passed."""
    return ["not_due" if now < calendar.window(m).due_end else "missing" for m in months]


async def _overview(
    db: Database, book: Workbook, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    year: int, months: Sequence[Month], year_notices: list[Notice],
) -> None:  # fmt: skip
    """年度汇总: a row per project, its totals, then a cell per month."""
    names = [str(m) for m in months]
    unfiled = _states(calendar, now, months)
    exempt = await summary.exempt_orgs(db.conn, names)
    exempt_by_month = [exempt[n] for n in names]
    notice_count: dict[int, int] = {}
    for n in year_notices:
        notice_count[n.project_id] = notice_count.get(n.project_id, 0) + 1
    st = words.states
    filed_words = {
        code: st[state] for code, state in ((summary.ON_TIME, "on_time"), (summary.LATE, "late"))
    }
    filed_text: dict[int, str] = {}
    sheet = _Sheet(
        book, words.overview_sheet,
        [*words.overview_columns, *(words.month_column.format(month=m.month) for m in months)],
        (*OVERVIEW_WIDTHS, *(MONTH_WIDTH,) * len(months)),
    )  # fmt: skip
    async for row in summary.year_rows(db.conn, year, names):
        pid, number, name, start, end, org_id, org_code, org_name = row[:8]
        counts = {"on_time": 0, "late": 0, "missing": 0, "exempt": 0}
        latest = None
        cells: list[object] = []
        for i, code in enumerate(row[8:]):
            if not start <= names[i] <= end:
                cells.append(None)
            elif code is not None:
                kind = summary.LATE if code >= summary.LATE else summary.ON_TIME
                latest = code - kind
                counts["late" if kind == summary.LATE else "on_time"] += 1
                text = filed_text.get(code)
                if text is None:  # at most 2 × 101 different texts
                    text = filed_text[code] = words.filed_cell.format(
                        state=filed_words[kind], completion=latest)  # fmt: skip
                cells.append(text)
            else:
                state = "exempt" if org_id in exempt_by_month[i] else unfiled[i]
                if state != "not_due":
                    counts[state] += 1
                cells.append(st[state])
        due = counts["on_time"] + counts["late"] + counts["missing"]
        sheet.append([number, name, org_code, org_name, due, counts["on_time"], counts["late"],
                      counts["missing"], counts["exempt"], latest, notice_count.get(pid, 0),
                      *cells])  # fmt: skip
    sheet.close()


async def _month(
    db: Database, book: Workbook, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    month: Month, title: str, year_notices: list[Notice],
) -> None:  # fmt: skip
    """A month in detail: one row per project with every field of its report."""
    tz = calendar.tz
    name = str(month)
    [unfiled] = _states(calendar, now, [month])
    exempt = (await summary.exempt_orgs(db.conn, [name]))[name]
    names = await summary.ticked_milestones(db.conn, name)
    # A row counts the notices issued in its own month, so the column adds up over a year.
    notice_count: dict[int, int] = {}
    for n in year_notices:
        if n.issued_at is not None and Month.of(n.issued_at.astimezone(tz)) == month:
            notice_count[n.project_id] = notice_count.get(n.project_id, 0) + 1
    sheet = _Sheet(book, title, words.report_columns, REPORT_WIDTHS, {6: DATETIME})
    async for r in summary.month_rows(db.conn, name):
        if r.on_time is not None:
            state = "on_time" if r.on_time else "late"
            ticked = "；".join(names.get(m, "") for m in json.loads(r.milestones_done or "[]"))
        else:
            state = "exempt" if r.org_id in exempt else unfiled
            ticked = None
        sheet.append([
            r.number, r.name, r.org_code, r.org_name, name, words.states[state],
            _local(r.first_submitted_at, tz), r.version, r.completion, r.progress, ticked,
            r.problems, r.plan, r.files, notice_count.get(r.project_id, 0),
        ])  # fmt: skip
    sheet.close()


async def _notices(
    db: Database, book: Workbook, words: LedgerWords, tz: ZoneInfo, year: int,
    year_notices: list[Notice],
) -> None:  # fmt: skip
    """The year's 督办单, by number, with how often each was returned."""
    projects = await summary.notice_projects(db.conn, year)
    returns = await summary.notice_returns(db.conn, year)
    formats = {5: DATE, 7: DATETIME, 8: DATETIME, 9: DATETIME, 10: DATETIME}
    sheet = _Sheet(book, words.notice_sheet, words.notice_columns, NOTICE_WIDTHS, formats)
    for n in sorted(year_notices, key=lambda n: (n.year or 0, n.seq or 0)):
        number, org_name = projects[n.project_id]
        sheet.append([
            f"{n.year}-{n.seq}", number, org_name, n.problem, n.requirement,
            date.fromisoformat(n.deadline) if n.deadline else None, words.notice_states[n.status],
            _local(n.issued_at, tz), _local(n.signed_at, tz), _local(n.answered_at, tz),
            _local(n.closed_at, tz), returns.get(n.id, 0),
        ])  # fmt: skip
    sheet.close()


def words_from(texts: Texts) -> LedgerWords:
    """The workbook's words, from templates/ledger/."""
    w = dict(texts.menu("ledger/words.txt"))
    return LedgerWords(
        w["report_sheet"],
        texts.plain("ledger/report_columns.txt").splitlines(),
        w["notice_sheet"],
        texts.plain("ledger/notice_columns.txt").splitlines(),
        {k[6:]: v for k, v in w.items() if k.startswith("state_")},
        {k[7:]: v for k, v in w.items() if k.startswith("notice_") and k != "notice_sheet"},
        w["overview_sheet"],
        texts.plain("ledger/overview_columns.txt").splitlines(),
        w["month_column"],
        w["month_sheet"],
        w["filed_cell"],
    )

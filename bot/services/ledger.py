"""台账: Excel workbooks of the projects' monthly reports (and the 督办单), for leaders.

Two layouts, so that a province's year stays a file a leader can open and a bot can send:
- a month (`period`): the detailed ledger, one row per project with every report field;
- a year: the overview (年度汇总), one row per project with where it stands, its 四看 at
  立项, its 示范 citation, the year's totals and a cell per month: a filed month is its
  completion as a number, shown as "95% 按时" by its number format and coloured by its
  status; an unfiled one says why (未报, 免报, 未到截止日); `detail=True` adds each month's
  detailed sheet (for the command line: at 100,000 organizations that is 1.2 million
  rows, too big to send).
Both have the subtotals per sub-organization (分组小计) and the year's 督办单; a year's
book ends with 结题, 验收 and 示范. Column headings and status words come from templates
(the caller passes them in); this module arranges the data: a title row (scope, period,
time generated) above a frozen, filtered header, widths, dates as dates, rates as numbers
in a percent format, and each sheet set to print landscape, one page wide, title and
header on every page. Rows are streamed from lean queries (storage/summary.py) into the
file (see _Book), so memory stays flat whatever the size; a sheet that would pass Excel's
row limit continues on the next one.
"""

from __future__ import annotations

import logging
import re
import shutil
import tempfile
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

from bot import spreadsheets
from bot.services.calendar import ReportCalendar
from bot.services.conversation import Conversation, Field
from bot.services.months import Month
from bot.services.reporting import REPORT
from bot.texts import Texts
from storage import acceptance, checks, closing, notices, orgs, plans, projects, summary
from storage.db import Database
from storage.projects import ids_of_orgs
from storage.rows import Notice, Org

logger = logging.getLogger(__name__)

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
# A sheet's XML stays under zip's 2 GiB without ZIP64 (which some Excel versions warn
# about): past this many characters (at most 3 bytes each in UTF-8) rows go on in the next.
MAX_SHEET_CHARS = 600_000_000
SHEET_NAME = 31  # Excel's longest sheet name
HEAD = 2  # the rows above the data: the title, then the column headings
PERCENT = "0%"  # rates and completion are fractions shown as percentages
PAPER_A4 = 9  # XlsxWriter's paper code for A4
# Fill and font of each status word (Excel's own good / neutral / bad styles, and grey).
STATE_COLOURS = {"on_time": ("#C6EFCE", "#006100"), "late": ("#FFEB9C", "#9C5700"),
                 "missing": ("#FFC7CE", "#9C0006"), "exempt": ("#EDEDED", "#595959")}  # fmt: skip


def _field_width(f: Field[Any]) -> int:
    """A report field's column width: long texts wider, numbers narrow."""
    if f.kind in ("percent", "files"):
        return 8
    return 40 if f.limit >= 1000 else 30


@dataclass(frozen=True)
class ReportColumn:
    """A question of the monthly report as a month's sheet shows it: its kind, where its
    answer is stored (none for files: they are counted), its header and width."""

    kind: str
    column: str
    header: str
    width: int


def report_columns(texts: Texts, report: Conversation[Any] = REPORT) -> tuple[ReportColumn, ...]:
    """One column a question of the report, in the field list's order, named as its
    button is (templates/buttons.txt) with the unit of its kind (templates/ledger/words.txt)."""
    w = dict(texts.menu("ledger/words.txt"))
    return tuple(
        ReportColumn(f.kind, f.columns[0] if f.columns else "",
                     texts.labels()[f.label_key] + w.get(f"unit_{f.kind}", ""),
                     _field_width(f))
        for f in report.fields
    )  # fmt: skip


@dataclass(frozen=True)
class LedgerWords:
    """The words of the workbook, rendered from templates/ledger/."""

    report_sheet: str
    report_columns: list[str]  # a month's leading columns; then one a report field, then:
    report_notices: str  # the 督办单 count's column
    report_fields: tuple[ReportColumn, ...]  # the report's questions (its field list)
    notice_sheet: str
    notice_columns: list[str]
    states: dict[str, str]  # on_time / late / missing / exempt / not_due
    notice_states: dict[str, str]
    overview_sheet: str
    overview_columns: list[str]  # the identity and totals, before the month columns
    month_column: str  # str.format with month (1–12)
    month_sheet: str  # str.format with period: a month's detailed sheet in a yearly book
    notice_number: str  # str.format with year and seq: the number as the bot's messages write it
    title: str  # str.format with scope, what, sheet, generated: each sheet's first row
    scope_all: str  # the scope of a book of every organization without one root
    what_year: str  # str.format with year
    what_month: str  # str.format with year and month
    subtotal_sheet: str
    subtotal_columns: list[str]
    subtotal_total: str  # the label of the subtotals' last row
    checks_passed: str  # 四看: no check marked failed at 立项
    check_names: dict[str, str]  # 四看: a failed check, as the review's messages name it
    project_states: dict[str, str]  # approved / concluded / accepted / terminated
    year_end: YearEndWords | None = None  # 结题, 验收 and 示范 sheets of a year (None: left out)


@dataclass(frozen=True)
class YearEndWords:
    """The words of the year-end sheets (templates/ledger/year_end_*.txt), and the 验收
    weights a reviewer's total is computed with."""

    scores_sheet: str
    scores_columns: list[str]
    results_sheet: str
    results_columns: list[str]
    models_sheet: str
    models_columns: list[str]
    statuses: dict[str, str]  # concluded / accepted
    grades: dict[str, str]  # excellent / good / pass / fail
    model_mark: str
    weights: tuple[int, int, int, int]
    closing_sheet: str = ""
    closing_columns: list[str] = field(default_factory=list)
    closing_statuses: dict[str, str] = field(default_factory=dict)  # draft / submitted / …


REPORT_WIDTHS = (12, 28, 10, 22, 10, 8, 18, 6)  # a month's leading columns
NOTICES_WIDTH = 8


NOTICE_WIDTHS = (20, 12, 22, 36, 36, 12, 12, 18, 18, 18, 18, 8)
OVERVIEW_WIDTHS = (12, 28, 10, 22, 8, 16, 24, 8, 8, 6, 6, 6, 6, 8, 10, 8)
OVERVIEW_PERCENT = (13, 14)  # 按时率, 最新完成度
MONTH_WIDTH = 11  # "100% 逾期"
SUBTOTAL_WIDTHS = (10, 22, 8, 8, 6, 6, 6, 6, 8, 8, 10, 8, 10)
SUBTOTAL_PERCENT = (8, 9, 10)  # 报送率, 按时率, 平均完成度


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


class _Book:
    """An .xlsx file written by XlsxWriter in constant-memory mode: each row goes to disk as
    soon as the next one starts, strings inline, so memory stays flat whatever the size.
    XlsxWriter rather than openpyxl: its streaming writer is the faster of the two;
    openpyxl still reads imports and, in the tests, every ledger.
    """

    def __init__(
        self, title: Callable[[str], str] = str, states: dict[str, str] | None = None
    ) -> None:
        # The book and its temporary files (a sheet's rows, then each part) in a directory of
        # our own: a ledger stopped half-way (an error, a cancelled request) leaves nothing.
        self.tmp = tempfile.TemporaryDirectory(prefix="ledger-")
        self.path = Path(self.tmp.name) / "ledger.xlsx"
        # Through bot/spreadsheets.py, like every export: a report's text stays text.
        self.workbook, self.dates = spreadsheets.workbook(
            self.path, constant_memory=True, tmpdir=self.tmp.name
        )
        self.title = title  # a sheet's title row, from its name
        add = self.workbook.add_format
        self.title_format = add({"bold": True, "font_size": 14})
        self.header_format = add({"bold": True, "text_wrap": True, "valign": "top",
                                  "bg_color": "#D9E1F2", "border": 1})  # fmt: skip
        self.total_format = add({"bold": True, "top": 1})
        self.percent = add({"num_format": PERCENT})
        self.total_percent = add({"num_format": PERCENT, "bold": True, "top": 1})
        # A status word (words.states) → its colour, for the conditional formats.
        words = states or {}
        self.colours: dict[str, Format] = {
            words[state]: add({"bg_color": fill, "font_color": font})
            for state, (fill, font) in STATE_COLOURS.items() if state in words
        }  # fmt: skip
        # A month of the overview by its status: a filed one's completion shown with the
        # status word ("95% 按时") by its number format, an unfiled one's word coloured.
        self.months: dict[str, Format] = {
            state: add({"bg_color": fill, "font_color": font} | (
                {"num_format": f'{PERCENT}" {_unquoted(words[state])}"'}
                if state in ("on_time", "late") else {}))
            for state, (fill, font) in STATE_COLOURS.items() if state in words
        }  # fmt: skip

    def sheet(
        self, title: str, header: Sequence[str], widths: Sequence[int], *,
        percent: Iterable[int] = (), states: Iterable[int] = (),
    ) -> _Sheet:  # fmt: skip
        """Start the next sheet (the one before must be closed): `percent` are the columns
        of fractions shown as percentages, `states` those of status words, coloured."""
        return _Sheet(self, title, header, widths, frozenset(percent), tuple(states))

    def close(self, out: str | None) -> bytes | None:
        """Assemble the sheets into the finished file: moved to the path `out`, or returned."""
        try:
            self.workbook.close()
            if out is None:
                return self.path.read_bytes()
            shutil.move(self.path, out)
            return None
        finally:
            self.tmp.cleanup()

    def discard(self) -> None:
        """Give up the file: nothing is written, the temporary files are removed."""
        # XlsxWriter has no public way to abandon a book; closing it is what closes its files.
        try:
            self.workbook.close()
        except Exception as exc:  # the error that made us give up may well recur here
            logger.debug("abandoned workbook did not close cleanly: %s", exc)
        finally:
            self.tmp.cleanup()


class _Sheet:
    """A streamed sheet: a title row, then the header, frozen, filters on, widths set, status
    words coloured, printed landscape one page wide with the title and header on every
    page; past Excel's row limit (or past MAX_SHEET_CHARS of XML) it continues on a new
    sheet named "<title> (2)", title and header repeated."""

    def __init__(
        self, book: _Book, title: str, header: Sequence[str], widths: Sequence[int],
        percent: frozenset[int] = frozenset(), states: tuple[int, ...] = (),
    ) -> None:  # fmt: skip
        self.book, self.title, self.header, self.widths = book, title, list(header), widths
        self.percent, self.states = percent, states
        self.plain = self._formats(book.percent, None)  # a row's formats: the percent columns
        self.part = 0
        self.ws: Worksheet | None = None
        self.rows = self.size = 0  # rows, and an upper bound on the characters of their XML
        self._start()

    def _start(self) -> None:
        self._finish()
        self.part += 1
        suffix = f" ({self.part})" if self.part > 1 else ""
        name = _sheet_name(self.title, suffix)
        self.ws = ws = self.book.workbook.add_worksheet(name)
        for i, width in enumerate(self.widths):
            # In pixels, so the file holds the width itself (as openpyxl wrote it): XlsxWriter's
            # set_column would add Excel's padding, storing 28 as 28.71.
            ws.set_column_pixels(i, i, width * spreadsheets.DIGIT_PIXELS)
        ws.freeze_panes(HEAD, 0)
        ws.set_landscape()
        ws.set_paper(PAPER_A4)
        ws.fit_to_pages(1, 0)  # one page wide, as many long as it takes
        ws.repeat_rows(0, HEAD - 1)
        self.rows = self.size = 0
        blank: list[Format | None] = [None] * len(self.header)
        self._row([self.book.title(name), *[None] * (len(self.header) - 1)],
                  [self.book.title_format, *blank[1:]])  # fmt: skip
        self._row(list(self.header), [self.book.header_format] * len(self.header))

    def append(self, row: list[object], formats: Sequence[Format | None] | None = None) -> None:
        """Write the next row, in the `formats` given (a cell each), else the sheet's own."""
        if self.rows >= MAX_ROWS or (self.rows > HEAD and self.size >= MAX_SHEET_CHARS):
            self._start()
        self._row(row, self.plain if formats is None else formats)

    def _formats(self, percent: Format, other: Format | None) -> list[Format | None]:
        return [percent if c in self.percent else other for c in range(len(self.header))]

    def _row(self, values: list[object], formats: Sequence[Format | None]) -> None:
        assert self.ws is not None
        if len(values) != len(self.header):
            raise ValueError(f"{len(values)} cells for {len(self.header)} columns")
        ws, r, size = self.ws, self.rows, self.size + _ROW_XML
        for c, value in enumerate(values):
            text = spreadsheets.write_cell(ws, r, c, value, self.book.dates, formats[c])
            if value is None or value == "":
                continue
            size += _CELL_XML
            if text is not None:
                # &, < and > are escaped: &amp; is 5 characters.
                size += len(text) + 4 * (text.count("&") + text.count("<") + text.count(">"))
        self.rows, self.size = r + 1, size

    def _finish(self, total: list[object] | None = None) -> None:
        if self.ws is None:
            return
        last = self.rows - 1
        self.ws.autofilter(HEAD - 1, 0, last, len(self.header) - 1)
        if last >= HEAD:
            for c in self.states:
                for word, colour in self.book.colours.items():
                    quoted = '"' + word.replace('"', '""') + '"'
                    rule = {"type": "cell", "criteria": "==", "value": quoted, "format": colour}
                    self.ws.conditional_format(HEAD, c, last, c, rule)
        if total is not None:  # below the filtered rows: sorting them leaves it last
            self._row(total, self._formats(self.book.total_percent, self.book.total_format))
        self.ws = None

    def close(self, total: list[object] | None = None) -> None:
        """Finish the sheet, with a `total` row at its end if given."""
        if total is not None and self.rows >= MAX_ROWS:
            self._start()
        self._finish(total)


# Upper bounds on the XML of a row and of a cell besides its text, for MAX_SHEET_CHARS:
# <row r="1048576" spans="1:23">…</row>, <c r="XFD1048576" s="1" t="inlineStr"><is><t …
_ROW_XML, _CELL_XML = 48, 80


def _unquoted(word: str) -> str:
    """A word as literal text of a number format (which a double quote would end)."""
    return word.replace('"', "")


def _sheet_name(title: str, suffix: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)
    return clean[: SHEET_NAME - len(suffix)] + suffix


async def build_ledger(
    db: Database,
    words: LedgerWords,
    calendar: ReportCalendar,
    now: datetime,
    *,
    year: int | None = None,
    period: Month | None = None,
    detail: bool = False,
    root_org_id: int | None = None,
) -> bytes:
    """The workbook (see write_ledger) as bytes; with `root_org_id`, that organization's
    subtree only (an admin of it)."""
    months, year = _months(calendar, now, year, period)
    data = await db.off_loop(_write, words, calendar, now, None, year, months, period, detail,
                             root_org_id)  # fmt: skip
    assert data is not None
    return data


async def write_ledger(
    db: Database,
    words: LedgerWords,
    calendar: ReportCalendar,
    now: datetime,
    out: Path,
    *,
    year: int | None = None,
    period: Month | None = None,
    detail: bool = False,
) -> None:
    """Write the workbook of a month (detailed), or of a year (the overview, and each month's
    detailed sheet if `detail`) to the file `out`; months after now are left out."""
    months, year = _months(calendar, now, year, period)
    await db.off_loop(_write, words, calendar, now, str(out), year, months, period, detail)


def _months(
    calendar: ReportCalendar, now: datetime, year: int | None, period: Month | None
) -> tuple[list[Month], int]:
    """The months a ledger covers, and its year."""
    if period is not None:
        return [period], period.year
    assert year is not None
    current = Month.of(now.astimezone(calendar.tz))
    return [Month(year, m) for m in range(1, 13) if Month(year, m) <= current], year


async def _write(
    view: Database, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    out: str | None, year: int, months: list[Month], period: Month | None, detail: bool,
    root_org_id: int | None = None,
) -> bytes | None:  # fmt: skip
    """In the export process (Database.off_loop): every sheet read at one moment, the book
    written to the file `out`, or returned as bytes."""
    year_notices = await notices.listing(view, year=year)
    keep: frozenset[int] | None = None  # the organizations shown; None: every one
    if root_org_id is not None:
        keep = frozenset(await orgs.subtree_ids(view, root_org_id))
        kept = await ids_of_orgs(view, keep)
        year_notices = [n for n in year_notices if n.project_id in kept]
    root, branch_of = await summary.branches(view, root_org_id)
    tally = _Tally(branch_of)
    scope = root.name if root is not None else words.scope_all
    what = (words.what_month.format(year=period.year, month=period.month) if period
            else words.what_year.format(year=year))  # fmt: skip
    generated = now.astimezone(calendar.tz).strftime("%Y-%m-%d %H:%M")

    def title(sheet: str) -> str:
        return words.title.format(scope=scope, what=what, sheet=sheet, generated=generated)

    book = _Book(title, words.states)
    try:
        if period is None:
            await _overview(view, book, words, calendar, now, year, months, year_notices, keep,
                            tally)  # fmt: skip
            _subtotals(book, words, tally)
        if period is not None or detail:
            for month in months:
                title_ = (words.report_sheet if period
                          else words.month_sheet.format(period=month))  # fmt: skip
                await _month(view, book, words, calendar, now, month, title_, year_notices, keep,
                             tally if period else None)  # fmt: skip
            if period is not None:
                _subtotals(book, words, tally)
        await _notices(view, book, words, calendar.tz, year, year_notices)
        if period is None and words.year_end is not None:
            await _closing_sheet(view, book, words.year_end, calendar.tz, year, keep)
            await _year_end(view, book, words.year_end, calendar.tz, year, keep)
    except BaseException:
        book.discard()
        raise
    return book.close(out)


class _Tally:
    """The subtotals per sub-organization (the scope root's children, summary.branches), as
    the rows of a ledger go by."""

    FIELDS = ("projects", "due", "on_time", "late", "missing", "exempt", "notices", "models")

    def __init__(self, branch_of: dict[int, Org]) -> None:
        self.branch_of = branch_of
        self.rows: dict[int, list[int]] = {}  # branch id → its FIELDS counted
        self.names: dict[int, Org] = {}
        self.completion: dict[int, tuple[int, int]] = {}  # branch id → (sum, projects)

    def add(self, org: Org, counts: dict[str, int], completion: int | None) -> None:
        branch = self.branch_of.get(org.id, org)
        row = self.rows.get(branch.id)
        if row is None:
            row = self.rows[branch.id] = [0] * len(self.FIELDS)
            self.names[branch.id] = branch
        for i, name in enumerate(self.FIELDS):
            row[i] += counts.get(name, 0)
        if completion is not None:
            total, n = self.completion.get(branch.id, (0, 0))
            self.completion[branch.id] = (total + completion, n + 1)

    @staticmethod
    def cells(row: Sequence[int], completion: tuple[int, int]) -> list[object]:
        projects, due, on_time, late, missing, exempt, notice_count, models = row
        total, n = completion
        return [projects, due, on_time, late, missing, exempt,
                (on_time + late) / due if due else None, on_time / due if due else None,
                total / n / 100 if n else None, notice_count, models]  # fmt: skip

    def lines(self) -> Iterable[tuple[Org, list[object]]]:
        """Each sub-organization by code, with its cells (rates as fractions)."""
        for branch in sorted(self.names.values(), key=lambda o: o.code):
            yield branch, self.cells(self.rows[branch.id], self.completion.get(branch.id, (0, 0)))

    def total(self) -> list[object]:
        row = [sum(r[i] for r in self.rows.values()) for i in range(len(self.FIELDS))]
        done = self.completion.values()
        return self.cells(row, (sum(t for t, _ in done), sum(n for _, n in done)))


def _subtotals(book: _Book, words: LedgerWords, tally: _Tally) -> None:
    """分组小计: a row per sub-organization, then the scope's total."""
    sheet = book.sheet(words.subtotal_sheet, words.subtotal_columns, SUBTOTAL_WIDTHS,
                       percent=SUBTOTAL_PERCENT)  # fmt: skip
    for branch, cells in tally.lines():
        sheet.append([branch.code, branch.name, *cells])
    sheet.close(total=[None, words.subtotal_total, *tally.total()])


def _states(calendar: ReportCalendar, now: datetime, months: Sequence[Month]) -> list[str]:
    """What an unfiled, non-exempt month is: missing once its deadline has passed."""
    return ["not_due" if now < calendar.window(m).due_end else "missing" for m in months]


async def _overview(
    db: Database, book: _Book, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    year: int, months: Sequence[Month], year_notices: list[Notice],
    keep: frozenset[int] | None, tally: _Tally,
) -> None:  # fmt: skip
    """年度汇总: a row per project, where it stands (已立项, 已结题, 已验收, 已终止), its 四看,
    示范 and plan adjustments, its totals, then a cell per month (see the module's
    docstring)."""
    names = [str(m) for m in months]
    unfiled = _states(calendar, now, months)
    exempt = await summary.exempt_orgs(db, names)
    exempt_by_month = [exempt[n] for n in names]
    notice_count: dict[int, int] = {}
    for n in year_notices:
        notice_count[n.project_id] = notice_count.get(n.project_id, 0) + 1
    failed = await checks.failed_at_approval(db)
    models = await acceptance.models_by_project(db)
    changed = await plans.spans(db)  # the plans of each project ever adjusted
    st = words.states
    first = len(words.overview_columns)  # the first month's column
    sheet = book.sheet(
        words.overview_sheet,
        [*words.overview_columns, *(words.month_column.format(month=m.month) for m in months)],
        (*OVERVIEW_WIDTHS, *(MONTH_WIDTH,) * len(months)),
        percent=OVERVIEW_PERCENT,
    )  # fmt: skip
    shown = book.months
    async for row in summary.year_rows(db, year, names):
        pid, number, name, start, end, org_id, org_code, org_name, status = row[:9]
        if keep is not None and org_id not in keep:
            continue
        counts = {"on_time": 0, "late": 0, "missing": 0, "exempt": 0}
        latest = None
        cells: list[object] = []
        formats = list(sheet.plain)
        for i, code in enumerate(row[9:]):
            if not start <= names[i] <= end:  # outside the span, or before 立项 (not owed)
                cells.append(None)
            elif code == summary.NOT_RUN:  # ended by then: 已终止, or 已结题 / 已验收
                cells.append(words.project_states[status])
            elif code is not None:
                kind = "late" if code >= summary.LATE else "on_time"
                latest = code - (summary.LATE if kind == "late" else summary.ON_TIME)
                counts[kind] += 1
                cells.append(latest / 100)
                formats[first + i] = shown[kind]
            else:
                state = "exempt" if org_id in exempt_by_month[i] else unfiled[i]
                if state != "not_due":
                    counts[state] += 1
                cells.append(st[state])
                formats[first + i] = shown.get(state)
        due = counts["on_time"] + counts["late"] + counts["missing"]
        marked = failed.get(pid)
        model = models.get(pid)
        adjusted = len(changed[pid]) - 1 if pid in changed else 0  # version 1: 立项's plan
        sheet.append([number, name, org_code, org_name, words.project_states[status],
                      "、".join(words.check_names[k] for k in marked) if marked
                      else words.checks_passed, model.citation if model else None,
                      adjusted, due, counts["on_time"], counts["late"],
                      counts["missing"], counts["exempt"],
                      counts["on_time"] / due if due else None,
                      latest / 100 if latest is not None else None, notice_count.get(pid, 0),
                      *cells], formats)  # fmt: skip
        tally.add(Org(org_id, org_code, org_name, None, ""),
                  {**counts, "projects": 1, "due": due, "notices": notice_count.get(pid, 0),
                   "models": 1 if model else 0}, latest)  # fmt: skip
    sheet.close()


async def _month(
    db: Database, book: _Book, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    month: Month, title: str, year_notices: list[Notice], keep: frozenset[int] | None = None,
    tally: _Tally | None = None,
) -> None:  # fmt: skip
    """A month in detail: one row per project with every field of its report (counted in
    `tally` if given)."""
    tz = calendar.tz
    name = str(month)
    [unfiled] = _states(calendar, now, [month])
    exempt = (await summary.exempt_orgs(db, [name]))[name]
    names = await summary.ticked_milestones(db, name)
    # A row counts the notices issued in its own month, so the column adds up over a year.
    notice_count: dict[int, int] = {}
    for n in year_notices:
        if n.issued_at is not None and Month.of(n.issued_at.astimezone(tz)) == month:
            notice_count[n.project_id] = notice_count.get(n.project_id, 0) + 1
    models = await acceptance.models_by_project(db) if tally is not None else {}
    # One column a question of the report, in the field list's order (bot/services/reporting.py).
    fields = words.report_fields
    header = [*words.report_columns, *(f.header for f in fields), words.report_notices]
    widths = [*REPORT_WIDTHS, *(f.width for f in fields), NOTICES_WIDTH]
    sheet = book.sheet(title, header, widths, states=(5,))
    stored = [f.column for f in fields if f.column]
    async for r in summary.month_rows(db, name, stored):
        if keep is not None and r.org_id not in keep:
            continue
        if r.on_time is not None:
            state = "on_time" if r.on_time else "late"
        else:
            state = "exempt" if r.org_id in exempt else unfiled
        sheet.append([
            r.number, r.name, r.org_code, r.org_name, name, words.states[state],
            _local(r.first_submitted_at, tz), r.version,
            *(_answer_cell(f, r, names) for f in fields),
            notice_count.get(r.project_id, 0),
        ])  # fmt: skip
        if tally is not None:
            counts = {"projects": 1, state: 1, "notices": notice_count.get(r.project_id, 0),
                      "due": 1 if state in ("on_time", "late", "missing") else 0,
                      "models": 1 if r.project_id in models else 0}  # fmt: skip
            tally.add(Org(r.org_id, r.org_code, r.org_name, None, ""), counts, r.completion)
    sheet.close()


def _answer_cell(f: ReportColumn, row: summary.MonthRow, milestones: dict[int, str]) -> object:
    """A report question's cell: the answer; milestones ticked off by name; files counted."""
    if row.on_time is None:
        return None
    if f.kind == "files":
        return row.files
    if f.kind == "ticks":
        return "；".join(milestones.get(m, "") for m in row.answers.get(f.column) or [])
    return row.answers.get(f.column)


async def _notices(
    db: Database, book: _Book, words: LedgerWords, tz: ZoneInfo, year: int,
    year_notices: list[Notice],
) -> None:  # fmt: skip
    """The year's 督办单, by number, with how often each was returned."""
    projects = await summary.notice_projects(db, year)
    returns = await summary.notice_returns(db, year)
    sheet = book.sheet(words.notice_sheet, words.notice_columns, NOTICE_WIDTHS)
    for n in sorted(year_notices, key=lambda n: (n.year or 0, n.seq or 0)):
        number, org_name = projects[n.project_id]
        sheet.append([
            words.notice_number.format(year=n.year, seq=n.seq), number, org_name, n.problem,
            n.requirement,
            date.fromisoformat(n.deadline) if n.deadline else None, words.notice_states[n.status],
            _local(n.issued_at, tz), _local(n.signed_at, tz), _local(n.answered_at, tz),
            _local(n.closed_at, tz), returns.get(n.id, 0),
        ])  # fmt: skip
    sheet.close()


SCORES_WIDTHS = (12, 28, 22, 14, 10, 10, 10, 12, 10, 40, 18, 8)
RESULTS_WIDTHS = (12, 28, 10, 22, 8, 8, 10, 10, 10, 12, 8, 8, 18, 8)
MODELS_WIDTHS = (6, 12, 28, 22, 8, 8, 50, 18)


CLOSING_WIDTHS = (12, 28, 22, 10, 8, 18, 40, 40, 40, 40, 8)


async def _closing_sheet(
    db: Database, book: _Book, words: YearEndWords, tz: ZoneInfo, year: int,
    keep: frozenset[int] | None = None,
) -> None:  # fmt: skip
    """结题: a row per closing report of the year's projects (by 立项 year), its latest
    submitted text, how often it was submitted and where it stands."""
    reports = await closing.of_year(db, year)
    wanted = {c.project_id for c, _ in reports}
    found = {p.id: p for p in await projects.search_all_ids(db, wanted)}
    names = await orgs.by_ids(db, {p.org_id for p in found.values()})
    sheet = book.sheet(words.closing_sheet, words.closing_columns, CLOSING_WIDTHS)
    for c, submitted in reports:
        p = found[c.project_id]
        if keep is not None and p.org_id not in keep:
            continue
        # The latest submitted text: a draft or unsent edits are the secretary's own.
        last = await closing.last_submitted(db, c.id)
        text = ([last.overview, last.implementation, last.results, last.evaluation, last.files]
                if last is not None else ["", "", "", "", 0])  # fmt: skip
        sheet.append([p.number, p.name, names[p.org_id].name, words.closing_statuses[c.status],
                      submitted, _local(c.submitted_at, tz), *text])  # fmt: skip
    sheet.close()


async def _year_end(
    db: Database, book: _Book, words: YearEndWords, tz: ZoneInfo, year: int,
    keep: frozenset[int] | None = None,
) -> None:  # fmt: skip
    """验收评分 (a row per reviewer and project), 验收结果 (a row per project: the means and
    the result) and 示范项目, for the year's 已结题 and 已验收 projects (by 立项 year)."""
    done = await acceptance.of_status(db, ("concluded", "accepted"), year)
    done = [p for p in done if keep is None or p.org_id in keep]
    names = await orgs.by_ids(db, {p.org_id for p in done})
    by_id = {p.id: p for p in done}
    scores = [s for s in await acceptance.scores_of_year(db, year) if s.project_id in by_id]
    results = await acceptance.results_of_year(db, year)
    models = await acceptance.models_of_year(db, year)
    chosen = {m.project_id for m in models}
    weights = words.weights

    def total(values: tuple[int, ...]) -> float:
        return round(sum(w * v for w, v in zip(weights, values, strict=True)) / sum(weights), 1)

    sheet = book.sheet(words.scores_sheet, words.scores_columns, SCORES_WIDTHS)
    for s in scores:
        p = by_id[s.project_id]
        sheet.append([p.number, p.name, names[p.org_id].name, s.reviewer_name or str(s.reviewer_id),
                      *s.values(), total(s.values()), s.remark, _local(s.submitted_at, tz),
                      s.times])  # fmt: skip
    sheet.close()
    sheet = book.sheet(words.results_sheet, words.results_columns, RESULTS_WIDTHS)
    for p in done:
        mine = [s for s in scores if s.project_id == p.id]
        means: list[float | None] = [
            round(sum(s.values()[i] for s in mine) / len(mine), 1) if mine else None
            for i in range(4)
        ]
        result = results.get(p.id)
        score = result.score if result else None
        if result is None and mine:  # scored, not yet confirmed: the mean so far
            score = round(sum(total(s.values()) for s in mine) / len(mine), 1)
        sheet.append([p.number, p.name, names[p.org_id].code, names[p.org_id].name,
                      words.statuses[p.status], len(mine), *means, score,
                      words.grades[result.grade] if result else None,
                      _local(result.accepted_at, tz) if result else None,
                      words.model_mark if p.id in chosen else None])  # fmt: skip
    sheet.close()
    sheet = book.sheet(words.models_sheet, words.models_columns, MODELS_WIDTHS)
    for rank, m in enumerate((m for m in models if m.project_id in by_id), start=1):
        chosen_one = by_id[m.project_id]
        result = results.get(chosen_one.id)
        sheet.append([rank, chosen_one.number, chosen_one.name, names[chosen_one.org_id].name,
                      result.score if result else None,
                      words.grades[result.grade] if result else None, m.citation,
                      _local(m.chosen_at, tz)])  # fmt: skip
    sheet.close()


def year_end_words(texts: Texts, weights: tuple[int, int, int, int]) -> YearEndWords:
    """The year-end sheets' words, from templates/ledger/year_end_*.txt."""
    w = dict(texts.menu("ledger/year_end_words.txt"))
    return YearEndWords(
        w["scores_sheet"],
        texts.plain("ledger/year_end_scores_columns.txt").splitlines(),
        w["results_sheet"],
        texts.plain("ledger/year_end_results_columns.txt").splitlines(),
        w["models_sheet"],
        texts.plain("ledger/year_end_models_columns.txt").splitlines(),
        {k[7:]: v for k, v in w.items() if k.startswith("status_")},
        {k[6:]: v for k, v in w.items() if k.startswith("grade_")},
        w["model_mark"],
        weights,
        w["closing_sheet"],
        texts.plain("ledger/year_end_closing_columns.txt").splitlines(),
        {k[8:]: v for k, v in w.items() if k.startswith("closing_") and k != "closing_sheet"},
    )


def words_from(texts: Texts, weights: tuple[int, int, int, int] | None = None) -> LedgerWords:
    """The workbook's words, from templates/ledger/; with the 验收 `weights`, the year-end
    sheets too."""
    from bot.services.review import CHECKS

    w = dict(texts.menu("ledger/words.txt"))
    # The number as every message writes it (the one template), with str.format's fields.
    number = texts.plain("digest/notice_number.txt", n={"year": "{year}", "seq": "{seq}"})
    check_names = dict(
        line.split(" - ", 1)
        for line in texts.plain("ledger/check_names.txt", keys=CHECKS).splitlines()
        if line.strip()
    )
    return LedgerWords(
        report_sheet=w["report_sheet"],
        report_columns=texts.plain("ledger/report_columns.txt").splitlines(),
        report_notices=w["report_notices"],
        report_fields=report_columns(texts),
        notice_sheet=w["notice_sheet"],
        notice_columns=texts.plain("ledger/notice_columns.txt").splitlines(),
        states={k[6:]: v for k, v in w.items() if k.startswith("state_")},
        notice_states={
            k[7:]: v for k, v in w.items() if k.startswith("notice_") and k != "notice_sheet"
        },
        overview_sheet=w["overview_sheet"],
        overview_columns=texts.plain("ledger/overview_columns.txt").splitlines(),
        month_column=w["month_column"],
        month_sheet=w["month_sheet"],
        notice_number=number,
        title=w["title"],
        scope_all=w["scope_all"],
        what_year=w["what_year"],
        what_month=w["what_month"],
        subtotal_sheet=w["subtotal_sheet"],
        subtotal_columns=texts.plain("ledger/subtotal_columns.txt").splitlines(),
        subtotal_total=w["subtotal_total"],
        checks_passed=w["checks_passed"],
        check_names=check_names,
        project_states={k[8:]: v for k, v in w.items() if k.startswith("project_")},
        year_end=year_end_words(texts, weights) if weights is not None else None,
    )

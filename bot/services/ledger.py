"""台账: Excel workbooks of the projects' monthly reports (and the 督办单), for leaders.

Two layouts, so that a province's year stays a file a leader can open and a bot can send:
- a month (`period`): the detailed ledger, one row per project with every report field;
- a year: the overview (年度汇总), one row per project with a column per month (status and
  completion) and the year's totals; `detail=True` adds each month's detailed sheet (for
  the command line: at 100,000 organizations that is 1.2 million rows, over 100 MB).
Both end with the sheet of the year's 督办单. Column headings and status words come from
templates (the caller passes them in); this module arranges the data: frozen header,
filters, widths, dates as real dates. Rows are streamed from lean queries
(storage/summary.py) into the file (see _Book), so memory stays flat whatever the size; a
sheet that would pass Excel's row limit continues on the next one.
"""

from __future__ import annotations

import io
import json
import re
import zipfile
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import IO
from zoneinfo import ZoneInfo

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage import notices, summary
from storage.db import Database
from storage.rows import Notice

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
# A sheet's XML stays under zip's 2 GiB without ZIP64 (which some Excel versions warn
# about): past this many characters (at most 3 bytes each in UTF-8) rows go on in the next.
MAX_SHEET_CHARS = 600_000_000
SHEET_NAME = 31  # Excel's longest sheet name
DATETIME, DATE = "yyyy-mm-dd hh:mm", "yyyy-mm-dd"  # number formats of the date cells


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


class _Book:
    """A streamed .xlsx file: one sheet at a time goes straight into the zip, a row at a time.

    Written by hand rather than with openpyxl (the house's Excel library, still used to read
    imports and, in the tests, to read every ledger back): its write-only mode serialises each
    cell through a pure-Python XML tree, 8–18 µs a cell on this 2-core machine, and a
    province's yearly overview is 2.3 million cells (20–39 s measured, against a 30-s
    target; a month in detail 18–22 s). Here a row is one formatted string, about 1 µs a
    cell. The parts are the ones openpyxl writes (its theme and document properties left
    out, as Excel does not need them): inline strings, numbers, dates as serial numbers with
    a date format, column widths, a frozen header row and an autofilter."""

    def __init__(self, out: IO[bytes]) -> None:
        self.zip = zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED, compresslevel=_DEFLATE)
        self.sheets: list[tuple[str, str]] = []  # (name, filter range)

    def sheet(self, title: str, header: Sequence[str], widths: Sequence[int]) -> _Sheet:
        """Start the next sheet (the one before must be closed)."""
        return _Sheet(self, title, header, widths)

    def close(self) -> None:
        """Write the workbook's parts around the sheets and finish the file."""
        n = len(self.sheets)
        main, rels = _NS_MAIN, _NS_REL
        sheets = "".join(f'<sheet name="{_attr(name)}" sheetId="{i}" r:id="rId{i}"/>'
                         for i, (name, _) in enumerate(self.sheets, start=1))  # fmt: skip
        filters = "".join(
            f'<definedName name="_xlnm._FilterDatabase" localSheetId="{i}" hidden="1">'
            f"{_text(_quoted(name))}!{_absolute(ref)}</definedName>"
            for i, (name, ref) in enumerate(self.sheets)
        )
        self._part("xl/workbook.xml",
                   f'<workbook xmlns="{main}" xmlns:r="{rels}"><bookViews><workbookView/>'
                   f"</bookViews><sheets>{sheets}</sheets>"
                   f"{f'<definedNames>{filters}</definedNames>' if filters else ''}"
                   "</workbook>")  # fmt: skip
        relation = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
        self._part("xl/_rels/workbook.xml.rels",
                   f'<Relationships xmlns="{_NS_PKG_REL}">'
                   + "".join(f'<Relationship Id="rId{i}" Type="{relation}/worksheet" '
                             f'Target="worksheets/sheet{i}.xml"/>' for i in range(1, n + 1))
                   + f'<Relationship Id="rId{n + 1}" Type="{relation}/styles" '
                   'Target="styles.xml"/></Relationships>')  # fmt: skip
        self._part("xl/styles.xml", _STYLES)
        self._part("_rels/.rels",
                   f'<Relationships xmlns="{_NS_PKG_REL}"><Relationship Id="rId1" '
                   f'Type="{relation}/officeDocument" Target="xl/workbook.xml"/>'
                   "</Relationships>")  # fmt: skip
        kind = "application/vnd.openxmlformats-officedocument.spreadsheetml"
        self._part("[Content_Types].xml",
                   '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
                   '<Default Extension="rels" '
                   'ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
                   '<Default Extension="xml" ContentType="application/xml"/>'
                   f'<Override PartName="/xl/workbook.xml" ContentType="{kind}.sheet.main+xml"/>'
                   f'<Override PartName="/xl/styles.xml" ContentType="{kind}.styles+xml"/>'
                   + "".join(f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
                             f'ContentType="{kind}.worksheet+xml"/>' for i in range(1, n + 1))
                   + "</Types>")  # fmt: skip
        self.zip.close()

    def _part(self, name: str, xml: str) -> None:
        self.zip.writestr(name, _XML_DECLARATION + xml)


class _Sheet:
    """A streamed sheet with its header frozen, filters on and widths set; past Excel's row
    limit (or past MAX_SHEET_CHARS of XML) it continues on a new sheet named "<title> (2)",
    header repeated."""

    def __init__(
        self, book: _Book, title: str, header: Sequence[str], widths: Sequence[int]
    ) -> None:
        self.book, self.title, self.header, self.widths = book, title, list(header), widths
        self.columns = [_column(i) for i in range(len(self.header))]
        self.part = 0
        self.stream: IO[bytes] | None = None
        self.name = ""
        self.rows = self.size = 0  # rows, and characters of their XML
        self.pending: list[str] = []
        self._start()

    def _start(self) -> None:
        self._finish()
        self.part += 1
        suffix = f" ({self.part})" if self.part > 1 else ""
        self.name = _sheet_name(self.title, suffix)
        number = len(self.book.sheets) + 1
        self.stream = self.book.zip.open(f"xl/worksheets/sheet{number}.xml", "w")
        cols = "".join(f'<col min="{i}" max="{i}" width="{w}" customWidth="1"/>'
                       for i, w in enumerate(self.widths, start=1))  # fmt: skip
        self.stream.write((
            f'{_XML_DECLARATION}<worksheet xmlns="{_NS_MAIN}"><sheetViews>'
            '<sheetView workbookViewId="0"><pane ySplit="1" topLeftCell="A2" '
            'activePane="bottomLeft" state="frozen"/><selection pane="bottomLeft" '
            'activeCell="A2" sqref="A2"/></sheetView></sheetViews>'
            f'<sheetFormatPr defaultRowHeight="15"/><cols>{cols}</cols><sheetData>'
        ).encode())  # fmt: skip
        self.rows = self.size = 0
        self._row(list(self.header))

    def append(self, row: list[object]) -> None:
        if self.rows >= MAX_ROWS or (self.rows > 1 and self.size >= MAX_SHEET_CHARS):
            self._start()
        self._row(row)

    def _row(self, values: list[object]) -> None:
        r = self.rows + 1
        cells = [f'<row r="{r}">']
        for column, value in zip(self.columns, values, strict=True):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                cells.append(f'<c r="{column}{r}" t="inlineStr"><is>{_inline(value)}</is></c>')
            elif isinstance(value, bool):
                cells.append(f'<c r="{column}{r}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, int | float):
                cells.append(f'<c r="{column}{r}"><v>{value}</v></c>')
            elif isinstance(value, datetime):
                serial = (value - _EPOCH) / _DAY
                cells.append(f'<c r="{column}{r}" s="{_STYLE_DATETIME}"><v>{serial}</v></c>')
            elif isinstance(value, date):
                serial = (value - _EPOCH.date()).days
                cells.append(f'<c r="{column}{r}" s="{_STYLE_DATE}"><v>{serial}</v></c>')
            else:
                raise TypeError(f"no cell for {type(value).__name__}")
        cells.append("</row>")
        text = "".join(cells)
        self.rows = r
        self.size += len(text)
        self.pending.append(text)
        if len(self.pending) >= 1000:
            self._flush()

    def _flush(self) -> None:
        assert self.stream is not None
        self.stream.write("".join(self.pending).encode())
        self.pending.clear()

    def _finish(self) -> None:
        if self.stream is None:
            return
        self._flush()
        ref = f"A1:{self.columns[-1]}{self.rows}"
        self.stream.write(f'</sheetData><autoFilter ref="{ref}"/></worksheet>'.encode())
        self.stream.close()
        self.stream = None
        self.book.sheets.append((self.name, ref))

    def close(self) -> None:
        self._finish()


_XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_DEFLATE = 6
_EPOCH, _DAY = datetime(1899, 12, 30), timedelta(days=1)  # Excel's day 0 (1900 date system)
_STYLE_DATETIME, _STYLE_DATE = 1, 2  # indexes into cellXfs below
_STYLES = (
    f'<styleSheet xmlns="{_NS_MAIN}"><numFmts count="2">'
    f'<numFmt numFmtId="164" formatCode="{DATETIME}"/>'
    f'<numFmt numFmtId="165" formatCode="{DATE}"/></numFmts>'
    '<fonts count="1"><font><sz val="11"/><name val="Calibri"/><family val="2"/></font></fonts>'
    '<fills count="2"><fill><patternFill patternType="none"/></fill>'
    '<fill><patternFill patternType="gray125"/></fill></fills>'
    '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>'
    '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>'
    '<cellXfs count="3"><xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
    '<xf numFmtId="164" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '<xf numFmtId="165" fontId="0" fillId="0" borderId="0" xfId="0" applyNumberFormat="1"/>'
    '</cellXfs><cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
    "</cellStyles></styleSheet>"
)
# Characters XML 1.0 cannot carry (a control character pasted into a report): dropped.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
_CELL_TEXT = 32_767  # Excel's longest cell text


def _text(value: str) -> str:
    return value.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _attr(value: str) -> str:
    return _text(value).replace('"', "&quot;")


def _inline(value: str) -> str:
    if _ILLEGAL.search(value):
        value = _ILLEGAL.sub("", value)
    value = value[:_CELL_TEXT]
    space = ' xml:space="preserve"' if value != value.strip() else ""
    return f"<t{space}>{_text(value)}</t>"


def _column(index: int) -> str:
    """A, B, …, Z, AA, … for a 0-based column index."""
    name = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        name = chr(65 + rest) + name
    return name


def _sheet_name(title: str, suffix: str) -> str:
    """Excel's rules: at most 31 characters, none of []:*?/\\."""
    clean = re.sub(r"[\[\]:*?/\\]", " ", title)
    return clean[: SHEET_NAME - len(suffix)] + suffix


def _quoted(name: str) -> str:
    return "'" + name.replace("'", "''") + "'"


def _absolute(ref: str) -> str:
    """A1:O5 -> $A$1:$O$5."""
    return ":".join(re.sub(r"([A-Z]+)(\d+)", r"$\1$\2", part) for part in ref.split(":"))


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
    book = _Book(out)
    if period is None:
        await _overview(db, book, words, calendar, now, year, months, year_notices)
    if period is not None or detail:
        for month in months:
            title = words.report_sheet if period else words.month_sheet.format(period=month)
            await _month(db, book, words, calendar, now, month, title, year_notices)
    await _notices(db, book, words, calendar.tz, year, year_notices)
    book.close()


def _states(calendar: ReportCalendar, now: datetime, months: Sequence[Month]) -> list[str]:
    """What an unfiled, non-exempt month is: missing once its deadline has passed."""
    return ["not_due" if now < calendar.window(m).due_end else "missing" for m in months]


async def _overview(
    db: Database, book: _Book, words: LedgerWords, calendar: ReportCalendar, now: datetime,
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
    sheet = book.sheet(
        words.overview_sheet,
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
    db: Database, book: _Book, words: LedgerWords, calendar: ReportCalendar, now: datetime,
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
    sheet = book.sheet(title, words.report_columns, REPORT_WIDTHS)
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
    db: Database, book: _Book, words: LedgerWords, tz: ZoneInfo, year: int,
    year_notices: list[Notice],
) -> None:  # fmt: skip
    """The year's 督办单, by number, with how often each was returned."""
    projects = await summary.notice_projects(db.conn, year)
    returns = await summary.notice_returns(db.conn, year)
    sheet = book.sheet(words.notice_sheet, words.notice_columns, NOTICE_WIDTHS)
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

"""台账: Excel workbooks of the projects' monthly reports (and the 督办单), for leaders.

Two layouts, so that a province's year stays a file a leader can open and a bot can send:
- a month (`period`): the detailed ledger, one row per project with every report field;
- a year: the overview (年度汇总), one row per project with a column per month (status and
  completion) and the year's totals; `detail=True` adds each month's detailed sheet (for
  the command line: at 100,000 organizations that is 1.2 million rows, too big to send).
Both end with the sheet of the year's 督办单. Column headings and status words come from
templates (the caller passes them in); this module arranges the data: frozen header,
filters, widths, dates as real dates. Rows are streamed from lean queries
(storage/summary.py) into the file (see _Book), so memory stays flat whatever the size; a
sheet that would pass Excel's row limit continues on the next one.
"""

from __future__ import annotations

import json
import logging
import re
import shutil
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from xlsxwriter.worksheet import Worksheet

from bot import spreadsheets
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage import acceptance, closing, notices, orgs, projects, summary
from storage.db import Database
from storage.projects import ids_of_orgs
from storage.rows import Notice

logger = logging.getLogger(__name__)

MAX_ROWS = 1_048_576  # Excel's rows per sheet, the header included
# A sheet's XML stays under zip's 2 GiB without ZIP64 (which some Excel versions warn
# about): past this many characters (at most 3 bytes each in UTF-8) rows go on in the next.
MAX_SHEET_CHARS = 600_000_000
SHEET_NAME = 31  # Excel's longest sheet name


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
    year_end: YearEndWords | None = None  # 验收 and 示范 sheets of a year (None: left out)


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


REPORT_WIDTHS = (12, 28, 10, 22, 10, 8, 18, 6, 8, 40, 30, 30, 30, 8, 8)
NOTICE_WIDTHS = (18, 12, 22, 36, 36, 12, 12, 18, 18, 18, 18, 8)
OVERVIEW_WIDTHS = (12, 28, 10, 22, 8, 6, 6, 6, 6, 10, 8)
MONTH_WIDTH = 10


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


class _Book:
    """An .xlsx file written by XlsxWriter in constant-memory mode: each row goes to disk as
    soon as the next one starts, strings inline, so memory stays flat whatever the size.
    XlsxWriter rather than openpyxl: its streaming writer is the faster of the two;
    openpyxl still reads imports and, in the tests, every ledger.
    """

    def __init__(self) -> None:
        # The book and its temporary files (a sheet's rows, then each part) in a directory of
        # our own: a ledger stopped half-way (an error, a cancelled request) leaves nothing.
        self.tmp = tempfile.TemporaryDirectory(prefix="ledger-")
        self.path = Path(self.tmp.name) / "ledger.xlsx"
        # Through bot/spreadsheets.py, like every export: a report's text stays text.
        self.workbook, self.dates = spreadsheets.workbook(
            self.path, constant_memory=True, tmpdir=self.tmp.name
        )

    def sheet(self, title: str, header: Sequence[str], widths: Sequence[int]) -> _Sheet:
        """Start the next sheet (the one before must be closed)."""
        return _Sheet(self, title, header, widths)

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
    """A streamed sheet with its header frozen, filters on and widths set; past Excel's row
    limit (or past MAX_SHEET_CHARS of XML) it continues on a new sheet named "<title> (2)",
    header repeated."""

    def __init__(
        self, book: _Book, title: str, header: Sequence[str], widths: Sequence[int]
    ) -> None:
        self.book, self.title, self.header, self.widths = book, title, list(header), widths
        self.part = 0
        self.ws: Worksheet | None = None
        self.rows = self.size = 0  # rows, and an upper bound on the characters of their XML
        self._start()

    def _start(self) -> None:
        self._finish()
        self.part += 1
        suffix = f" ({self.part})" if self.part > 1 else ""
        self.ws = ws = self.book.workbook.add_worksheet(_sheet_name(self.title, suffix))
        for i, width in enumerate(self.widths):
            # In pixels, so the file holds the width itself (as openpyxl wrote it): XlsxWriter's
            # set_column would add Excel's padding, storing 28 as 28.71.
            ws.set_column_pixels(i, i, width * spreadsheets.DIGIT_PIXELS)
        ws.freeze_panes(1, 0)
        self.rows = self.size = 0
        self._row(list(self.header))

    def append(self, row: list[object]) -> None:
        if self.rows >= MAX_ROWS or (self.rows > 1 and self.size >= MAX_SHEET_CHARS):
            self._start()
        self._row(row)

    def _row(self, values: list[object]) -> None:
        assert self.ws is not None
        if len(values) != len(self.header):
            raise ValueError(f"{len(values)} cells for {len(self.header)} columns")
        ws, r, size = self.ws, self.rows, self.size + _ROW_XML
        for c, value in enumerate(values):
            text = spreadsheets.write_cell(ws, r, c, value, self.book.dates)
            if value is None or value == "":
                continue
            size += _CELL_XML
            if text is not None:
                # &, < and > are escaped: &amp; is 5 characters.
                size += len(text) + 4 * (text.count("&") + text.count("<") + text.count(">"))
        self.rows, self.size = r + 1, size

    def _finish(self) -> None:
        if self.ws is None:
            return
        self.ws.autofilter(0, 0, self.rows - 1, len(self.header) - 1)
        self.ws = None

    def close(self) -> None:
        self._finish()


# Upper bounds on the XML of a row and of a cell besides its text, for MAX_SHEET_CHARS:
# <row r="1048576" spans="1:23">…</row>, <c r="XFD1048576" s="1" t="inlineStr"><is><t …
_ROW_XML, _CELL_XML = 48, 80


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
    year_notices = await notices.listing(view.conn, year=year)
    keep: frozenset[int] | None = None  # the organizations shown; None: every one
    if root_org_id is not None:
        keep = frozenset(await orgs.subtree_ids(view.conn, root_org_id))
        kept = await ids_of_orgs(view.conn, keep)
        year_notices = [n for n in year_notices if n.project_id in kept]
    book = _Book()
    try:
        if period is None:
            await _overview(view, book, words, calendar, now, year, months, year_notices, keep)
        if period is not None or detail:
            for month in months:
                title = (words.report_sheet if period
                         else words.month_sheet.format(period=month))  # fmt: skip
                await _month(view, book, words, calendar, now, month, title, year_notices, keep)
        await _notices(view, book, words, calendar.tz, year, year_notices)
        if period is None and words.year_end is not None:
            await _closing_sheet(view, book, words.year_end, calendar.tz, year, keep)
            await _year_end(view, book, words.year_end, calendar.tz, year, keep)
    except BaseException:
        book.discard()
        raise
    return book.close(out)


def _states(calendar: ReportCalendar, now: datetime, months: Sequence[Month]) -> list[str]:
    """What an unfiled, non-exempt month is: missing once its deadline has passed."""
    return ["not_due" if now < calendar.window(m).due_end else "missing" for m in months]


async def _overview(
    db: Database, book: _Book, words: LedgerWords, calendar: ReportCalendar, now: datetime,
    year: int, months: Sequence[Month], year_notices: list[Notice],
    keep: frozenset[int] | None = None,
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
        if keep is not None and org_id not in keep:
            continue
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
    month: Month, title: str, year_notices: list[Notice], keep: frozenset[int] | None = None,
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
        if keep is not None and r.org_id not in keep:
            continue
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


SCORES_WIDTHS = (12, 28, 22, 14, 10, 10, 10, 12, 10, 40, 18, 8)
RESULTS_WIDTHS = (12, 28, 10, 22, 8, 8, 10, 10, 10, 12, 8, 8, 18, 8)
MODELS_WIDTHS = (6, 12, 28, 22, 8, 8, 50, 18)


CLOSING_WIDTHS = (12, 28, 22, 10, 8, 18, 40, 40, 40, 40, 8)


async def _closing_sheet(
    db: Database, book: _Book, words: YearEndWords, tz: ZoneInfo, year: int,
    keep: frozenset[int] | None = None,
) -> None:  # fmt: skip
    """结题: a row per closing report of the year's projects (by 立项 year), its latest
    submitted text, how often it was submitted and where it stands; left out when there is
    none."""
    reports = await closing.of_year(db.conn, year)
    if not reports:
        return
    wanted = {c.project_id for c, _ in reports}
    found = {p.id: p for p in await projects.search_all_ids(db.conn, wanted)}
    names = await orgs.by_ids(db.conn, {p.org_id for p in found.values()})
    sheet = book.sheet(words.closing_sheet, words.closing_columns, CLOSING_WIDTHS)
    for c, submitted in reports:
        p = found[c.project_id]
        if keep is not None and p.org_id not in keep:
            continue
        # The latest submitted text: a draft or unsent edits are the secretary's own.
        last = await closing.last_submitted(db.conn, c.id)
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
    the result) and 示范项目, for the year's 已结题 and 已验收 projects (by 立项 year); left
    out when the year has none."""
    done = await acceptance.of_status(db.conn, ("concluded", "accepted"), year)
    done = [p for p in done if keep is None or p.org_id in keep]
    if not done:
        return
    names = await orgs.by_ids(db.conn, {p.org_id for p in done})
    by_id = {p.id: p for p in done}
    scores = [s for s in await acceptance.scores_of_year(db.conn, year) if s.project_id in by_id]
    results = await acceptance.results_of_year(db.conn, year)
    models = await acceptance.models_of_year(db.conn, year)
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
        year_end_words(texts, weights) if weights is not None else None,
    )

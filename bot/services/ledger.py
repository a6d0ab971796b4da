"""台账: an Excel workbook of every project and month (and the 督办单), for leaders.

Column headings and status words come from templates (the caller passes them in); this
module only arranges the data: frozen header, filters, widths, dates as real dates."""

from __future__ import annotations

import io
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from openpyxl import Workbook
from openpyxl.utils import get_column_letter
from openpyxl.worksheet.worksheet import Worksheet

from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage import deliveries, notices, orgs, projects, reports
from storage.db import Database


@dataclass(frozen=True)
class LedgerWords:
    """The words of the workbook, rendered from templates/ledger/."""

    report_sheet: str
    report_columns: list[str]
    notice_sheet: str
    notice_columns: list[str]
    states: dict[str, str]  # on_time / late / missing / exempt / not_due
    notice_states: dict[str, str]


REPORT_WIDTHS = (12, 28, 10, 22, 10, 8, 18, 6, 8, 40, 30, 30, 30, 8, 8)
NOTICE_WIDTHS = (18, 12, 22, 36, 36, 12, 12, 18, 18, 18, 18, 8)


def _local(moment: datetime | None, tz: ZoneInfo) -> datetime | None:
    return moment.astimezone(tz).replace(tzinfo=None) if moment else None


def _finish(sheet: Worksheet, widths: tuple[int, ...]) -> None:
    sheet.freeze_panes = "A2"
    sheet.auto_filter.ref = sheet.dimensions
    for i, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(i)].width = width


async def build_ledger(
    db: Database,
    words: LedgerWords,
    calendar: ReportCalendar,
    now: datetime,
    *,
    year: int | None = None,
    period: Month | None = None,
) -> bytes:
    """The workbook for a year, or for one month; months after now are left out."""
    conn = db.conn
    tz = calendar.tz
    current = Month.of(now.astimezone(tz))
    if period is not None:
        months = [period]
        owning = [p for p in await projects.approved_in_year(conn, period.year)
                  if p.start_month and p.end_month
                  and p.start_month <= str(period) <= p.end_month]  # fmt: skip
    else:
        assert year is not None
        months = [Month(year, m) for m in range(1, 13) if Month(year, m) <= current]
        owning = await projects.approved_in_year(conn, year)
    filed = await reports.latest_versions(conn, [str(m) for m in months])
    org_map = await orgs.by_ids(conn, [p.org_id for p in owning])
    milestones = await projects.milestones_of(conn, [p.id for p in owning])
    wanted_year = year if year is not None else (period.year if period else None)
    all_notices = [n for n in await notices.listing(conn) if n.year == wanted_year]
    # A row counts the notices issued in its own month, so the column adds up.
    notice_count: dict[tuple[int, str], int] = {}
    for n in all_notices:
        if n.issued_at is not None:
            key = (n.project_id, str(Month.of(n.issued_at.astimezone(tz))))
            notice_count[key] = notice_count.get(key, 0) + 1
    exempt = {str(m): await deliveries.exemptions(conn, str(m)) for m in months}

    book = Workbook()
    sheet = book.active
    sheet.title = words.report_sheet
    sheet.append(words.report_columns)
    for p in owning:
        assert p.start_month and p.end_month
        names = {m.id: f"{m.month} {m.content}" for m in milestones[p.id]}
        org = org_map[p.org_id]
        for month in months:
            if not Month.parse(p.start_month) <= month <= Month.parse(p.end_month):
                continue
            found = filed.get((p.id, str(month)))
            if found:
                report, v = found
                state = "on_time" if report.on_time else "late"
            else:
                report, v = None, None
                if p.org_id in exempt[str(month)]:
                    state = "exempt"
                elif now < calendar.window(month).due_end:
                    state = "not_due"
                else:
                    state = "missing"
            sheet.append([
                p.number, p.name, org.code, org.name, str(month), words.states[state],
                _local(report.first_submitted_at, tz) if report else None,
                report.version if report else None,
                v.completion if v else None,
                v.progress if v else None,
                "；".join(names.get(m, "") for m in v.milestones_done) if v else None,
                v.problems if v else None,
                v.plan if v else None,
                len(v.files) if v else None,
                notice_count.get((p.id, str(month)), 0),
            ])  # fmt: skip
    for row in sheet.iter_rows(min_row=2, min_col=7, max_col=7):
        for cell in row:
            cell.number_format = "yyyy-mm-dd hh:mm"
    _finish(sheet, REPORT_WIDTHS)

    second = book.create_sheet(words.notice_sheet)
    second.append(words.notice_columns)
    project_map = {
        p.id: p for p in await projects.search_all_ids(conn, {n.project_id for n in all_notices})
    }
    notice_orgs = await orgs.by_ids(conn, [p.org_id for p in project_map.values()])
    for n in sorted(all_notices, key=lambda n: (n.year or 0, n.seq or 0)):
        p = project_map[n.project_id]
        events = await notices.events(conn, n.id)
        second.append([
            f"{n.year}-{n.seq}", p.number, notice_orgs[p.org_id].name, n.problem, n.requirement,
            date.fromisoformat(n.deadline) if n.deadline else None, words.notice_states[n.status],
            _local(n.issued_at, tz), _local(n.signed_at, tz), _local(n.answered_at, tz),
            _local(n.closed_at, tz), sum(1 for e in events if e.action == "return"),
        ])  # fmt: skip
    for row in second.iter_rows(min_row=2, min_col=6, max_col=6):
        for cell in row:
            cell.number_format = "yyyy-mm-dd"
    for row in second.iter_rows(min_row=2, min_col=8, max_col=11):
        for cell in row:
            cell.number_format = "yyyy-mm-dd hh:mm"
    _finish(second, NOTICE_WIDTHS)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def words_from(texts: Texts) -> LedgerWords:
    """The workbook's words, from templates/ledger/."""
    w = dict(texts.menu("ledger/words.txt"))
    return LedgerWords(
        w["report_sheet"],
        texts.plain("ledger/report_columns.txt").splitlines(),
        w["notice_sheet"],
        texts.plain("ledger/notice_columns.txt").splitlines(),
        {k[6:]: v for k, v in w.items() if k.startswith("state_")},
        {k[7:]: v for k, v in w.items() if k.startswith("notice_")},
    )

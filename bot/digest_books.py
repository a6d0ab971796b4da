"""The workbooks attached to a bulletin and a 双月调度 summary: the full lists behind the
one-screen message (every project, its state, its flag and why), as .xlsx through
bot/spreadsheets.py so that a name or a report's text stays text. Built in the export
process with the bulletin itself (bot/exports.py), as is /voters' list of one project's
ballots."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from zoneinfo import ZoneInfo

from bot import spreadsheets
from bot.services.digest import Bulletin, DispatchSummary, Line
from bot.services.ledger import words_from
from bot.services.public import VoterList
from bot.services.quarterly import Comparison
from bot.texts import Texts

BRANCH_WIDTHS = (28, 8, 8, 8, 8, 8, 10)
LINE_WIDTHS = (24, 24, 12, 28, 10, 10, 10, 8, 50, 40)
NOTICE_WIDTHS = (22, 24, 12, 28, 12)
LATE_WIDTHS = (24, 12, 28, 18)
DISPATCH_WIDTHS = (24, 12, 28, 12, 12, 12, 10, 10, 10, 12, 12, 12, 14, 40, 40)


class _Book:
    """A small in-memory workbook: header frozen and filtered, widths in characters."""

    def __init__(self) -> None:
        self.buffer = io.BytesIO()
        # Each row goes to a temporary file once the next one starts: a province's rows are
        # never all held as cells at once.
        self.book, self.dates = spreadsheets.workbook(self.buffer, constant_memory=True)

    def sheet(self, title: str, header: Sequence[str], widths: Sequence[int],
              rows: Sequence[Sequence[object]]) -> None:  # fmt: skip
        ws = self.book.add_worksheet(title[:31])
        for c, width in enumerate(widths):
            ws.set_column_pixels(c, c, width * spreadsheets.DIGIT_PIXELS)
        for r, row in enumerate([header, *rows]):
            for c, value in enumerate(row):
                spreadsheets.write_cell(ws, r, c, value, self.dates)
        ws.freeze_panes(1, 0)
        ws.autofilter(0, 0, len(rows), len(header) - 1)

    def close(self) -> bytes:
        self.book.close()
        return self.buffer.getvalue()


def _words(texts: Texts) -> dict[str, str]:
    return dict(texts.menu("digest/book.txt"))


def _columns(words: dict[str, str], key: str) -> list[str]:
    return words[key].split(",")


def bulletin_book(texts: Texts, b: Bulletin, tz: ZoneInfo) -> bytes:
    """分组统计 (per sub-organization, with a total), 项目明细 (every project: state,
    completion, pace, flag and reasons, problem), 逾期督办单, 上月补报."""
    words, states = _words(texts), words_from(texts).states
    book = _Book()
    branch_rows: list[list[object]] = [
        [br.org.name, br.expected, br.counts["on_time"], br.counts["late"],
         br.counts["missing"], br.counts["exempt"], br.on_time_rate]
        for br in sorted(b.branches, key=lambda br: br.org.code)
    ]  # fmt: skip
    branch_rows.append([words["total_row"], b.expected, b.count("on_time"), b.count("late"),
                        b.count("missing"), b.count("exempt"), b.on_time_rate])  # fmt: skip
    book.sheet(words["branch_sheet"], _columns(words, "branch_columns"), BRANCH_WIDTHS,
               branch_rows)  # fmt: skip
    red = {ln.project.id for ln in b.red}
    snail = {ln.project.id for ln in b.snail}

    def flag(line: Line) -> str | None:
        if line.project.id in red:
            return words["red"]
        return words["snail"] if line.project.id in snail else None

    def why(line: Line) -> str | None:
        is_red = line.project.id in red
        if not (is_red or line.reasons or line.note):
            return None
        return texts.plain("digest/book_reasons.txt", line=line, red=is_red)

    book.sheet(words["line_sheet"], _columns(words, "line_columns"), LINE_WIDTHS, [
        [(ln.branch or ln.org).name, ln.org.name, ln.project.number, ln.project.name,
         states[ln.state], ln.completion, ln.pace, flag(ln), why(ln), ln.problems]
        for ln in sorted(b.lines, key=lambda ln: ((ln.branch or ln.org).code, ln.org.code))
    ])  # fmt: skip
    book.sheet(words["notice_sheet"], _columns(words, "notice_columns"), NOTICE_WIDTHS, [
        [texts.plain("digest/notice_number.txt", n=n), org.name, project.number, project.name,
         n.deadline]
        for n, project, org in b.notices_overdue
    ])  # fmt: skip
    book.sheet(words["late_sheet"], _columns(words, "late_columns"), LATE_WIDTHS, [
        [org.name, project.number, project.name, _local(filing.first_submitted_at, tz)]
        for project, org, filing in b.late_before
    ])  # fmt: skip
    return book.close()


def dispatch_book(texts: Texts, s: DispatchSummary) -> bytes:
    """双月调度: one row per project over the two months, stalled ones first."""
    words, states = _words(texts), words_from(texts).states
    states = {**states, "not_due": ""}
    warned = {w.line.project.id: w for w in s.warnings}
    book = _Book()
    book.sheet(words["dispatch_sheet"], _columns(words, "dispatch_columns"), DISPATCH_WIDTHS, [
        [ln.org.name, ln.project.number, ln.project.name, ln.completion_before,
         ln.completion_first, ln.completion_second, states[ln.states[0]] or None,
         states[ln.states[1]] or None, ln.milestones_done, ln.open_notices, ln.overdue_notices,
         words["yes"] if ln.stalled else None,
         (w := warned.get(ln.project.id)) and w.reach,
         w and texts.plain("digest/book_warning.txt", w=w),
         "；".join(ln.problems) or None]
        for ln in s.lines
    ])  # fmt: skip
    return book.close()


VOTER_WIDTHS = (6, 16, 16, 14, 16, 16, 10, 16, 16, 8)


def voters_book(texts: Texts, r: VoterList, tz: ZoneInfo) -> bytes:
    """/voters: every ballot of a project's 民主评议 windows, one row each, for audit."""
    words = dict(texts.menu("public/voters_book.txt"))
    labels = texts.labels()
    book = _Book()
    book.sheet(words["sheet"], words["columns"].split(","), VOTER_WIDTHS, [
        [n, _local(vote.opens_at, tz), _local(vote.closes_at, tz), b.user_id, b.full_name,
         b.username, labels[f"vote_{b.choice}"], _local(b.first_at, tz), _local(b.at, tz),
         b.times - 1]
        for n, (vote, ballots) in enumerate(r.windows, 1) for b in ballots
    ])  # fmt: skip
    return book.close()


def _local(moment: datetime, tz: ZoneInfo) -> datetime:
    return moment.astimezone(tz).replace(tzinfo=None)


QUARTER_WIDTHS = (28, 8, 8, 8, 10, 10, 12, 8, 8, 12)


def quarter_book(texts: Texts, c: Comparison) -> bytes:
    """季度互比: a row per sub-organization, then the total."""
    words = _words(texts)
    book = _Book()
    rows: list[list[object]] = []
    for side in [*c.sides, c.total]:
        name = side.org.name if side in c.sides else words["total_row"]
        rows.append([name, side.projects, side.expected, side.filed, side.report_rate,
                     side.on_time_rate, side.versus_pace, side.red, side.snail,
                     side.overdue_notices])  # fmt: skip
    book.sheet(words["quarter_sheet"], _columns(words, "quarter_columns"), QUARTER_WIDTHS, rows)
    return book.close()

"""Import the organization tree (组织) from the admins' CSV or XLSX spreadsheet."""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from bot.services.text import clean_line
from storage import orgs
from storage.db import Database
from storage.rows import ts

COLUMNS = ("编号", "名称", "上级编号", "类型")
MAX_CODE = 32
MAX_NAME = 100
MAX_KIND = 20
MAX_ERRORS_SHOWN = 50


@dataclass(frozen=True, slots=True)
class UnitRow:
    row: int  # as the spreadsheet numbers it (header is row 1)
    code: str
    name: str
    parent: str
    kind: str


@dataclass(frozen=True, slots=True)
class RowProblem:
    """One thing wrong with the file; `kind` picks the sentence in templates/cli/import_failed."""

    row: int
    kind: str  # empty | too_long | duplicate | unknown_parent | self_parent | cycle | bad_code
    column: str = ""
    value: str = ""
    other_row: int = 0
    limit: int = 0


class ImportRejected(Exception):
    """The file was not applied; `problems` says why, row by row (or `file_problem`)."""

    def __init__(self, problems: list[RowProblem], file_problem: str = "", **detail: object):
        super().__init__(file_problem or f"{len(problems)} problems")
        self.problems = problems
        self.file_problem = file_problem  # unreadable | no_header | missing_columns | empty
        self.detail = detail


@dataclass(frozen=True, slots=True)
class ImportResult:
    total: int
    added: int
    updated: int  # already known by 编号: name, type and parent refreshed in place


def _cell(value: object) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # Excel stores 编号 like 101 as 101.0
    # An invisible character would make a name look empty or a code look equal to another.
    return clean_line(str(value))


def _rows_from_table(table: Iterable[Iterable[object]]) -> list[UnitRow]:
    rows = iter(table)
    header: list[str] | None = None
    header_row = 0
    for number, raw in enumerate(rows, start=1):
        cells = [_cell(c).lstrip("\ufeff") for c in raw]
        if any(cells):
            header, header_row = cells, number
            break
    if header is None:
        raise ImportRejected([], "empty")
    missing = [c for c in COLUMNS if c not in header]
    if missing:
        raise ImportRejected([], "missing_columns", missing=missing)
    where = {name: header.index(name) for name in COLUMNS}
    out = []
    for number, raw in enumerate(rows, start=header_row + 1):
        cells = [_cell(c) for c in raw]
        if not any(cells):
            continue
        cells += [""] * (len(header) - len(cells))
        out.append(UnitRow(number, *(cells[where[name]] for name in COLUMNS)))
    if not out:
        raise ImportRejected([], "empty")
    return out


def read_units_file(path: str | Path) -> list[UnitRow]:
    """Read a .csv (UTF-8 or GB18030, as Excel saves it in China) or .xlsx file."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise ImportRejected([], "unreadable", error=exc.strerror or str(exc)) from None
    if path.suffix.lower() in (".xlsx", ".xlsm"):
        from openpyxl import load_workbook

        try:
            book = load_workbook(io.BytesIO(data), read_only=True, data_only=True)
        except Exception as exc:  # openpyxl raises many kinds for a damaged file
            raise ImportRejected([], "unreadable", error=type(exc).__name__) from None
        try:
            return _rows_from_table(book.worksheets[0].iter_rows(values_only=True))
        finally:
            book.close()
    if path.suffix.lower() != ".csv":
        raise ImportRejected([], "unknown_format", suffix=path.suffix or path.name)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            text = data.decode(encoding)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise ImportRejected([], "unreadable", error="encoding")
    return _rows_from_table(csv.reader(io.StringIO(text, newline="")))


def _check_rows(rows: list[UnitRow], known: dict[str, str | None]) -> list[RowProblem]:
    """Return every problem in the file, given the 编号 → 上级编号 already stored."""
    problems: list[RowProblem] = []
    first_row: dict[str, int] = {}
    for r in rows:
        for column, value, limit in (
            ("编号", r.code, MAX_CODE),
            ("名称", r.name, MAX_NAME),
            ("类型", r.kind, MAX_KIND),
        ):
            if not value:
                problems.append(RowProblem(r.row, "empty", column))
            elif len(value) > limit:
                problems.append(RowProblem(r.row, "too_long", column, value[:20], limit=limit))
        if len(r.parent) > MAX_CODE:
            problems.append(
                RowProblem(r.row, "too_long", "上级编号", r.parent[:20], limit=MAX_CODE)
            )
        if r.code and any(ch.isspace() for ch in r.code):
            problems.append(RowProblem(r.row, "bad_code", "编号", r.code))
        if r.code in first_row:
            problems.append(RowProblem(r.row, "duplicate", "编号", r.code, first_row[r.code]))
        elif r.code:
            first_row[r.code] = r.row
    if problems:
        return problems
    parent_of = dict(known)
    parent_of.update({r.code: r.parent or None for r in rows})
    for r in rows:
        if r.parent == r.code:
            problems.append(RowProblem(r.row, "self_parent", "上级编号", r.parent))
        elif r.parent and r.parent not in parent_of:
            problems.append(RowProblem(r.row, "unknown_parent", "上级编号", r.parent))
    if problems:
        return problems
    for r in rows:
        seen = {r.code}
        node = parent_of.get(r.code)
        while node is not None:
            if node in seen:
                problems.append(RowProblem(r.row, "cycle", "上级编号", r.parent))
                break
            seen.add(node)
            node = parent_of.get(node)
    return problems


async def import_units(db: Database, rows: list[UnitRow], now: datetime) -> ImportResult:
    """Apply the whole file in one transaction, or nothing of it if any row is wrong."""
    async with db.transaction() as conn:
        stored = await orgs.all_codes(conn)
        id_to_code = {org_id: code for code, (org_id, _) in stored.items()}
        known = {
            code: (id_to_code.get(parent_id) if parent_id else None)
            for code, (_, parent_id) in stored.items()
        }
        problems = _check_rows(rows, known)
        if problems:
            raise ImportRejected(problems)
        stamp = ts(now)
        added, updated = await orgs.upsert_many(
            conn, [(r.code, r.name, r.kind) for r in rows], stamp
        )
        await orgs.set_parents(conn, [(r.code, r.parent or None) for r in rows], stamp)
    return ImportResult(total=len(rows), added=added, updated=updated)

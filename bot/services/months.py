"""Calendar months as people write them: 2027-03, 2027.3, 2027年3月."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

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


def find_months(text: str) -> list[tuple[Month | None, re.Match[str]]]:
    """Every year-month written in `text`; None where the month number is not 1–12."""
    found = []
    for match in MONTH.finditer(text):
        year, month = int(match.group(1)), int(match.group(2))
        found.append((Month(year, month) if 1 <= month <= 12 else None, match))
    return found

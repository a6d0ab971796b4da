"""import-units stays bounded: loops found in one pass, oversized files refused unread."""

from __future__ import annotations

import csv
import os
import zipfile
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from bot.services.units import (
    MAX_FILE_BYTES,
    MAX_XLSX_EXPANDED_BYTES,
    ImportRejected,
    UnitRow,
    import_units,
    read_units_file,
)
from storage import orgs
from storage.db import Database
from tests.conftest import SAMPLE_UNITS
from tests.test_units_import import cli_env

__all__ = ["cli_env"]  # the fixture, used by name below

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")
HEADER = "编号,名称,上级编号,类型"


def chain(length: int, top_parent: str = "") -> list[UnitRow]:
    """C0 under `top_parent`, C1 under C0, ... a tree `length` levels deep."""
    return [
        UnitRow(i + 2, f"C{i}", f"第{i}级", f"C{i - 1}" if i else top_parent, "党委")
        for i in range(length)
    ]


async def test_a_deep_chain_imports(db: Database) -> None:
    rows = chain(20_000)
    result = await import_units(db, rows, NOW)
    assert result.added == 20_000
    deepest = await orgs.by_code(db, "C19999")
    assert deepest is not None and deepest.parent_id is not None


async def test_a_loop_at_the_bottom_of_a_deep_chain_flags_every_row_above_it(
    db: Database,
) -> None:
    # C0 hangs under the last row: every row is in the loop.
    rows = chain(20_000, top_parent="C19999")
    with pytest.raises(ImportRejected) as err:
        await import_units(db, rows, NOW)
    assert [p.kind for p in err.value.problems] == ["cycle"] * 20_000
    assert await orgs.count(db) == 0


async def test_only_rows_in_or_below_a_loop_are_flagged(db: Database) -> None:
    rows = [
        UnitRow(2, "R", "根", "", "党委"),
        UnitRow(3, "A", "甲", "R", "党委"),
        UnitRow(4, "X", "环一", "Y", "党委"),
        UnitRow(5, "Y", "环二", "X", "党委"),
        UnitRow(6, "Z", "环下", "Y", "党支部"),
        UnitRow(7, "B", "乙", "A", "党支部"),
    ]
    with pytest.raises(ImportRejected) as err:
        await import_units(db, rows, NOW)
    assert [(p.row, p.kind) for p in err.value.problems] == [
        (4, "cycle"),
        (5, "cycle"),
        (6, "cycle"),
    ]


async def test_a_loop_through_stored_organizations_is_found(db: Database) -> None:
    await import_units(db, chain(100), NOW)
    # C0 moves under C99, stored below it: the stored chain leads back to C0.
    rows = [UnitRow(2, "C0", "第0级", "C99", "党委"), UnitRow(3, "N", "新", "", "党委")]
    with pytest.raises(ImportRejected) as err:
        await import_units(db, rows, NOW)
    assert [(p.row, p.kind) for p in err.value.problems] == [(2, "cycle")]


def test_an_oversized_file_is_refused_before_it_is_read(tmp_path: Path) -> None:
    path = tmp_path / "huge.csv"
    with path.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)  # sparse: no disk used
    with pytest.raises(ImportRejected) as err:
        read_units_file(path)
    assert err.value.file_problem == "too_large"


def test_a_device_is_refused_unread(tmp_path: Path) -> None:
    with pytest.raises(ImportRejected) as err:
        read_units_file("/dev/zero")
    assert err.value.file_problem == "unknown_format"
    disguised = tmp_path / "zero.csv"
    os.symlink("/dev/zero", disguised)
    with pytest.raises(ImportRejected) as err:
        read_units_file(disguised)
    assert err.value.file_problem == "unreadable"


def test_a_field_over_the_csv_limit_is_that_rows_error(tmp_path: Path) -> None:
    path = tmp_path / "long.csv"
    path.write_text(
        f"{HEADER}\nA,甲,,党委\nB,{'乙' * (csv.field_size_limit() + 1)},A,党支部\n",
        encoding="utf-8",
    )
    with pytest.raises(ImportRejected) as err:
        read_units_file(path)
    assert [(p.row, p.kind) for p in err.value.problems] == [(3, "field_too_large")]


def test_an_xlsx_that_expands_past_the_cap_is_refused_unparsed(tmp_path: Path) -> None:
    path = tmp_path / "bomb.xlsx"
    book = Workbook()
    book.active.append(HEADER.split(","))
    book.active.append(["A", "甲", None, "党委"])
    book.save(path)
    # Zeros deflate a thousandfold: a small file that declares more than the cap inflated.
    with zipfile.ZipFile(path, "a", compression=zipfile.ZIP_DEFLATED, compresslevel=1) as z:
        with z.open("xl/media/pad.bin", "w", force_zip64=True) as member:
            chunk = bytes(1 << 20)
            for _ in range(MAX_XLSX_EXPANDED_BYTES // len(chunk) + 1):
                member.write(chunk)
    assert path.stat().st_size < MAX_FILE_BYTES
    with pytest.raises(ImportRejected) as err:
        read_units_file(path)
    assert err.value.file_problem == "too_large"


def test_cli_says_what_is_too_large_in_chinese(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    huge = tmp_path / "huge.csv"
    with huge.open("wb") as f:
        f.truncate(MAX_FILE_BYTES + 1)
    assert main(["import-units", str(huge)]) == 1
    err = capsys.readouterr().err
    assert "太大" in err and f"最多 {MAX_FILE_BYTES // 2**20} MB" in err
    long = tmp_path / "long.csv"
    long.write_text(f"{HEADER}\nA,{'甲' * (csv.field_size_limit() + 1)},,党委\n", "utf-8")
    assert main(["import-units", str(long)]) == 1
    err = capsys.readouterr().err
    assert "第 2 行：有一格内容太长" in err and "Traceback" not in err


async def test_the_sample_still_imports(db: Database) -> None:
    result = await import_units(db, read_units_file(SAMPLE_UNITS), NOW)
    assert result.added == 16

"""Importing the organization tree: CSV and XLSX, in place on re-import, all or nothing."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import Workbook

from bot.cli import main
from bot.services.units import ImportRejected, import_units, read_units_file
from storage import orgs
from storage.db import Database
from tests.conftest import SAMPLE_UNITS

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")


def write_csv(path: Path, lines: list[str], encoding: str = "utf-8") -> Path:
    path.write_text("\n".join(lines) + "\n", encoding=encoding)
    return path


async def tree(db: Database) -> dict[str, tuple[str, str | None, str]]:
    rows = await db.fetchall(
        "SELECT o.code, o.name, p.code AS parent, o.kind FROM orgs o "
        "LEFT JOIN orgs p ON p.id = o.parent_id"
    )
    return {r["code"]: (r["name"], r["parent"], r["kind"]) for r in rows}


async def test_sample_file_builds_the_tree(db: Database) -> None:
    result = await import_units(db, read_units_file(SAMPLE_UNITS), NOW)
    assert (result.total, result.added, result.updated) == (16, 16, 0)
    t = await tree(db)
    assert t["WH"] == ("五华区委组织部", None, "组织部")
    assert t["WH01"] == ("护国街道党工委", "WH", "党工委")
    assert t["WH15"] == ("五华区财政局党委", "WH", "党委")


async def test_reimport_updates_in_place_and_never_duplicates(db: Database, tmp_path: Path):
    await import_units(db, read_units_file(SAMPLE_UNITS), NOW)
    before = await orgs.by_code(db, "WH01")
    changed = write_csv(
        tmp_path / "v2.csv",
        [
            "编号,名称,上级编号,类型",
            "WH01,护国街道党工委（新）,WH,党工委",
            "WH0101,某社区党支部,WH01,党支部",
        ],
    )
    result = await import_units(db, read_units_file(changed), NOW)
    assert (result.added, result.updated) == (1, 1)
    after = await orgs.by_code(db, "WH01")
    assert after is not None and before is not None
    assert after.id == before.id and after.name == "护国街道党工委（新）"
    assert await orgs.count(db) == 17
    assert (await tree(db))["WH0101"] == ("某社区党支部", "WH01", "党支部")


async def test_child_may_come_before_its_parent(db: Database, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "o.csv", ["编号,名称,上级编号,类型", "B,支部,A,党支部", "A,党委,,党委"]
    )
    await import_units(db, read_units_file(f), NOW)
    assert (await tree(db))["B"][1] == "A"


async def test_xlsx_with_numeric_codes_and_extra_columns(db: Database, tmp_path: Path) -> None:
    book = Workbook()
    sheet = book.active
    sheet.append(["备注", "编号", "名称", "上级编号", "类型"])
    sheet.append(["", 100, "某县委组织部", None, "组织部"])
    sheet.append(["x", 101.0, "城关镇党委", 100, "党委"])
    sheet.append([None, None, None, None, None])  # blank rows are skipped
    sheet.append(["", "10101", "城关社区党支部", "101", "党支部"])
    path = tmp_path / "units.xlsx"
    book.save(path)
    await import_units(db, read_units_file(path), NOW)
    t = await tree(db)
    assert t["101"] == ("城关镇党委", "100", "党委")
    assert t["10101"][1] == "101"


async def test_gbk_csv_as_excel_saves_it_in_china(db: Database, tmp_path: Path) -> None:
    f = write_csv(
        tmp_path / "gbk.csv", ["编号,名称,上级编号,类型", "A,华山街道党工委,,党工委"], "gbk"
    )
    await import_units(db, read_units_file(f), NOW)
    assert (await tree(db))["A"][0] == "华山街道党工委"


async def test_bad_rows_are_reported_by_row_number_and_nothing_is_applied(
    db: Database, tmp_path: Path
) -> None:
    await import_units(db, read_units_file(SAMPLE_UNITS), NOW)
    f = write_csv(
        tmp_path / "bad.csv",
        [
            "编号,名称,上级编号,类型",
            "WH01,护国街道党工委（改名）,WH,党工委",  # row 2: fine, must not be applied
            "N1,,WH,党支部",  # row 3: empty name
            "N2,支部二,WH,党支部",
            "N2,支部二again,WH,党支部",  # row 5: duplicate of row 4
            "N3,支部三,WH," + "党" * 21,  # row 6: kind too long
        ],
    )
    with pytest.raises(ImportRejected) as err:
        await import_units(db, read_units_file(f), NOW)
    found = {(p.row, p.kind) for p in err.value.problems}
    assert found == {(3, "empty"), (5, "duplicate"), (6, "too_long")}
    dup = next(p for p in err.value.problems if p.kind == "duplicate")
    assert dup.other_row == 4
    assert (await tree(db))["WH01"][0] == "护国街道党工委"
    assert await orgs.count(db) == 16


@pytest.mark.parametrize(
    ("lines", "kind", "row"),
    [
        (["编号,名称,上级编号,类型", "A,甲,ZZ,党支部"], "unknown_parent", 2),
        (["编号,名称,上级编号,类型", "A,甲,A,党支部"], "self_parent", 2),
        (["编号,名称,上级编号,类型", "A,甲,B,党支部", "B,乙,A,党支部"], "cycle", 2),
        (["编号,名称,上级编号,类型", "A B,甲,,党支部"], "bad_code", 2),
    ],
)
async def test_tree_problems(db: Database, tmp_path: Path, lines, kind, row) -> None:
    with pytest.raises(ImportRejected) as err:
        await import_units(db, read_units_file(write_csv(tmp_path / "t.csv", lines)), NOW)
    assert (err.value.problems[0].row, err.value.problems[0].kind) == (row, kind)
    assert await orgs.count(db) == 0


async def test_cycle_through_existing_rows_is_refused(db: Database, tmp_path: Path) -> None:
    await import_units(db, read_units_file(SAMPLE_UNITS), NOW)
    # WH becomes a child of WH01, whose parent is WH: a loop through stored data.
    f = write_csv(
        tmp_path / "loop.csv", ["编号,名称,上级编号,类型", "WH,五华区委组织部,WH01,组织部"]
    )
    with pytest.raises(ImportRejected) as err:
        await import_units(db, read_units_file(f), NOW)
    assert err.value.problems[0].kind == "cycle"
    assert (await tree(db))["WH"][1] is None


@pytest.mark.parametrize(
    ("name", "content", "problem"),
    [
        ("h.csv", "代码,名称\nA,甲\n", "missing_columns"),
        ("e.csv", "\n\n", "empty"),
        ("only_header.csv", "编号,名称,上级编号,类型\n", "empty"),
        ("x.txt", "编号,名称,上级编号,类型\n", "unknown_format"),
        ("broken.xlsx", "not a zip", "unreadable"),
    ],
)
def test_file_level_problems(tmp_path: Path, name: str, content: str, problem: str) -> None:
    path = tmp_path / name
    path.write_text(content, encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        read_units_file(path)
    assert err.value.file_problem == problem


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ImportRejected) as err:
        read_units_file(tmp_path / "nope.csv")
    assert err.value.file_problem == "unreadable"


# -- the command line ---------------------------------------------------------------------------


@pytest.fixture
def cli_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db_path = tmp_path / "cli.sqlite3"
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG", "BOT_API_BASE_URL", "BOT_USERNAME"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(db_path))
    return db_path


def test_cli_import_reports_counts(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["import-units", str(SAMPLE_UNITS)]) == 0
    assert "共 16 个组织，新增 16 个" in capsys.readouterr().out
    assert main(["import-units", str(SAMPLE_UNITS)]) == 0
    assert "新增 0 个，更新 16 个" in capsys.readouterr().out


def test_cli_import_lists_bad_rows_in_chinese(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_csv(tmp_path / "bad.csv", ["编号,名称,上级编号,类型", "A,,,党委", "B,乙,Q,党支部"])
    assert main(["import-units", str(f)]) == 1
    err = capsys.readouterr().err
    assert "第 2 行：“名称”为空" in err
    assert "本次未导入任何数据" in err
    assert "Traceback" not in err


def test_cli_import_names_missing_columns(
    cli_env: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    f = write_csv(tmp_path / "h.csv", ["编号,名字", "A,甲"])
    assert main(["import-units", str(f)]) == 1
    assert "缺少列：名称、上级编号、类型" in capsys.readouterr().err


def test_cli_migrate_twice(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["migrate"]) == 0
    assert "0001_foundation.sql" in capsys.readouterr().out
    assert main(["migrate"]) == 0
    assert "无需迁移" in capsys.readouterr().out


def test_cli_refuses_newer_database(cli_env: Path, capsys: pytest.CaptureFixture[str]) -> None:
    import sqlite3

    assert main(["migrate"]) == 0
    with sqlite3.connect(cli_env) as raw:
        raw.execute("PRAGMA user_version = 999")
    assert main(["import-units", str(SAMPLE_UNITS)]) == 2
    err = capsys.readouterr().err
    assert "999" in err and "更新版本" in err

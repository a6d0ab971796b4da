"""`python -m bot invites`: one deep link per organization without a secretary."""

from __future__ import annotations

import asyncio
import csv
import re
from datetime import datetime
from pathlib import Path

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.services import invites
from storage import orgs
from storage.db import Database
from tests.conftest import SAMPLE_UNITS, SHANGHAI

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)


def clock() -> datetime:
    return NOW


@pytest.fixture
def cli_db(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> Path:
    db_path = tmp_path / "cli.sqlite3"
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG", "BOT_API_BASE_URL"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(db_path))
    monkeypatch.setenv("BOT_USERNAME", "wuhua_shuji_bot")
    assert main(["import-units", str(SAMPLE_UNITS)]) == 0
    return db_path


def read_xlsx(path: Path) -> list[list[object]]:
    book = load_workbook(path)
    sheet = book.active
    assert sheet.freeze_panes == "A2"
    rows = [list(r) for r in sheet.iter_rows(values_only=True)]
    book.close()
    return rows


def test_xlsx_has_one_link_per_unbound_organization(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "邀请.xlsx"
    assert main(["invites", "--out", str(out)], clock=clock) == 0
    assert "15 个尚未绑定书记的组织" in capsys.readouterr().out
    rows = read_xlsx(out)
    assert rows[0] == ["组织编号", "组织名称", "邀请链接", "邀请码", "有效期至"]
    body = rows[1:]
    assert [r[0] for r in body] == [f"WH{i:02d}" for i in range(1, 16)]  # not WH, the 组织部
    assert body[0][1] == "护国街道党工委"
    for _code_cell, _name, link, code, expires in body:
        assert link == f"https://t.me/wuhua_shuji_bot?start={code}"
        assert re.fullmatch(r"[A-Za-z0-9_-]{16}", str(code))
        assert expires == datetime(2026, 12, 21, 10, 0)  # local time, as a real date cell
    assert len({r[3] for r in body}) == 15
    # a second export gives the same, still valid, links
    out2 = tmp_path / "again.xlsx"
    assert main(["invites", "--out", str(out2)], clock=clock) == 0
    assert read_xlsx(out2) == rows


def test_bound_organizations_are_left_out(cli_db: Path, tmp_path: Path) -> None:
    async def bind_wh01() -> None:
        db = await Database.open(cli_db)
        try:
            [first] = [
                i for i in await invites.invites_for_unbound(db, NOW, 30) if i.org.code == "WH01"
            ]
            result = await invites.redeem(
                db, first.invite.code, 42, "李娜", None, NOW, max_failures=5, window_minutes=15
            )
            assert result.outcome == "bound"
            assert (await orgs.by_code(db, "WH01")) is not None
        finally:
            await db.close()

    asyncio.run(bind_wh01())
    out = tmp_path / "inv.csv"
    assert main(["invites", "--out", str(out)], clock=clock) == 0
    with out.open(encoding="utf-8-sig", newline="") as fh:
        rows = list(csv.reader(fh))
    assert [r[0] for r in rows[1:]] == [f"WH{i:02d}" for i in range(2, 16)]


def test_printed_without_out(cli_db: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invites"], clock=clock) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    assert lines[0].split("\t")[0] == "组织编号"
    assert len(lines) == 16 and "https://t.me/wuhua_shuji_bot?start=" in lines[1]


def test_without_username_or_reachable_api_it_says_what_to_set(
    cli_db: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_USERNAME")
    assert main(["invites"], clock=clock) == 2
    err = capsys.readouterr().err
    assert "BOT_USERNAME" in err and "Traceback" not in err


def test_unknown_output_type_is_refused(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["invites", "--out", str(tmp_path / "inv.txt")], clock=clock) == 2
    assert ".xlsx 或 .csv" in capsys.readouterr().err
    assert not (tmp_path / "inv.txt").exists()


def test_locked_database_is_a_clear_message(
    cli_db: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch
) -> None:
    import sqlite3

    import storage.db

    monkeypatch.setattr(storage.db, "BUSY_TIMEOUT_MS", 100)
    holder = sqlite3.connect(cli_db, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        assert main(["invites", "--out", str(tmp_path / "x.xlsx")], clock=clock) == 2
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    err = capsys.readouterr().err
    assert "无法打开数据库" in err and "locked" in err and "Traceback" not in err

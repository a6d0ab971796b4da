"""Periods and years out of range (0001-01, 9999-12, -5): the command's own usage reply, never
the generic apology or a traceback."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.services.digest import parse_year
from bot.services.months import FIRST_YEAR, LAST_YEAR, Month
from bot.services.reporting import parse_period
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench

NOW = datetime(2026, 11, 28, 9, 0, tzinfo=SHANGHAI)
OUT_OF_RANGE = ["0001-01", "0000-01", "1999-12", "2101-01", "9999-12"]


@pytest.mark.parametrize("text", OUT_OF_RANGE)
def test_periods_out_of_range_are_not_understood(text: str) -> None:
    assert parse_period(text) is None


def test_the_range_ends_are_accepted() -> None:
    assert parse_period(f"{FIRST_YEAR}-01") == Month(FIRST_YEAR, 1)
    assert parse_period(f"{LAST_YEAR}年12月") == Month(LAST_YEAR, 12)
    assert parse_year(str(FIRST_YEAR)) == FIRST_YEAR and parse_year(f"{LAST_YEAR}年") == LAST_YEAR
    assert [parse_year(y) for y in ("0000", "1999", "2101", "9999")] == [None] * 4
    assert Month.checked(LAST_YEAR + 1, 1) is None and Month.checked(FIRST_YEAR, 13) is None


async def test_chat_commands_answer_out_of_range_with_their_usage(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", 1001, clock())
    clock.now = NOW
    admin = bench.user(ADMIN_ID)

    async def say(text: str) -> str:
        clock.now += timedelta(seconds=5)  # one person typing, not a flood
        return (await admin.send(text)).text

    for text in OUT_OF_RANGE:
        assert f"没有看懂“{text}”" in await say(f"/digest {text}")
        assert f"没有看懂“{text}”" in await say(f"/reports {text}")
        assert f"没有看懂“{text}”" in await say(f"/ledger {text}")
        assert "没有看懂期间" in await say(f"/reopen 2026-001 {text}")
    for year in ("0000", "1999", "2101", "9999"):
        assert f"没有看懂“{year}”" in await say(f"/ledger {year}")
    # the ends of the range are answered as any other month
    assert "2100 年 12 月" in await say("/digest 2100-12")
    assert "没有看懂" not in await say("/reports 2000-01")
    # full-width, as a Chinese keyboard types it: the same month
    assert await say("/reports ２０２６－１１") == await say("/reports 2026-11")
    assert "没有看懂" not in await say("/reports ２０２６－１１")
    # no ledger went out: the one document is the 2100-12 bulletin's workbook
    assert [c.upload[0] for c in bench.api.methods("sendDocument") if c.upload] == [
        "2100-12 月通报明细.xlsx"
    ]


@pytest.mark.parametrize(
    "command",
    [["digest", "--period", "0000-01"], ["ledger", "--period", "9999-12", "--out", "l.xlsx"]],
)
def test_cli_refuses_a_period_out_of_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    command: list[str],
) -> None:  # fmt: skip
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "d.sqlite3"))
    monkeypatch.chdir(tmp_path)
    assert main(command, clock=lambda: NOW) == 2
    err = capsys.readouterr().err
    assert f"没有看懂期间“{command[2]}”" in err and "Traceback" not in err
    assert not (tmp_path / "l.xlsx").exists()


@pytest.mark.parametrize("year", ["-5", "0", "1999", "2101", "9999"])
def test_cli_refuses_a_year_out_of_range(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
    year: str,
) -> None:  # fmt: skip
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "d.sqlite3"))
    monkeypatch.chdir(tmp_path)
    assert main(["ledger", "--year", year, "--out", "l.xlsx"], clock=lambda: NOW) == 2
    err = capsys.readouterr().err
    assert f"没有看懂年份“{year}”" in err and "Traceback" not in err
    assert not (tmp_path / "l.xlsx").exists()

"""No secret in the logs at any level: with logging at DEBUG, neither the bot token nor an
invite code appears in any record (aiosqlite logs SQL parameters and PTB request
parameters at DEBUG; bot/logs.py keeps them out)."""

from __future__ import annotations

import logging
from collections.abc import Iterator
from pathlib import Path

import pytest

from bot.cli import main
from bot.logs import LIBRARY_FLOORS, secrets_of, setup_logging
from storage.db import Database
from tests.conftest import SAMPLE_UNITS
from tests.standin.core import TOKEN
from tests.standin.dialogue import Bench
from tests.test_invites_and_start import invite_code


@pytest.fixture(autouse=True)
def keep_library_levels() -> Iterator[None]:
    """setup_logging sets the root's and the libraries' levels and the root's handlers; put
    them back for the other tests."""
    root = logging.getLogger()
    levels = {name: logging.getLogger(name).level for name in LIBRARY_FLOORS}
    root_level, root_handlers, root_filters = root.level, root.handlers[:], root.filters[:]
    yield
    for name, level in levels.items():
        logging.getLogger(name).setLevel(level)
    root.setLevel(root_level)
    root.handlers[:] = root_handlers
    root.filters[:] = root_filters


async def all_invite_codes(db: Database) -> list[str]:
    rows = await db.execute_fetchall("SELECT code FROM invites")
    codes = [str(row[0]) for row in rows]
    assert codes, "the flow made no invite"
    return codes


def leaks(texts: list[str], secrets: list[str]) -> list[str]:
    return [text[:200] for text in texts if any(secret in text for secret in secrets)]


async def test_bot_flows_at_debug_log_no_token_and_no_invite_code(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    setup_logging("DEBUG", TOKEN)  # as `python -m bot run` with BOT_LOG_LEVEL=DEBUG
    # setup_logging replaced the root's handlers: catch every record again, unfiltered.
    logging.getLogger().addHandler(caplog.handler)
    caplog.handler.setLevel(logging.DEBUG)
    assert logging.getLogger().getEffectiveLevel() == logging.DEBUG

    code = await invite_code(bench, "WH01")  # /invite: a deep link in the reply
    await invite_code(bench, "WH02")
    wrong = await bench.user(1002, "王五").send(f"/start {code[::-1]}")  # a mistyped code
    assert "绑定成功" not in wrong.text
    assert "绑定成功" in (await bench.user(1001, "李娜").send(f"/start {code}")).text
    assert "绑定成功" not in (await bench.user(1003).send(f"/start {code}")).text  # used

    secrets = [*secrets_of(TOKEN), *await all_invite_codes(bench.app.bot_data.db), code[::-1]]
    texts = [record.getMessage() for record in caplog.records]
    texts += [caplog.handler.format(r) for r in caplog.records if r.exc_info]
    assert any("invite redemption" in text for text in texts), "nothing was logged at all"
    assert leaks(texts, secrets) == []


def test_cli_invites_at_debug_log_no_token_and_no_invite_code(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "cli.sqlite3"))
    monkeypatch.setenv("BOT_LOG_LEVEL", "DEBUG")
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", TOKEN)
    # The discard port: getMe is refused at once and BOT_USERNAME is used instead.
    monkeypatch.setenv("BOT_API_BASE_URL", "http://127.0.0.1:9/bot")
    monkeypatch.setenv("BOT_USERNAME", "wuhua_shuji_bot")
    assert main(["import-units", str(SAMPLE_UNITS)]) == 0
    assert main(["invites", "--out", str(tmp_path / "inv.csv")]) == 0
    assert main(["invites"]) == 0  # the codes go to stdout, on purpose
    captured = capsys.readouterr()
    codes = [line.split("\t")[3] for line in captured.out.splitlines()[-15:]]
    assert len(codes) == 15 and all(codes)
    assert "DEBUG" in captured.err, "the commands did not log at DEBUG"
    assert leaks(captured.err.splitlines(), [*secrets_of(TOKEN), *codes]) == []


def test_a_quieter_level_is_never_made_louder_for_a_library() -> None:
    setup_logging("WARNING", TOKEN)
    assert all(logging.getLogger(name).level == logging.WARNING for name in LIBRARY_FLOORS)
    assert not logging.getLogger("telegram.ext.ExtBot").isEnabledFor(logging.INFO)

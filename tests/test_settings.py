"""Settings from the environment and an optional TOML file."""

from __future__ import annotations

import ast
from datetime import date, time
from pathlib import Path

import pytest

from bot.app import build_application
from bot.cli import main
from bot.schedule import schedule_from
from bot.services.planner import ClockConfig
from bot.settings import TELEGRAM_API, SettingsError, load_settings
from bot.texts import Texts

ROOT = Path(__file__).resolve().parents[1]


def test_defaults_without_anything() -> None:
    s = load_settings(env={})
    assert s.token is None
    assert s.db_path == Path("data/bot.sqlite3")
    assert str(s.timezone) == "Asia/Shanghai"
    assert s.api_base_url == TELEGRAM_API
    assert s.admin_ids == frozenset()


def test_environment_variables() -> None:
    s = load_settings(
        env={
            "TELEGRAM_BOT_TOKEN": "1:abc",
            "BOT_DB_PATH": "/tmp/x.sqlite3",
            "BOT_ADMIN_IDS": "11, 22,33",
            "BOT_TIMEZONE": "Asia/Urumqi",
            "BOT_API_BASE_URL": "http://127.0.0.1:8081/bot",
            "BOT_USERNAME": "@my_bot",
        }
    )
    assert s.token == "1:abc"
    assert s.db_path == Path("/tmp/x.sqlite3")
    assert s.admin_ids == frozenset({11, 22, 33})
    assert str(s.timezone) == "Asia/Urumqi"
    assert s.api_base_url == "http://127.0.0.1:8081/bot"
    # a self-hosted server serves files beside the API
    assert s.api_base_file_url == "http://127.0.0.1:8081/file/bot"
    assert s.bot_username == "my_bot"


def test_toml_file_under_environment(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text(
        '[bot]\ndb_path = "from-file.sqlite3"\nadmin_ids = [5, 6]\ninvite_ttl_days = 7\n',
        encoding="utf-8",
    )
    s = load_settings(env={"BOT_ADMIN_IDS": "9"}, config_file=config)
    assert s.db_path == Path("from-file.sqlite3")
    assert s.admin_ids == frozenset({9})
    assert s.invite_ttl_days == 7


@pytest.mark.parametrize(
    ("env", "key"),
    [
        ({"BOT_ADMIN_IDS": "12,abc"}, "BOT_ADMIN_IDS"),
        ({"BOT_TIMEZONE": "Mars/Olympus"}, "BOT_TIMEZONE"),
        ({"BOT_API_BASE_URL": "127.0.0.1:8081"}, "BOT_API_BASE_URL"),
        ({"BOT_API_BASE_URL": "http://127.0.0.1:8081"}, "BOT_API_BASE_URL"),
        ({"BOT_INVITE_TTL_DAYS": "3000000"}, "BOT_INVITE_TTL_DAYS"),
        ({"BOT_INVITE_TTL_DAYS": "0"}, "BOT_INVITE_TTL_DAYS"),
        ({"BOT_RATE_LIMIT": "maybe"}, "BOT_RATE_LIMIT"),
        ({"BOT_REMIND_AT": "9:60"}, "BOT_REMIND_AT"),
        ({"BOT_QUIET_END": "24:00"}, "BOT_QUIET_END"),
        ({"BOT_QUIET_START": "9"}, "BOT_QUIET_START"),
        ({"BOT_AFTERNOON_AT": "15:00:00"}, "BOT_AFTERNOON_AT"),
        ({"BOT_REMIND_AT": "nine"}, "BOT_REMIND_AT"),
        ({"BOT_DISPATCH_MONTHS": "0,6"}, "BOT_DISPATCH_MONTHS"),
        ({"BOT_DISPATCH_MONTHS": "2,feb"}, "BOT_DISPATCH_MONTHS"),
    ],
)
def test_bad_values_are_named_in_chinese(env: dict[str, str], key: str) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env=env)
    text = Texts().plain(err.value.template, **err.value.params)
    assert key in text and "无效" in text


def test_unknown_key_and_missing_file(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[bot]\ntokn = "x"\n', encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(env={}, config_file=config)
    assert "tokn" in Texts().plain(err.value.template, **err.value.params)
    with pytest.raises(SettingsError) as err:
        load_settings(env={}, config_file=tmp_path / "nope.toml")
    assert "找不到" in Texts().plain(err.value.template, **err.value.params)


def test_missing_token_explains_botfather() -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env={}).require_token()
    text = Texts().plain(err.value.template, **err.value.params)
    assert "TELEGRAM_BOT_TOKEN" in text and "@BotFather" in text
    assert len(text.splitlines()) == 1


def test_token_and_its_secret_half_are_redacted() -> None:
    import logging

    from bot.logs import RedactToken, redact

    token = "123456:SECRETSECRETSECRET"
    assert redact(f"url https://x/bot{token}/getMe", token) == "url https://x/bot<TOKEN>/getMe"
    assert "SECRETSECRET" not in redact("Invalid port: 'SECRETSECRETSECRET'", token)
    record = logging.LogRecord("x", logging.ERROR, __file__, 1, "port %s", ("SECRETSECRETSECRET",),
                               None)  # fmt: skip
    RedactToken(token).filter(record)
    assert "SECRET" not in record.getMessage()


def test_times_and_months_are_parsed_once_into_values() -> None:
    s = load_settings(env={"BOT_REMIND_AT": "9:5", "BOT_AFTERNOON_AT": " 16:30 ",
                           "BOT_QUIET_START": "21:00", "BOT_QUIET_END": "7:00",
                           "BOT_DISPATCH_MONTHS": "12, 3,6,9,3"})  # fmt: skip
    assert (s.remind_at, s.afternoon_at) == (time(9, 5), time(16, 30))
    assert (s.quiet_start, s.quiet_end) == (time(21, 0), time(7, 0))
    assert s.dispatch_months == frozenset({3, 6, 9, 12})
    defaults = load_settings(env={})
    assert (defaults.remind_at, defaults.afternoon_at) == (time(9, 0), time(15, 0))
    assert (defaults.quiet_start, defaults.quiet_end) == (time(22, 0), time(8, 0))
    assert defaults.dispatch_months == frozenset({2, 4, 6, 8, 10, 12})


def test_toml_times_and_month_lists(tmp_path: Path) -> None:
    config = tmp_path / "bot.toml"
    config.write_text('[bot]\nremind_at = 08:30:00\nafternoon_at = "14:00"\n'
                      "dispatch_months = [3, 9]\n", encoding="utf-8")  # fmt: skip
    s = load_settings(env={}, config_file=config)
    assert (s.remind_at, s.afternoon_at, s.dispatch_months) == (
        time(8, 30), time(14, 0), frozenset({3, 9}))  # fmt: skip
    config.write_text("[bot]\nremind_at = 08:30:15\n", encoding="utf-8")
    with pytest.raises(SettingsError) as err:
        load_settings(env={}, config_file=config)
    assert err.value.params["key"].endswith("remind_at")


@pytest.mark.parametrize(
    ("env", "key", "shown"),
    [
        ({"BOT_REMIND_AT": "7:00"}, "BOT_REMIND_AT", "07:00"),  # inside 22:00-08:00
        ({"BOT_QUIET_START": "14:00", "BOT_QUIET_END": "16:00"}, "BOT_AFTERNOON_AT", "15:00"),
        ({"BOT_REMIND_AT": "15:00", "BOT_AFTERNOON_AT": "9:00"}, "BOT_AFTERNOON_AT", "09:00"),
    ],
)
def test_times_that_contradict_each_other_are_refused_as_written(
    env: dict[str, str], key: str, shown: str
) -> None:
    with pytest.raises(SettingsError) as err:
        load_settings(env=env)
    assert err.value.template == "cli/bad_setting.txt"
    assert err.value.params == {"key": key, "value": shown}


def test_schedule_follows_the_settings(tmp_path: Path) -> None:
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('holidays = ["2031-01-01"]\n', encoding="utf-8")
    s = load_settings(env={"BOT_REPORT_OPEN_DAY": "18", "BOT_REPORT_DUE_DAY": "23",
                           "BOT_TIMEZONE": "Asia/Urumqi", "BOT_HOLIDAYS_FILE": str(holidays),
                           "BOT_REMIND_AT": "9:5", "BOT_DISPATCH_MONTHS": "3,9",
                           "BOT_DISPATCH_AUTO_SEND": "yes"})  # fmt: skip
    calendar, clock_config = schedule_from(s)
    assert (calendar.tz, calendar.open_day, calendar.due_day) == (s.timezone, 18, 23)
    assert not calendar.work.is_workday(date(2031, 1, 1))
    assert clock_config == ClockConfig(remind_at=time(9, 5), dispatch_months=frozenset({3, 9}),
                                       dispatch_auto_send=True)  # fmt: skip


def test_the_bot_uses_the_one_schedule(tmp_path: Path) -> None:
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('holidays = ["2031-01-01"]\n', encoding="utf-8")
    s = load_settings(env={"TELEGRAM_BOT_TOKEN": "1:abc", "BOT_REPORT_DUE_DAY": "27",
                           "BOT_HOLIDAYS_FILE": str(holidays), "BOT_QUIET_END": "7:30",
                           "BOT_DISPATCH_MONTHS": "1"})  # fmt: skip
    state = build_application(s).bot_data
    assert (state.calendar, state.clock_config) == tuple(schedule_from(s))


def calls_in(path: Path) -> set[str]:
    """Names of the functions and classes a module calls."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    return {
        node.func.id if isinstance(node.func, ast.Name) else node.func.attr
        for node in ast.walk(tree)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name | ast.Attribute)
    }


def test_only_bot_schedule_builds_the_calendar_and_clock_from_settings() -> None:
    builders = {"ReportCalendar", "ClockConfig", "WorkCalendar", "load_work_calendar"}
    for name in ("bot/app.py", "bot/cli.py"):
        called = calls_in(ROOT / name)
        assert "schedule_from" in called, name
        assert called & builders == set(), name
    offenders = [
        str(path.relative_to(ROOT))
        for folder in ("bot", "handlers", "scheduler")
        for path in sorted((ROOT / folder).rglob("*.py"))
        # context.py: AppState's defaults before build_application sets the real ones.
        if path.relative_to(ROOT).as_posix() not in ("bot/schedule.py", "bot/context.py")
        and calls_in(path) & builders
    ]
    assert offenders == []


@pytest.mark.parametrize(
    "command", [["digest", "--period", "2026-10"], ["ledger", "--year", "2026", "--out", "l.xlsx"]]
)
def test_cli_reads_the_holidays_file_of_the_settings(
    command: list[str], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    holidays = tmp_path / "holidays.toml"
    holidays.write_text('holidays = ["next friday"]\n', encoding="utf-8")
    config = tmp_path / "bot.toml"
    config.write_text(f'[bot]\ndb_path = "{tmp_path / "cli.sqlite3"}"\n'
                      f'holidays_file = "{holidays}"\n', encoding="utf-8")  # fmt: skip
    out = [str(tmp_path / part) if part.endswith(".xlsx") else part for part in command]
    assert main(["--config", str(config), *out]) == 2
    assert str(holidays) in capsys.readouterr().err
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bot.toml", "holidays.toml"]

"""Settings from the environment and an optional TOML file."""

from __future__ import annotations

from pathlib import Path

import pytest

from bot.settings import TELEGRAM_API, SettingsError, load_settings
from bot.texts import Texts


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

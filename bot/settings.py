"""Settings: environment variables, optionally over a TOML file."""

from __future__ import annotations

import os
import re
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import time
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

TELEGRAM_API = "https://api.telegram.org/bot"
TELEGRAM_FILE_API = "https://api.telegram.org/file/bot"
# setWebhook's secret_token: 1-256 characters, A-Z, a-z, 0-9, _ and - (Bot API).
_WEBHOOK_SECRET = re.compile(r"[A-Za-z0-9_-]{1,256}")


class SettingsError(Exception):
    """A setting is missing or malformed; `key` names it, `template` says how to explain it."""

    def __init__(self, template: str, **params: Any) -> None:
        super().__init__(template, params)
        self.template = template
        self.params = params


@dataclass(frozen=True)
class Settings:
    token: str | None = None
    db_path: Path = Path("data/bot.sqlite3")
    admin_ids: frozenset[int] = frozenset()
    timezone: ZoneInfo = field(default_factory=lambda: ZoneInfo("Asia/Shanghai"))
    api_base_url: str = TELEGRAM_API
    api_base_file_url: str = TELEGRAM_FILE_API
    bot_username: str | None = None
    invite_ttl_days: int = 30
    invite_max_failures: int = 5
    invite_failure_window_minutes: int = 15
    max_projects_per_year: int = 2
    review_stages: int = 1  # 2: 预审 by the nearest level above with admins, then 审定 at the top
    report_open_day: int = 20  # the monthly report window opens on this day
    report_due_day: int = 25  # and is due on this day (moved to the next working day)
    rate_limit: bool = True
    # The clock (issue: reminders). Times are local, in `timezone`; written HH:MM.
    tick_seconds: int = 60  # how often the planner runs; 0 turns the job off (cron + `tick`)
    remind_at: time = time(9, 0)
    afternoon_at: time = time(15, 0)
    quiet_start: time = time(22, 0)
    quiet_end: time = time(8, 0)
    due_soon_days: int = 2
    overdue_days: int = 3
    dispatch_months: frozenset[int] = frozenset({2, 4, 6, 8, 10, 12})
    dispatch_day: int = 28
    dispatch_notice_days: int = 3
    holidays_file: Path | None = None  # extra holidays/working days for uncovered years
    # 双月调度 summary: false, a draft to the top admins at remind_at, to the groups at
    # dispatch_publish_at unless 发布 before; true, no draft, to the groups at that time.
    dispatch_auto_send: bool = False
    flags_max: int = 5  # at most this many 红旗 and 蜗牛 projects in a bulletin
    # The 月通报 goes to admins as a draft at remind_at; to the groups at this time that day
    # unless an admin presses 发布 before (at remind_at or earlier: no time to review).
    publish_at: time = time(11, 0)
    # When the 双月调度 summary goes to the groups on the dispatch day (see dispatch_auto_send;
    # reviewed, it must be later than remind_at).
    dispatch_publish_at: time = time(11, 0)
    # 验收: weights of 目标实现率、群众满意率、综合效益、经验可推广性; lowest 优秀/良好/合格.
    acceptance_weights: tuple[int, int, int, int] = (30, 30, 20, 20)
    acceptance_grades: tuple[int, int, int] = (90, 80, 60)
    model_projects_max: int = 5  # 示范项目 a year
    # A 民主评议 post's live tally is edited at most this often; 0: only at the clock's ticks.
    tally_seconds: int = 5
    log_level: str = "INFO"
    # Daily backups (bot/services/backups.py): off unless a folder is given.
    backup_dir: Path | None = None
    backup_keep: int = 7  # the newest this many daily backups are kept
    backup_at: time = time(3, 0)
    # Webhook mode (`run`): Telegram posts updates to webhook_url, which reaches PTB's server
    # on webhook_listen:webhook_port at webhook_path. Unset: long polling.
    webhook_url: str | None = None
    webhook_listen: str = "127.0.0.1"  # behind a reverse proxy that terminates TLS
    webhook_port: int = 8443
    webhook_path: str | None = None  # default: the path of webhook_url
    webhook_secret: str | None = None  # default: a new random one at every start

    def webhook_route(self) -> str:
        """The path PTB's webhook server answers on: BOT_WEBHOOK_PATH, else the URL's."""
        if self.webhook_path is not None:
            return self.webhook_path
        return urlsplit(self.webhook_url or "").path or "/"

    def require_token(self) -> str:
        """Return the bot token, or explain how to get one."""
        if not self.token:
            raise SettingsError("cli/no_token.txt")
        return self.token


# environment variable -> (settings field, parser)
_ENV = {
    "TELEGRAM_BOT_TOKEN": "token",
    "BOT_DB_PATH": "db_path",
    "BOT_ADMIN_IDS": "admin_ids",
    "BOT_TIMEZONE": "timezone",
    "BOT_API_BASE_URL": "api_base_url",
    "BOT_API_BASE_FILE_URL": "api_base_file_url",
    "BOT_USERNAME": "bot_username",
    "BOT_INVITE_TTL_DAYS": "invite_ttl_days",
    "BOT_MAX_PROJECTS_PER_YEAR": "max_projects_per_year",
    "BOT_REVIEW_STAGES": "review_stages",
    "BOT_REPORT_OPEN_DAY": "report_open_day",
    "BOT_REPORT_DUE_DAY": "report_due_day",
    "BOT_RATE_LIMIT": "rate_limit",
    "BOT_TICK_SECONDS": "tick_seconds",
    "BOT_REMIND_AT": "remind_at",
    "BOT_AFTERNOON_AT": "afternoon_at",
    "BOT_QUIET_START": "quiet_start",
    "BOT_QUIET_END": "quiet_end",
    "BOT_DUE_SOON_DAYS": "due_soon_days",
    "BOT_OVERDUE_DAYS": "overdue_days",
    "BOT_DISPATCH_MONTHS": "dispatch_months",
    "BOT_DISPATCH_DAY": "dispatch_day",
    "BOT_DISPATCH_NOTICE_DAYS": "dispatch_notice_days",
    "BOT_HOLIDAYS_FILE": "holidays_file",
    "BOT_DISPATCH_AUTO_SEND": "dispatch_auto_send",
    "BOT_FLAGS_MAX": "flags_max",
    "BOT_PUBLISH_AT": "publish_at",
    "BOT_DISPATCH_PUBLISH_AT": "dispatch_publish_at",
    "BOT_ACCEPTANCE_WEIGHTS": "acceptance_weights",
    "BOT_ACCEPTANCE_GRADES": "acceptance_grades",
    "BOT_MODEL_PROJECTS_MAX": "model_projects_max",
    "BOT_TALLY_SECONDS": "tally_seconds",
    "BOT_LOG_LEVEL": "log_level",
    "BOT_BACKUP_DIR": "backup_dir",
    "BOT_BACKUP_KEEP": "backup_keep",
    "BOT_BACKUP_AT": "backup_at",
    "BOT_WEBHOOK_URL": "webhook_url",
    "BOT_WEBHOOK_LISTEN": "webhook_listen",
    "BOT_WEBHOOK_PORT": "webhook_port",
    "BOT_WEBHOOK_PATH": "webhook_path",
    "BOT_WEBHOOK_SECRET": "webhook_secret",
}


def _ids(value: Any, key: str) -> frozenset[int]:
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    try:
        return frozenset(int(item) for item in items if str(item) != "")
    except ValueError:
        raise SettingsError("cli/bad_setting.txt", key=key, value=value) from None


def _positive_int(value: Any, key: str, maximum: int = 3650) -> int:
    try:
        number = int(value)
    except (TypeError, ValueError):
        number = 0
    if not 0 < number <= maximum:
        raise SettingsError("cli/bad_setting.txt", key=key, value=value)
    return number


def _bool(value: Any, key: str) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("1", "true", "yes", "on"):
        return True
    if text in ("0", "false", "no", "off"):
        return False
    raise SettingsError("cli/bad_setting.txt", key=key, value=value)


def _clock_time(value: Any, key: str) -> time:
    if isinstance(value, time):
        # A TOML local time (`remind_at = 09:00:00`) arrives parsed; minutes are the grain.
        if value.second or value.microsecond or value.tzinfo is not None:
            raise SettingsError("cli/bad_setting.txt", key=key, value=value)
        return value
    try:
        hour, minute = (int(x) for x in str(value).strip().split(":"))
    except ValueError:
        raise SettingsError("cli/bad_setting.txt", key=key, value=value) from None
    if not (0 <= hour < 24 and 0 <= minute < 60):
        raise SettingsError("cli/bad_setting.txt", key=key, value=value)
    return time(hour, minute)


def _months(value: Any, key: str) -> frozenset[int]:
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    try:
        months = frozenset(int(m) for m in items if str(m) != "")
    except ValueError:
        raise SettingsError("cli/bad_setting.txt", key=key, value=value) from None
    if not all(1 <= m <= 12 for m in months):
        raise SettingsError("cli/bad_setting.txt", key=key, value=value)
    return months


def _numbers(value: Any, key: str, count: int) -> tuple[int, ...]:
    """`count` whole numbers 0–100, comma-separated or a TOML list."""
    items = value if isinstance(value, list) else str(value).replace(" ", "").split(",")
    try:
        numbers = tuple(int(item) for item in items)
    except (TypeError, ValueError):
        raise SettingsError("cli/bad_setting.txt", key=key, value=value) from None
    if len(numbers) != count or not all(0 <= n <= 100 for n in numbers):
        raise SettingsError("cli/bad_setting.txt", key=key, value=value)
    return numbers


def _convert(name: str, value: Any, key: str) -> Any:
    if name == "acceptance_weights":
        weights = _numbers(value, key, 4)
        if sum(weights) == 0:
            raise SettingsError("cli/bad_setting.txt", key=key, value=value)
        return weights
    if name == "acceptance_grades":
        bands = _numbers(value, key, 3)
        if not bands[0] > bands[1] > bands[2]:  # 优秀 above 良好 above 合格
            raise SettingsError("cli/bad_setting.txt", key=key, value=value)
        return bands
    if name == "model_projects_max":
        return _positive_int(value, key, maximum=50)
    if name in ("db_path", "holidays_file", "backup_dir"):
        return Path(str(value))
    if name in ("remind_at", "afternoon_at", "quiet_start", "quiet_end", "backup_at",
                "publish_at", "dispatch_publish_at"):  # fmt: skip
        return _clock_time(value, key)
    if name == "dispatch_months":
        return _months(value, key)
    if name in ("tick_seconds", "tally_seconds"):
        try:
            number = int(value)
        except (TypeError, ValueError):
            number = -1
        if not 0 <= number <= 3600:
            raise SettingsError("cli/bad_setting.txt", key=key, value=value)
        return number
    if name in ("due_soon_days", "overdue_days", "dispatch_notice_days"):
        return _positive_int(value, key, maximum=15)
    if name == "admin_ids":
        return _ids(value, key)
    if name == "timezone":
        try:
            return ZoneInfo(str(value))
        except (ZoneInfoNotFoundError, ValueError):
            raise SettingsError("cli/bad_setting.txt", key=key, value=value) from None
    if name in ("report_open_day", "report_due_day", "dispatch_day"):
        return _positive_int(value, key, maximum=28)
    if name in (
        "invite_ttl_days",
        "invite_max_failures",
        "invite_failure_window_minutes",
        "max_projects_per_year",
    ):
        return _positive_int(value, key)
    if name == "webhook_url":
        text = str(value).strip()
        # Telegram posts to HTTPS URLs only; an empty value means polling.
        if text and (not text.startswith("https://") or urlsplit(text).hostname is None):
            raise SettingsError("cli/bad_setting.txt", key=key, value=value)
        return text or None
    if name == "webhook_port":
        return _positive_int(value, key, maximum=65535)
    if name == "webhook_path":
        return "/" + str(value).strip().strip("/")
    if name == "webhook_secret":
        text = str(value).strip()
        if not _WEBHOOK_SECRET.fullmatch(text):
            raise SettingsError("cli/bad_webhook_secret.txt", key=key)  # never shown: a secret
        return text
    if name == "backup_keep":
        return _positive_int(value, key, maximum=366)
    if name == "flags_max":
        return _positive_int(value, key, maximum=50)
    if name == "review_stages":
        return _positive_int(value, key, maximum=2)
    if name in ("rate_limit", "dispatch_auto_send"):
        return _bool(value, key)
    if name == "api_base_url" or name == "api_base_file_url":
        text = str(value).strip()
        # PTB appends the token to this URL: without a trailing /bot (or a {token} slot) the
        # token would land in the host or port, and in error messages.
        if not text.startswith(("http://", "https://")) or not (
            text.endswith("/bot") or "{token}" in text
        ):
            raise SettingsError("cli/bad_url.txt", key=key, value=value)
        return text
    if name == "bot_username":
        return str(value).strip().lstrip("@") or None
    if name == "token":
        return str(value).strip() or None
    return str(value)


def load_settings(
    env: Mapping[str, str] | None = None, config_file: str | Path | None = None
) -> Settings:
    """Build settings from a TOML file ([bot] table) and then the environment, which wins."""
    env = os.environ if env is None else env
    values: dict[str, Any] = {}
    config_file = config_file or env.get("BOT_CONFIG")
    if config_file:
        path = Path(config_file)
        try:
            data = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise SettingsError("cli/config_missing.txt", path=str(path)) from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise SettingsError("cli/config_bad.txt", path=str(path), error=str(exc)) from None
        table = data.get("bot", data)
        known = {f for f in Settings.__dataclass_fields__}
        for key, value in table.items():
            if key not in known:
                raise SettingsError("cli/config_unknown_key.txt", path=str(path), key=key)
            values[key] = _convert(key, value, f"{path}: {key}")
    for var, name in _ENV.items():
        if env.get(var, "") != "":
            values[name] = _convert(name, env[var], var)
    if "api_base_url" in values and "api_base_file_url" not in values:
        # A self-hosted Bot API server serves files under /file/bot<token> beside /bot<token>.
        base = values["api_base_url"]
        if base.endswith("/bot"):
            values["api_base_file_url"] = base[: -len("bot")] + "file/bot"
    settings = Settings(**values)

    quiet_start, quiet_end = settings.quiet_start, settings.quiet_end
    for var, value in (("BOT_REMIND_AT", settings.remind_at),
                       ("BOT_AFTERNOON_AT", settings.afternoon_at),
                       ("BOT_PUBLISH_AT", settings.publish_at),
                       ("BOT_DISPATCH_PUBLISH_AT", settings.dispatch_publish_at)):  # fmt: skip
        inside = (value >= quiet_start or value < quiet_end) if quiet_start > quiet_end else (
            quiet_start <= value < quiet_end)  # fmt: skip
        if inside:
            # A reminder time inside the quiet hours would be sent the next morning, when
            # the deadline-day reminders are already stale.
            raise SettingsError("cli/bad_setting.txt", key=var, value=f"{value:%H:%M}")
    if settings.afternoon_at <= settings.remind_at:
        raise SettingsError("cli/bad_setting.txt", key="BOT_AFTERNOON_AT",
                            value=f"{settings.afternoon_at:%H:%M}")  # fmt: skip
    if settings.report_due_day < settings.report_open_day:
        raise SettingsError(
            "cli/bad_setting.txt", key="BOT_REPORT_DUE_DAY", value=settings.report_due_day
        )
    if not settings.dispatch_auto_send and settings.dispatch_publish_at <= settings.remind_at:
        # Reviewed, the summary's draft goes out at remind_at: it needs time before it is
        # published. Not reviewing at all is BOT_DISPATCH_AUTO_SEND's meaning, not this.
        raise SettingsError("cli/dispatch_publish_early.txt",
                            publish=f"{settings.dispatch_publish_at:%H:%M}",
                            remind=f"{settings.remind_at:%H:%M}")  # fmt: skip
    return settings

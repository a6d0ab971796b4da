"""Logging set-up that never writes the bot token."""

from __future__ import annotations

import logging


def secrets_of(token: str | None) -> list[str]:
    """The strings to hide: the whole token and its secret part after the bot id."""
    if not token:
        return []
    parts = [token]
    _, _, secret = token.partition(":")
    if len(secret) >= 8:
        parts.append(secret)
    return parts


# Other secrets to hide wherever the token is hidden: the webhook's secret token (hide()).
_HIDDEN: set[str] = set()


def hide(secret: str) -> None:
    """Keep `secret` out of every log record and message from now on, like the token."""
    _HIDDEN.add(secret)


def redact(text: str, token: str | None) -> str:
    """Return `text` with the token, and its secret part, replaced by <TOKEN>, and every
    hidden secret by <SECRET>."""
    for secret in secrets_of(token):
        text = text.replace(secret, "<TOKEN>")
    for secret in _HIDDEN:
        text = text.replace(secret, "<SECRET>")
    return text


class RedactToken(logging.Filter):
    """Replace the token wherever it appears in a record (URLs in library messages carry it)."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token or None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token or _HIDDEN:
            message = record.getMessage()
            cleaned = redact(message, self.token)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redact(text, self.token)
        return True


# Libraries that log secrets below these levels: aiosqlite every SQL parameter and row
# (invite codes), PTB every request's parameters and reply (deep links) and its base URL
# (the token), httpx and httpcore every URL (the token); apscheduler is only noisy. Capped
# rather than filtered, since invite codes are random: no filter can know them all.
LIBRARY_FLOORS = {
    "aiosqlite": logging.INFO,
    "telegram": logging.INFO,
    "httpx": logging.WARNING,
    "httpcore": logging.WARNING,
    "apscheduler": logging.WARNING,
    "tornado": logging.WARNING,  # the webhook server: a line per request at INFO
}


def quiet_libraries(level: int) -> None:
    """Keep each chatty library at its floor, or at `level` when that is higher."""
    # Never below `level`: a library logger's own level overrides the root's.
    for name, floor in LIBRARY_FLOORS.items():
        logging.getLogger(name).setLevel(max(floor, level))


def setup_logging(level: str, token: str | None) -> None:
    """Log to stderr at `level`, with the token redacted and libraries kept from logging
    secrets (see LIBRARY_FLOORS)."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level else "INFO")
    quiet_libraries(root.level)

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


def redact(text: str, token: str | None) -> str:
    """Return `text` with the token, and its secret part, replaced by <TOKEN>."""
    for secret in secrets_of(token):
        text = text.replace(secret, "<TOKEN>")
    return text


class RedactToken(logging.Filter):
    """Replace the token wherever it appears in a record (URLs in library messages carry it)."""

    def __init__(self, token: str | None) -> None:
        super().__init__()
        self.token = token or None

    def filter(self, record: logging.LogRecord) -> bool:
        if self.token:
            message = record.getMessage()
            cleaned = redact(message, self.token)
            if cleaned != message:
                record.msg, record.args = cleaned, None
            if record.exc_info and record.exc_info[1] is not None:
                text = logging.Formatter().formatException(record.exc_info)
                record.exc_text = redact(text, self.token)
        return True


def setup_logging(level: str, token: str | None) -> None:
    """Log to stderr at `level`, with the token redacted and chatty HTTP logs quietened."""
    handler = logging.StreamHandler()
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    handler.addFilter(RedactToken(token))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper() if level else "INFO")
    # httpx logs every request URL at INFO, and the URL contains the token.
    logging.getLogger("httpx").setLevel(logging.WARNING)
    logging.getLogger("httpcore").setLevel(logging.WARNING)
    logging.getLogger("apscheduler").setLevel(logging.WARNING)

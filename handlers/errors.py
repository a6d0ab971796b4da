"""The error handler: log the fault, tell the person in plain Chinese, never a traceback."""

from __future__ import annotations

import logging
import sqlite3

from telegram import Update
from telegram.error import BadRequest, NetworkError, RetryAfter, TelegramError

from bot.context import BotContext

logger = logging.getLogger(__name__)
# SQLite could not write: another process held the lock past busy_timeout, or the disk is full.
_NOT_WRITTEN = {
    sqlite3.SQLITE_BUSY: "busy",
    sqlite3.SQLITE_LOCKED: "busy",
    sqlite3.SQLITE_FULL: "full",
}


def unwritten(error: BaseException | None) -> str | None:
    """ "busy" or "full" if `error` (or what caused it) is SQLite refusing a write, else None."""
    seen: set[int] = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, sqlite3.OperationalError):
            code = getattr(error, "sqlite_errorcode", None)
            if code is not None and code & 0xFF in _NOT_WRITTEN:
                return _NOT_WRITTEN[code & 0xFF]
        error = error.__cause__ or error.__context__
    return None


async def _template(update: Update, context: BotContext) -> str:
    """Which apology fits: the answer not stored, the reply lost, or a plain fault."""
    error = context.error
    refused = unwritten(error)
    if refused is not None:
        # The write failed, so nothing of this update was stored, unless an earlier write
        # of the same update was (its id is recorded with it): then say nothing false.
        user, stored = update.effective_user, None
        try:
            if user is not None:
                context.session = None  # read again: a cached one is from before the writes
                stored = (await context.who(user.id, update.update_id)).replayed
        except Exception:  # the database refuses this read too: whether is unknown
            logger.warning("could not tell whether update %s was stored", update.update_id)
        if stored is False:
            return "common/answer_not_saved.html"
        if stored is None:
            return "common/internal_error.html"
    # Telegram unreachable or failing while the bot answered: what the person sent was
    # stored before the answer was sent, so say so rather than "something went wrong".
    # BadRequest is a NetworkError in PTB, but the same request would fail again.
    network = isinstance(error, NetworkError | RetryAfter) and not isinstance(error, BadRequest)
    return "common/reply_not_delivered.html" if network else "common/internal_error.html"


async def on_error(update: object, context: BotContext) -> None:
    """Log the exception and, in a private chat, apologise."""
    logger.error("error while handling an update", exc_info=context.error)
    if not isinstance(update, Update) or update.effective_chat is None:
        return
    if update.effective_chat.type != "private":
        return
    template = await _template(update, context)
    try:
        await context.bot.send_message(
            update.effective_chat.id,
            context.texts.html(template, full=unwritten(context.error) == "full"),
        )
    except TelegramError as exc:
        logger.warning("could not tell the user about the error: %s", exc)

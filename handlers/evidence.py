"""佐证材料 shown to the people who decide: /evidence, and the albums other handlers send
beside a 督办 feedback, a 结题 report and /history (bot/services/evidence.py groups them)."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from markupsafe import Markup
from telegram import Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CommandHandler

from bot.context import BotContext
from bot.messages import send_album
from bot.services import evidence, people
from bot.services.evidence import Album
from handlers.common import PRIVATE, send_long

logger = logging.getLogger(__name__)
MAX_ARGS = 3


async def send_evidence(
    context: BotContext, chat_id: int, albums: Sequence[Album], what: str, **params: Any
) -> None:
    """Send the albums to one person, each captioned with what they belong to (the title
    templates/evidence/title_<what>.html renders from `params`); TelegramError goes to the
    caller, who knows whether the person asked or is being told."""
    title = Markup(context.texts.html(f"evidence/title_{what}.html", **params))
    for album in albums:
        caption = context.texts.html("evidence/caption.html", title=title, album=album)
        await send_album(context.bot, chat_id, album.kind, album.file_ids, caption)


async def send_evidence_to(
    context: BotContext, chat_ids: Sequence[int], albums: Sequence[Album], what: str,
    **params: Any,
) -> None:  # fmt: skip
    """send_evidence to each admin being told of something; one who cannot be reached (or a
    file Telegram refuses) is logged and the others still get theirs."""
    for chat_id in chat_ids:
        try:
            await send_evidence(context, chat_id, albums, what, **params)
        except TelegramError as exc:
            logger.warning("could not send evidence to %s: %s", chat_id, exc)


async def evidence_command(update: Update, context: BotContext) -> None:
    """/evidence <项目编号> [期间]: the photos and documents of a project's monthly reports."""
    user = update.effective_user
    assert user is not None
    who = await people.identify(context.db, user.id)
    args = list(context.args or [])[:MAX_ARGS]
    current = context.state.calendar.current_period(context.now())
    result = await evidence.report_evidence(context.db, who, args, current)
    await send_long(context, user.id, context.texts.html(f"evidence/list_{result.outcome}.html",
                                                         r=result))  # fmt: skip
    try:
        for found in result.periods:
            await send_evidence(context, user.id, found.albums, "report",
                                project=result.project, period=found.period)  # fmt: skip
    except TelegramError as exc:
        logger.warning("could not send evidence to %s: %s", user.id, exc)
        await send_long(context, user.id, context.texts.html("evidence/send_failed.html"))


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [CommandHandler("evidence", evidence_command, filters=PRIVATE)]

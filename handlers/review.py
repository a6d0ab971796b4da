"""审批立项: the admin's 立项 / 退回修改 buttons and the return reason they type."""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import DeclareStep, ProjectReview
from bot.context import BotContext
from bot.messages import keyboard
from bot.public import publish_soon
from bot.services import review
from bot.services.review import ReviewOutcome
from handlers.buttons import alert_stale
from handlers.common import answer_query, drop_buttons, label, reply

logger = logging.getLogger(__name__)


async def on_button(update: Update, context: BotContext) -> None:
    """立项 or 退回修改 pressed: only admins, only for the round the message was about."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ProjectReview.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    pid, round_, now = button.project_id, button.round, context.now()
    if button.action == "a":
        outcome = await review.approve(context.db, pid, round_, user.id, now)
    else:
        outcome = await review.ask_reason(context.db, user.id, pid, round_, now)
    if outcome.kind == "not_admin":
        await answer_query(update, context.texts.plain("review/not_admin_alert.txt"), alert=True)
        return
    await answer_query(update)
    if outcome.kind == "stale":
        await _say(context, user.id, "review/stale.html", outcome)
        return
    await drop_buttons(update)
    if outcome.kind == "approved":
        await _say(context, user.id, "review/approved_admin.html", outcome)
        await _tell_secretary(context, outcome, "review/approved_secretary.html")
        await publish_soon(context)  # the public card, in the 晒 channels covering it
    else:
        await _say(context, user.id, "review/ask_reason.html", outcome)


async def on_reason(update: Update, context: BotContext) -> None:
    """Take the admin's message after 退回修改 as the reason, or as 取消."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        await reply(update, context, "review/reason_text_only.html")
        return
    outcome = await review.give_reason(context.db, user.id, message.text, context.now())
    if outcome.kind == "not_admin":
        await reply(update, context, "common/admin_only.html")
    elif outcome.kind in ("empty", "too_long"):
        await _say(context, user.id, "review/reason_problem.html", outcome)
    elif outcome.kind == "returned":
        await _say(context, user.id, "review/returned_admin.html", outcome)
        await _tell_secretary(context, outcome, "review/returned_secretary.html", edit=True)
    else:
        await _say(context, user.id, "review/stale.html", outcome)


async def cancel_reason(update: Update, context: BotContext) -> None:
    """Give up returning the project; it stays 已申报."""
    user = update.effective_user
    assert user is not None
    outcome = await review.cancel_reason(context.db, user.id)
    markup = None
    if outcome.kind == "undecided" and outcome.view is not None:
        project = outcome.view.project  # the decision the reason interrupted, offered again
        markup = decision_buttons(context, project.id, project.round)
    text = context.texts.html("review/reason_cancelled.html", o=outcome, v=outcome.view)
    await context.bot.send_message(user.id, text, reply_markup=markup)


def decision_buttons(context: BotContext, project_id: int, round_: int) -> InlineKeyboardMarkup:
    """立项 / 退回修改 under an application, for its current round."""
    approve = ProjectReview(project_id, round_, "a").pack()
    give_back = ProjectReview(project_id, round_, "r").pack()
    return keyboard([[(label(context, "approve"), approve),
                      (label(context, "return"), give_back)]])  # fmt: skip


async def _say(context: BotContext, chat_id: int, template: str, outcome: ReviewOutcome) -> None:
    await context.bot.send_message(
        chat_id, context.texts.html(template, o=outcome, v=outcome.view,
                                    tz=context.state.settings.timezone)
    )  # fmt: skip


async def _tell_secretary(
    context: BotContext, outcome: ReviewOutcome, template: str, *, edit: bool = False
) -> None:
    """Tell the project's secretary the decision (with an edit button after a return)."""
    view = outcome.view
    if view is None or view.secretary is None:
        return
    markup = None
    if edit:
        project = view.project
        data = DeclareStep(project.id, "-", "resume", str(project.round)).pack()
        markup = keyboard([[(label(context, "edit_project"), data)]])
    text = context.texts.html(template, o=outcome, v=view, tz=context.state.settings.timezone)
    try:
        await context.bot.send_message(view.secretary.user_id, text, reply_markup=markup)
    except TelegramError as exc:
        logger.warning("could not tell secretary %s: %s", view.secretary.user_id, exc)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [CallbackQueryHandler(on_button, pattern=ProjectReview.route())]

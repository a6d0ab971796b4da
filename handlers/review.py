"""审批立项: the admin's 立项 / 退回修改 buttons and the return reason they type."""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Literal

from telegram import InlineKeyboardMarkup, Update
from telegram.error import TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import DeclareStep, ProjectReview, ReviewCheck
from bot.context import BotContext
from bot.messages import keyboard
from bot.public import publish_soon
from bot.services import review
from bot.services.review import ReviewOutcome
from handlers.buttons import alert_stale
from handlers.common import answer_query, drop_buttons, label, reply, tell

logger = logging.getLogger(__name__)


async def on_button(update: Update, context: BotContext) -> None:
    """立项, 预审通过 or 退回修改 pressed: only an admin above the organization (审定 in two
    stages: the top level), only for the round and stage the message was about."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ProjectReview.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    pid, round_, now = button.project_id, button.round, context.now()
    stages = context.state.settings.review_stages
    if button.action == "a":
        cal = context.state.calendar
        outcome = await review.approve(context.db, cal, pid, round_, user.id, now, stages)
    elif button.action == "p":
        outcome = await review.pass_up(context.db, pid, round_, user.id, now, stages)
    else:
        stage = "pre" if button.action == "b" else "final"
        outcome = await review.ask_reason(context.db, user.id, pid, round_, now, stages, stage)
    if outcome.kind in ("not_admin", "own"):
        alert = context.texts.plain(f"review/{outcome.kind}_alert.txt")
        await answer_query(update, alert, alert=True)
        return
    if outcome.kind == "hidden":
        await alert_stale(update, context)  # outside the subtree: like any dead button
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
    elif outcome.kind == "passed":
        await _say(context, user.id, "review/passed_admin.html", outcome)
        assert outcome.view is not None
        await send_application(context, outcome.view.project.id, passed=True)
    else:
        await _say(context, user.id, "review/ask_reason.html", outcome)


async def on_reason(update: Update, context: BotContext) -> None:
    """Take the admin's message after 退回修改 as the reason, or as 取消."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        await reply(update, context, "review/reason_text_only.html")
        return
    stages = context.state.settings.review_stages
    outcome = await review.give_reason(context.db, user.id, message.text, context.now(), stages)
    if outcome.kind == "own":
        await reply(update, context, "review/own.html")
    elif outcome.kind in ("not_admin", "hidden"):
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
    outcome = await review.cancel_reason(context.db, user.id, context.state.settings.review_stages)
    markup = None
    if outcome.kind == "undecided" and outcome.view is not None:
        view = outcome.view  # the decision the reason interrupted, offered again
        markup = decision_buttons(context, view.project.id, view.project.round, view.stage,
                                  view.failed)  # fmt: skip
    text = context.texts.html("review/reason_cancelled.html", o=outcome, v=outcome.view)
    await context.bot.send_message(user.id, text, reply_markup=markup)


def decision_buttons(
    context: BotContext, project_id: int, round_: int, stage: str = "final",
    failed: Sequence[str] = (),
) -> InlineKeyboardMarkup:  # fmt: skip
    """四看 toggles (✅ passed, ❌ failed), then 立项 / 退回修改 under an application (预审通过 /
    退回修改 at 预审), for its round."""
    at: Literal["f", "p"] = "p" if stage == "pre" else "f"
    toggles = [
        (label(context, "check_failed" if key in failed else "ticked") + " "
         + label(context, f"check_{key}"), ReviewCheck(project_id, round_, at, i).pack())
        for i, key in enumerate(review.CHECKS)
    ]  # fmt: skip
    if stage == "pre":
        forward = ("pass_up", ProjectReview(project_id, round_, "p").pack())
        give_back = ProjectReview(project_id, round_, "b").pack()
    else:
        forward = ("approve", ProjectReview(project_id, round_, "a").pack())
        give_back = ProjectReview(project_id, round_, "r").pack()
    decision = [(label(context, forward[0]), forward[1]), (label(context, "return"), give_back)]
    return keyboard([toggles[:2], toggles[2:], decision])


async def on_check(update: Update, context: BotContext) -> None:
    """A 四看 toggle: mark the check failed (or passed again); the buttons show the marks."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ReviewCheck.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    stage = "pre" if button.stage == "p" else "final"
    outcome = await review.toggle_check(context.db, user.id, button.project_id, button.round,
                                        stage, button.check, context.now(),
                                        context.state.settings.review_stages)  # fmt: skip
    if outcome.kind in ("not_admin", "own"):
        alert = context.texts.plain(f"review/{outcome.kind}_alert.txt")
        await answer_query(update, alert, alert=True)
        return
    if outcome.kind != "toggled" or outcome.view is None or query.message is None:
        await alert_stale(update, context)
        return
    await answer_query(update)
    project = outcome.view.project
    markup = decision_buttons(context, project.id, project.round, stage, outcome.view.failed)
    try:
        await context.bot.edit_message_reply_markup(query.message.chat.id,
                                                    query.message.message_id,
                                                    reply_markup=markup)  # fmt: skip
    except TelegramError as exc:  # an old message Telegram no longer edits: say where it stands
        logger.info("could not redraw the check toggles: %s", exc)
        await _say(context, user.id, "review/checks.html", outcome)


async def send_application(context: BotContext, project_id: int, *, passed: bool = False) -> None:
    """Send a submitted application, with its decision buttons, to the admins of the level
    that decides it now (the nearest level above with admins; 审定: the top), once each."""
    stages = context.state.settings.review_stages
    to = await review.recipients(context.db, project_id, stages, context.now())
    view = await review.project_view(context.db, project_id, stages)
    assert view is not None
    project = view.project
    markup = decision_buttons(context, project.id, project.round, to.stage, view.failed)
    text = context.texts.html("review/application.html", v=view, to=to, passed=passed,
                              tz=context.state.settings.timezone)  # fmt: skip
    for admin_id in to.admin_ids:
        # An admin who never opened the bot cannot be written to; the others still are.
        await tell(context, admin_id, text, markup)


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
    await tell(context, view.secretary.user_id, text, markup)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CallbackQueryHandler(on_button, pattern=ProjectReview.route()),
        CallbackQueryHandler(on_check, pattern=ReviewCheck.route()),
    ]

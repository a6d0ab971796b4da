"""调整: the secretary's request to change an approved project's plan on the step engine,
the admins' 同意 / 不同意, and /terminate (diagram: handlers/adjust.md)."""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import AdjustAction, AdjustReview, AdjustStep
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import adjust, review
from bot.services.adjust import PREVIEW, STEPS, Outcome
from bot.services.conversation import Said
from handlers.buttons import alert_stale
from handlers.common import (
    PRIVATE,
    admin_command,
    answer_query,
    asking,
    drop_buttons,
    edit_menu,
    label,
    preview_rows,
    send_long,
    send_question,
    step_row,
    step_text,
    tell,
    this_month,
)

# Outcomes after which the open question is shown again.
ASKS = frozenset({
    "ask", "edit_menu", "saved", "changed", "started", "resume", "first_step", "edit_cancelled",
    "text_only", "use_buttons", "empty", "too_long", "too_short", "not_quantified",
    "end_format", "end_past", "span_too_long", "milestones_invalid", "unchanged",
})  # fmt: skip


def open_button(context: BotContext, project_id: int) -> InlineKeyboardMarkup:
    """申请调整计划 under the secretary's /project card."""
    return keyboard([[(label(context, "adjust_open"), AdjustStep(project_id, "-", "open").pack())]])


def _markup(context: BotContext, outcome: Outcome) -> InlineKeyboardMarkup | None:
    view = outcome.view
    if outcome.kind == "choose":
        return keyboard([[(p.name or "", AdjustStep(p.id, "-", "open").pack())]
                         for p in outcome.params["projects"]])  # fmt: skip
    if view is None or outcome.kind not in ASKS:
        return None
    cid, step = view.change.id, view.step

    def press(action: AdjustAction, arg: str = "", at: str = step) -> str:
        return AdjustStep(cid, at, action, arg).pack()

    if outcome.kind == "edit_menu":
        return edit_menu(context, adjust.ADJUSTMENT, view, press)
    if step == PREVIEW:
        discard = (label(context, "adjust_discard"), press("discard"))
        return keyboard([*preview_rows(context, press), [discard]])
    return keyboard([step_row(context, view, press, step == STEPS[0])])


async def show(context: BotContext, chat_id: int, outcome: Outcome, lead: str = "") -> None:
    """One message: what happened (after `lead`), then the question now open; earlier
    questions lose their buttons and this one is recorded for edits and replies."""
    view = outcome.view
    # Typing at the preview: the preview above keeps the one live 提交.
    typed_at_preview = (view is not None and view.step == PREVIEW
                        and outcome.kind in ("use_buttons", "text_only"))  # fmt: skip
    asks = view is not None and outcome.kind in ASKS and not typed_at_preview
    if asks and view is not None:  # the question's examples start at this month
        outcome = replace(outcome, view=replace(view, this_month=this_month(context)))
    said = None if outcome.kind in ("ask", "edit_menu") else "adjust/outcome.html"
    asked = asking(outcome) if asks else ""
    prompt = f"adjust/{asked}.html" if asked else None
    text = step_text(context, outcome, lead, said, prompt)
    question = (adjust.FLOW, view.change.id, view.step) if asks and view is not None else None
    markup = None if typed_at_preview else _markup(context, outcome)
    await send_question(context, chat_id, text, markup, question)


async def answer(context: BotContext, user_id: int, said: Said) -> None:
    """A typed answer, bound by the engine to its question."""
    who = await context.who(user_id)
    tz = context.state.settings.timezone
    outcome = await adjust.answer(context.db, who, said.text, context.now(), tz, said)
    if said.at is not None and outcome.kind != "changed" and outcome.view is not None:
        # Refused out of turn: say why under the question that is open (whose buttons work).
        current = await adjust.current(context.db, who)
        outcome = Outcome(outcome.kind, current.view or outcome.view, outcome.params)
    await show(context, user_id, outcome)


async def plausible(context: BotContext, user_id: int, text: str) -> bool:
    """Whether the text also answers the open question."""
    return await adjust.plausible(context.db, await context.who(user_id), text, context.now(),
                                  context.state.settings.timezone)  # fmt: skip


async def again(context: BotContext, user_id: int, lead: str) -> None:
    """The open question again, after `lead`."""
    await show(context, user_id, await adjust.current(context.db, await context.who(user_id)),
               lead)  # fmt: skip


async def adjust_command(update: Update, context: BotContext) -> None:
    """/adjust: ask to change the plan of the approved project (or go on with the request)."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(context, user.id, await adjust.open_adjust(context.db, who, context.now()))


async def on_message(update: Update, context: BotContext) -> None:
    """A message while writing the request: an answer, or the wrong kind."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    who = await context.who(user.id)
    if message.text is not None:
        await answer(context, user.id, Said(message.text, message.message_id))
        return
    await show(context, user.id, await adjust.wrong_kind(context.db, who))


async def on_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(context, user.id, await adjust.cancel(context.db, who, context.now()))


async def on_back(update: Update, context: BotContext) -> None:
    """上一步 typed."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(context, user.id, await adjust.back(context.db, who, context.now()))


async def on_button(update: Update, context: BotContext) -> None:
    """A button of the request; stale or forged ones change nothing."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = AdjustStep.parse(query.data or "")
    outcome = Outcome("stale")
    if button is not None:
        who = await context.who(user.id)
        outcome = await adjust.button(context.db, who, button.subject_id, button.step,
                                      button.action, button.arg, context.now())  # fmt: skip
    if outcome.kind == "stale":
        await alert_stale(update, context)
        return
    await answer_query(update)
    if button is not None and button.action != "open":
        await drop_buttons(update, context)
    await show(context, user.id, outcome)
    if outcome.kind == "submitted" and outcome.view is not None:
        await send_to_admins(context, outcome)


def _decision(context: BotContext, change_id: int) -> InlineKeyboardMarkup:
    return keyboard([[
        (label(context, "adjust_agree"), AdjustReview(change_id, "a").pack()),
        (label(context, "adjust_refuse"), AdjustReview(change_id, "r").pack()),
    ]])  # fmt: skip


async def send_to_admins(context: BotContext, outcome: Outcome) -> None:
    """The submitted request, with 同意 / 不同意, to each admin who decides it."""
    view = outcome.view
    assert view is not None
    text = context.texts.html("adjust/for_admin.html", v=view, tz=context.state.settings.timezone)
    for admin_id in await review.deciders(context.db, view.project):
        await tell(context, admin_id, text, _decision(context, view.change.id))


async def _tell_secretary(context: BotContext, outcome: Outcome) -> str:
    """Tell the secretary the decision: "told", "unbound" or "failed" (for the admin)."""
    view = outcome.view
    assert view is not None
    text = context.texts.html("adjust/to_secretary.html", o=outcome, v=view)
    return await tell(context, await review.secretary_of(context.db, view.project), text)


async def review_button(update: Update, context: BotContext) -> None:
    """同意 or 不同意: the admins above the organization, while the request is pending."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = AdjustReview.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    outcome = await adjust.decide(context.db, user.id, button.change_id, button.action,
                                  context.now(), context.state.settings.timezone)  # fmt: skip
    if outcome.kind == "not_admin":
        await answer_query(update, context.texts.plain("adjust/not_admin_alert.txt"), alert=True)
        return
    if outcome.kind == "stale":
        await alert_stale(update, context)
        return
    await answer_query(update)
    await drop_buttons(update, context)
    told = await _tell_secretary(context, outcome) if outcome.kind == "approved" else ""
    await send_long(context, user.id, context.texts.html("adjust/outcome.html", o=outcome,
                                                         v=outcome.view, told=told))  # fmt: skip


async def on_reason(update: Update, context: BotContext) -> None:
    """The admin's message after 不同意: the reason."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        outcome = Outcome("reason_text_only")
    else:
        outcome = await adjust.give_reason(context.db, user.id, message.text, context.now())
    told = await _tell_secretary(context, outcome) if outcome.kind == "refused" else ""
    await send_long(context, user.id, context.texts.html("adjust/outcome.html", o=outcome,
                                                         v=outcome.view, told=told))  # fmt: skip


async def on_reason_cancel(update: Update, context: BotContext) -> None:
    """取消 while typing the reason: the request stays pending, its buttons again."""
    user = update.effective_user
    assert user is not None
    outcome = await adjust.cancel_reason(context.db, user.id)
    markup = _decision(context, outcome.view.change.id) if outcome.view is not None else None
    await send_long(context, user.id,
                    context.texts.html("adjust/outcome.html", o=outcome, v=outcome.view),
                    markup)  # fmt: skip


async def terminate_command(update: Update, context: BotContext) -> None:
    """/terminate <编号> <原因>: end an approved project; its secretary is told why."""
    user = update.effective_user
    assert user is not None
    number, _, reason = " ".join(context.args or []).strip().partition(" ")
    if not number:
        outcome = Outcome("terminate_usage")
    else:
        tz = context.state.settings.timezone
        outcome = await adjust.terminate(context.db, user.id, number[:30], reason,
                                         context.now(), tz)  # fmt: skip
    told = ""
    if outcome.kind == "terminated":
        text = context.texts.html("adjust/terminated_secretary.html", o=outcome)
        told = await tell(context, outcome.params["secretary"], text)
    text = context.texts.html("adjust/outcome.html", o=outcome, v=None, told=told)
    await send_long(context, user.id, text)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("adjust", adjust_command, filters=PRIVATE),
        *admin_command("terminate", terminate_command, levels=True),
        CallbackQueryHandler(on_button, pattern=AdjustStep.route()),
        CallbackQueryHandler(review_button, pattern=AdjustReview.route()),
    ]

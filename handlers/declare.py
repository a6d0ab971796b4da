"""申报: the secretary's conversation for declaring a 书记项目 (see declare.md for the diagram).

The position in the conversation is stored by bot/services/declare.py, not kept by PTB:
these handlers only turn messages and buttons into service calls and render the outcome
as one message (plus the preview's overflow, when an application is long).
"""

from __future__ import annotations

from dataclasses import replace

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import DeclareAction, DeclareStep
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import declare
from bot.services.conversation import Said
from bot.services.declare import PREVIEW, STEPS, Outcome
from handlers import review as review_handlers
from handlers.buttons import alert_stale
from handlers.common import (
    PRIVATE,
    answer_query,
    asking,
    drop_buttons,
    edit_menu,
    label,
    preview_rows,
    send_question,
    step_row,
    step_text,
    this_month,
)


def start_button(context: BotContext) -> InlineKeyboardMarkup:
    """The 申报书记项目 button under the secretary's greeting."""
    return keyboard([[(label(context, "new_project"), DeclareStep(0, "-", "new").pack())]])


def _markup(context: BotContext, outcome: Outcome) -> InlineKeyboardMarkup | None:
    view = outcome.view
    if view is None:
        return None
    pid, step = view.project.id, view.step

    def press(action: DeclareAction, arg: str = "", at: str = step) -> str:
        return DeclareStep(pid, at, action, arg).pack()

    if outcome.kind == "edit_menu":
        return edit_menu(context, declare.DECLARATION, view, press)
    if step == PREVIEW:
        rows = preview_rows(context, press)
        if view.project.round == 0:
            rows.append([(label(context, "discard"), press("discard"))])
        return keyboard(rows)
    rows = []
    if step == "kind":
        rows.append([(k, press("kind", str(i))) for i, k in enumerate(declare.KINDS)])
    rows.append(step_row(context, view, press, step == STEPS[0]))
    if outcome.kind == "resume_draft":
        rows.append([(label(context, "discard"), press("discard"))])
    return keyboard(rows)


async def show(context: BotContext, chat_id: int, outcome: Outcome, lead: str = "") -> None:
    """Render an outcome as one message: what happened (after `lead`), then the question
    now open."""
    view = outcome.view
    asks = view is not None and outcome.kind not in ("submitted", "cancelled", "discarded")
    if view is not None:  # the examples start at this month
        view = replace(view, this_month=this_month(context))
        outcome = replace(outcome, view=view)
    said = None if outcome.kind in ("ask", "edit_menu") else f"declare/{outcome.kind}.html"
    asked = asking(outcome) if asks else ""
    prompt = f"declare/{asked}.html" if asked else None
    text = step_text(context, outcome, lead, said, prompt)
    markup = None if outcome.kind in ("submitted", "cancelled") else _markup(context, outcome)
    question = (declare.FLOW, view.project.id, view.step) if view is not None and asks else None
    await send_question(context, chat_id, text, markup, question)


async def answer(context: BotContext, user_id: int, said: Said) -> None:
    """A typed answer, bound by the engine to its question."""
    limit = context.state.settings.max_projects_per_year
    outcome = await declare.answer(context.db, user_id, said.text, context.now(),
                                   max_per_year=limit, said=said)  # fmt: skip
    if said.at is not None and outcome.kind != "changed" and outcome.view is not None:
        # Refused out of turn: say why under the question that is open (whose buttons work).
        current = await declare.where_am_i(context.db, user_id)
        outcome = Outcome(outcome.kind, current.view or outcome.view, outcome.params)
    await show(context, user_id, outcome)


async def plausible(context: BotContext, user_id: int, text: str) -> bool:
    """Whether the text also answers the open question."""
    return await declare.plausible(context.db, user_id, text, context.now())


async def again(context: BotContext, user_id: int, lead: str) -> None:
    """The open question again, after `lead`."""
    await show(context, user_id, await declare.where_am_i(context.db, user_id), lead)


async def new_project(update: Update, context: BotContext) -> None:
    """Open the declaration: resume a returned project or a draft, or start a new one."""
    user = update.effective_user
    assert user is not None
    outcome = await declare.open_declaration(
        context.db, user.id, context.now(),
        max_per_year=context.state.settings.max_projects_per_year,
    )  # fmt: skip
    await show(context, user.id, outcome)


async def on_message(update: Update, context: BotContext) -> None:
    """A message while the declaration is open: an answer, 上一步 / 取消, or the wrong kind."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    db = context.db
    if message.text is None:
        outcome = await declare.where_am_i(db, user.id)
        if outcome.view is not None:
            wanted = "use_buttons" if outcome.view.step == PREVIEW else "text_only"
            outcome = Outcome(wanted, outcome.view)
        await show(context, user.id, outcome)
        return
    await answer(context, user.id, Said(message.text, message.message_id))


async def on_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel: leave (from changing one item: back to the preview)."""
    user = update.effective_user
    assert user is not None
    await show(context, user.id, await declare.cancel(context.db, user.id, now=context.now()))


async def on_back(update: Update, context: BotContext) -> None:
    """上一步 typed: the previous question."""
    user = update.effective_user
    assert user is not None
    await show(context, user.id, await declare.back(context.db, user.id, context.now()))


async def on_button(update: Update, context: BotContext) -> None:
    """A button of the declaration; stale or forged ones change nothing."""
    query = update.callback_query
    user = update.effective_user
    assert query is not None and user is not None
    button = DeclareStep.parse(query.data or "")
    db, now = context.db, context.now()
    limit = context.state.settings.max_projects_per_year
    if button is None:
        outcome = Outcome("stale")
    else:
        pid, step, action, arg = button.project_id, button.step, button.action, button.arg
        if action == "new":
            outcome = await declare.open_declaration(db, user.id, now, max_per_year=limit)
        elif action == "kind" and arg.isdigit():
            outcome = await declare.choose_kind(
                db, user.id, pid, step, int(arg), now, max_per_year=limit
            )
        elif action == "back":
            outcome = await declare.back(db, user.id, now, pid, step)
        elif action == "cancel":
            outcome = await declare.cancel(db, user.id, pid, step, now)
        elif action == "submit":
            outcome = await declare.submit(db, user.id, pid, now, max_per_year=limit)
        elif action == "edit":
            outcome = await declare.edit_menu(db, user.id, pid, now)
        elif action == "field":
            outcome = await declare.edit_field(db, user.id, pid, arg, now)
        elif action == "preview":
            outcome = await declare.show_preview(db, user.id, pid)
        elif action == "discard":
            outcome = await declare.discard(db, user.id, pid, step)
        elif action == "resume" and arg.isdigit():
            outcome = await declare.resume_returned(db, user.id, pid, int(arg), now)
        else:
            outcome = Outcome("stale")
    if outcome.kind == "stale":
        await alert_stale(update, context)
        current = await declare.where_am_i(db, user.id)
        if current.view is not None:
            await show(context, user.id, current)
        return
    await answer_query(update)
    await drop_buttons(update, context)
    await show(context, user.id, outcome)
    if outcome.kind == "submitted" and outcome.view is not None:
        await notify_admins(context, outcome)


async def notify_admins(context: BotContext, outcome: Outcome) -> None:
    """Send the filed application to the admins who decide it first (handlers/review.py)."""
    assert outcome.view is not None
    await review_handlers.send_application(context, outcome.view.project.id)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("new_project", new_project, filters=PRIVATE),
        CallbackQueryHandler(on_button, pattern=DeclareStep.route()),
    ]

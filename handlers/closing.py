"""结题: the secretary's closing report on the step engine, and the admins' 通过结题 /
退回修改 (diagram: handlers/closing.md)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import ClosingAction, ClosingReview, ClosingStep
from bot.context import BotContext
from bot.messages import keyboard
from bot.public import publish_soon
from bot.services import closing, evidence, review
from bot.services.closing import PREVIEW, STEPS, Outcome
from bot.services.conversation import Said
from bot.services.months import Month
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
)
from handlers.evidence import send_evidence_to


def this_month(context: BotContext) -> str:
    return str(Month.of(context.now().astimezone(context.state.settings.timezone)))


def open_button(context: BotContext, project_id: int) -> InlineKeyboardMarkup:
    """填写结题报告 under an invitation, a reminder or a return notice."""
    return keyboard(
        [[(label(context, "closing_open"), ClosingStep(project_id, "-", "open").pack())]]
    )


def _markup(context: BotContext, outcome: Outcome) -> InlineKeyboardMarkup | None:
    view = outcome.view
    if outcome.kind == "choose":
        return keyboard(
            [
                [(p.name or "", ClosingStep(p.id, "-", "open").pack())]
                for p in outcome.params["projects"]
            ]
        )
    if view is None or outcome.kind in (
        "submitted",
        "cancelled",
        "closed_meanwhile",
        "already_submitted",
        "already_accepted",
    ):
        return None
    cid, step = view.closing.id, view.step

    def press(action: ClosingAction, arg: str = "", at: str = step) -> str:
        return ClosingStep(cid, at, action, arg).pack()

    if outcome.kind == "edit_menu":
        return edit_menu(context, closing.CLOSING, view, press)
    if step == PREVIEW:
        return keyboard(preview_rows(context, press))
    rows = []
    if step == "files":
        row = [
            (label(context, "files_done") if view.files else label(context, "skip"), press("next"))
        ]
        if view.files:
            row.append((label(context, "clear_files"), press("clear")))
        rows.append(row)
    return keyboard([*rows, step_row(context, view, press, step == STEPS[0])])


# Outcomes whose message asks the open question (or shows the preview) again.
ASKS = frozenset({
    "ask", "edit_menu", "saved", "changed", "started", "resume", "resume_returned",
    "first_step", "edit_cancelled", "text_only", "use_buttons", "send_files", "empty",
    "too_long", "too_short", "file_added", "file_duplicate", "files_full", "files_cleared",
})  # fmt: skip


async def show(context: BotContext, chat_id: int, outcome: Outcome, lead: str = "") -> None:
    """One message: what happened (after `lead`), then the question now open; earlier
    questions lose their buttons and this one is recorded for edits and replies."""
    view = outcome.view
    # Typing at the preview: the preview above keeps the one live 提交.
    typed_at_preview = view is not None and view.step == PREVIEW and outcome.kind in (
        "use_buttons", "send_files", "text_only")  # fmt: skip
    asks = view is not None and outcome.kind in ASKS and not typed_at_preview
    said = None if outcome.kind in ("ask", "edit_menu") else "closing/outcome.html"
    asked = asking(outcome) if asks else ""
    prompt = f"closing/{asked}.html" if asked else None
    text = step_text(context, outcome, lead, said, prompt)
    question = (closing.FLOW, view.closing.id, view.step) if asks and view is not None else None
    markup = None if typed_at_preview else _markup(context, outcome)
    await send_question(context, chat_id, text, markup, question)


async def answer(context: BotContext, user_id: int, said: Said) -> None:
    """A typed answer, bound by the engine to its question."""
    who = await context.who(user_id)
    outcome = await closing.answer(context.db, who, said.text, context.now(), said)
    if said.at is not None and outcome.kind != "changed" and outcome.view is not None:
        # Refused out of turn: say why under the question that is open (whose buttons work).
        current = await closing.current(context.db, who)
        outcome = Outcome(outcome.kind, current.view or outcome.view, outcome.params)
    await show(context, user_id, outcome)


async def plausible(context: BotContext, user_id: int, text: str) -> bool:
    """Whether the text also answers the open question."""
    return await closing.plausible(context.db, await context.who(user_id), text)


async def again(context: BotContext, user_id: int, lead: str) -> None:
    """The open question again, after `lead`."""
    await show(context, user_id, await closing.current(context.db, await context.who(user_id)),
               lead)  # fmt: skip


async def closing_command(update: Update, context: BotContext) -> None:
    """/closing: write (or go on with) the project's closing report."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(
        context,
        user.id,
        await closing.open_closing(context.db, who, this_month(context), context.now()),
    )


async def on_message(update: Update, context: BotContext) -> None:
    """A message while writing: an answer, a photo or document, or the wrong kind."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    db, now = context.db, context.now()
    who = await context.who(user.id)
    if message.photo:
        photo = message.photo[-1]
        outcome = await closing.add_file(db, who, "photo", photo.file_id, photo.file_unique_id, now)
    elif message.document:
        doc = message.document
        outcome = await closing.add_file(db, who, "document", doc.file_id, doc.file_unique_id, now)
    elif message.text is None:
        outcome = await closing.wrong_kind(db, who)
    else:
        outcome = await closing.answer(db, who, message.text, now,
                                       Said(message.text, message.message_id))  # fmt: skip
    await show(context, user.id, outcome)


async def on_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel."""
    user = update.effective_user
    assert user is not None
    await show(
        context,
        user.id,
        await closing.cancel(context.db, await context.who(user.id), context.now()),
    )


async def on_back(update: Update, context: BotContext) -> None:
    """上一步 typed."""
    user = update.effective_user
    assert user is not None
    await show(
        context, user.id, await closing.back(context.db, await context.who(user.id), context.now())
    )


async def on_button(update: Update, context: BotContext) -> None:
    """A button of the closing report; stale or forged ones change nothing."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ClosingStep.parse(query.data or "")
    who = await context.who(user.id)
    outcome = Outcome("stale")
    if button is not None:
        outcome = await closing.button(
            context.db,
            who,
            button.subject_id,
            button.step,
            button.action,
            button.arg,
            this_month(context),
            context.now(),
        )
    if outcome.kind == "stale":
        await alert_stale(update, context)
        return
    await answer_query(update)
    if button is not None and button.action != "open":
        await drop_buttons(update, context)
    await show(context, user.id, outcome)
    if outcome.kind == "submitted" and outcome.view is not None:
        await send_to_admins(context, outcome)


async def send_to_admins(context: BotContext, outcome: Outcome) -> None:
    """The submitted closing report, with 通过结题 / 退回修改, to each deciding admin."""
    view = outcome.view
    assert view is not None
    c, markup = view.closing, _decision(context, outcome)
    text = context.texts.html("closing/for_admin.html", v=view, tz=context.state.settings.timezone)
    albums = evidence.albums((f.kind, f.file_id) for f in view.files)
    for admin_id in await review.deciders(context.db, view.project):
        # The evidence first, so that 通过结题 / 退回修改 stay at the bottom of the chat.
        await send_evidence_to(context, [admin_id], albums, "closing", project=view.project,
                               round=c.round)  # fmt: skip
        await tell(context, admin_id, text, markup)


async def _tell_secretary(context: BotContext, outcome: Outcome, *, again: bool) -> str:
    """Tell the project's secretary the decision: "told", "unbound" or "failed", for the
    admin's reply to say what really happened."""
    view = outcome.view
    assert view is not None
    text = context.texts.html("closing/to_secretary.html", o=outcome, v=view)
    markup = open_button(context, view.project.id) if again else None
    return await tell(context, await review.secretary_of(context.db, view.project), text, markup)


async def review_button(update: Update, context: BotContext) -> None:
    """通过结题 or 退回修改: admins above the project's organization only (outside their
    subtree the button is as dead as a stale one), for the round the message was about."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ClosingReview.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    outcome = await closing.decide(
        context.db, user.id, button.closing_id, button.round, button.action,
        this_month(context), context.now(),
    )  # fmt: skip
    if outcome.kind in ("not_admin", "own"):
        alert = context.texts.plain(f"closing/{outcome.kind}_alert.txt")
        await answer_query(update, alert, alert=True)
        return
    if outcome.kind == "stale":  # an earlier round's or already decided report
        await alert_stale(update, context)
        return
    await answer_query(update)
    await drop_buttons(update)
    told = (
        await _tell_secretary(context, outcome, again=False) if outcome.kind == "accepted" else ""
    )
    await send_long(
        context,
        user.id,
        context.texts.html("closing/outcome.html", o=outcome, v=outcome.view, told=told),
    )
    if outcome.kind == "accepted":
        await publish_soon(context)  # the 晒效果, in the 晒 channels covering the project


def _decision(context: BotContext, outcome: Outcome) -> InlineKeyboardMarkup | None:
    """通过结题 / 退回修改 under a submitted report."""
    if outcome.view is None:
        return None
    c = outcome.view.closing
    return keyboard(
        [
            [
                (label(context, "closing_accept"), ClosingReview(c.id, c.round, "a").pack()),
                (label(context, "return"), ClosingReview(c.id, c.round, "r").pack()),
            ]
        ]
    )


async def on_reason(update: Update, context: BotContext) -> None:
    """The admin's message after 退回修改: the reason."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        outcome = Outcome("reason_text_only")
    else:
        outcome = await closing.give_reason(context.db, user.id, message.text, context.now())
    told = await _tell_secretary(context, outcome, again=True) if outcome.kind == "returned" else ""
    await send_long(
        context,
        user.id,
        context.texts.html("closing/outcome.html", o=outcome, v=outcome.view, told=told),
    )


async def on_reason_cancel(update: Update, context: BotContext) -> None:
    """取消 while typing the reason: the report stays submitted, its buttons again."""
    user = update.effective_user
    assert user is not None
    outcome = await closing.cancel_reason(context.db, user.id)
    await send_long(
        context,
        user.id,
        context.texts.html("closing/outcome.html", o=outcome, v=outcome.view),
        _decision(context, outcome),
    )


async def close_early_command(update: Update, context: BotContext) -> None:
    """/close_early <编号> <原因>: open the closing report before the last month."""
    user = update.effective_user
    assert user is not None
    number, _, reason = " ".join(context.args or []).strip()[:600].partition(" ")
    if not number:
        outcome = Outcome("early_usage")
    else:
        outcome = await closing.open_early(
            context.db, user.id, number[:30], reason, this_month(context), context.now()
        )
    told = "unbound"
    if outcome.kind == "early_opened":
        text = context.texts.html("closing/early_secretary.html", o=outcome)
        markup = open_button(context, outcome.params["project"].id)
        told = await tell(context, outcome.params["secretary"], text, markup)
    await send_long(
        context, user.id, context.texts.html("closing/outcome.html", o=outcome, v=None, told=told)
    )


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("closing", closing_command, filters=PRIVATE),
        *admin_command("close_early", close_early_command, levels=True),
        CallbackQueryHandler(on_button, pattern=ClosingStep.route()),
        CallbackQueryHandler(review_button, pattern=ClosingReview.route()),
    ]

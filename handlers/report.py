"""单月报告: the secretary's monthly report conversation (rules in bot/services/reporting.py).

See report.md for the state diagram. Buttons carry bot/callbacks.py's ReportStep and
ReportPick (choosing a project).
"""

from __future__ import annotations

import logging

from telegram import InlineKeyboardMarkup, Update
from telegram.error import BadRequest, TelegramError
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import ReportAction, ReportPick, ReportsGroup, ReportStep
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import reporting
from bot.services.conversation import Said
from bot.services.months import Month
from bot.services.reporting import PREVIEW, Outcome
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
    reply,
    send_long,
    send_question,
    step_row,
    step_text,
    tell,
)

logger = logging.getLogger(__name__)

PERCENTS = list(range(0, 101, 10))
BUTTON_TEXT = 28  # milestone labels are cut to keep buttons readable on a phone


def pick_button(
    context: BotContext, project_id: int, period: Month | None = None
) -> InlineKeyboardMarkup:
    """The 填写月报 button (for reminders and reopen notices, which name their month)."""
    data = ReportPick(project_id, period).pack()
    return keyboard([[(label(context, "open_report"), data)]])


def _markup(context: BotContext, outcome: Outcome) -> InlineKeyboardMarkup | None:
    kind, view = outcome.kind, outcome.view
    if kind == "choose":
        period = outcome.params.get("period")  # a month typed after /report, kept on
        return keyboard(
            [[(c.project.name or "", ReportPick(c.project.id, period).pack())]
             for c in outcome.params["choices"] if c.state == "open"]
        )  # fmt: skip
    if kind == "choose_month":
        return keyboard(
            [[(context.texts.plain("report/month_button.txt", c=c),
               ReportPick(c.project.id, c.period).pack())]
             for c in outcome.params["choices"]]
        )  # fmt: skip
    if view is None or kind in ("submitted", "cancelled", "closed_meanwhile", "period_closed",
                                "edited_draft", "edited_closed"):  # fmt: skip
        return None
    rid, step = view.report.id, view.step
    if kind == "use_buttons" and step == PREVIEW:
        return None  # the preview above keeps the one live 提交

    def press(action: ReportAction, arg: str = "", at: str = step) -> str:
        return ReportStep(rid, at, action, arg).pack()

    if kind in ("already_submitted", "file_after_submit", "edited_submitted"):
        return keyboard([[(label(context, "edit_report"), press("edit_submitted", at="-"))]])
    if kind == "edit_menu":
        return edit_menu(context, reporting.REPORT, view, press)
    if step == PREVIEW:
        return keyboard(preview_rows(context, press))
    rows: list[list[tuple[str, str]]] = []
    if step == "milestones":
        for m in view.open_milestones:
            text = context.texts.plain("report/milestone_button.txt", m=m,
                                       ticked=m.id in view.ticked)  # fmt: skip
            rows.append([(text[:BUTTON_TEXT], press("toggle", str(m.id)))])
        rows.append([(label(context, "next"), press("next"))])
    elif step == "completion":
        buttons = [(f"{p}%", press("pct", str(p))) for p in PERCENTS]
        rows.extend(buttons[i : i + 4] for i in range(0, len(buttons), 4))
    elif step == "problems":
        rows.append([(label(context, "none"), press("none"))])
    elif step == "files":
        photos = [f for f in view.files if f.kind == "photo"]
        for number, photo in enumerate(photos, start=1):
            text = context.texts.plain("report/public_button.txt", n=number, f=photo)
            rows.append([(text[:BUTTON_TEXT], press("public", str(photo.id)))])
        key = "files_done" if view.files else "skip"
        rows.append([(label(context, key), press("next"))])
        if view.files:
            rows.append([(label(context, "clear_files"), press("clear"))])
    rows.append(step_row(context, view, press, step == reporting.STEPS[0]))
    return keyboard(rows)


def _asks(outcome: Outcome) -> bool:
    """Whether the message shows the open question (or the preview) again."""
    view = outcome.view
    typed_at_preview = outcome.kind == "use_buttons" and view is not None and view.step == PREVIEW
    return view is not None and not typed_at_preview and outcome.kind not in (
        "submitted", "cancelled", "already_submitted", "file_after_submit", "closed_meanwhile",
        "period_closed", "edited_submitted", "edited_draft", "edited_closed",
    )  # fmt: skip


def _render(context: BotContext, outcome: Outcome, lead: str = "") -> str:
    quiet = outcome.kind in ("ask", "edit_menu", "toggled")
    said = None if quiet else f"report/{outcome.kind}.html"
    asked = asking(outcome) if _asks(outcome) else ""
    prompt = f"report/{asked}.html" if asked else None
    return step_text(context, outcome, lead, said, prompt)


async def show(context: BotContext, chat_id: int, outcome: Outcome, lead: str = "") -> None:
    """One message: what happened (after `lead`), then the open question, with its buttons."""
    view = outcome.view
    question = (reporting.FLOW, view.report.id, view.step) if view and _asks(outcome) else None
    await send_question(context, chat_id, _render(context, outcome, lead),
                        _markup(context, outcome), question)  # fmt: skip


async def answer(context: BotContext, user_id: int, said: Said) -> None:
    """A typed answer, bound by the engine to its question."""
    who = await context.who(user_id)
    outcome = await reporting.answer(context.db, context.state.calendar, who, said.text,
                                     context.now(), said)  # fmt: skip
    if said.at is not None and outcome.kind != "changed" and outcome.view is not None:
        # Refused out of turn: say why under the question that is open (whose buttons work).
        current = await reporting.current(context.db, context.state.calendar, who, context.now())
        outcome = Outcome(outcome.kind, current.view or outcome.view, outcome.params)
    await show(context, user_id, outcome)


async def plausible(context: BotContext, user_id: int, text: str) -> bool:
    """Whether the text also answers the open question."""
    who = await context.who(user_id)
    return await reporting.plausible(context.db, context.state.calendar, who, text,
                                     context.now())  # fmt: skip


async def again(context: BotContext, user_id: int, lead: str) -> None:
    """The open question again, after `lead`."""
    who = await context.who(user_id)
    outcome = await reporting.current(context.db, context.state.calendar, who, context.now())
    await show(context, user_id, outcome, lead)


async def report_command(update: Update, context: BotContext) -> None:
    """/report [期间]: this month's report for the secretary's project (or a choice of
    projects, or of the months open); a month typed after it opens that month's report."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or []).strip()
    period = reporting.parse_period(query) if query else None
    if query and period is None:
        await reply(update, context, "report/report_usage.html", query=query[:20])
        return
    outcome = await reporting.open_report(
        context.db, context.state.calendar, await context.who(user.id), context.now(),
        period=period,
    )  # fmt: skip
    await show(context, user.id, outcome)


async def on_message(update: Update, context: BotContext) -> None:
    """A message while the report is open: an answer, a photo or document, or the wrong kind."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    db, cal, now = context.db, context.state.calendar, context.now()
    who = await context.who(user.id)
    if message.photo:
        photo = message.photo[-1]  # the largest size
        outcome = await reporting.add_file(db, cal, who, "photo", photo.file_id,
                                           photo.file_unique_id, now)  # fmt: skip
    elif message.document:
        doc = message.document
        outcome = await reporting.add_file(db, cal, who, "document", doc.file_id,
                                           doc.file_unique_id, now)  # fmt: skip
    elif message.text is None:
        outcome = await reporting.wrong_kind(db, cal, who, now)
    else:
        said = Said(message.text, message.message_id)
        outcome = await reporting.answer(db, cal, who, message.text, now, said)
    await show(context, user.id, outcome)


async def on_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel: leave (from changing one item: back to the preview)."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(
        context,
        user.id,
        await reporting.cancel(context.db, context.state.calendar, who, context.now()),
    )


async def on_back(update: Update, context: BotContext) -> None:
    """上一步 typed: the previous question that applies."""
    user = update.effective_user
    assert user is not None
    who = await context.who(user.id)
    await show(
        context,
        user.id,
        await reporting.back(context.db, context.state.calendar, who, context.now()),
    )


async def on_button(update: Update, context: BotContext) -> None:
    """A report button; stale, forged or someone else's change nothing."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    db, cal, now = context.db, context.state.calendar, context.now()
    data = query.data or ""
    pick, button = ReportPick.parse(data), ReportStep.parse(data)
    if pick is not None:
        who = await context.who(user.id)
        outcome = await reporting.open_report(db, cal, who, now, pick.project_id, pick.period)
    elif button is not None:
        who = await context.who(user.id)
        outcome = await reporting.button(db, cal, who, button.report_id, button.step,
                                         button.action, button.arg, now)  # fmt: skip
    else:
        outcome = Outcome("stale")
    if outcome.kind == "stale":
        await alert_stale(update, context)
        again = await reporting.current(db, cal, await context.who(user.id), now)
        if again.view is not None:
            await show(context, user.id, again)
        return
    await answer_query(update)
    if outcome.kind == "toggled":
        # Ticking a milestone redraws the same message instead of sending a new one.
        try:
            await query.edit_message_text(_render(context, outcome),
                                          reply_markup=_markup(context, outcome))  # fmt: skip
            return
        except TelegramError as exc:
            logger.debug("could not redraw the toggles: %s", exc)
    await drop_buttons(update, context)
    await show(context, user.id, outcome)
    # Filed late: the clock's next tick sends the drafts it changes (reporting.submit marks it).


# -- admins -------------------------------------------------------------------------------------


async def reopen_command(update: Update, context: BotContext) -> None:
    """/reopen <项目编号> <期间>: let the secretary file or change a closed month's report."""
    user = update.effective_user
    assert user is not None
    result = await reporting.reopen(
        context.db, context.state.calendar, user.id, list(context.args or [])[:3], context.now()
    )
    tz = context.state.settings.timezone
    await context.bot.send_message(
        user.id, context.texts.html(f"report/reopen_{result.outcome}.html", r=result, tz=tz)
    )
    if result.outcome == "reopened" and result.secretary_id and result.project:
        text = context.texts.html("report/reopened_secretary.html", r=result, tz=tz)
        markup = pick_button(context, result.project.id, result.period)
        await tell(context, result.secretary_id, text, markup)


GROUPS_A_ROW = 2  # sub-organization buttons side by side under /reports


def _groups_markup(
    context: BotContext, status: reporting.PeriodStatus
) -> InlineKeyboardMarkup | None:
    """A button per sub-organization listed: expand it, or fold the expanded one up."""
    if status.period is None or not status.shown:
        return None
    buttons = []
    for branch in status.shown:
        is_open = branch.org.id == status.expanded
        target = None if is_open else branch.org.id
        text = context.texts.plain("report/group_button.txt", b=branch, open=is_open)
        buttons.append((text, ReportsGroup(status.period, target).pack()))
    rows = [buttons[i : i + GROUPS_A_ROW] for i in range(0, len(buttons), GROUPS_A_ROW)]
    return keyboard(rows)


def _status_html(context: BotContext, status: reporting.PeriodStatus, query: str = "") -> str:
    return context.texts.html(f"report/status_{status.outcome}.html", s=status, query=query,
                              tz=context.state.settings.timezone)  # fmt: skip


async def reports_command(update: Update, context: BotContext) -> None:
    """/reports [期间]: the month's totals, then who to chase (未报, 逾期, 填写中) grouped by
    sub-organization, each a line with a button that lists its projects."""
    user = update.effective_user
    assert user is not None
    text = " ".join(context.args or [])[:20]
    scope = await context.admin_scope(user.id)
    status = await reporting.period_status(context.db, context.state.calendar, text,
                                           context.now(), scope)  # fmt: skip
    await send_long(context, user.id, _status_html(context, status, text),
                    _groups_markup(context, status))  # fmt: skip


async def reports_group_button(update: Update, context: BotContext) -> None:
    """A sub-organization's button under /reports: list its projects to chase in place (or
    fold them up); the admin's scope is checked again, a forged or garbled one refused."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ReportsGroup.parse(query.data or "")
    scope = await context.admin_scope(user.id)
    if button is None or scope is None:
        await alert_stale(update, context)
        return
    status = await reporting.status_of(context.db, context.state.calendar, button.period,
                                       scope, expand=button.org_id)  # fmt: skip
    if status.outcome != "ok":
        await alert_stale(update, context)
        return
    await answer_query(update)
    html, markup = _status_html(context, status), _groups_markup(context, status)
    message = query.message
    if message is not None:
        try:
            await context.bot.edit_message_text(html, chat_id=message.chat.id,
                                                message_id=message.message_id,
                                                reply_markup=markup)  # fmt: skip
            return
        except BadRequest as exc:
            if "not modified" in str(exc):  # pressed twice: it shows this already
                return
            logger.info("could not expand /reports in place: %s", exc)
    # A message Telegram no longer lets the bot edit: the list goes out as a new one.
    await send_long(context, user.id, html, markup)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("report", report_command, filters=PRIVATE),
        CallbackQueryHandler(on_button, pattern=ReportStep.route()),  # ReportPick's too
        *admin_command("reopen", reopen_command, levels=True),
        *admin_command("reports", reports_command, levels=True),
        CallbackQueryHandler(reports_group_button, pattern=ReportsGroup.route()),
    ]

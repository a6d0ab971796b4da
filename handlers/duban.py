"""督办单: /duban (issue), the secretary's 签收 / 反馈, the admin's 办结 / 退回, lists.

Buttons (bot/callbacks.py): drafting DubanDraft; the secretary's notice DubanNotice;
answering DubanAnswer; review DubanReview. Every one is checked against the notice's state
in the service.
"""

from __future__ import annotations

from typing import Any

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler

from bot.callbacks import DubanAnswer, DubanAnswerAction, DubanDraft, DubanNotice, DubanReview
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import duban, evidence, scopes
from bot.services.conversation import PREVIEW
from bot.services.duban import Outcome
from handlers.buttons import alert_stale
from handlers.common import (
    admin_command,
    answer_query,
    drop_buttons,
    label,
    send_long,
    send_question,
    tell,
)
from handlers.evidence import send_evidence_to


def _html(context: BotContext, template: str, o: Outcome, **extra: Any) -> str:
    return context.texts.html(template, o=o, v=o.view, tz=context.state.settings.timezone,
                              **extra)  # fmt: skip


def answer_button(context: BotContext, view: duban.NoticeView) -> InlineKeyboardMarkup:
    n = view.notice
    return keyboard([[(label(context, "duban_answer"), DubanNotice(n.id, "ans", n.round).pack())]])


def review_buttons(
    context: BotContext, view: duban.NoticeView | None
) -> InlineKeyboardMarkup | None:
    """办结 / 退回 for an answered notice (also under /duban_show, so nothing gets stuck)."""
    if view is None or view.notice.status != "answered":
        return None
    n = view.notice
    close = (label(context, "duban_close"), DubanReview(n.id, n.round, "c").pack())
    back = (label(context, "duban_return"), DubanReview(n.id, n.round, "r").pack())
    return keyboard([[close, back]])


def _draft_markup(context: BotContext, o: Outcome) -> InlineKeyboardMarkup | None:
    view = o.view
    if view is None:
        return None
    nid, step = view.notice.id, view.step
    cancel = (label(context, "cancel"), DubanDraft(nid, step, "cancel").pack())
    if step == "deadline":
        days = [(context.texts.plain("duban/days_button.txt", days=d),
                 DubanDraft(nid, step, "days", str(d)).pack())
                for d in duban.DAY_CHOICES]  # fmt: skip
        return keyboard([days, [cancel]])
    if step == PREVIEW:
        send = DubanDraft(nid, step, "send").pack()
        return keyboard([[(label(context, "duban_send"), send), cancel]])
    return keyboard([[cancel]])


def _answer_markup(context: BotContext, o: Outcome) -> InlineKeyboardMarkup | None:
    view = o.view
    if view is None or o.kind != "ask":
        return None
    nid, step = view.notice.id, view.step

    def press(key: str, action: DubanAnswerAction) -> tuple[str, str]:
        return label(context, key), DubanAnswer(nid, step, action).pack()

    cancel, back = press("cancel", "cancel"), press("back", "back")
    if step == "files":
        key = "files_done" if view.notice.feedback_files else "skip"
        rows = [[press(key, "next")]]
        if view.notice.feedback_files:
            rows.append([press("clear_files", "clear")])
        return keyboard([*rows, [back, cancel]])
    if step == PREVIEW:
        return keyboard([[press("submit", "submit")], [back, cancel]])
    if view.notice.feedback:
        return keyboard([[press("duban_keep", "keep")], [cancel]])
    return keyboard([[cancel]])


async def _alert(update: Update, context: BotContext, o: Outcome) -> None:
    """A refused press: stale like every other button's, or who may press it."""
    if o.kind == "stale":
        await alert_stale(update, context)
    else:
        await answer_query(update, context.texts.plain(f"duban/{o.kind}_alert.txt"), alert=True)


# -- issuing ------------------------------------------------------------------------------------


async def duban_command(update: Update, context: BotContext) -> None:
    """/duban <项目编号> <发现的问题> [| 整改要求 | 期限]."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None and message.text is not None
    text = message.text.partition(" ")[2]
    o = await duban.start_issue(context.db, context.state.calendar, user.id, text, context.now())
    await show_draft(context, user.id, o)


async def show_draft(context: BotContext, chat_id: int, o: Outcome) -> None:
    """One message: the problem with the last answer if any, then the open question."""
    question = None
    if o.kind == "ask" and o.view is not None:
        text = _html(context, f"duban/ask_{o.view.step}.html", o)
        question = (duban.ISSUE_FLOW, o.view.notice.id, o.view.step)
    else:
        text = _html(context, f"duban/issue_{o.kind}.html", o)
    await send_question(context, chat_id, text,
                        _draft_markup(context, o) if o.kind == "ask" else None,
                        question)  # fmt: skip


async def on_draft_message(update: Update, context: BotContext) -> None:
    """Text while drafting a notice (整改要求, 期限)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    o = await duban.issue_text(context.db, context.state.calendar, user.id, message.text,
                               context.now())  # fmt: skip
    await show_draft(context, user.id, o)


async def on_draft_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel while drafting: the draft is dropped."""
    user = update.effective_user
    assert user is not None
    await show_draft(context, user.id, await duban.issue_leave(context.db, user.id))


async def on_draft_back(update: Update, context: BotContext) -> None:
    """上一步 typed while drafting."""
    user = update.effective_user
    assert user is not None
    o = await duban.issue_back(context.db, context.state.calendar, user.id, context.now())
    await show_draft(context, user.id, o)


async def on_draft_button(update: Update, context: BotContext) -> None:
    """3天/7天/15天/30天, 下发, 取消 while drafting."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = DubanDraft.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    o = await duban.issue_button(context.db, context.state.calendar, user.id, button.notice_id,
                                 button.step, button.action, button.arg, context.now())  # fmt: skip
    if o.kind in ("stale", "not_admin", "own"):
        await _alert(update, context, o)
        return
    await answer_query(update)
    await drop_buttons(update, context)
    if o.kind != "issued" or o.view is None:
        await show_draft(context, user.id, o)
        return
    view = o.view
    secretary = view.secretary.user_id if view.secretary is not None else None
    data = DubanNotice(view.notice.id, "sign", 1).pack()
    sign = keyboard([[(label(context, "duban_sign"), data)]])
    told = await tell(context, secretary, _html(context, "duban/notice.html", o), sign)
    await send_long(context, user.id, _html(context, "duban/issued_admin.html", o,
                                            reached=told == "told"))  # fmt: skip


# -- the secretary ------------------------------------------------------------------------------


async def on_notice_button(update: Update, context: BotContext) -> None:
    """签收 or 反馈整改情况 on a notice; only the project's secretary."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = DubanNotice.parse(query.data or "")
    cal, now = context.state.calendar, context.now()
    if button is None:
        o = Outcome("stale")
    elif button.action == "sign":
        o = await duban.sign(context.db, cal, user.id, button.notice_id, now)
    else:
        o = await duban.start_answer(context.db, cal, user.id, button.notice_id, button.round,
                                     now)  # fmt: skip
    if o.kind in ("not_yours", "stale"):
        await _alert(update, context, o)
        return
    await answer_query(update)
    if o.kind == "signed" and o.view is not None:
        await drop_buttons(update, context)
        await send_long(context, user.id, _html(context, "duban/signed.html", o),
                        answer_button(context, o.view))  # fmt: skip
    elif o.kind in ("already_signed", "sign_first") and o.view is not None:
        markup = answer_button(context, o.view) if o.view.notice.status == "signed" else None
        await send_long(context, user.id, _html(context, f"duban/{o.kind}.html", o), markup)
    else:
        await show_answer(context, user.id, o)


async def show_answer(context: BotContext, chat_id: int, o: Outcome) -> None:
    """The answering conversation's next message."""
    question = None
    if o.kind == "ask" and o.view is not None:
        text = _html(context, f"duban/answer_{o.view.step}.html", o)
        question = (duban.ANSWER_FLOW, o.view.notice.id, o.view.step)
    else:
        text = _html(context, f"duban/{o.kind}.html", o)
    await send_question(context, chat_id, text, _answer_markup(context, o), question)


async def on_answer_message(update: Update, context: BotContext) -> None:
    """Text, a photo or a document while answering a notice."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    file = None
    if message.photo:
        file = ("photo", message.photo[-1].file_id, message.photo[-1].file_unique_id)
    elif message.document:
        file = ("document", message.document.file_id, message.document.file_unique_id)
    text = message.text if message.text is not None else message.caption
    o = await duban.answer_message(context.db, context.state.calendar, user.id, text,
                                   file, context.now())  # fmt: skip
    if o.kind == "ask" and o.view is not None and file is None and text is None:
        o = Outcome("ask", o.view, {"problem": "text_only" if o.view.step == "text"
                                    else "send_files"})  # fmt: skip
    await show_answer(context, user.id, o)


async def on_answer_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel while answering a notice."""
    user = update.effective_user
    assert user is not None
    o = await duban.answer_leave(context.db, context.state.calendar, user.id, context.now())
    await show_answer(context, user.id, o)


async def on_answer_back(update: Update, context: BotContext) -> None:
    """上一步 typed while answering a notice."""
    user = update.effective_user
    assert user is not None
    o = await duban.answer_back(context.db, context.state.calendar, user.id, context.now())
    await show_answer(context, user.id, o)


async def on_answer_button(update: Update, context: BotContext) -> None:
    """完成 / 跳过 / 提交 / 上一步 / 取消 while answering."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = DubanAnswer.parse(query.data or "")
    o = Outcome("stale") if button is None else await duban.answer_button(
        context.db, context.state.calendar, user.id, button.notice_id, button.step,
        button.action, context.now())  # fmt: skip
    if o.kind == "stale":
        await alert_stale(update, context)
        return
    await answer_query(update)
    await drop_buttons(update, context)
    await show_answer(context, user.id, o)
    if o.kind == "answered" and o.view is not None:
        review = review_buttons(context, o.view)
        text = _html(context, "duban/feedback_admin.html", o)
        albums = evidence.albums(o.view.notice.feedback_files)
        for admin_id in await duban.admins_for(context.db, o.view.notice.id):
            # The evidence first, so that 办结 / 退回 stay at the bottom of the chat.
            await send_evidence_to(context, [admin_id], albums, "duban", notice=o.view.notice)
            await tell(context, admin_id, text, review)


# -- closing or returning -----------------------------------------------------------------------


async def on_review_button(update: Update, context: BotContext) -> None:
    """办结 or 退回 on a feedback; only admins, only for its round."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = DubanReview.parse(query.data or "")
    cal, now = context.state.calendar, context.now()
    if button is None:
        o = Outcome("stale")
    elif button.action == "c":
        o = await duban.close(context.db, cal, user.id, button.notice_id, button.round, now)
    else:
        o = await duban.ask_return(context.db, cal, user.id, button.notice_id, button.round, now)
    if o.kind in ("stale", "not_admin", "own"):
        await _alert(update, context, o)
        return
    await answer_query(update)
    await drop_buttons(update, context)
    await send_long(context, user.id, _html(context, f"duban/{o.kind}_admin.html", o))
    if o.kind == "closed" and o.view and o.view.secretary:
        await tell(
            context, o.view.secretary.user_id, _html(context, "duban/closed_secretary.html", o)
        )


async def on_reason_message(update: Update, context: BotContext) -> None:
    """The admin's reason after 退回."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        await send_long(context, user.id, context.texts.html("duban/reason_text_only.html"))
        return
    o = await duban.give_return_reason(context.db, context.state.calendar, user.id,
                                       message.text, context.now())  # fmt: skip
    await send_long(context, user.id, _html(context, f"duban/{o.kind}_admin.html", o))
    if o.kind == "returned" and o.view and o.view.secretary:
        await tell(context, o.view.secretary.user_id,
                  _html(context, "duban/returned_secretary.html", o),
                  answer_button(context, o.view))  # fmt: skip


async def on_reason_cancel(update: Update, context: BotContext) -> None:
    """取消 typed or /cancel instead of a reason: 办结 / 退回 are offered again."""
    user = update.effective_user
    assert user is not None
    o = await duban.return_leave(context.db, context.state.calendar, user.id, context.now())
    await send_long(context, user.id, _html(context, f"duban/{o.kind}_admin.html", o),
                    review_buttons(context, o.view))  # fmt: skip


# -- lists --------------------------------------------------------------------------------------


async def list_command(update: Update, context: BotContext) -> None:
    """/duban_list [状态]: notices with status and days left or overdue."""
    user = update.effective_user
    assert user is not None
    result = await duban.list_notices(context.db, context.state.calendar,
                                      " ".join(context.args or [])[:20], context.now(),
                                      await context.admin_scope(user.id))  # fmt: skip
    await send_long(context, user.id, context.texts.html(f"duban/list_{result.outcome}.html",
                                                         r=result))  # fmt: skip


async def show_command(update: Update, context: BotContext) -> None:
    """/duban_show <号>: one notice with its whole history."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or []).strip()[:40]
    cal, now = context.state.calendar, context.now()
    scope = await context.admin_scope(user.id)
    notice = await duban.find(context.db, query, now, cal, scope) if query else None
    view = await duban.view_of(context.db, cal, notice.id, now) if notice else None
    if view is not None and view.notice.feedback_files:
        await send_evidence_to(context, [user.id], evidence.albums(view.notice.feedback_files),
                               "duban", notice=view.notice)  # fmt: skip
    name = "duban/show.html" if view else "duban/show_not_found.html"
    text = context.texts.html(name, v=view, query=query, tz=context.state.settings.timezone)
    # 办结 / 退回 only for whoever may decide it (nobody supervises their own organization).
    decides = view is not None and await scopes.decides_for(context.db, user.id,
                                                            view.project.org_id)  # fmt: skip
    await send_long(context, user.id, text, review_buttons(context, view) if decides else None)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        *admin_command("duban", duban_command, levels=True),
        *admin_command("duban_list", list_command, levels=True),
        *admin_command("duban_show", show_command, levels=True),
        CallbackQueryHandler(on_draft_button, pattern=DubanDraft.route()),
        CallbackQueryHandler(on_notice_button, pattern=DubanNotice.route()),
        CallbackQueryHandler(on_answer_button, pattern=DubanAnswer.route()),
        CallbackQueryHandler(on_review_button, pattern=DubanReview.route()),
    ]

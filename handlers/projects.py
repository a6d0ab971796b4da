"""/projects (a list, filtered and paged) and /project <编号> (one project's card)."""

from __future__ import annotations

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot.callbacks import ProjectsPage
from bot.context import BotContext
from bot.messages import keyboard
from bot.services import acceptance, adjust, people
from bot.services import projects as catalog
from bot.services.months import Month
from handlers.acceptance import rules
from handlers.adjust import open_button
from handlers.buttons import alert_stale
from handlers.common import PRIVATE, answer_query, label, reply, send_long

MAX_QUERY = 100


def _pager(context: BotContext, result: catalog.ProjectList) -> InlineKeyboardMarkup | None:
    if result.pages <= 1:
        return None
    org_id = result.org.id if result.org else None

    def page(number: int) -> str:
        return ProjectsPage(number, result.status, org_id).pack()

    row = []
    if result.page > 0:
        row.append((label(context, "prev_page"), page(result.page - 1)))
    if result.page + 1 < result.pages:
        row.append((label(context, "next_page"), page(result.page + 1)))
    return keyboard([row]) if row else None


def _reporting_month(context: BotContext) -> Month:
    """The month whose reports are being collected now (/projects 未报 filters by it)."""
    return context.state.calendar.current_period(context.now())


async def _send_list(context: BotContext, chat_id: int, result: catalog.ProjectList) -> None:
    text = context.texts.html(f"projects/list_{result.outcome}.html", r=result)
    await send_long(context, chat_id, text, _pager(context, result))


async def list_command(update: Update, context: BotContext) -> None:
    """Show projects: a secretary their own, an admin all (by status or organization)."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or [])[:MAX_QUERY]
    who = await people.identify(context.db, user.id)
    result = await catalog.list_projects(context.db, who, query=query,
                                         period=_reporting_month(context))  # fmt: skip
    await _send_list(context, user.id, result)


async def page_button(update: Update, context: BotContext) -> None:
    """‹ 上一页 / 下一页 ›: the same filter, another page; rights are checked again."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = ProjectsPage.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    await answer_query(update)
    who = await people.identify(context.db, user.id)
    result = await catalog.list_projects(
        context.db, who, page=button.page, status=button.status, org_id=button.org_id,
        period=_reporting_month(context),
    )  # fmt: skip
    await _send_list(context, user.id, result)


async def card_command(update: Update, context: BotContext) -> None:
    """Show one project: fields, milestones marked done / due / overdue, review history."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or []).strip()[:MAX_QUERY]
    who = await people.identify(context.db, user.id)
    query = query or await catalog.only_project(context.db, who) or ""
    if not query:
        await reply(update, context, "projects/card_usage.html")
        return
    tz = context.state.settings.timezone
    card = await catalog.project_card(context.db, who, query, context.now(), tz)
    standing = None
    if card.view is not None and card.view.project.status in ("concluded", "accepted"):
        standing = await acceptance.standing(context.db, card.view.project, rules(context))
    plan, markup = None, None
    if card.view is not None:
        project = card.view.project
        plan = await adjust.history(context.db, project.id)
        own = who.role == "secretary" and who.org is not None and who.org.id == project.org_id
        if own and adjust.may_ask(plan, project):
            markup = open_button(context, project.id)  # 申请调整计划 (handlers/adjust.py)
    text = context.texts.html(f"projects/card_{card.outcome}.html", c=card, v=card.view, tz=tz,
                              standing=standing, rules=rules(context), plan=plan)  # fmt: skip
    await send_long(context, user.id, text, markup)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("projects", list_command, filters=PRIVATE),
        CommandHandler("project", card_command, filters=PRIVATE),
        CallbackQueryHandler(page_button, pattern=ProjectsPage.route()),
    ]

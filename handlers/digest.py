"""Digests and ledgers for admins: /digest, /ledger, /history, and the drafts of the
bulletin (发布 / 添加点评 / 调整红旗蜗牛: BulletinDraft, with /flag) and of the 双月调度
summary (发布 / 添加点评: DispatchChoice), with the 通报点评 they type."""

from __future__ import annotations

import logging

from markupsafe import Markup
from telegram import InputFile, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import delivery, exports
from bot.callbacks import BulletinDraft, DispatchChoice
from bot.context import BotContext
from bot.delivery import draft_keyboard
from bot.messages import send_digest
from bot.services import bulletin_review, digest, evidence, people, public
from bot.services import projects as catalog
from bot.services.ledger import LedgerWords, build_ledger, words_from
from bot.services.months import Month
from bot.services.planner import bulletin_time
from bot.services.reporting import parse_period
from bot.services.review import project_view
from handlers.buttons import alert_stale
from handlers.common import (
    PRIVATE,
    admin_command,
    answer_query,
    drop_buttons,
    send_long,
)
from handlers.evidence import send_evidence_to

# Bots may send files of up to 50 MB (Bot API sendDocument); a bigger ledger would only fail.
UPLOAD_LIMIT = 50_000_000
logger = logging.getLogger(__name__)


async def digest_command(update: Update, context: BotContext) -> None:
    """/digest [期间]: preview the monthly bulletin privately (of the admin's subtree)."""
    user = update.effective_user
    assert user is not None
    scope = await context.admin_scope(user.id)
    assert scope is not None  # admin_command let only admins in
    query = " ".join(context.args or [])[:20]
    cal, now = context.state.calendar, context.now()
    period = parse_period(query) if query else cal.current_period(now)
    if period is None:
        await send_long(context, user.id, context.texts.html("digest/usage.html", query=query))
        return
    pack = await context.db.off_loop(
        exports.bulletin, str(context.texts.root), context.state.settings.timezone, cal, period,
        now, scope.root_id, digest.FlagRules(context.state.settings.flags_max),
        bulletin_time(cal, context.state.clock_config, period.plus(-1)),
    )  # fmt: skip
    await send_digest(context.bot, user.id, pack.html, attachment=(pack.filename, pack.book),
                      chart=pack.chart)  # fmt: skip


def ledger_words(context: BotContext) -> LedgerWords:
    """The workbook's words, from templates/ledger/."""
    return words_from(context.texts, context.state.settings.acceptance_weights)


async def ledger_command(update: Update, context: BotContext) -> None:
    """/ledger [期间|年份]: the Excel ledger (of the admin's subtree)."""
    user = update.effective_user
    assert user is not None
    scope = await context.admin_scope(user.id)
    assert scope is not None  # admin_command let only admins in
    query = " ".join(context.args or [])[:20].strip()
    now, tz = context.now(), context.state.settings.timezone
    given_year = digest.parse_year(query) if query else None
    period = None if (given_year or not query) else parse_period(query)
    if query and not given_year and period is None:
        await send_long(context, user.id, context.texts.html("ledger/usage.html", query=query))
        return
    year = given_year or (None if period else now.astimezone(tz).year)
    data = await build_ledger(context.db, ledger_words(context), context.state.calendar, now,
                              year=year, period=period, root_org_id=scope.root_id)  # fmt: skip
    what = str(period) if period else str(year)
    if len(data) > UPLOAD_LIMIT:
        logger.warning("ledger %s is %d bytes: over the upload limit, not sent", what, len(data))
        await send_long(context, user.id, context.texts.html(
            "ledger/too_large.html", what=what, year=year, period=period,
            size_mb=f"{len(data) / 1e6:.1f}", limit_mb=UPLOAD_LIMIT // 1_000_000,
        ))  # fmt: skip
        return
    await context.bot.send_document(
        user.id,
        InputFile(data, filename=context.texts.plain("ledger/filename.txt", what=what)),
        caption=context.texts.html("ledger/caption.html", what=what, year=year),
    )


async def history_command(update: Update, context: BotContext) -> None:
    """/history <项目编号>: show one project's reports month by month."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or []).strip()[:30]
    who = await people.identify(context.db, user.id)
    query = query or await catalog.only_project(context.db, who, filed=True) or ""
    if not query:
        await send_long(context, user.id, context.texts.html("digest/history_usage.html"))
        return
    result = await digest.history(context.db, context.state.calendar,
                                  who.org.id if who.org else None, who.scope, query,
                                  context.now())  # fmt: skip
    if result.outcome != "ok":
        text = context.texts.html("digest/history_not_found.html", query=query)
        await send_long(context, user.id, text)
        return
    assert result.project is not None  # digest.history returns "ok" only with the project
    view = await project_view(context.db, result.project.id)
    assert view is not None
    suggestions = await public.suggestions(context.db, view.project.id)
    chart = await context.db.off_loop(exports.history_chart, str(context.texts.root),
                                      view.project.name or "", result.points,
                                      view.milestones, lookup=True)  # fmt: skip
    # An admin deciding about the project sees the latest report's evidence with it.
    latest = None
    if who.scope is not None:
        current = context.state.calendar.current_period(context.now())
        latest = await evidence.latest_evidence(context.db, view.project, current)
    text = context.texts.html(
        "digest/history.html", v=view, rows=result.rows, suggestions=suggestions,
        senders=who.scope is not None, tz=context.state.settings.timezone, evidence=latest,
        closing_status=result.closing_status,
    )  # fmt: skip
    await send_digest(context.bot, user.id, text, chart=chart)
    if latest is not None:
        await send_evidence_to(context, [user.id], latest.albums, "report",
                               project=view.project, period=latest.period)  # fmt: skip


async def dispatch_button(update: Update, context: BotContext) -> None:
    """发布 or 添加点评 under a 双月调度 summary's draft (DispatchChoice)."""
    choice = DispatchChoice.parse((update.callback_query and update.callback_query.data) or "")
    if choice is None or choice.action == "c":  # 取消: a former button, no longer offered
        await _draft_action(update, context, "dispatch", None, "")
        return
    await _draft_action(update, context, "dispatch", choice.month,
                        "publish" if choice.action == "s" else "comment")  # fmt: skip


async def send_draft(context: BotContext, admin_id: int, pending: bulletin_review.Pending) -> None:
    """A digest's draft as it stands now (everything, with the admins' changes), with
    发布 / 添加点评 (/ 调整红旗蜗牛)."""
    state = context.state
    if pending.kind == "dispatch":
        pack = await context.db.off_loop(exports.dispatch, str(context.texts.root),
                                         state.calendar, pending.period, context.now(),
                                         None)  # fmt: skip
        template, params = "clock/dispatch_draft.html", {"month": str(pending.period)}
    else:
        before = await bulletin_review.published_at(
            context.db, state.calendar, state.clock_config, pending.period.plus(-1))  # fmt: skip
        pack = await context.db.off_loop(
            exports.bulletin, str(context.texts.root), state.settings.timezone, state.calendar,
            pending.period, context.now(), None, digest.FlagRules(state.settings.flags_max),
            before,
        )  # fmt: skip
        template, params = "clock/bulletin_draft.html", {"period": str(pending.period)}
    text = context.texts.html(template, tz=state.settings.timezone,
                              p={**params, "publish_at": pending.publish_at,
                                 "body": Markup(pack.html)})  # fmt: skip
    markup = draft_keyboard(context.texts.labels(), pending.period, pending.kind)
    await send_digest(context.bot, admin_id, text, markup,
                      attachment=(pack.filename, pack.book), chart=pack.chart)  # fmt: skip


async def send_latest_bulletin(context: BotContext, chat_id: int, root_org_id: int | None) -> None:
    """The latest published bulletin, for a group's scope, as it stands now (with its
    workbook and chart)."""
    state, now = context.state, context.now()
    period = state.calendar.current_period(now)
    review = bulletin_review
    if await review.published_at(context.db, state.calendar, state.clock_config, period) > now:
        period = period.plus(-1)
    before = await review.published_at(context.db, state.calendar, state.clock_config,
                                       period.plus(-1))  # fmt: skip
    pack = await context.db.off_loop(
        exports.bulletin, str(context.texts.root), state.settings.timezone, state.calendar,
        period, now, root_org_id, digest.FlagRules(state.settings.flags_max), before,
    )  # fmt: skip
    await send_digest(context.bot, chat_id, pack.html, attachment=(pack.filename, pack.book),
                      chart=pack.chart)  # fmt: skip


async def resend_draft(context: BotContext, admin_id: int, period: str) -> None:
    """After a change to `period`'s reports before publication (an exemption): each draft
    it changes, as it now stands. A change to another month leaves them as they were."""
    for pending in await _current_drafts(context):
        if pending.covers(period):
            await send_long(context, admin_id, context.texts.html("digest/draft_updated.html",
                                                                  kind=pending.kind))  # fmt: skip
            await send_draft(context, admin_id, pending)


async def _current_drafts(context: BotContext) -> list[bulletin_review.Pending]:
    state = context.state
    return await bulletin_review.all_pending(context.db, state.calendar, state.clock_config,
                                             context.now())  # fmt: skip


async def _current_draft(
    context: BotContext, kind: str = "bulletin"
) -> bulletin_review.Pending | None:
    state = context.state
    return await bulletin_review.pending(context.db, state.calendar, state.clock_config,
                                         context.now(), kind)  # fmt: skip


async def draft_button(update: Update, context: BotContext) -> None:
    """发布, 添加点评 or 调整红旗/蜗牛 under a bulletin's draft (BulletinDraft)."""
    choice = BulletinDraft.parse((update.callback_query and update.callback_query.data) or "")
    actions = {"p": "publish", "c": "comment", "f": "flags"}
    await _draft_action(update, context, "bulletin", choice.period if choice else None,
                        actions[choice.action] if choice else "")  # fmt: skip


async def _draft_action(
    update: Update, context: BotContext, kind: str, period: Month | None, action: str
) -> None:
    """A button under a digest's draft, for top admins only: publish, comment or flags
    (an unreadable or withdrawn button: the stale alert). One pressed after its digest
    went out, or before its draft, says so."""
    user = update.effective_user
    assert update.callback_query is not None and user is not None
    scope = await context.admin_scope(user.id)
    if scope is None or not scope.top:
        await answer_query(update, context.texts.plain("digest/draft_not_admin.txt"), alert=True)
        return
    if period is None or not action:
        await alert_stale(update, context)
        return
    state, now = context.state, context.now()
    outcome = bulletin_review.Outcome("not_pending", period, digest=kind)  # until found
    if action == "publish":
        outcome = await bulletin_review.publish(context.db, state.calendar, state.clock_config,
                                                user.id, period, now, kind)  # fmt: skip
        if outcome.kind == "published":
            await answer_query(update)
            await drop_buttons(update)
            tally = await delivery.publish_digest(context.application, kind, period, now)
            outcome.info["sent"] = tally.sent
            outcome.info["failed"] = tally.failed + tally.unreachable + tally.uncertain
            await send_long(context, user.id, context.texts.html(
                "digest/draft_published.html", o=outcome))  # fmt: skip
            return
    elif action == "comment":
        outcome = await bulletin_review.ask_comment(context.db, state.calendar,
                                                    state.clock_config, user.id, period, now,
                                                    kind)  # fmt: skip
        if outcome.kind == "asking":
            await answer_query(update)
            await drop_buttons(update, context)  # given back by 取消, 上一步 or /cancel
            await send_long(context, user.id, context.texts.html(
                "digest/comment_asking.html", o=outcome))  # fmt: skip
            return
    else:
        pending = await _current_draft(context, kind)
        if pending is not None and pending.period == period:
            await answer_query(update)
            await send_long(context, user.id, context.texts.html("digest/flag_usage.html"))
            return
    # Published already (by 发布 or at its time), or not drafted yet: say which, once.
    outcome.kind = await _settled(context, kind, period)
    await answer_query(update)
    await drop_buttons(update)
    await send_long(context, user.id, context.texts.html(
        f"digest/draft_{outcome.kind}.html", o=outcome))  # fmt: skip


async def _settled(context: BotContext, kind: str, period: Month) -> str:
    """Whether the digest of `period` went out ("already") or not ("not_pending")."""
    state = context.state
    when = await bulletin_review.published_at(context.db, state.calendar, state.clock_config,
                                              period, kind)  # fmt: skip
    return "already" if when <= context.now() else "not_pending"


async def on_comment(update: Update, context: BotContext) -> None:
    """Take the admin's message after 添加点评 as the 通报点评 (the side-step's answer)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        await send_long(context, user.id, context.texts.html(
            "digest/comment_text_only.html", limit=bulletin_review.COMMENT_LIMIT))  # fmt: skip
        return
    state = context.state
    outcome = await bulletin_review.give_comment(context.db, state.calendar, state.clock_config,
                                                 user.id, message.text, context.now())  # fmt: skip
    if outcome.kind == "not_admin":
        await send_long(context, user.id, context.texts.html("common/admin_only.html"))
        return
    await send_long(context, user.id, context.texts.html(f"digest/comment_{outcome.kind}.html",
                                                         o=outcome))  # fmt: skip
    pending = await _current_draft(context, outcome.digest)
    if outcome.kind == "saved" and pending is not None:
        await send_draft(context, user.id, pending)


async def cancel_comment(update: Update, context: BotContext) -> None:
    """取消, 上一步 or /cancel instead of the 通报点评: nothing kept; the draft's buttons
    come back while it awaits publication."""
    user = update.effective_user
    assert user is not None
    state = context.state
    outcome = await bulletin_review.cancel_comment(context.db, state.calendar,
                                                   state.clock_config, user.id,
                                                   context.now())  # fmt: skip
    markup = None
    if outcome.kind == "undecided" and outcome.period is not None:
        markup = draft_keyboard(context.texts.labels(), outcome.period, outcome.digest)
    await send_long(context, user.id, context.texts.html("digest/comment_cancelled.html",
                                                         o=outcome), markup)  # fmt: skip


async def flag_command(update: Update, context: BotContext) -> None:
    """/flag <项目编号> <红旗|蜗牛|移出红旗|移出蜗牛> <原因>: adjust the draft's lists."""
    user = update.effective_user
    assert user is not None
    state = context.state
    text = " ".join(context.args or [])[:300]
    outcome = await bulletin_review.adjust(context.db, state.calendar, state.clock_config,
                                           user.id, text, context.now())  # fmt: skip
    if outcome.kind == "usage":
        await send_long(context, user.id, context.texts.html("digest/flag_usage.html"))
        return
    await send_long(context, user.id, context.texts.html(f"digest/flag_{outcome.kind}.html",
                                                         o=outcome))  # fmt: skip
    pending = await _current_draft(context)
    if outcome.kind == "adjusted" and pending is not None:
        await send_draft(context, user.id, pending)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        # Built in the export process; meanwhile only the asker's own next update waits
        # (bot/concurrency.py), to be answered after the export, in the order sent.
        *admin_command("digest", digest_command, levels=True),
        *admin_command("ledger", ledger_command, levels=True),
        CommandHandler("history", history_command, filters=PRIVATE),
        CallbackQueryHandler(dispatch_button, pattern=DispatchChoice.route()),
        CallbackQueryHandler(draft_button, pattern=BulletinDraft.route()),
        *admin_command("flag", flag_command),
    ]

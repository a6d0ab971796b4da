"""验收: admins name reviewers, reviewers score 已结题 projects, admins confirm 已验收 and
select 示范项目. The scoring conversation's diagram: handlers/acceptance.md."""

from __future__ import annotations

import logging
from datetime import timedelta

from telegram import InlineKeyboardMarkup, Update
from telegram.ext import BaseHandler, CallbackQueryHandler, CommandHandler

from bot import delivery, exports
from bot.callbacks import AcceptConfirm, AcceptScore, ScoreAction
from bot.context import BotContext
from bot.menus import set_menu_for
from bot.messages import keyboard, send_split
from bot.services import acceptance
from bot.services.acceptance import MEASURES, Rules, ScoreOutcome
from bot.services.digest import parse_year
from bot.services.invites import deep_link
from bot.services.planner import Due
from handlers.buttons import alert_stale
from handlers.common import (
    PRIVATE,
    admin_command,
    answer_query,
    drop_buttons,
    label,
    send_long,
    tell,
)

logger = logging.getLogger(__name__)

# The score buttons under each measure (a typed number 0–100 works too).
SCORE_BUTTONS = ((100, 95, 90, 85, 80), (75, 70, 65, 60, 50))
MAX_ARGS = 300


def rules(context: BotContext) -> Rules:
    """The weights, grade bands and 示范 cap, from the settings."""
    s = context.state.settings
    return Rules(s.acceptance_weights, s.acceptance_grades, s.model_projects_max)


def _args(context: BotContext) -> str:
    return " ".join(context.args or []).strip()[:MAX_ARGS]


async def _say(context: BotContext, chat_id: int, template: str,
               markup: InlineKeyboardMarkup | None = None, **params: object) -> None:  # fmt: skip
    text = context.texts.html(template, tz=context.state.settings.timezone, rules=rules(context),
                              **params)  # fmt: skip
    await send_long(context, chat_id, text, markup)


# -- reviewers --------------------------------------------------------------------------------


def _user_id(text: str) -> int | None:
    return int(text) if text.isdigit() and len(text) <= 15 else None


async def reviewers_command(update: Update, context: BotContext) -> None:
    """/reviewers: who scores 验收, and how to name more."""
    user = update.effective_user
    assert user is not None
    outcome = await acceptance.reviewers_list(context.db, user.id)
    await _say(context, user.id, "acceptance/reviewers.html", o=outcome)


async def reviewer_add_command(update: Update, context: BotContext) -> None:
    """/reviewer_add <Telegram ID>: name an admin or a bound secretary a reviewer."""
    user = update.effective_user
    assert user is not None
    target = _user_id(_args(context))
    if target is None:
        await _say(context, user.id, "acceptance/reviewer.html", o=None, usage="add")
        return
    outcome = await acceptance.name_reviewer(context.db, user.id, target, context.now())
    await _say(context, user.id, "acceptance/reviewer.html", o=outcome, target=target)


async def reviewer_drop_command(update: Update, context: BotContext) -> None:
    """/reviewer_drop <Telegram ID>: no longer a reviewer (their scores stay)."""
    user = update.effective_user
    assert user is not None
    target = _user_id(_args(context))
    if target is None:
        await _say(context, user.id, "acceptance/reviewer.html", o=None, usage="drop")
        return
    outcome = await acceptance.drop_reviewer(context.db, user.id, target)
    await _say(context, user.id, "acceptance/reviewer.html", o=outcome, target=target)


async def reviewer_invite_command(update: Update, context: BotContext) -> None:
    """/reviewer_invite [组织编号]: a one-time link that makes its opener a reviewer."""
    user = update.effective_user
    assert user is not None
    settings = context.state.settings
    outcome = await acceptance.reviewer_invite(context.db, user.id, _args(context)[:60],
                                               context.now(), settings.invite_ttl_days)  # fmt: skip
    link = ""
    if outcome.kind == "invited":
        username = context.bot.username or settings.bot_username or ""
        link = deep_link(username, outcome.code)
    await _say(context, user.id, "acceptance/reviewer.html", o=outcome, link=link,
               days=settings.invite_ttl_days, query=_args(context)[:60])  # fmt: skip


async def redeem(update: Update, context: BotContext, code: str) -> bool:
    """/start <code> with a reviewer invite: answer it and return True; False when the code
    is not a reviewer invite (handlers/start.py then tries a secretary's)."""
    user = update.effective_user
    assert user is not None
    outcome = await acceptance.redeem(context.db, code, user.id, user.full_name, context.now())
    if outcome is None:
        return False
    logger.info("reviewer invite redeemed by %s: %s", user.id, outcome.kind)
    await _say(context, user.id, "acceptance/redeemed.html", o=outcome)
    if outcome.kind == "named" and not await acceptance.is_admin(context.db, user.id):
        # A secretary keeps their own menu (with /score added); anyone else gets the reviewer's.
        menu = "menus/secretary.txt" if outcome.org and await acceptance.is_secretary(
            context.db, user.id) else "menus/reviewer.txt"  # fmt: skip
        await set_menu_for(context.application, user.id, menu)
    return True


# -- scoring ----------------------------------------------------------------------------------


def _score_markup(context: BotContext, outcome: ScoreOutcome) -> InlineKeyboardMarkup | None:
    view = outcome.view
    if view is None or outcome.kind in ("submitted", "cancelled"):
        return None
    pid, step = view.project.id, view.step

    def press(action: ScoreAction, arg: str = "") -> str:
        return AcceptScore(pid, step, action, arg).pack()

    rows: list[list[tuple[str, str]]] = []
    if step in MEASURES:
        if view.suggested is not None:
            rows.append([(context.texts.plain("acceptance/use_public.txt", value=view.suggested),
                          press("val", str(view.suggested)))])  # fmt: skip
        rows.extend([(str(n), press("val", str(n))) for n in row] for row in SCORE_BUTTONS)
    elif step == "remark":
        rows.append([(label(context, "none"), press("skip"))])
    else:
        rows.append([(label(context, "submit"), press("submit"))])
    controls = [(label(context, "cancel"), press("cancel"))]
    if step != MEASURES[0]:
        controls.insert(0, (label(context, "back"), press("back")))
    rows.append(controls)
    return keyboard(rows)


async def show_score(context: BotContext, chat_id: int, outcome: ScoreOutcome) -> None:
    """Render where a scoring stands (or why it cannot go on), with its buttons."""
    await _say(context, chat_id, "acceptance/score.html", _score_markup(context, outcome),
               o=outcome, v=outcome.view)  # fmt: skip


async def score_command(update: Update, context: BotContext) -> None:
    """/score [编号]: a reviewer's list of projects to score, or the scoring of one."""
    user = update.effective_user
    assert user is not None
    query = _args(context)[:30]
    if not query:
        # A province-wide reviewer's list: read and rendered in the lookups process.
        parts, buttons = await context.db.off_loop(
            exports.score_list, str(context.texts.root), context.state.settings.timezone,
            user.id, rules(context), lookup=True,
        )  # fmt: skip
        await send_split(context.bot, user.id, parts,
                         keyboard([[b] for b in buttons]) if buttons else None)  # fmt: skip
        return
    await show_score(context, user.id,
                     await acceptance.begin(context.db, user.id, query, context.now(),
                                            rules(context)))  # fmt: skip


async def on_message(update: Update, context: BotContext) -> None:
    """A typed score or remark (or 取消 / 上一步) while scoring."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        outcome = await acceptance.not_text(context.db, user.id, rules(context))
        await show_score(context, user.id, outcome)
        return
    outcome = await acceptance.answer(context.db, user.id, message.text, context.now(),
                                      rules(context))  # fmt: skip
    await show_score(context, user.id, outcome)


async def on_back(update: Update, context: BotContext) -> None:
    """上一步 typed while scoring: the step before (the first step stays)."""
    user = update.effective_user
    assert user is not None
    where = await acceptance.current_step(context.db, user.id)
    if where is None:
        await show_score(context, user.id, ScoreOutcome("no_dialog"))
        return
    outcome = await acceptance.press(context.db, user.id, where[0], where[1], "back", "",
                                     context.now(), rules(context))  # fmt: skip
    await show_score(context, user.id, outcome)


async def cancel(update: Update, context: BotContext) -> None:
    """/cancel while scoring: the scores given so far in this scoring are dropped."""
    user = update.effective_user
    assert user is not None
    await show_score(context, user.id, await acceptance.cancel(context.db, user.id))


async def score_button(update: Update, context: BotContext) -> None:
    """A button of the scoring (or 打分 from the list); stale, forged or a stranger's changes
    nothing."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = AcceptScore.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    outcome = await acceptance.press(context.db, user.id, button.project_id, button.step,
                                     button.action, button.arg, context.now(),
                                     rules(context))  # fmt: skip
    if outcome.kind == "not_reviewer":
        await answer_query(update, context.texts.plain("acceptance/not_reviewer_alert.txt"),
                           alert=True)  # fmt: skip
        return
    if outcome.kind == "stale":
        await alert_stale(update, context)
        return
    await answer_query(update)
    if button.action != "open":
        await drop_buttons(update)
    await show_score(context, user.id, outcome)


# -- results ----------------------------------------------------------------------------------


async def acceptance_command(update: Update, context: BotContext) -> None:
    """/acceptance [年份]: every 已结题 and 已验收 project with its scores so far."""
    user = update.effective_user
    assert user is not None
    text = _args(context)
    year = parse_year(text) if text else None
    if text and year is None:
        await _say(context, user.id, "acceptance/overview.html", o=None, query=text[:20])
        return
    # Thousands of projects in a province: read and rendered in the export process.
    parts = await context.db.off_loop(exports.acceptance_overview, str(context.texts.root),
                                      context.state.settings.timezone, user.id, year,
                                      rules(context), lookup=True)  # fmt: skip
    await send_split(context.bot, user.id, parts)


async def accept_command(update: Update, context: BotContext) -> None:
    """/accept <编号>: the result the scores come to, with 确认验收 / 取消."""
    user = update.effective_user
    assert user is not None
    query = _args(context)[:30]
    if not query:
        await _say(context, user.id, "acceptance/accept.html", o=None, s=None)
        return
    outcome = await acceptance.show(context.db, user.id, query, rules(context))
    markup = None
    if outcome.kind == "show" and outcome.standing is not None:
        pid, count = outcome.standing.project.id, len(outcome.standing.scores)
        yes = context.texts.plain("acceptance/confirm_button.txt")
        no = label(context, "cancel")
        markup = keyboard([[(yes, AcceptConfirm(pid, count, "c").pack()),
                            (no, AcceptConfirm(pid, count, "x").pack())]])  # fmt: skip
    await _say(context, user.id, "acceptance/accept.html", markup, o=outcome, s=outcome.standing)


async def confirm_button(update: Update, context: BotContext) -> None:
    """确认验收 or 取消 under a result: admins only; a result that changed since is stale."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = AcceptConfirm.parse(query.data or "")
    if button is None:
        await alert_stale(update, context)
        return
    if not await acceptance.is_any_admin(context.db, user.id):
        await answer_query(update, context.texts.plain("acceptance/not_admin_alert.txt"),
                           alert=True)  # fmt: skip
        return
    if button.action == "x":
        await answer_query(update)
        await drop_buttons(update)
        await _say(context, user.id, "acceptance/accept.html", o=None, s=None, cancelled=True)
        return
    outcome = await acceptance.confirm(context.db, user.id, button.project_id, button.count,
                                       context.now(), rules(context))  # fmt: skip
    if outcome.kind == "stale" and outcome.standing is None:
        await alert_stale(update, context)  # gone, or outside the admin's subtree
        return
    if outcome.kind == "own":
        await answer_query(update, context.texts.plain("acceptance/own_alert.txt"), alert=True)
        return
    await answer_query(update)
    await drop_buttons(update)
    await _say(context, user.id, "acceptance/accept.html", o=outcome, s=outcome.standing)
    if outcome.kind == "accepted" and outcome.secretary_id is not None:
        text = context.texts.html("acceptance/accepted_secretary.html", s=outcome.standing,
                                  rules=rules(context))  # fmt: skip
        await tell(context, outcome.secretary_id, text)


# -- 示范项目 -----------------------------------------------------------------------------------


def _year_or_now(context: BotContext, text: str) -> int | None:
    if not text:
        return context.now().astimezone(context.state.settings.timezone).year
    return parse_year(text)


async def models_command(update: Update, context: BotContext) -> None:
    """/models [年份]: the year's 已验收 projects ranked by score, and the 示范 list."""
    user = update.effective_user
    assert user is not None
    year = _year_or_now(context, _args(context))
    if year is None:
        await _say(context, user.id, "acceptance/models.html", o=None, query=_args(context)[:20])
        return
    parts = await context.db.off_loop(exports.acceptance_models, str(context.texts.root),
                                      context.state.settings.timezone, year,
                                      rules(context), lookup=True)  # fmt: skip
    await send_split(context.bot, user.id, parts)


async def model_command(update: Update, context: BotContext) -> None:
    """/model <编号> <评语>: select a 示范项目 (or change its citation)."""
    user = update.effective_user
    assert user is not None
    number, _, citation = _args(context).partition(" ")
    if not number:
        await _say(context, user.id, "acceptance/model.html", o=None)
        return
    outcome = await acceptance.choose(context.db, user.id, number[:30], citation, context.now(),
                                      rules(context))  # fmt: skip
    await _say(context, user.id, "acceptance/model.html", o=outcome, s=outcome.standing)


async def model_drop_command(update: Update, context: BotContext) -> None:
    """/model_drop <编号>: take a project off the 示范 list."""
    user = update.effective_user
    assert user is not None
    number = _args(context)[:30]
    if not number:
        await _say(context, user.id, "acceptance/model.html", o=None)
        return
    outcome = await acceptance.unchoose(context.db, user.id, number, rules(context))
    await _say(context, user.id, "acceptance/model.html", o=outcome, s=outcome.standing)


async def model_announce_command(update: Update, context: BotContext) -> None:
    """/model_announce <年份>: send the year's 示范 list to each supervisor group, once each
    (the ones in its scope; a group with none in its scope gets nothing)."""
    user = update.effective_user
    assert user is not None
    year = parse_year(_args(context)) if _args(context) else None
    if year is None:
        await _say(context, user.id, "acceptance/announced.html", o=None)
        return
    now = context.now()
    tally = delivery.Tally()
    groups = await acceptance.groups_for_announcement(context.db)
    reached = 0
    for group in groups:
        chosen = await acceptance.announcement(context.db, year, group.root_org_id, rules(context))
        if not chosen:
            continue
        reached += 1
        due = Due(f"model_announce:{year}:{group.chat_id}", "model_announce", group.chat_id,
                  now, now + timedelta(days=1), {"year": year, "models": chosen})  # fmt: skip
        await delivery.deliver(context.application, due, now, tally)
    missed = tally.failed + tally.unreachable + tally.uncertain
    await _say(context, user.id, "acceptance/announced.html", o=tally, year=year,
               groups=reached, already=reached - tally.sent - missed, missed=missed)  # fmt: skip


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        # A subtree's admin names reviewers and sees and confirms 验收 inside the subtree;
        # 示范项目 stay the top level's.
        *admin_command("reviewers", reviewers_command, levels=True),
        *admin_command("reviewer_add", reviewer_add_command, levels=True),
        *admin_command("reviewer_drop", reviewer_drop_command, levels=True),
        *admin_command("reviewer_invite", reviewer_invite_command, levels=True),
        *admin_command("acceptance", acceptance_command, levels=True),
        *admin_command("accept", accept_command, levels=True),
        *admin_command("models", models_command),
        *admin_command("model", model_command),
        *admin_command("model_drop", model_drop_command),
        *admin_command("model_announce", model_announce_command),
        CommandHandler("score", score_command, filters=PRIVATE),
        CallbackQueryHandler(score_button, pattern=AcceptScore.route()),
        CallbackQueryHandler(confirm_button, pattern=AcceptConfirm.route()),
    ]

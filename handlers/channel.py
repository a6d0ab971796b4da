"""The public side (晒): binding channels, taking posts down, 民主评议 and 意见建议."""

from __future__ import annotations

import logging

from telegram import ChatMember, ChatMemberAdministrator, Update
from telegram.constants import ChatType
from telegram.error import TelegramError
from telegram.ext import (
    BaseHandler,
    CallbackQueryHandler,
    ChatMemberHandler,
    CommandHandler,
    filters,
)

from bot import exports
from bot import public as posts
from bot.callbacks import VoteBallot
from bot.context import BotContext
from bot.messages import send_digest
from bot.services import public
from handlers.buttons import alert_stale
from handlers.common import admin_command, answer_query, display_name, reply, send_long, tell

logger = logging.getLogger(__name__)

CHANNEL_POSTS = filters.UpdateType.CHANNEL_POST  # new posts only, not edited ones
MEMBERSHIP_GROUP = 1  # beside handlers/groups.py's, which takes the same updates in group 0


# -- binding -----------------------------------------------------------------------------------


async def bind_in_channel(update: Update, context: BotContext) -> None:
    """/bind_channel posted in a channel: bind it if one of the bot's admins runs it too."""
    chat, message = update.effective_chat, update.effective_message
    assert chat is not None and message is not None
    # A channel post carries no sender: the channel's own admins are asked instead.
    try:
        members = await context.bot.get_chat_administrators(chat.id)
    except TelegramError as exc:
        logger.warning("could not list the admins of channel %s: %s", chat.id, exc)
        members = ()
    ours = await public.admins_among(context.db, [m.user.id for m in members])
    if not ours:
        await reply(update, context, "public/bind_not_allowed.html")
        return
    code = context.args[0][:40] if context.args else None
    result = await public.bind_channel(context.db, chat.id, chat.title or "", chat.username,
                                       ours[0], code, context.now())  # fmt: skip
    if result.outcome in ("unknown_org", "taken", "not_admin"):
        await reply(update, context, f"public/bind_{result.outcome}.html", r=result)
        return
    try:
        await message.delete()  # the channel keeps its posts, not the bot's commands
    except TelegramError as exc:
        logger.info("could not delete the command in channel %s: %s", chat.id, exc)
    text = context.texts.html(f"public/bind_{result.outcome}.html", r=result)
    for admin_id in ours:
        await tell(context, admin_id, text)


async def bind_in_private(update: Update, context: BotContext) -> None:
    """/bind_channel @name [组织编号]: bind a channel where the bot and this admin are admins."""
    user = update.effective_user
    assert user is not None
    args = context.args or []
    if not args or not args[0].startswith("@") or len(args) > 2:
        await reply(update, context, "public/bind_usage.html")
        return
    name = args[0][:40]
    try:
        chat = await context.bot.get_chat(name)
    except TelegramError:
        await reply(update, context, "public/bind_not_found.html", name=name)
        return
    if chat.type != ChatType.CHANNEL:
        await reply(update, context, "public/bind_not_channel.html", name=name)
        return
    try:
        me = await context.bot.get_chat_member(chat.id, context.bot.id)
        them = await context.bot.get_chat_member(chat.id, user.id)
    except TelegramError:
        await reply(update, context, "public/bind_bot_not_admin.html", name=name)
        return
    if not (isinstance(me, ChatMemberAdministrator) and me.can_post_messages):
        await reply(update, context, "public/bind_bot_not_admin.html", name=name)
        return
    if them.status not in (ChatMember.ADMINISTRATOR, ChatMember.OWNER):
        await reply(update, context, "public/bind_you_not_admin.html", name=name)
        return
    code = args[1][:40] if len(args) > 1 else None
    result = await public.bind_channel(context.db, chat.id, chat.title or "", chat.username,
                                       user.id, code, context.now())  # fmt: skip
    await reply(update, context, f"public/bind_{result.outcome}.html", r=result)


async def membership(update: Update, context: BotContext) -> None:
    """Stop posting to a channel the bot was removed from or lost its admin rights in."""
    change = update.my_chat_member
    if change is None or change.chat.type != ChatType.CHANNEL:
        return
    if change.new_chat_member.status != ChatMember.ADMINISTRATOR:
        if await public.channel_left(context.db, change.chat.id):
            logger.info("no longer an admin of channel %s; it is now inactive", change.chat.id)


# -- taking posts down -------------------------------------------------------------------------


async def posts_command(update: Update, context: BotContext) -> None:
    """/posts [项目编号]: the newest posts in the channels, with their numbers."""
    user = update.effective_user
    assert user is not None
    query = " ".join(context.args or []).strip()[:30]
    outcome, found, project = await public.recent_posts(context.db, query, user.id)
    if outcome != "ok":
        await reply(update, context, "public/posts_not_found.html", query=query)
        return
    names = await public.post_titles(context.db, found)
    await reply(update, context, "public/posts.html", posts=found, names=names, project=project,
                tz=context.state.settings.timezone)  # fmt: skip


async def _take_down(update: Update, context: BotContext, command: str) -> None:
    user = update.effective_user
    assert user is not None
    args = context.args or []
    if len(args) != 1:
        await reply(update, context, "public/post_usage.html", command=command)
        return
    action = await public.post_for_action(context.db, args[0].strip()[:20], user.id)
    if action.outcome != "ok":
        await reply(update, context, f"public/post_{action.outcome}.html", a=action,
                    command=command)  # fmt: skip
        return
    take = posts.withhold if command == "withhold" else posts.delete
    done = await take(context.application, action, context.now())
    template = "public/post_withheld.html" if command == "withhold" else "public/post_deleted.html"
    await reply(update, context, template if done else "public/post_refused.html", a=action)


async def withhold_command(update: Update, context: BotContext) -> None:
    """/withhold <帖子号>: replace a post's text with a withheld notice."""
    await _take_down(update, context, "withhold")


async def delete_post_command(update: Update, context: BotContext) -> None:
    """/delete_post <帖子号>: delete a post from its channel."""
    await _take_down(update, context, "delete_post")


# -- 民主评议 -----------------------------------------------------------------------------------


async def vote_command(update: Update, context: BotContext) -> None:
    """/vote <项目编号> <天数>: open a 民主评议 window and post it in the channels."""
    user = update.effective_user
    assert user is not None
    outcome = await public.open_vote(context.db, context.args or [], user.id, context.now())
    channels = 0
    if outcome.outcome == "opened":
        assert outcome.project is not None
        channels = sum([await public.covers(context.db, c, outcome.project.id)
                        for c in await public.channels(context.db)])  # fmt: skip
        await posts.publish_soon(context)
    await reply(update, context, f"public/vote_{outcome.outcome}.html", o=outcome,
                channels=channels, tz=context.state.settings.timezone)  # fmt: skip


async def on_vote(update: Update, context: BotContext) -> None:
    """满意 / 基本满意 / 不满意 pressed under a 民主评议 post: one ballot per account."""
    query, user = update.callback_query, update.effective_user
    assert query is not None and user is not None
    button = VoteBallot.parse(query.data or "")
    if button is None or query.message is None:
        await alert_stale(update, context)
        return
    name, username = display_name(update)
    outcome = await public.cast(
        context.db, button.vote_id, button.project_id, button.choice, query.message.chat.id,
        query.message.message_id, user.id, name, username, context.now(),
    )  # fmt: skip
    if outcome.outcome == "stale":
        await alert_stale(update, context)
        return
    if outcome.outcome == "closed":
        await answer_query(update, context.texts.plain("public/vote_closed_alert.txt"), alert=True)
        return
    choice = context.texts.labels()[f"vote_{button.choice}"]
    text = context.texts.plain(f"public/vote_{outcome.outcome}_alert.txt", choice=choice)
    await answer_query(update, text)
    if outcome.outcome != "same":
        posts.schedule_tally(context)


async def voters_command(update: Update, context: BotContext) -> None:
    """/voters <项目编号>: every ballot with its account, for audit."""
    user = update.effective_user
    assert user is not None
    result = await public.voters(context.db, " ".join(context.args or []).strip()[:30], user.id)
    if result.outcome != "ok":
        await reply(update, context, f"public/voters_{result.outcome}.html", r=result)
        return
    assert result.project is not None
    # Read and written in the export process: a popular vote's workbook takes a while.
    text, book = await context.db.off_loop(
        exports.voters,
        str(context.texts.root),
        context.state.settings.timezone,
        result.project,
        lookup=True,
    )
    if book is None:
        await send_long(context, user.id, text)
        return
    # Every ballot goes in a workbook (a popular vote is too long for messages).
    await send_digest(context.bot, user.id, text, attachment=book)


# -- 意见建议 -----------------------------------------------------------------------------------


async def start_suggestion(update: Update, context: BotContext, payload: str) -> None:
    """The 意见建议 link of a public card was opened (/start yj_…)."""
    user = update.effective_user
    assert user is not None
    outcome = await public.start_suggestion(context.db, user.id, payload, context.now())
    await reply(update, context, f"public/suggest_{outcome.outcome}.html", o=outcome,
                limit=public.SUGGESTIONS_PER_DAY)  # fmt: skip


async def on_suggestion(update: Update, context: BotContext) -> None:
    """The message after the link: the suggestion (the side-step's answer; 取消, 上一步 and
    /cancel are taken by handlers/dialogs.py)."""
    user, message = update.effective_user, update.effective_message
    assert user is not None and message is not None
    if message.text is None:
        await reply(update, context, "public/suggest_text_only.html")
        return
    name, username = display_name(update)
    outcome = await public.give_suggestion(context.db, user.id, name, username, message.text,
                                           context.now())  # fmt: skip
    await reply(update, context, f"public/suggest_{outcome.outcome}.html", o=outcome,
                limit=public.SUGGESTIONS_PER_DAY)  # fmt: skip
    if outcome.outcome != "saved":
        return
    # The admins see who wrote (to deal with abuse); the secretary the suggestion only.
    signed = context.texts.html("public/suggest_forward.html", o=outcome, name=name,
                                username=username, user_id=user.id)  # fmt: skip
    unsigned = context.texts.html("public/suggest_forward.html", o=outcome, name="")
    targets = {a: signed for a in outcome.admin_ids}
    if outcome.secretary_id is not None:
        targets.setdefault(outcome.secretary_id, unsigned)
    for chat_id, text in targets.items():
        if chat_id != user.id:
            await tell(context, chat_id, text)


async def cancel_suggestion(update: Update, context: BotContext) -> None:
    """取消, 上一步 or /cancel instead of the suggestion."""
    user = update.effective_user
    assert user is not None
    outcome = await public.cancel_suggestion(context.db, user.id)
    await reply(update, context, f"public/suggest_{outcome.outcome}.html", o=outcome)


def handlers() -> list[BaseHandler]:
    """This module's handlers, in order."""
    return [
        CommandHandler("bind_channel", bind_in_channel, filters=CHANNEL_POSTS),
        # The services keep each to the admin's subtree (bot/services/public.py).
        *admin_command("bind_channel", bind_in_private, levels=True),
        *admin_command("posts", posts_command, levels=True),
        *admin_command("withhold", withhold_command, levels=True),
        *admin_command("delete_post", delete_post_command, levels=True),
        *admin_command("vote", vote_command, levels=True),
        *admin_command("voters", voters_command, levels=True),
        CallbackQueryHandler(on_vote, pattern=VoteBallot.route()),
    ]


def membership_handlers() -> list[BaseHandler]:
    """Following the bot's rights in channels (handler group MEMBERSHIP_GROUP)."""
    return [ChatMemberHandler(membership, ChatMemberHandler.MY_CHAT_MEMBER)]

"""Posts in 晒 channels: claim, send, record, edit and delete the bot's own messages.

The public counterpart of bot/delivery.py: each post is claimed under a unique key in
`public_posts` before it goes out and recorded with its message ids after, so a card, a
month's 晒动态 or a 民主评议 post appears once per channel whatever ticks, restarts or
repeated 立项 presses happen. Sends go through the bot's rate limiter (20 a minute per
channel, edits included). Everything a channel shows is rendered from the Public*
dataclasses of bot/services/public.py and nothing else.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

from telegram import InlineKeyboardMarkup, InputMediaPhoto
from telegram.error import BadRequest, Forbidden, NetworkError, TelegramError

from bot import exports
from bot.callbacks import VoteBallot
from bot.context import BotApplication, BotContext
from bot.delivery import may_have_arrived
from bot.messages import keyboard, split_message
from bot.services import public
from bot.services.public import PostAction
from storage.db import Database
from storage.public import Channel, Post, Vote

logger = logging.getLogger(__name__)

ALBUM = 10  # photos in one album (sendMediaGroup)
TALLY_JOB = "public_tally"


def _link(app: BotApplication, project_id: int) -> str:
    """The 意见建议 deep link of a project."""
    username = app.bot_data.settings.bot_username or app.bot.username
    return f"https://t.me/{username}?start={public.suggest_payload(project_id)}"


def _lost_channel(exc: TelegramError) -> bool:
    """Whether Telegram says the bot may not post in this channel any more."""
    text = str(exc).lower()
    return isinstance(exc, Forbidden) or any(
        words in text for words in ("chat not found", "not enough rights", "administrator")
    )


async def _post(
    app: BotApplication, key: str, kind: str, chat_id: int, html: str, now: datetime, *,
    markup: InlineKeyboardMarkup | None = None, project_id: int | None = None,
    vote_id: int | None = None, period: str | None = None,
    albums: list[tuple[str, list[str]]] | None = None,
) -> str:  # fmt: skip
    """Claim, send and record one post (text, then albums of (caption, photo ids)); return
    its status: posted, or why not (claimed before, uncertain, failed, retry)."""
    db = app.bot_data.db
    post_id = await public.claim(db, key, kind, chat_id, now, project_id=project_id,
                                 vote_id=vote_id, period=period)  # fmt: skip
    if post_id is None:
        return "claimed"
    sent: list[int] = []
    status, error = "posted", None
    try:
        parts = split_message(html)
        for index, part in enumerate(parts):
            last = index == len(parts) - 1
            message = await app.bot.send_message(chat_id, part,
                                                 reply_markup=markup if last else None)  # fmt: skip
            sent.append(message.message_id)
        for caption, photos in albums or []:
            for start in range(0, len(photos), ALBUM):
                media = [InputMediaPhoto(file_id, caption=caption if i == 0 else None)
                         for i, file_id in enumerate(photos[start:start + ALBUM])]  # fmt: skip
                if len(media) == 1:
                    photo = await app.bot.send_photo(chat_id, photos[start], caption=caption)
                    sent.append(photo.message_id)
                else:
                    album = await app.bot.send_media_group(chat_id, media)
                    sent.extend(m.message_id for m in album)
    except NetworkError as exc:  # BadRequest is one too
        error = f"{type(exc).__name__}: {exc}"
        if isinstance(exc, BadRequest):
            status = "failed"
            if _lost_channel(exc):
                await public.channel_left(db, chat_id)
        elif sent or may_have_arrived(exc):
            status = "uncertain"  # may be up already: never posted twice
        else:
            status = "retry"  # never left: the next tick posts it
    except TelegramError as exc:
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        if _lost_channel(exc):
            await public.channel_left(db, chat_id)
    if status != "posted":
        logger.warning("public post %s: %s (%s)", key, status, error)
    await public.finish(db, post_id, status, now, sent, error)
    return status


# -- what is posted --------------------------------------------------------------------------


async def post_cards(app: BotApplication, now: datetime) -> int:
    """Post the card of every project approved since each channel's binding that it has not
    had (the 晒清单); return how many went up."""
    return await _post_owed(app, now, "card", "c", public.cards_owed, public.card)


async def post_monthly(app: BotApplication, now: datetime) -> int:
    """The month's 晒动态 to each channel, once: each project's completion, the milestones
    done that month and the photos marked 可公开; return how many went up."""
    state = app.bot_data
    due = public.monthly_period(state.calendar, state.clock_config, now)
    if due is None:
        return 0
    period, moment = due
    count = 0
    for channel in await public.channels(state.db):
        if channel.since > moment:
            continue  # bound after the month's moment: its 晒动态 starts with the next month
        key = f"progress:{period}:{channel.chat_id}"
        if await public.claimed(state.db, key):
            continue  # up already (or on its way): the month's other ticks build nothing
        # Built in the export process: a province's post would hold every update meanwhile.
        post = await state.db.off_loop(exports.progress, str(state.texts.root),
                                       channel.root_org_id, period)  # fmt: skip
        if post is None:
            continue
        status = await _post(app, key, "progress", channel.chat_id, post.html, now,
                             period=str(period), albums=post.albums)  # fmt: skip
        count += status == "posted"
    return count


async def post_results(app: BotApplication, now: datetime) -> int:
    """The 晒效果 of every project that reached 已结题 since each channel's binding and has
    not had it there: the tick finds them, so concluding a project needs no hook."""
    return await _post_owed(app, now, "result", "r", public.results_owed, public.result)


async def _post_owed(
    app: BotApplication, now: datetime, kind: str, name: str,
    owed: Callable[[Database, Channel], Awaitable[list[int]]],
    shown: Callable[[Database, int], Awaitable[object | None]],
) -> int:  # fmt: skip
    """One post of `kind` per project each channel is owed, once: public/<kind>.html with
    the project's public fields as `name`."""
    state = app.bot_data
    count = 0
    for channel in await public.channels(state.db):
        for project_id in await owed(state.db, channel):
            fields = await shown(state.db, project_id)
            if fields is None:
                continue
            html = state.texts.html(f"public/{kind}.html", link=_link(app, project_id),
                                    **{name: fields})  # fmt: skip
            status = await _post(app, f"{kind}:{project_id}:{channel.chat_id}", kind,
                                 channel.chat_id, html, now, project_id=project_id)  # fmt: skip
            count += status == "posted"
    return count


def _ballot_buttons(app: BotApplication, vote: Vote) -> InlineKeyboardMarkup:
    labels = app.bot_data.texts.labels()
    return keyboard([[(labels[f"vote_{choice}"], VoteBallot(vote.id, vote.project_id,
                                                            choice).pack())
                      for choice in public.CHOICES]])  # fmt: skip


async def post_votes(app: BotApplication, now: datetime) -> int:
    """Post each open 民主评议 window in every channel covering its project that has not
    had it; return how many went up."""
    state = app.bot_data
    count = 0
    channels = await public.channels(state.db)
    for vote in await public.unsettled_votes(state.db):
        if now >= vote.closes_at:
            continue
        for channel in channels:
            if not await public.covers(state.db, channel, vote.project_id):
                continue
            view = await public.vote_view(state.db, vote, now)
            html = state.texts.html("public/vote.html", v=view, tz=state.settings.timezone)
            status = await _post(app, f"vote:{vote.id}:{channel.chat_id}", "vote",
                                 channel.chat_id, html, now, markup=_ballot_buttons(app, vote),
                                 project_id=vote.project_id, vote_id=vote.id)  # fmt: skip
            count += status == "posted"
    return count


async def refresh_tallies(app: BotApplication, now: datetime) -> int:
    """Edit each 民主评议 post whose tally changed, at most once every tally_seconds (the
    ballots in between show together); after the window closes, the final tally without
    buttons. Return how many posts were edited."""
    state = app.bot_data
    every = timedelta(seconds=state.settings.tally_seconds)
    edited = 0
    for vote in await public.unsettled_votes(state.db):
        closed = now >= vote.closes_at
        posts = await public.vote_posts(state.db, vote.id)
        settled = True
        for post in posts:
            if not closed and (
                post.shown >= vote.changes
                or (post.edited_at is not None and now - post.edited_at < every)
            ):
                settled = settled and post.shown >= vote.changes
                continue
            view = await public.vote_view(state.db, vote, now)
            html = state.texts.html("public/vote.html", v=view, tz=state.settings.timezone)
            markup = None if closed else _ballot_buttons(app, vote)
            if await _edit(app, post, html, markup):
                await public.shown(state.db, post.id, vote.changes, now)
                edited += 1
            else:
                settled = False
        if closed and settled:
            await public.vote_settled(state.db, vote.id)
    return edited


async def _edit(
    app: BotApplication, post: Post, html: str, markup: InlineKeyboardMarkup | None
) -> bool:
    """Edit a post's first message; an unchanged text counts as done."""
    assert post.message_id is not None
    try:
        await app.bot.edit_message_text(html, post.chat_id, post.message_id, reply_markup=markup)
    except BadRequest as exc:
        if "not modified" in str(exc).lower():
            return True
        logger.warning("could not edit post %s: %s", post.id, exc)
        return "not found" in str(exc).lower()  # gone from the channel: nothing to edit
    except TelegramError as exc:
        logger.warning("could not edit post %s: %s", post.id, exc)
        return False
    return True


def schedule_tally(context: BotContext) -> None:
    """A ballot was cast: edit the tallies in tally_seconds, once for all ballots meanwhile."""
    seconds = context.state.settings.tally_seconds
    queue = context.application.job_queue
    if not seconds or queue is None or queue.get_jobs_by_name(TALLY_JOB):
        return  # off (the clock's tick edits them), or an edit is already on its way
    queue.run_once(tally_job, when=seconds, name=TALLY_JOB)


async def tally_job(context: BotContext) -> None:
    """Edit the 民主评议 posts whose tally changed (a JobQueue callback)."""
    await refresh_tallies(context.application, context.now())


async def publish(app: BotApplication, now: datetime) -> None:
    """Everything owed to the channels now: cards, votes, tallies, the month's 晒动态, 晒效果."""
    if await public.settle_stale_claims(app.bot_data.db, now):
        logger.warning("channel posts left sending by a stopped process: uncertain")
    await post_cards(app, now)
    await post_votes(app, now)
    await refresh_tallies(app, now)
    await post_monthly(app, now)
    await post_results(app, now)


async def publish_soon(context: BotContext) -> None:
    """Post what became owed (a card at 立项, a vote, a 晒效果 at 结题) without holding up
    this update: in a task of the application; should the process stop first, the next
    tick posts it."""
    context.application.create_task(post_owed(context.application, context.now()))


async def post_owed(app: BotApplication, now: datetime) -> None:
    """Cards, vote posts and results owed now (what an admin's action makes owed)."""
    await post_cards(app, now)
    await post_votes(app, now)
    await post_results(app, now)


# -- an admin takes a post down ----------------------------------------------------------------


async def withhold(app: BotApplication, action: PostAction, now: datetime) -> bool:
    """Replace a post's text with a notice that it was withheld, without buttons; its further
    messages (photos, parts) are deleted. False if Telegram refused."""
    post = action.post
    assert post is not None and post.message_id is not None
    html = app.bot_data.texts.html("public/withheld.html")
    try:
        await app.bot.edit_message_text(html, post.chat_id, post.message_id, reply_markup=None)
    except TelegramError as exc:
        if "not modified" not in str(exc).lower():
            logger.warning("could not withhold post %s: %s", post.id, exc)
            return False
    await public.mark_post(app.bot_data.db, post.id, "withheld", now)
    for message_id in post.extra_ids:
        try:
            await app.bot.delete_message(post.chat_id, message_id)
        except TelegramError as exc:
            logger.warning("could not delete message %s of post %s: %s", message_id, post.id, exc)
    return True


async def delete(app: BotApplication, action: PostAction, now: datetime) -> bool:
    """Delete every message of a post. False if Telegram refused."""
    post = action.post
    assert post is not None and post.message_id is not None
    try:
        for message_id in [post.message_id, *post.extra_ids]:
            await app.bot.delete_message(post.chat_id, message_id)
    except TelegramError as exc:
        logger.warning("could not delete post %s: %s", post.id, exc)
        return False
    await public.mark_post(app.bot_data.db, post.id, "deleted", now)
    return True

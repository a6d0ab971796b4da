"""Deliver scheduled messages: claim one, send it, record it, back off, track unreachable chats.

A message is recorded as `sending` (under its unique key) before it goes out and as `sent`
after, so two ticks, two processes or a restart never send it twice; a send in flight when
the process died is marked `uncertain` (at start-up, or at the next tick once that process
is known to be gone) rather than risk a duplicate; so is a send whose request may have
reached Telegram when the connection failed (a read timeout, a dropped connection). A
request that never left (connection refused, connect or pool timeout) or that Telegram
answered with an error is retried with a growing delay.

The clock (scheduler/) and the handlers both hand their messages to this module.
"""

from __future__ import annotations

import asyncio
import logging
import os
import socket
import uuid
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
from markupsafe import Markup
from telegram import InlineKeyboardMarkup
from telegram.error import (
    BadRequest,
    ChatMigrated,
    Forbidden,
    NetworkError,
    TelegramError,
    TimedOut,
)

from bot import exports
from bot.callbacks import BulletinDraft, ClosingStep, DispatchChoice, DubanNotice, ReportPick
from bot.context import BotApplication
from bot.messages import digest_parts, keyboard, send_part
from bot.services import bulletin_review, digest, planner
from bot.services.months import Month
from bot.services.planner import Due, Skip
from storage import deliveries, groups
from storage.db import Database
from storage.rows import ts

logger = logging.getLogger(__name__)

CONCURRENCY = 32  # chats sent to at once; the rate limiter paces them to Telegram's limits
MAX_BACKOFF_MINUTES = 60
# Who claimed a send: host:pid:nonce. The nonce tells this process from an earlier one with
# the same pid (a container restarts its bot as pid 1 under the same hostname).
OWNER = f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:12]}"
WITH_REPORT_BUTTON = ("report_", "dispatch_notice")
# Keys this process is delivering right now: its own `sending` row outside this is an orphan.
IN_FLIGHT: Counter[str] = Counter()


@dataclass
class Tally:
    """What became of the messages handed to delivery; one sent or settled before counts nowhere."""

    sent: int = 0
    failed: int = 0
    unreachable: int = 0
    uncertain: int = 0  # may or may not have arrived: not sent again
    errors: list[str] = field(default_factory=list)


def gone_owners(owners: Sequence[str]) -> list[str]:
    """Of claim owners (host:pid[:nonce]), the processes of this host that no longer run."""
    host, gone = socket.gethostname(), []
    for owner in owners:
        owner_host, pid = [*owner.split(":"), ""][:2]
        if owner_host != host or not pid.isdigit() or owner == OWNER:
            continue
        if int(pid) == os.getpid():
            gone.append(owner)  # an earlier process that had this pid
            continue
        try:
            os.kill(int(pid), 0)
        except ProcessLookupError:
            gone.append(owner)
        except PermissionError:
            pass  # alive: another user's process
    return gone


async def settle_interrupted(db: Database, now: datetime, *, at_start: bool) -> int:
    """Mark `uncertain` the sends left in flight by a process that died (see deliveries).

    Claims of this host's dead processes are settled at once; at start-up, also any claim
    older than STALE_CLAIM_MINUTES (its process may have run on another host); at a tick,
    also this process's own claims no delivery is working on (recording how it ended broke)."""
    async with db.transaction() as conn:
        count = 0
        if at_start:
            stale = now - timedelta(minutes=deliveries.STALE_CLAIM_MINUTES)
            count = await deliveries.mark_uncertain(conn, ts(now), ts(stale))
        else:
            mine = await deliveries.sending_keys_of(conn, OWNER)
            orphans = [key for key in mine if not IN_FLIGHT[key]]
            count += await deliveries.mark_uncertain_keys(conn, orphans, ts(now))
        gone = gone_owners(await deliveries.sending_owners(conn))
        count += await deliveries.mark_uncertain_of(conn, gone, ts(now))
    if count:
        logger.warning("%s sends were in flight when their process stopped: uncertain", count)
    return count


def may_have_arrived(exc: NetworkError) -> bool:
    """Whether a failed request may still have reached Telegram (and been delivered).

    PTB raises its NetworkError/TimedOut from the HTTP library's error, or with none when
    Telegram answered with an error status (then nothing was delivered)."""
    cause = exc.__cause__
    if isinstance(
        cause, httpx.ConnectError | httpx.ConnectTimeout | httpx.PoolTimeout | httpx.WriteTimeout
    ):
        return False  # the request never (fully) left this machine: Telegram cannot act on it
    if isinstance(exc, TimedOut):
        return True  # sent, no answer in time: Telegram may well have taken it
    return isinstance(cause, httpx.TransportError)  # dropped while the answer was awaited


def _template(due: Due) -> str:
    kind = "report_overdue" if due.kind.startswith("report_overdue") else due.kind
    return f"clock/{kind}.html"


@dataclass
class Outgoing:
    """A due message rendered: its HTML, and a digest's workbook and chart."""

    html: str
    attachment: tuple[str, bytes] | None = None
    chart: bytes | None = None


async def _render(app: BotApplication, due: Due, now: datetime) -> Outgoing:
    """Render one due message; a digest is computed now, from the data of this moment, in
    the export process, with its workbook (and chart)."""
    state = app.bot_data
    params = dict(due.params)
    pack: exports.Pack | None = None
    if due.kind == "dispatch_admin":
        params["projects"] = await planner.projects_this_month(state.db, state.calendar, now)
    if due.kind.startswith("report_") and due.project_id is not None:
        # Where the plan in force puts the project, read when the reminder goes out.
        params["pace"] = await digest.pace_note(state.db, due.project_id,
                                                Month.parse(params["period"]))  # fmt: skip
    if due.kind in ("bulletin", "bulletin_draft"):
        # The draft shows the top admins everything; a group or a level its own scope.
        period = Month.parse(params["period"])
        before = await bulletin_review.published_at(
            state.db, state.calendar, state.clock_config, period.plus(-1))  # fmt: skip
        pack = await state.db.off_loop(
            exports.bulletin, str(state.texts.root), state.settings.timezone, state.calendar,
            period, now, _root(params), digest.FlagRules(state.settings.flags_max), before,
        )  # fmt: skip
    elif due.kind in ("dispatch_summary", "dispatch_group", "dispatch_draft"):
        month = Month.parse(params["month"])
        pack = await state.db.off_loop(exports.dispatch, str(state.texts.root),
                                       state.calendar, month, now, _root(params))  # fmt: skip
    elif due.kind == "quarter_compare":
        group = params["group"]
        pack = await state.db.off_loop(exports.quarter, str(state.texts.root), state.calendar,
                                       params["quarter"], now, group.root_org_id)  # fmt: skip
    if pack is not None:
        # Rendered in the export process from these templates: HTML already escaped.
        params["body"] = Markup(pack.html)
    text = state.texts.html(_template(due), d=due, p=params, tz=state.settings.timezone)
    if pack is None:
        return Outgoing(text)
    return Outgoing(text, (pack.filename, pack.book), pack.chart)


def _root(params: dict[str, Any]) -> int | None:
    """The subtree a digest covers: its group's, or its admin's level (None: everything)."""
    group = params.get("group")
    return group.root_org_id if group is not None else params.get("root_org_id")


def _markup(app: BotApplication, due: Due) -> InlineKeyboardMarkup | None:
    labels = app.bot_data.texts.labels()
    if due.kind == "bulletin_draft":
        return draft_keyboard(labels, Month.parse(due.params["period"]))
    if due.kind == "dispatch_draft":
        return draft_keyboard(labels, Month.parse(due.params["month"]), "dispatch")
    if due.kind in ("duban_nudge", "duban_due_soon", "duban_overdue"):
        n = due.params["notice"]
        if n.status == "issued":
            return keyboard([[(labels["duban_sign"], DubanNotice(n.id, "sign", n.round).pack())]])
        return keyboard([[(labels["duban_answer"], DubanNotice(n.id, "ans", n.round).pack())]])
    if due.kind.startswith("closing_") and due.project_id is not None:
        return keyboard([[(labels["closing_open"],
                           ClosingStep(due.project_id, "-", "open").pack())]])  # fmt: skip
    if due.project_id is None or not due.kind.startswith(WITH_REPORT_BUTTON):
        return None
    return keyboard([[(labels["open_report"], ReportPick(due.project_id).pack())]])


async def deliver(app: BotApplication, due: Due, now: datetime, tally: Tally) -> None:
    """Claim, send and record one scheduled message (never twice under its key).

    Parts already sent are not sent again on a retry; a failure is retried with a growing
    delay until the message is stale; anything unexpected fails this message only. If
    claiming or recording it breaks (the database locked, say), that is logged and counted
    as failed; a claim left `sending` is settled as `uncertain` by the next tick, since
    the message may have gone out: never twice."""
    IN_FLIGHT[due.key] += 1
    try:
        await _deliver(app, due, now, tally)
    except Exception as exc:
        logger.exception("delivery %s: claiming or recording it broke", due.key)
        tally.failed += 1
        tally.errors.append(f"{due.key}: {type(exc).__name__}: {exc}")
    finally:
        IN_FLIGHT[due.key] -= 1
        if not IN_FLIGHT[due.key]:
            del IN_FLIGHT[due.key]


class PartNotRecorded(Exception):
    """A part of a message went out, but recording that it did failed."""

    def __init__(self, part: int) -> None:
        super().__init__(f"part {part} sent but not recorded")
        self.part = part


async def _deliver(app: BotApplication, due: Due, now: datetime, tally: Tally) -> None:
    db = app.bot_data.db
    async with db.transaction() as conn:
        done = await deliveries.claim(conn, due.key, due.kind, due.chat_id, ts(due.at),
                                      ts(now), OWNER)  # fmt: skip
    if done is None:
        return
    status, error, retry_at = "sent", None, None
    try:
        out = await _render(app, due, now)
        parts = digest_parts(out.html, _markup(app, due), attachment=out.attachment,
                             chart=out.chart)  # fmt: skip
        for index, part in enumerate(parts):
            if index < done:
                continue  # went out before a failure: never twice
            await send_part(app.bot, due.chat_id, part)
            if len(parts) > 1:
                try:
                    async with db.transaction() as conn:
                        await deliveries.part_sent(conn, due.key, index + 1)
                except Exception as exc:
                    raise PartNotRecorded(index + 1) from exc
    except PartNotRecorded as exc:
        # The part went out but its record did not: sent again, it would arrive twice.
        logger.exception("delivery %s: part %s sent but not recorded", due.key, exc.part)
        status, error = "uncertain", f"part {exc.part} sent but not recorded"
    except Forbidden as exc:
        status, error = "unreachable", str(exc)
        async with db.transaction() as conn:
            if due.chat_id < 0:
                # The bot was removed from the group while it was not looking: stop posting.
                await groups.deactivate(conn, due.chat_id)
            kind = "never_started" if "initiate" in str(exc) else "blocked"
            await deliveries.set_chat_status(conn, due.chat_id, kind, ts(now), str(exc)[:200])
    except ChatMigrated as exc:
        async with db.transaction() as conn:
            await groups.migrate_chat(conn, due.chat_id, exc.new_chat_id)
        status, error = "failed", f"ChatMigrated to {exc.new_chat_id}"
    except BadRequest as exc:
        if "chat not found" in str(exc).lower():
            status, error = "unreachable", str(exc)
            async with db.transaction() as conn:
                await deliveries.set_chat_status(conn, due.chat_id, "gone", ts(now), str(exc))
        else:
            status, error = "failed", str(exc)
            retry_at = deliveries.PERMANENT  # the same request would be refused again
    except NetworkError as exc:  # BadRequest is one too, but was caught above
        status, error = "failed", f"{type(exc).__name__}: {exc}"
        if may_have_arrived(exc):
            status = "uncertain"  # never twice: not sent again, listed in /unreachable
            logger.warning("delivery %s may or may not have arrived: %s", due.key, error)
    except TelegramError as exc:  # RetryAfter beyond the limiter's retries
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    except Exception as exc:  # a bug must cost one message, not the whole fan-out
        logger.exception("delivery %s broke", due.key)
        status, error = "failed", f"{type(exc).__name__}: {exc}"
    if status == "failed" and retry_at is None:
        tries = await deliveries.attempts(db, due.key)  # only this task writes its row now
        retry_at = ts(now + timedelta(minutes=min(2 ** (tries - 1), MAX_BACKOFF_MINUTES)))
    async with db.transaction() as conn:
        await deliveries.finish(conn, due.key, status, ts(now), error, retry_at)
        if status == "sent":
            await deliveries.clear_chat_status(conn, [due.chat_id])
    if status == "sent":
        tally.sent += 1
    elif status == "uncertain":
        tally.uncertain += 1
        tally.errors.append(f"{due.key}: {error}")
    elif status == "unreachable":
        tally.unreachable += 1
    else:
        tally.failed += 1
        tally.errors.append(f"{due.key}: {error}")
        logger.warning("delivery %s failed: %s", due.key, error)


async def deliver_all(
    app: BotApplication, dues: Sequence[Due], now: datetime, tally: Tally
) -> None:
    """Deliver many messages, CONCURRENCY chats at a time and each chat's in the order given,
    so two digests' parts never interleave in one chat; one that breaks stops none of the
    others (deliver logs and counts whatever breaks in it)."""
    gate = asyncio.Semaphore(CONCURRENCY)
    chats: dict[int, list[Due]] = {}
    for due in dues:
        chats.setdefault(due.chat_id, []).append(due)

    async def one_chat(queue: list[Due]) -> None:
        async with gate:
            for due in queue:
                await deliver(app, due, now, tally)

    await asyncio.gather(*(one_chat(queue) for queue in chats.values()))


async def record_skipped(db: Database, dues: Sequence[Due | Skip], now: datetime) -> None:
    """Record messages that will never be sent (stale, or superseded by a newer one)."""
    stamps: dict[datetime, str] = {}  # a catch-up skips many messages of few moments
    rows = [(d.key, d.kind, d.chat_id, stamps.get(d.at) or stamps.setdefault(d.at, ts(d.at)))
            for d in dues]  # fmt: skip
    async with db.transaction() as conn:
        await deliveries.skip_many(conn, rows, ts(now))


def draft_keyboard(
    labels: dict[str, str], period: Month, kind: str = "bulletin"
) -> InlineKeyboardMarkup:
    """发布 / 添加点评 (/ 调整红旗蜗牛, the bulletin's) under a digest's draft."""
    if kind == "dispatch":
        return keyboard([[(labels["publish"], DispatchChoice(period, "s").pack()),
                          (labels["comment"], DispatchChoice(period, "k").pack())]])  # fmt: skip
    return keyboard([[(labels["publish"], BulletinDraft(period, "p").pack()),
                      (labels["comment"], BulletinDraft(period, "c").pack())],
                     [(labels["adjust_flags"], BulletinDraft(period, "f").pack())]])  # fmt: skip


# What goes out when a digest is published, and the parameter that names its period.
PUBLISHED = {"bulletin": (("bulletin",), "period"),
             "dispatch": (("dispatch_group", "dispatch_summary"), "month")}  # fmt: skip


async def publish_digest(app: BotApplication, kind: str, period: Month, now: datetime) -> Tally:
    """Send a digest of `period` to its groups (and levels) now (发布 was recorded): what
    the planner has due for them, each once."""
    state = app.bot_data
    decision = await planner.decide(state.db, state.calendar, state.clock_config, now)
    kinds, name = PUBLISHED[kind]
    todo = [d for d in decision.todo if d.kind in kinds and d.params[name] == str(period)]
    tally = Tally()
    await deliver_all(app, todo, now, tally)
    return tally


async def redraft_late(app: BotApplication, now: datetime, tally: Tally) -> None:
    """The clock's tick: each top admin one updated draft of each digest awaiting
    publication that reports filed late since changed, naming them; once a batch (its key
    ends with the batch's last mark, so a restart before the marks are taken up sends
    nothing twice)."""
    state = app.bot_data
    batches, marks = await bulletin_review.late_redrafts(state.db, state.calendar,
                                                         state.clock_config, now)  # fmt: skip
    if not marks:
        return
    admins = await bulletin_review.reviewers(state.db)
    dues = []
    for batch in batches:
        draft = batch.pending
        kind, name = f"{draft.kind}_draft", "period" if draft.kind == "bulletin" else "month"
        params = {name: str(draft.period), "publish_at": draft.publish_at, "late": batch.late}
        last = batch.late[-1].id
        dues += [Due(f"{kind}:{draft.period}:{admin}:late{last}", kind, admin, now,
                     draft.publish_at, params) for admin in admins]  # fmt: skip
    await deliver_all(app, dues, now, tally)
    await bulletin_review.take_up(state.db, marks, now)

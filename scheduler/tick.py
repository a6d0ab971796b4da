"""One tick of the clock: ask the planner what is due and hand it to delivery (bot/delivery.py).

Stale and superseded messages are recorded as skipped; during the quiet hours what is due
waits for their end.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from datetime import datetime

from bot import delivery, public
from bot.context import BotApplication, BotContext, mark_writes_with
from bot.services import bulletin_review, people, planner, status
from bot.services.planner import is_quiet

logger = logging.getLogger(__name__)


@dataclass
class TickResult(delivery.Tally):
    """What one tick found due and what became of it."""

    due: int = 0
    skipped: int = 0
    quiet: bool = False
    busy: bool = False


async def run_tick(app: BotApplication, now: datetime) -> TickResult:
    """Send everything due at `now` that was not sent yet; skip (and record) what is stale."""
    state = app.bot_data
    if state.tick_lock.locked():
        return TickResult(busy=True)  # the previous tick's fan-out is still going
    async with state.tick_lock:
        db, cal, cfg = state.db, state.calendar, state.clock_config
        await delivery.settle_interrupted(db, now, at_start=False)  # e.g. a killed `tick` command
        await people.forget_old_updates(db, now)
        decision = await planner.decide(db, cal, cfg, now)
        await status.note_tick(db, now)  # for `python -m bot status`
        result = TickResult(due=decision.due)
        if decision.stale:
            await delivery.record_skipped(db, decision.stale, now)
            result.skipped = len(decision.stale)
        if is_quiet(now, cal, cfg):
            result.quiet = True  # what is due waits for the end of the quiet hours
            return result
        if decision.superseded:
            await delivery.record_skipped(db, decision.superseded, now)
            result.skipped += len(decision.superseded)
        # Before anything is sent: a 点评 written after this record is refused as too late.
        await bulletin_review.publish_due(db, cal, cfg, now)
        await delivery.deliver_all(app, decision.todo, now, result)
        # After the drafts due now: reports filed late since change the drafts awaiting 发布.
        await delivery.redraft_late(app, now, result)
        try:
            await public.publish(app, now)  # the 晒 channels: cards, votes, tallies, 晒动态
        except Exception:  # a broken post must not stop the next tick's reminders
            logger.exception("tick %s: publishing to the channels broke", now.isoformat())
        if decision.todo:
            logger.info("tick %s: %s", now.isoformat(timespec="minutes"), result)
        return result


async def tick_job(context: BotContext) -> None:
    """Run one tick for the application's now (the JobQueue's callback)."""
    mark_writes_with(None)  # a job's writes carry no update, whatever context it started in
    await run_tick(context.application, context.now())

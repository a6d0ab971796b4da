"""Who someone is to the bot: stranger, secretary of an organization, or admin."""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.scopes import AdminScope, admin_scope
from storage import dialogs, orgs, people, prompts
from storage.db import Database
from storage.rows import Org, Person, ts

logger = logging.getLogger(__name__)
# How long an update's id is kept to recognise it coming again: Telegram keeps an
# unconfirmed update about a day; a week covers a bot that was down for days.
HANDLED_KEPT = timedelta(days=7)


@dataclass(frozen=True, slots=True)
class Identity:
    user_id: int
    role: str  # stranger | secretary | admin
    person: Person | None = None
    org: Org | None = None
    # Admin of every organization (configured) or of one subtree; a 镇党委书记 is the
    # secretary of the town and its subtree's admin at once.
    scope: AdminScope | None = None


async def identify(db: Database, user_id: int) -> Identity:
    """Return what the bot knows of this Telegram user."""
    person = await people.get(db, user_id)
    scope = await admin_scope(db, user_id)
    if person is None:
        return Identity(user_id, "admin" if scope else "stranger", scope=scope)
    org = await orgs.by_id(db, person.org_id) if person.org_id else None
    return Identity(user_id, person.role, person, org, scope)


async def sync_admins(db: Database, admin_ids: Iterable[int], now: datetime) -> list[int]:
    """Make exactly the configured admins admins; return their user ids."""
    stamp = ts(now)
    wanted = sorted(admin_ids)
    async with db.transaction() as conn:
        for user_id in await people.drop_admins_except(conn, wanted):
            logger.warning("user %s is no longer an admin (not in the settings)", user_id)
        for user_id in wanted:
            existing = await people.get(conn, user_id)
            if existing and existing.role == "secretary":
                logger.warning("user %s was a secretary and is now an admin", user_id)
            await people.ensure_admin(conn, user_id, existing.full_name if existing else "", stamp)
        return await people.admin_ids(conn)


async def touch_profile(
    db: Database, user_id: int, full_name: str, username: str | None, now: datetime
) -> None:
    """Keep a known person's name current (admins from the settings start nameless)."""
    async with db.transaction() as conn:
        await people.update_profile(conn, user_id, full_name, username, ts(now))


async def forget_old_updates(db: Database, now: datetime) -> int:
    """Forget handled update ids, and which message asked or answered which question,
    older than HANDLED_KEPT; return how many update ids."""
    async with db.transaction() as conn:
        await prompts.forget(conn, ts(now - HANDLED_KEPT))
        return await dialogs.forget_handled(conn, ts(now - HANDLED_KEPT))

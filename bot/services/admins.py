"""分级管理 by hand: admin invites, the list of admins, and removing one (with who did it)."""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from bot.services import review
from bot.services.acceptance import is_reviewer
from bot.services.invites import IssuedInvite, find_org, new_code
from bot.services.people import Identity, identify
from bot.services.scopes import AdminScope, above, admin_scope, covers, top_admins
from storage import admins, invites
from storage.db import Database
from storage.rows import Invite, Org, OrgAdmin, parse_ts, ts

logger = logging.getLogger(__name__)


@dataclass(frozen=True, slots=True)
class AdminInvite:
    outcome: str  # issued | not_found | ambiguous | not_below | not_admin
    invite: IssuedInvite | None = None
    candidates: tuple[Org, ...] = ()
    org: Org | None = None


async def invite_admin(
    db: Database, inviter: int, query: str, now: datetime, ttl_days: int
) -> AdminInvite:
    """A single-use, expiring invite making its user admin of the named organization's
    subtree; only an admin above that organization may issue it."""
    scope = await admin_scope(db, inviter)
    if scope is None:
        return AdminInvite("not_admin")
    org, candidates = await find_org(db, query, scope, strictly=True)
    if org is None:
        return AdminInvite("ambiguous" if candidates else "not_found", candidates=candidates)
    if not await above(db, scope, org.id):
        if not await covers(db, scope, org.id):
            return AdminInvite("not_found")  # outside the subtree: not shown to exist
        return AdminInvite("not_below", org=org)
    code, stamp, expires = new_code(), ts(now), ts(now + timedelta(days=ttl_days))
    async with db.transaction() as conn:
        await invites.insert_many(conn, [(code, org.id)], inviter, stamp, expires, role="admin")
    invite = Invite(code, org.id, inviter, now, parse_ts(expires), None, None, "admin")
    return AdminInvite("issued", IssuedInvite(org, invite), org=org)


async def scoped_people(db: Database) -> list[tuple[Identity, bool]]:
    """Everyone who is or was a subtree's admin and is no configured admin, as they stand now,
    and whether they are a 验收 reviewer: whose command menu follows their scope."""
    found = []
    for user_id in await admins.ever_user_ids(db):
        who = await identify(db, user_id)
        if who.scope is None or not who.scope.top:
            found.append((who, await is_reviewer(db, user_id)))
    return found


SHOW_REMOVED = 10


@dataclass(frozen=True, slots=True)
class AdminList:
    scope: AdminScope
    admins: list[OrgAdmin] = field(default_factory=list)
    top_ids: list[int] = field(default_factory=list)
    removed: list[OrgAdmin] = field(default_factory=list)  # the latest, with who removed them


async def list_admins(db: Database, scope: AdminScope) -> AdminList:
    """The admins below this admin's level (with the top level for a configured admin), and
    the latest removals there."""

    def below(found: list[OrgAdmin]) -> list[OrgAdmin]:
        return [a for a in found if scope.root is None or a.org.id != scope.root.id]

    return AdminList(
        scope,
        below(await admins.active_within(db, scope.root_id)),
        await top_admins(db) if scope.top else [],
        below(await admins.removed_within(db, scope.root_id, SHOW_REMOVED)),
    )


@dataclass(frozen=True, slots=True)
class Removal:
    outcome: str  # removed | not_found | not_below | not_admin | usage
    admin: OrgAdmin | None = None
    # Applications the removed admin's level no longer decides: to be sent to the level now
    # deciding them (the next one up, or the top).
    moved: tuple[int, ...] = ()


async def remove_admin(db: Database, remover: int, target: str, now: datetime) -> Removal:
    """End a subtree admin's rights (by Telegram id), recording who did it; only an admin
    above that admin's level may."""
    if not target.strip().isdigit() or len(target.strip()) > 15:
        return Removal("usage")
    async with db.transaction() as conn:
        scope = await admin_scope(conn, remover)
        if scope is None:
            return Removal("not_admin")
        found = await admins.active_of(conn, int(target))
        if found is None or not await covers(conn, scope, found.org.id):
            return Removal("not_found")
        if not await above(conn, scope, found.org.id):
            return Removal("not_below", found)
        await admins.remove(conn, found.id, remover, ts(now))
        moved = await review.reroute_from(conn, found.org.id, now)
    logger.info("admin %s of org %s removed by %s", found.user_id, found.org.id, remover)
    return Removal("removed", found, tuple(moved))

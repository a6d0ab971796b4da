"""Invites: one-time deep links that bind a Telegram account as an organization's secretary."""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from bot.services.scopes import AdminScope, above, admin_scope, covers, grant_through
from storage import admins, invites, orgs, people
from storage.db import Connection, Database
from storage.rows import Invite, Org, parse_ts, ts

CODE_BYTES = 12  # 96 random bits -> 16 URL-safe characters, well inside the 64-char limit
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{16}$")
# The organization department itself has no secretary's project: it is the admins' home.
NO_INVITE_KINDS = frozenset({"组织部"})


def new_code() -> str:
    """Return a fresh invite code: URL-safe base64 of 12 random bytes, starting with a letter
    or digit, so a spreadsheet never takes it for a formula and escapes it with a quote."""
    while True:
        code = secrets.token_urlsafe(CODE_BYTES)
        if code[0].isalnum():
            return code


def deep_link(bot_username: str, code: str) -> str:
    """Return the t.me link that opens the bot with /start <code>."""
    return f"https://t.me/{bot_username}?start={code}"


@dataclass(frozen=True, slots=True)
class IssuedInvite:
    org: Org
    invite: Invite


@dataclass(frozen=True, slots=True)
class InviteRequest:
    outcome: str  # issued | has_secretary | not_found | ambiguous | no_invite_kind
    invite: IssuedInvite | None = None
    secretary_name: str = ""
    candidates: tuple[Org, ...] = ()


async def _issue(
    db: Database, wanted: list[Org], now: datetime, ttl_days: int, created_by: int | None
) -> list[IssuedInvite]:
    """Reuse each organization's invite while half its lifetime is left, else create one.

    Links already sent out stay valid until they expire; a reused one is never about to.
    """
    stamp = ts(now)
    async with db.transaction() as conn:
        fresh_enough = ts(now + timedelta(days=ttl_days / 2))
        usable = await invites.usable_for_orgs(conn, [o.id for o in wanted], fresh_enough)
        fresh = [(new_code(), o.id) for o in wanted if o.id not in usable]
        expires = ts(now + timedelta(days=ttl_days))
        await invites.insert_many(conn, fresh, created_by, stamp, expires)
    for code, org_id in fresh:
        usable[org_id] = Invite(code, org_id, created_by, now, parse_ts(expires), None, None)
    return [IssuedInvite(o, usable[o.id]) for o in wanted]


async def invites_for_unbound(
    db: Database, now: datetime, ttl_days: int, created_by: int | None = None
) -> list[IssuedInvite]:
    """Return an invite for every organization that has no secretary yet, by 编号."""
    wanted = [o for o in await orgs.without_secretary(db) if o.kind not in NO_INVITE_KINDS]
    return await _issue(db, wanted, now, ttl_days, created_by)


SHOW_CANDIDATES = 10


async def find_org(
    db: Database, query: str, scope: AdminScope | None = None, *, strictly: bool = False
) -> tuple[Org | None, tuple[Org, ...]]:
    """Find an organization by 编号, else by name; return (match, candidates if ambiguous).
    Names are matched only inside an admin's subtree (`scope`; with `strictly`, a choice
    among several leaves out the admin's own level), so nothing outside it is ever listed;
    a 编号 is returned as found and left to the caller's scope check."""
    query = query.strip()
    found = await orgs.by_code(db, query)
    if found:
        return found, ()
    scoped = scope is not None and not scope.top
    named = await orgs.by_name(db, query, limit=None if scoped else SHOW_CANDIDATES)
    if scope is not None and scoped:
        named = [o for o in named if await covers(db, scope, o.id)]
        if strictly and len(named) > 1:
            named = [o for o in named if await above(db, scope, o.id)]
    if len(named) == 1:
        return named[0], ()
    return None, tuple(named[:SHOW_CANDIDATES])


async def invite_for(
    db: Database, query: str, now: datetime, ttl_days: int, created_by: int | None
) -> InviteRequest:
    """Return an invite for the organization named by 编号 or name, if it may have one; an
    admin (`created_by`; None from the command line) only within their subtree."""
    scope = None if created_by is None else await admin_scope(db, created_by)
    if created_by is not None and scope is None:
        return InviteRequest("not_found")
    org, candidates = await find_org(db, query, scope)
    if org is None:
        return InviteRequest("ambiguous" if candidates else "not_found", candidates=candidates)
    if scope is not None:
        if not await covers(db, scope, org.id):
            return InviteRequest("not_found")  # outside the subtree: not shown to exist
    if org.kind in NO_INVITE_KINDS:
        return InviteRequest("no_invite_kind", IssuedInvite(org, _placeholder(org, now)))
    secretary = await people.secretary_of(db, org.id)
    if secretary:
        return InviteRequest(
            "has_secretary", IssuedInvite(org, _placeholder(org, now)), secretary.full_name
        )
    [issued] = await _issue(db, [org], now, ttl_days, created_by)
    return InviteRequest("issued", issued)


def _placeholder(org: Org, now: datetime) -> Invite:
    return Invite("", org.id, None, now, now, None, None)


@dataclass(frozen=True, slots=True)
class Redemption:
    # bound | already_bound | is_admin | bound_elsewhere | unknown | used | expired
    # | org_taken | throttled; an admin invite: admin_bound | already_admin
    # | admin_elsewhere | revoked
    outcome: str
    org: Org | None = None
    wait_minutes: int = 0


async def redeem(
    db: Database,
    code: str,
    user_id: int,
    full_name: str,
    username: str | None,
    now: datetime,
    *,
    max_failures: int,
    window_minutes: int,
) -> Redemption:
    """Bind the user as secretary (or, with an admin invite, make them admin of the
    organization's subtree) through an invite code, or say why not (changing nothing)."""
    stamp = ts(now)
    window = timedelta(minutes=window_minutes)
    async with db.transaction() as conn:
        recent = await invites.failures_since(conn, user_id, ts(now - window))
        if len(recent) >= max_failures:
            free_at = parse_ts(recent[-max_failures]) + window
            minutes = max(1, -(-int((free_at - now).total_seconds()) // 60))
            return Redemption("throttled", wait_minutes=minutes)
        invite = await invites.get(conn, code) if CODE_PATTERN.match(code) else None
        if invite is None:
            await invites.record_failure(conn, user_id, stamp)
            await invites.forget_failures_before(conn, ts(now - window))
            return Redemption("unknown")
        org = await orgs.by_id(conn, invite.org_id)
        if invite.role == "admin":
            return await _redeem_admin(conn, invite, org, user_id, full_name, username, now)
        person = await people.get(conn, user_id)
        if person and person.role == "secretary" and person.org_id == invite.org_id:
            return Redemption("already_bound", org)
        if person and person.role == "admin":
            return Redemption("is_admin", org)
        if person and person.role == "secretary":
            return Redemption("bound_elsewhere", await orgs.by_id(conn, person.org_id or 0))
        if invite.used_at is not None:
            return Redemption("used", org)
        if invite.expires_at <= now:
            return Redemption("expired", org)
        if await people.secretary_of(conn, invite.org_id):
            return Redemption("org_taken", org)
        await invites.mark_used(conn, code, user_id, stamp)
        await people.bind_secretary(conn, user_id, full_name, username, invite.org_id, stamp)
    return Redemption("bound", org)


async def _redeem_admin(
    conn: Connection,
    invite: Invite,
    org: Org | None,
    user_id: int,
    full_name: str,
    username: str | None,
    now: datetime,
) -> Redemption:
    """Make the person admin of the invite's subtree (they may also be a secretary)."""
    if invite.used_at is not None:
        verdict, _ = await grant_through(conn, invite, user_id)
        return Redemption("already_admin" if verdict == "already_admin" else "used", org)
    if invite.expires_at <= now:
        return Redemption("expired", org)
    verdict, root = await grant_through(conn, invite, user_id)
    if verdict != "ok":
        return Redemption(verdict, root or org)
    stamp = ts(now)
    await invites.mark_used(conn, invite.code, user_id, stamp)
    await admins.grant(conn, user_id, invite.org_id, full_name, username, invite.created_by, stamp)
    return Redemption("admin_bound", org)

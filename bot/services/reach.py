"""Who the bot cannot reach, and organizations exempted from a month's report."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from bot.services import scopes
from bot.services.invites import NO_INVITE_KINDS
from bot.services.reporting import parse_period
from storage import deliveries, orgs, people
from storage.db import Database
from storage.rows import Org, Person, parse_ts, ts

SHOW_UNBOUND = 30
REASON_LIMIT = 100


@dataclass(frozen=True, slots=True)
class UnreachableChat:
    chat_id: int
    status: str  # blocked | never_started | gone
    since: datetime
    person: Person | None
    org: Org | None


@dataclass(frozen=True, slots=True)
class ReachReport:
    chats: list[UnreachableChat]
    unbound: list[Org]  # the first SHOW_UNBOUND organizations with no secretary
    unbound_total: int
    troubled: list[deliveries.DeliveryRow] = field(default_factory=list)  # failed, uncertain


async def unreachable(db: Database, scope: scopes.AdminScope | None = None) -> ReachReport:
    """Chats whose messages failed (blocked, never started, gone) and unbound organizations;
    for an admin of a subtree, its secretaries and organizations only."""
    mine = await scopes.org_ids(db, scope)
    chats = []
    owners: dict[int, int | None] = {}
    for chat_id, (status, since) in sorted((await deliveries.unreachable(db)).items()):
        person = await people.get(db, chat_id)
        owners[chat_id] = person.org_id if person else None
        if not scopes.inside(mine, owners[chat_id]):
            continue
        org = await orgs.by_id(db, person.org_id) if person and person.org_id else None
        chats.append(UnreachableChat(chat_id, status, parse_ts(since), person, org))
    unbound = [o for o in await orgs.without_secretary(db)
               if o.kind not in NO_INVITE_KINDS and scopes.inside(mine, o.id)]  # fmt: skip
    troubled = []
    for row in await deliveries.troubled(db):
        if mine is not None and row.chat_id not in owners:
            person = await people.get(db, row.chat_id)
            owners[row.chat_id] = person.org_id if person else None
        if mine is None or scopes.inside(mine, owners[row.chat_id]):
            troubled.append(row)
    return ReachReport(chats, unbound[:SHOW_UNBOUND], len(unbound), troubled)


@dataclass(frozen=True, slots=True)
class Exemption:
    outcome: str  # exempted | usage | org_not_found | own | bad_period | too_long
    org: Org | None = None
    period: str = ""
    reason: str = ""
    current: dict[str, str] = field(default_factory=dict)  # org name -> reason, for usage


async def exempt(
    db: Database, admin_id: int, args: list[str], now: datetime, current_period: str
) -> Exemption:
    """/exempt <组织编号> <期间> <原因>: neither reminded nor counted late for that month."""
    scope = await scopes.admin_scope(db, admin_id)
    mine = await scopes.org_ids(db, scope)
    if len(args) < 3:
        listed = await deliveries.exemptions(db, current_period)
        names = {}
        for org_id, reason in listed.items():
            if scopes.inside(mine, org_id):
                org = await orgs.by_id(db, org_id)
                names[org.name if org else str(org_id)] = reason
        return Exemption("usage", period=current_period, current=names)
    org = await orgs.by_code(db, args[0])
    if org is None or scope is None or not scopes.inside(mine, org.id):
        # Outside the admin's subtree: not shown to exist.
        return Exemption("org_not_found", reason=args[0][:40])
    if not await scopes.decides_for(db, admin_id, org.id):
        return Exemption("own", org)  # their own organization: the level above exempts it
    period = parse_period(args[1])
    if period is None:
        return Exemption("bad_period", org, reason=args[1][:40])
    reason = " ".join(args[2:]).strip()
    if len(reason) > REASON_LIMIT:
        return Exemption("too_long", org, str(period), reason[:20])
    async with db.transaction() as conn:
        await deliveries.exempt(conn, org.id, str(period), reason, admin_id, ts(now))
    return Exemption("exempted", org, str(period), reason)

"""Supervisor groups (督导群): which Telegram groups may receive digests, and for which orgs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from bot.services import scopes
from storage import groups, orgs
from storage.db import Database
from storage.rows import Org, ts


@dataclass(frozen=True, slots=True)
class GroupBinding:
    outcome: str  # bound | rebound | unknown_org | not_admin | taken
    root: Org | None = None
    covered: int = 0  # organizations in scope
    query: str = ""
    held: scopes.Held | None = None  # with "taken": whose binding it is


async def bind_group(
    db: Database, chat_id: int, title: str, by_user: int, org_code: str | None, now: datetime
) -> GroupBinding:
    """Register a group as a supervisor group, for all organizations or one subtree; an
    admin of a subtree binds it at or below their own organization (theirs by default) and
    never takes over a group bound for more than their subtree."""
    scope = await scopes.admin_scope(db, by_user)
    if scope is None:
        return GroupBinding("not_admin")
    root = scope.root
    if org_code:
        root = await orgs.by_code(db, org_code)
        if root is None or not await scopes.covers(db, scope, root.id):
            return GroupBinding("unknown_org", query=org_code)  # outside: not shown to exist
    async with db.transaction() as conn:
        before = await groups.get(conn, chat_id)
        if before is not None and before.active:
            held = await scopes.held(conn, scope, before.root_org_id, before.bound_by)
            if held is not None:
                return GroupBinding("taken", held=held)
        await groups.bind(conn, chat_id, title, root.id if root else None, by_user, ts(now))
        covered = len(await orgs.subtree_ids(conn, root.id)) if root else await orgs.count(conn)
    outcome = "rebound" if before and before.active else "bound"
    return GroupBinding(outcome, root, covered)


async def group_left(db: Database, chat_id: int) -> bool:
    """Stop posting to a group the bot was removed from; True if it was registered."""
    async with db.transaction() as conn:
        return await groups.deactivate(conn, chat_id)


async def group_migrated(db: Database, old_id: int, new_id: int) -> None:
    """Follow a group whose chat id changed when it became a supergroup."""
    async with db.transaction() as conn:
        await groups.migrate_chat(conn, old_id, new_id)


async def may_post(db: Database, chat_id: int) -> bool:
    """Return whether the bot may post to this group: only registered, active ones."""
    group = await groups.get(db, chat_id)
    return bool(group and group.active)


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A group as /help and /digest in it see it: bound (its scope) or not."""

    bound: bool
    root: Org | None = None
    covered: int = 0  # organizations in scope
    root_org_id: int | None = None


async def group_info(db: Database, chat_id: int) -> GroupInfo:
    """Whether the group is an active supervisor group, and for which organizations."""
    group = await groups.get(db, chat_id)
    if group is None or not group.active:
        return GroupInfo(False)
    root = await orgs.by_id(db, group.root_org_id) if group.root_org_id else None
    covered = (len(await orgs.subtree_ids(db, root.id)) if root
               else await orgs.count(db))  # fmt: skip
    return GroupInfo(True, root, covered, group.root_org_id)

"""Supervisor groups (督导群): which Telegram groups may receive digests, and for which orgs."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from storage import groups, orgs
from storage.db import Database
from storage.rows import Org, ts


@dataclass(frozen=True, slots=True)
class GroupBinding:
    outcome: str  # bound | rebound | unknown_org
    root: Org | None = None
    covered: int = 0  # organizations in scope
    query: str = ""


async def bind_group(
    db: Database, chat_id: int, title: str, by_user: int, org_code: str | None, now: datetime
) -> GroupBinding:
    """Register a group as a supervisor group, for all organizations or one subtree."""
    root = None
    if org_code:
        root = await orgs.by_code(db.conn, org_code)
        if root is None:
            return GroupBinding("unknown_org", query=org_code)
    async with db.transaction() as conn:
        before = await groups.get(conn, chat_id)
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
    group = await groups.get(db.conn, chat_id)
    return bool(group and group.active)

"""分级管理: who is admin of what. The one place that decides it.

The configured admins (BOT_ADMIN_IDS) are the top level, over every organization; an admin
invited for an organization is admin of that organization and everything below it. The
answer is read from the database for every update and again by every service that acts,
so an admin removed mid-conversation loses their rights at the next message or button.
"""

from __future__ import annotations

from dataclasses import dataclass

from storage import admins, orgs, people
from storage.rows import Invite, Org, Reader


@dataclass(frozen=True, slots=True)
class AdminScope:
    """An admin and the organizations they answer for."""

    user_id: int
    root: Org | None  # None: a configured admin, over every organization

    @property
    def top(self) -> bool:
        return self.root is None

    @property
    def root_id(self) -> int | None:
        """The subtree's root for subtree queries; None means every organization."""
        return None if self.root is None else self.root.id


async def admin_scope(conn: Reader, user_id: int) -> AdminScope | None:
    """The person's admin scope now, or None if they are no admin."""
    top, root = await admins.standing(conn, user_id)
    if top:
        return AdminScope(user_id, None)
    return AdminScope(user_id, root) if root is not None else None


async def covers(conn: Reader, scope: AdminScope, org_id: int) -> bool:
    """May this admin see and act on the organization (their root or below it)?"""
    return scope.root is None or await admins.within(conn, org_id, scope.root.id)


async def above(conn: Reader, scope: AdminScope, org_id: int) -> bool:
    """Is the organization strictly below this admin's level? Applications are decided, and
    admins invited or removed, only from a level above: a 镇党委书记 admin of the town's
    subtree does not approve the town's own project."""
    if scope.root is None:
        return True
    return org_id != scope.root.id and await admins.within(conn, org_id, scope.root.id)


async def acting(conn: Reader, user_id: int, org_id: int, *, strictly: bool = False) -> bool:
    """Is the person, now, an admin over this organization (strictly above it)?"""
    scope = await admin_scope(conn, user_id)
    if scope is None:
        return False
    return await (above if strictly else covers)(conn, scope, org_id)


async def decides_for(conn: Reader, user_id: int, org_id: int) -> bool:
    """May the person, now, decide about this organization's work: an admin from a level
    above it, and not its own secretary? Nobody supervises their own organization: 立项,
    调整, 结题, /terminate, /exempt, /reopen and 督办 all ask this, and the admin it refuses
    inside their subtree is told the level above decides."""
    secretary = await people.secretary_of(conn, org_id)
    if secretary is not None and secretary.user_id == user_id:
        return False
    return await acting(conn, user_id, org_id, strictly=True)


async def org_ids(conn: Reader, scope: AdminScope | None) -> frozenset[int] | None:
    """The organizations an admin answers for; None means every one (the top level, or no
    admin given: the command line and the clock)."""
    if scope is None or scope.root is None:
        return None
    return frozenset(await orgs.subtree_ids(conn, scope.root.id))


def inside(ids: frozenset[int] | None, org_id: int | None) -> bool:
    """Is the organization among `ids` (None: every organization)?"""
    return ids is None or (org_id is not None and org_id in ids)


async def nearest_level(conn: Reader, org_id: int) -> tuple[int | None, list[int]]:
    """The nearest level strictly above the organization that has admins, and their ids;
    (None, []) when only the top level is above it."""
    return await admins.nearest_above(conn, org_id)


async def top_admins(conn: Reader) -> list[int]:
    """The configured admins' user ids."""
    return sorted(await people.admin_ids(conn))


async def grant_through(conn: Reader, invite: Invite, user_id: int) -> tuple[str, Org | None]:
    """Whether an admin invite may make this person admin: ('ok', None), or the refusal and
    the organization it names. The inviter must still be above the organization."""
    top, root = await admins.standing(conn, user_id)
    if top:
        return "is_admin", None
    if root is not None:
        return ("already_admin" if root.id == invite.org_id else "admin_elsewhere"), root
    if invite.created_by is None or not await acting(
        conn, invite.created_by, invite.org_id, strictly=True
    ):
        return "revoked", None  # the inviter lost the right to give it
    return "ok", None


@dataclass(frozen=True, slots=True)
class Held:
    """A group or channel bound outside an admin's subtree, which they may not rebind: for
    which organizations, and who bound it as far as the binder's standing now tells."""

    root: Org | None  # bound for this organization and below; None: every organization
    mine: Org  # the admin's own organization
    wider: bool  # the binding covers the admin's organization too
    by: str  # above: a level above the admin | other: another organization's admin | unknown
    by_org: Org | None = None  # with "other": the binder's organization


async def held(
    conn: Reader, scope: AdminScope, root_org_id: int | None, bound_by: int
) -> Held | None:
    """Why this admin may not rebind a chat bound for `root_org_id` by `bound_by`, or None
    if they may (the top level, or a binding inside their subtree)."""
    if scope.root is None or (root_org_id is not None and await covers(conn, scope, root_org_id)):
        return None
    mine = scope.root
    root = None if root_org_id is None else await orgs.by_id(conn, root_org_id)
    # Only a level above could bind a subtree holding the admin's own organization.
    wider = root_org_id is None or await admins.within(conn, mine.id, root_org_id)
    binder = await admin_scope(conn, bound_by)
    if wider or (binder is not None and await above(conn, binder, mine.id)):
        return Held(root, mine, wider, "above")
    if binder is not None and binder.root is not None and binder.root.id != mine.id:
        return Held(root, mine, wider, "other", binder.root)
    return Held(root, mine, wider, "unknown")  # the binder is no admin now

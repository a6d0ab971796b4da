"""审批立项: admins approve (立项, with a number) or return (退回修改, with a reason)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from bot.services.months import Month
from bot.services.text import clean_text
from storage import dialogs, orgs, people, projects
from storage.db import Database
from storage.rows import Milestone, Org, Person, Project, Review, ts

FLOW = "return_reason"
REASON_LIMIT = 500


@dataclass(frozen=True, slots=True)
class ProjectView:
    """A project with what is shown beside it."""

    project: Project
    org: Org
    milestones: list[Milestone]
    reviews: list[Review] = field(default_factory=list)
    secretary: Person | None = None


@dataclass(frozen=True, slots=True)
class ReviewOutcome:
    kind: str  # approved | returned | asking_reason | stale | empty | too_long | no_dialog
    view: ProjectView | None = None
    params: dict[str, Any] = field(default_factory=dict)


async def project_view(db: Database, project_id: int) -> ProjectView | None:
    """Load a project with its organization, milestones, history and secretary."""
    project = await projects.get(db.conn, project_id)
    if project is None:
        return None
    org = await orgs.by_id(db.conn, project.org_id)
    assert org is not None
    return ProjectView(
        project,
        org,
        await projects.milestones(db.conn, project_id),
        await projects.reviews(db.conn, project_id),
        await people.secretary_of(db.conn, project.org_id),
    )


async def _is_admin(db: Database, user_id: int) -> bool:
    person = await people.get(db.conn, user_id)
    return person is not None and person.role == "admin"


async def approve(
    db: Database, project_id: int, round_: int, admin_id: int, now: datetime
) -> ReviewOutcome:
    """立项: number the project within its start year; a stale button changes nothing."""
    if not await _is_admin(db, admin_id):
        return ReviewOutcome("not_admin")
    project = await projects.get(db.conn, project_id)
    if project is None or project.start_month is None:
        return ReviewOutcome("stale")
    year = Month.parse(project.start_month).year
    stamp = ts(now)
    async with db.transaction() as conn:
        seq = await projects.mark_approved(conn, project_id, round_, year, stamp)
        if seq:
            # Another admin typing a return reason meanwhile keeps their dialog: their
            # reason is then answered as stale rather than lost in the fallback.
            await projects.record_review(conn, project_id, "approve", round_, admin_id, None, stamp)
    view = await project_view(db, project_id)
    return ReviewOutcome("approved" if seq else "stale", view)


async def ask_reason(
    db: Database, admin_id: int, project_id: int, round_: int, now: datetime
) -> ReviewOutcome:
    """退回修改 pressed: the admin's next message is the reason."""
    if not await _is_admin(db, admin_id):
        return ReviewOutcome("not_admin")
    project = await projects.get(db.conn, project_id)
    if project is None or project.status != "submitted" or project.round != round_:
        return ReviewOutcome("stale", await project_view(db, project_id) if project else None)
    async with db.transaction() as conn:
        await dialogs.put(conn, admin_id, FLOW, project_id, str(round_), False, ts(now))
    return ReviewOutcome("asking_reason", await project_view(db, project_id))


async def give_reason(db: Database, admin_id: int, text: str, now: datetime) -> ReviewOutcome:
    """The reason typed after 退回修改: return the project with it."""
    dialog = await dialogs.get(db.conn, admin_id)
    if dialog is None or dialog.flow != FLOW:
        return ReviewOutcome("no_dialog")
    if not await _is_admin(db, admin_id):
        async with db.transaction() as conn:
            await dialogs.clear(conn, admin_id)
        return ReviewOutcome("not_admin")
    reason = clean_text(text)
    view = await project_view(db, dialog.subject_id)
    if not reason:
        return ReviewOutcome("empty", view)
    if len(reason) > REASON_LIMIT:
        return ReviewOutcome("too_long", view, {"limit": REASON_LIMIT, "length": len(reason)})
    stamp = ts(now)
    round_ = int(dialog.step)
    async with db.transaction() as conn:
        done = await projects.mark_returned(conn, dialog.subject_id, round_, stamp)
        if done:
            await projects.record_review(
                conn, dialog.subject_id, "return", round_, admin_id, reason, stamp
            )
        await dialogs.clear(conn, admin_id)
    view = await project_view(db, dialog.subject_id)
    return ReviewOutcome("returned" if done else "stale", view, {"reason": reason})


async def cancel_reason(db: Database, admin_id: int) -> ReviewOutcome:
    """Give up returning: the project stays 已申报. "undecided" with the project while it
    still awaits this decision (its buttons are offered again), else "cancelled"."""
    dialog = await dialogs.get(db.conn, admin_id)
    if dialog is None or dialog.flow != FLOW:
        return ReviewOutcome("cancelled")
    async with db.transaction() as conn:
        await dialogs.clear(conn, admin_id)
    project = await projects.get(db.conn, dialog.subject_id)
    if project is None or project.status != "submitted" or str(project.round) != dialog.step:
        return ReviewOutcome("cancelled")
    return ReviewOutcome("undecided", await project_view(db, project.id))

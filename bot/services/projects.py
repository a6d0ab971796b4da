"""Looking projects up: lists by status and organization, and one project's card."""

from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services import scopes
from bot.services.months import Month, fold
from bot.services.people import Identity
from bot.services.reporting import PeriodStatus, period_lines
from bot.services.review import ProjectView, project_view
from storage import orgs, projects
from storage.db import Database
from storage.rows import Milestone, Org, Project

PAGE_SIZE = 10
# Status words admins type after /projects, and the statuses they mean.
STATUS_WORDS: dict[str, tuple[str, ...]] = {
    "草稿": ("draft",),
    "待审": ("submitted",),
    "已申报": ("submitted",),
    "申报": ("submitted",),
    "退回": ("returned",),
    "退回修改": ("returned",),
    "已立项": ("approved",),
    "立项": ("approved",),
    "在建": ("approved",),
    "已结题": ("concluded",),
    "已验收": ("accepted",),
    "已终止": ("terminated",),
    "终止": ("terminated",),
}
STATUS_KEYS = ("draft", "submitted", "returned", "approved", "concluded", "accepted", "terminated")
# This month's report state admins type after /projects, and the states of /reports it takes.
REPORT_WORDS: dict[str, str] = {
    "未报": "missing",
    "逾期": "late",
    "已报": "filed",
    "按时": "ontime",
    "填写中": "filling",
    "免报": "exempt",
}
REPORT_STATES: dict[str, tuple[str, ...]] = {
    "missing": ("missing",),
    "late": ("late",),
    "filed": ("on_time", "late"),
    "ontime": ("on_time",),
    "filling": ("draft",),
    "exempt": ("exempt",),
}
NUMBER = re.compile(r"^(\d{4})-(\d{1,4})$")
# 申报号: 12, 申报号 12 or 第12号 (and #12, the form older messages suggested).
INTERNAL_ID = re.compile(r"^(?:#|申报号\s*|第\s*)?(\d{1,9})(?:\s*号)?$")


@dataclass(frozen=True, slots=True)
class ListItem:
    project: Project
    org: Org
    state: str | None = None  # this month's report state, in a list filtered by it


@dataclass(frozen=True, slots=True)
class ProjectList:
    outcome: str  # ok | unknown_filter | not_allowed
    items: list[ListItem]
    total: int = 0
    page: int = 0
    pages: int = 0
    status: str | None = None  # a key of STATUS_KEYS
    org: Org | None = None
    query: str = ""
    page_size: int = PAGE_SIZE
    # Filtered by this month's report state (a key of REPORT_STATES): the month and the
    # totals of every project owing it in the list's scope, for the line above the list.
    period: Month | None = None
    totals: PeriodStatus | None = None


async def list_projects(
    db: Database,
    viewer: Identity,
    *,
    query: str = "",
    status: str | None = None,
    org_id: int | None = None,
    page: int = 0,
    period: Month | None = None,
) -> ProjectList:
    """A page of projects: a secretary sees their organization's, an admin those of their
    subtree (a configured admin: everything); an admin may filter by the report state of
    `period` (the month being reported: 未报, 逾期, 已报 …), with that month's totals."""
    admin = viewer.scope
    if viewer.role == "stranger" and admin is None:
        return ProjectList("not_allowed", [])
    org = await orgs.by_id(db, org_id) if org_id else None
    for word in query.split():
        if word in STATUS_WORDS:
            status = STATUS_WORDS[word][0]
        elif word in REPORT_WORDS and admin is not None:
            status = REPORT_WORDS[word]
        elif admin is not None and (coded := await orgs.by_code(db, word)):
            org = coded
        else:
            return ProjectList("unknown_filter", [], query=word)
    if admin is not None and org is not None and not await scopes.covers(db, admin, org.id):
        # Outside the admin's subtree (typed, or a forged page button): not shown to exist.
        return ProjectList("unknown_filter", [], query=org.code)
    # A secretary sees their own organization's; an admin's filter takes in its subtree.
    if admin is None:
        assert viewer.org is not None
        scope: int | None = viewer.org.id
        with_subtree = False
        org = None
    else:
        scope = org.id if org is not None else admin.root_id
        with_subtree = True
    if status in REPORT_STATES:
        if admin is None or period is None:
            return ProjectList("unknown_filter", [], query=query)
        # Built in the export process: a province's projects would hold the event loop.
        return await db.off_loop(by_report_state, status, period, scope, org, page, lookup=True)
    statuses: tuple[str, ...] | None = (status,) if status in STATUS_KEYS else None
    if admin is not None:
        # A draft is the secretary's own until it is submitted.
        statuses = tuple(s for s in (statuses or STATUS_KEYS) if s != "draft")

    async def page_of(number: int) -> tuple[list[Project], int]:
        return await projects.search(db, org_id=scope, with_subtree=with_subtree,
                                     statuses=statuses, limit=PAGE_SIZE,
                                     offset=number * PAGE_SIZE)  # fmt: skip

    page = max(page, 0)
    found, total = await page_of(page)
    pages = max(1, -(-total // PAGE_SIZE))
    if page >= pages:  # a page past the end (an old button, fewer projects now): the last one
        page = pages - 1
        found, total = await page_of(page)
    # A project's org_id is a foreign key into orgs: the organization is found.
    names = await orgs.by_ids(db, {project.org_id for project in found})
    items = [ListItem(project, names[project.org_id]) for project in found]
    shown = statuses[0] if statuses and len(statuses) == 1 else None
    return ProjectList("ok", items, total, page, pages, shown, org)


async def by_report_state(
    view: Database, key: str, period: Month, root: int | None, org: Org | None, page: int
) -> ProjectList:
    """A page of the projects owing `period` whose report is in the state `key`, under
    `root` (None: every organization), with the totals of all of them; in the export
    process (Database.off_loop)."""
    lines = await period_lines(view, period, root)
    wanted = REPORT_STATES[key]
    chosen = [line for line in lines if line.state in wanted]
    pages = max(1, -(-len(chosen) // PAGE_SIZE))
    page = min(max(page, 0), pages - 1)  # past the end (an old button): the last page
    items = [ListItem(line.project, line.org, line.state)
             for line in chosen[page * PAGE_SIZE : (page + 1) * PAGE_SIZE]]  # fmt: skip
    totals = PeriodStatus("ok", period, None, dict(Counter(line.state for line in lines)))
    return ProjectList("ok", items, len(chosen), page, pages, key, org, period=period,
                       totals=totals)  # fmt: skip


@dataclass(frozen=True, slots=True)
class MarkedMilestone:
    milestone: Milestone
    mark: str  # done | due | overdue


@dataclass(frozen=True, slots=True)
class ProjectCard:
    outcome: str  # ok | not_found | not_allowed | bad_number
    view: ProjectView | None = None
    milestones: list[MarkedMilestone] | None = None
    query: str = ""


def mark_milestones(
    items: list[Milestone], this_month: Month, owed_from: str | None = None
) -> list[MarkedMilestone]:
    """✅ done, ⚠️ overdue (its month has passed undone), ⏳ due (this month or later). One
    planned before the first month owed (`owed_from`, 立项 late) is due in that month."""
    marked = []
    for m in items:
        if m.done_month:
            mark = "done"
        elif Month.parse(max(m.month, owed_from or "")) < this_month:
            mark = "overdue"
        else:
            mark = "due"
        marked.append(MarkedMilestone(m, mark))
    return marked


FILED = ("approved", "concluded", "accepted", "terminated")  # statuses with monthly reports


async def only_project(db: Database, viewer: Identity, *, filed: bool = False) -> str | None:
    """The query naming a secretary's one project (not a draft; with `filed`, one that has
    reports), for /project and /history typed without a number; None when there is not
    exactly one, or for anyone else."""
    if viewer.role != "secretary" or viewer.org is None:
        return None
    mine = [p for p in await projects.of_org(db, viewer.org.id)
            if p.status != "draft" and (not filed or p.status in FILED)]  # fmt: skip
    return str(mine[0].id) if len(mine) == 1 else None


async def find_project(db: Database, query: str) -> Project | None:
    """A project by 立项 number (2027-015, ２０２７－０１５ too) or by its 申报号 (12)."""
    query = fold(query.strip())
    if match := NUMBER.match(query):
        return await projects.by_number(db, int(match.group(1)), int(match.group(2)))
    if match := INTERNAL_ID.match(query):
        return await projects.get(db, int(match.group(1)))
    return None


async def project_card(
    db: Database, viewer: Identity, query: str, now: datetime, tz: ZoneInfo
) -> ProjectCard:
    """/project <编号>: one project, with its milestones marked against this month."""
    if viewer.role == "stranger" and viewer.scope is None:
        return ProjectCard("not_allowed")
    if not (NUMBER.match(fold(query.strip())) or INTERNAL_ID.match(fold(query.strip()))):
        return ProjectCard("bad_number", query=query)
    project = await find_project(db, query)
    if project is None:
        return ProjectCard("not_found", query=query)
    own = viewer.org is not None and viewer.org.id == project.org_id
    admin = viewer.scope is not None and await scopes.covers(db, viewer.scope, project.org_id)
    if not (own or admin):
        return ProjectCard("not_found", query=query)  # others' projects are not shown to exist
    if not own and project.status == "draft":
        return ProjectCard("not_found", query=query)  # drafts stay private until submitted
    view = await project_view(db, project.id)
    assert view is not None
    this_month = Month.of(now.astimezone(tz))
    marked = mark_milestones(view.milestones, this_month, project.owed_from)
    return ProjectCard("ok", view, marked, query)

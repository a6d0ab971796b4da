"""佐证材料: the photos and documents secretaries attach, gathered for the admins who decide.

Files are kept by Telegram file id (nothing is downloaded) and shown as albums: Telegram's
sendMediaGroup takes 2–10 items of one kind (photos and documents cannot be mixed), so the
files are grouped by kind, photos first, in the order they were attached, ten at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

from bot.services.months import Month
from bot.services.people import Identity
from bot.services.projects import FILED, find_project, only_project
from bot.services.reporting import parse_period
from bot.services.scopes import covers
from storage import summary
from storage.db import Database
from storage.rows import Project

ALBUM_MAX = 10  # items in one album (sendMediaGroup)
KINDS = ("photo", "document")


@dataclass(frozen=True, slots=True)
class Album:
    """Files of one kind sent together: `first` and `last` count them (from 1) among the
    `total` of that kind, for the caption."""

    kind: str  # photo | document
    file_ids: tuple[str, ...]
    first: int
    last: int
    total: int


def albums(files: Iterable[Sequence[str]]) -> list[Album]:
    """Albums of the (kind, file id, …) rows: photos first, then documents; ≤ 10 each."""
    by_kind: dict[str, list[str]] = {kind: [] for kind in KINDS}
    for row in files:
        kind, file_id = str(row[0]), str(row[1])
        if kind in by_kind and file_id not in by_kind[kind]:
            by_kind[kind].append(file_id)
    out = []
    for kind, ids in by_kind.items():
        for start in range(0, len(ids), ALBUM_MAX):
            chunk = tuple(ids[start : start + ALBUM_MAX])
            out.append(Album(kind, chunk, start + 1, start + len(chunk), len(ids)))
    return out


@dataclass(frozen=True, slots=True)
class PeriodEvidence:
    """One month's report: its evidence as albums."""

    period: Month
    albums: list[Album]

    def count(self, kind: str) -> int:
        return sum(len(a.file_ids) for a in self.albums if a.kind == kind)


@dataclass(slots=True)
class EvidenceResult:
    """/evidence: outcome ok | usage | bad_period | not_found | not_allowed | no_files."""

    outcome: str
    project: Project | None = None
    period: Month | None = None
    periods: list[PeriodEvidence] = field(default_factory=list)
    query: str = ""


def _filed_span(project: Project, current: Month) -> list[Month]:
    """The months of the project's span up to `current`: those a report may be filed for."""
    if not project.start_month or not project.end_month:
        return []
    months, month = [], Month.parse(project.start_month)
    while month <= min(Month.parse(project.end_month), current):
        months.append(month)
        month = month.plus(1)
    return months


async def may_see(db: Database, viewer: Identity, project: Project) -> bool:
    """Whether the viewer may see the project's reports: its own secretary, or an admin
    whose subtree holds it (as /history)."""
    if viewer.org is not None and viewer.org.id == project.org_id:
        return True
    return viewer.scope is not None and await covers(db, viewer.scope, project.org_id)


async def report_evidence(
    db: Database, viewer: Identity, args: Sequence[str], current: Month
) -> EvidenceResult:
    """/evidence <项目编号> [期间]: the evidence of one month's report, or of every filed
    month up to `current`, newest first (a secretary with one project may leave the number
    out). Projects the viewer may not see are answered as if they did not exist."""
    if viewer.role == "stranger" and viewer.scope is None:
        return EvidenceResult("not_allowed")
    words = [w for w in args if w.strip()]
    if not words:
        only = await only_project(db, viewer, filed=True)
        if only is None:
            return EvidenceResult("usage")
        words = [only]
    if len(words) > 2:
        return EvidenceResult("usage", query=" ".join(words))
    query = words[0]
    period = None
    if len(words) == 2:
        period = parse_period(words[1])
        if period is None:
            return EvidenceResult("bad_period", query=words[1])
    project = await find_project(db, query)
    if (
        project is None
        or project.status not in FILED
        or not project.start_month
        or not project.end_month
        or not await may_see(db, viewer, project)
    ):
        return EvidenceResult("not_found", query=query)
    months = [period] if period is not None else _filed_span(project, current)
    filed = await summary.project_versions(db, project.id, [str(m) for m in months])
    found = []
    for month in sorted(months, reverse=True):
        if (entry := filed.get(str(month))) is not None and (made := albums(entry[1].files)):
            found.append(PeriodEvidence(month, made))
    outcome = "ok" if found else "no_files"
    return EvidenceResult(outcome, project, period, found, query)


async def latest_evidence(db: Database, project: Project, current: Month) -> PeriodEvidence | None:
    """The evidence of the project's newest filed report that has any (for /history)."""
    months = [str(m) for m in _filed_span(project, current)]
    filed = await summary.project_versions(db, project.id, months)
    for period in sorted(filed, reverse=True):
        if made := albums(filed[period][1].files):
            return PeriodEvidence(Month.parse(period), made)
    return None

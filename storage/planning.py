"""SQL for the clock's planner: only what a tick needs, as lean rows.

A tick runs every minute over every organization (100,000 in a province): it must not build
a Python object per organization or re-read what earlier ticks settled. So the per-project
reminders come from one anti-join that returns only the projects still owed a message, with
the delivery status of each reminder asked about; everything else is a count or a small set.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import NamedTuple

from storage.ran import RUNNING_NOW, owed_in, since_approved
from storage.rows import Reader, one, project_number

# A delivery in one of these states is settled: never sent (nor recorded) again. 'failed'
# is not: it is retried until its message is stale.
FINAL = ("sent", "sending", "unreachable", "skipped", "uncertain")
_FINAL_SQL = ", ".join(f"'{s}'" for s in FINAL)

# Projects running now, 立项 before :period's deadline, whose span covers it: those the clock
# reminds of its report.
# (A person with an org_id is that organization's secretary: people's CHECK, 0001. Joining
# on org_id alone lets the people_one_secretary index answer without reading the row.)
_ACTIVE = (
    f"{RUNNING_NOW} AND {since_approved(':period')} "
    "AND p.start_month <= :period AND p.end_month >= :period"
)
# Projects that owed :period's report by what they were then (a bulletin's, `owed_in`).
_OWED = owed_in(":period")
_SUBTREE = (
    "WITH RECURSIVE scope(id) AS (SELECT :root UNION "
    "SELECT o.id FROM orgs o JOIN scope ON o.parent_id = scope.id) "
)


@dataclass(frozen=True, slots=True)
class ProjectRef:
    """What a message says of a project: its name and 立项 number."""

    id: int
    org_id: int
    name: str | None
    number_year: int | None
    number_seq: int | None

    @property
    def number(self) -> str | None:
        return project_number(self.number_year, self.number_seq)


class Owing(NamedTuple):
    """A project whose secretary is still owed a reminder of a period's report (a tuple:
    there can be one per organization after an outage)."""

    project_id: int
    org_id: int
    name: str | None
    number_year: int | None
    number_seq: int | None
    chat_id: int  # the secretary's user id
    statuses: tuple[str | None, ...]  # per reminder asked about: recorded status, or None

    @property
    def project(self) -> ProjectRef:
        return ProjectRef(self.project_id, self.org_id, self.name, self.number_year,
                          self.number_seq)  # fmt: skip


def _ids(values: Iterable[object]) -> str:
    return json.dumps(list(values))


async def owing_reminders(conn: Reader, period: str, prefixes: Sequence[str]) -> list[Owing]:
    """Projects owing `period`'s report that have not filed it (approved and active in the
    period, a secretary bound, the organization not exempt) and are still owed one of the
    reminders whose keys are `prefix + project id`: never recorded, or failed (retried).
    With each reminder's recorded status, by project number. The projects that filed, and
    those whose reminders are all settled, never leave SQLite."""
    if not prefixes:
        return []
    params: dict[str, object] = {"period": period}
    statuses = []
    for i, prefix in enumerate(prefixes):
        params[f"k{i}"] = prefix
        statuses.append(f"(SELECT d.status FROM deliveries d WHERE d.key = :k{i} || p.id) AS s{i}")
    pending = " OR ".join(f"coalesce(s{i}, '') NOT IN ({_FINAL_SQL})" for i in range(len(prefixes)))
    rows = await conn.execute_fetchall(
        "WITH owing AS MATERIALIZED ("
        "SELECT p.id, p.org_id, p.name, p.number_year, p.number_seq, s.user_id AS chat, "
        f"{', '.join(statuses)} "
        "FROM projects p JOIN people s ON s.org_id = p.org_id "
        f"WHERE {_ACTIVE} "
        "AND p.id NOT IN (SELECT project_id FROM reports WHERE period = :period AND version > 0) "
        "AND p.org_id NOT IN (SELECT org_id FROM exemptions WHERE period = :period)) "
        f"SELECT * FROM owing WHERE {pending} ORDER BY number_year, number_seq, id",
        params,
    )
    return [Owing(r[0], r[1], r[2], r[3], r[4], r[5], tuple(r[6:])) for r in rows]


async def owes_in_scope(conn: Reader, period: str, root_org_id: int | None) -> bool:
    """Whether any project owes `period`'s report (exempt or not) in the subtree of
    `root_org_id` (None: anywhere)."""
    if root_org_id is None:
        sql = f"SELECT EXISTS (SELECT 1 FROM projects p WHERE {_OWED})"
    else:
        sql = (
            f"{_SUBTREE}SELECT EXISTS (SELECT 1 FROM scope JOIN projects p "
            f"ON p.org_id = scope.id WHERE {_OWED})"
        )
    row = await one(conn, sql, {"period": period, "root": root_org_id})
    return bool(row and row[0])


async def active_count(conn: Reader, period: str) -> int:
    """How many approved projects are active in `period`."""
    row = await one(conn, f"SELECT count(*) FROM projects p WHERE {_ACTIVE}", {"period": period})
    return int(row[0]) if row else 0


async def owing_dispatch_notices(
    conn: Reader, period: str, prefix: str
) -> list[tuple[int, int, str | None]]:
    """(secretary, project id, recorded status) of each secretary with an approved project
    active in `period` (the first by number) who is still owed the message keyed
    `prefix + secretary`: never recorded, or failed. By project number."""
    status = "(SELECT d.status FROM deliveries d WHERE d.key = :prefix || s.user_id)"
    rows = await conn.execute_fetchall(
        f"SELECT s.user_id, p.id, {status} FROM people s "
        "JOIN projects p ON p.id = (SELECT p.id FROM projects p "
        f"WHERE p.org_id = s.org_id AND {_ACTIVE} "
        "ORDER BY p.number_year, p.number_seq, p.id LIMIT 1) "
        # the settled are left out before their projects are looked for
        f"WHERE s.org_id IS NOT NULL AND coalesce({status}, '') NOT IN ({_FINAL_SQL}) "
        "ORDER BY p.number_year, p.number_seq, p.id",
        {"period": period, "prefix": prefix},
    )
    return [(r[0], r[1], r[2]) for r in rows]


async def secretaries_of(conn: Reader, org_ids: Iterable[int]) -> dict[int, int]:
    """{org id: its secretary's user id} for those of `org_ids` that have one."""
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT org_id, user_id FROM people WHERE org_id IN (SELECT value FROM json_each(?))",
            (_ids(set(org_ids)),),
        )
    }


async def ancestors(conn: Reader, org_ids: Iterable[int]) -> dict[int, set[int]]:
    """{org id: itself and every organization above it}: whose subtree it is in."""
    found: dict[int, set[int]] = {}
    for org, above in await conn.execute_fetchall(
        "WITH RECURSIVE up(org, id) AS (SELECT value, value FROM json_each(?) UNION "
        "SELECT up.org, o.parent_id FROM up JOIN orgs o ON o.id = up.id "
        "WHERE o.parent_id IS NOT NULL) SELECT org, id FROM up",
        (_ids(set(org_ids)),),
    ):
        found.setdefault(org, set()).add(above)
    return found


async def statuses(conn: Reader, keys: Sequence[str]) -> dict[str, str]:
    """{key: status} of the recorded deliveries among `keys`, in one query however many."""
    if not keys:
        return {}
    return {
        r[0]: r[1]
        for r in await conn.execute_fetchall(
            "SELECT key, status FROM deliveries WHERE key IN (SELECT value FROM json_each(?))",
            (json.dumps(list(keys)),),
        )
    }

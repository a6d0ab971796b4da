"""SQL for a project's plan after 立项: change requests (调整), the versions of the plan, and
termination (已终止)."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.rows import Reader, one, parse_ts

Items = list[tuple[str, str]]  # (month, content) of each milestone


def _items(text: str) -> Items:
    return [(str(month), str(content)) for month, content in json.loads(text)]


def _opt(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


@dataclass(frozen=True, slots=True)
class PlanChange:
    """A request to change an approved project's plan (the open milestones only)."""

    id: int
    project_id: int
    status: str  # draft | pending | approved | refused
    reason: str | None
    targets: str
    end_month: str
    milestones: Items
    created_by: int
    submitted_at: datetime | None
    decided_by: int | None
    decided_at: datetime | None
    decision_reason: str | None


@dataclass(frozen=True, slots=True)
class PlanVersion:
    """One plan a project has had, in force from `effective_month`."""

    project_id: int
    version: int
    effective_month: str
    start_month: str
    end_month: str
    targets: str
    milestones: Items
    change_id: int | None
    approved_by: int | None
    approved_at: datetime | None
    reason: str | None


@dataclass(frozen=True, slots=True)
class Termination:
    project_id: int
    month: str
    by_user: int
    reason: str
    at: datetime


_CHANGE = (
    "id, project_id, status, reason, targets, end_month, milestones, created_by, submitted_at, "
    "decided_by, decided_at, decision_reason"
)


def _change(r: aiosqlite.Row) -> PlanChange:
    return PlanChange(r[0], r[1], r[2], r[3], r[4], r[5], _items(r[6]), r[7], _opt(r[8]), r[9],
                      _opt(r[10]), r[11])  # fmt: skip


async def change(conn: Reader, change_id: int) -> PlanChange | None:
    row = await one(conn, f"SELECT {_CHANGE} FROM plan_changes WHERE id = ?", (change_id,))
    return _change(row) if row else None


async def open_change(conn: Reader, project_id: int) -> PlanChange | None:
    """The project's request being written or awaiting a decision, if any."""
    row = await one(conn, f"SELECT {_CHANGE} FROM plan_changes WHERE project_id = ? "
                    "AND status IN ('draft', 'pending')", (project_id,))  # fmt: skip
    return _change(row) if row else None


async def changes(conn: Reader, project_id: int) -> list[PlanChange]:
    """Every request of the project, oldest first."""
    rows = await conn.execute_fetchall(
        f"SELECT {_CHANGE} FROM plan_changes WHERE project_id = ? ORDER BY id", (project_id,)
    )
    return [_change(r) for r in rows]


async def create_change(conn: Connection, project_id: int, targets: str,
                        end_month: str, milestones: Items, by: int, now: str) -> int:  # fmt: skip
    """A new request, its working copy filled with the plan in force."""
    cur = await conn.execute(
        "INSERT INTO plan_changes (project_id, targets, end_month, milestones, created_by, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, ?)",
        (project_id, targets, end_month, json.dumps(milestones, ensure_ascii=False), by, now,
         now),
    )  # fmt: skip
    assert cur.lastrowid is not None
    return cur.lastrowid


async def set_change(conn: Connection, change_id: int, values: dict[str, object],
                     now: str) -> None:  # fmt: skip
    """Store answers in a request still being written."""
    allowed = {"reason", "targets", "end_month", "milestones"}
    assert set(values) <= allowed
    stored = {k: json.dumps(v, ensure_ascii=False) if k == "milestones" else v
              for k, v in values.items()}  # fmt: skip
    sets = ", ".join(f"{k} = ?" for k in stored)
    await conn.execute(
        f"UPDATE plan_changes SET {sets}, updated_at = ? WHERE id = ? AND status = 'draft'",
        (*stored.values(), now, change_id),
    )


async def submit_change(conn: Connection, change_id: int, now: str) -> bool:
    cur = await conn.execute(
        "UPDATE plan_changes SET status = 'pending', submitted_at = ?, updated_at = ? "
        "WHERE id = ? AND status = 'draft'",
        (now, now, change_id),
    )
    return cur.rowcount == 1


async def decide_change(conn: Connection, change_id: int, status: str, by: int,
                        reason: str | None, now: str) -> bool:  # fmt: skip
    """approved or refused, once, while pending."""
    cur = await conn.execute(
        "UPDATE plan_changes SET status = ?, decided_by = ?, decided_at = ?, "
        "decision_reason = ?, updated_at = ? WHERE id = ? AND status = 'pending'",
        (status, by, now, reason, now, change_id),
    )
    return cur.rowcount == 1


async def drop_draft(conn: Connection, change_id: int) -> None:
    """Give up a request never submitted."""
    await conn.execute("DELETE FROM plan_changes WHERE id = ? AND status = 'draft'", (change_id,))


_VERSION = (
    "project_id, version, effective_month, start_month, end_month, targets, milestones, "
    "change_id, approved_by, approved_at, reason"
)


def _version(r: aiosqlite.Row) -> PlanVersion:
    return PlanVersion(r[0], r[1], r[2], r[3], r[4], r[5], _items(r[6]), r[7], r[8],
                       _opt(r[9]), r[10])  # fmt: skip


async def versions(conn: Reader, project_id: int) -> list[PlanVersion]:
    """The project's plans, the first first (none: never changed)."""
    rows = await conn.execute_fetchall(
        f"SELECT {_VERSION} FROM plan_versions WHERE project_id = ? ORDER BY version",
        (project_id,),
    )
    return [_version(r) for r in rows]


async def spans(conn: Reader) -> dict[int, list[tuple[str, str, str]]]:
    """{project id: [(effective month, start, end), …] by version} of every project whose
    plan was changed: what the planned pace of a month is read from."""
    found: dict[int, list[tuple[str, str, str]]] = {}
    for r in await conn.execute_fetchall(
        "SELECT project_id, effective_month, start_month, end_month FROM plan_versions "
        "ORDER BY project_id, version"
    ):
        found.setdefault(r[0], []).append((r[1], r[2], r[3]))
    return found


async def add_version(
    conn: Connection, project_id: int, effective_month: str, start_month: str,
    end_month: str, targets: str, milestones: Items, change_id: int | None,
    approved_by: int | None, approved_at: str | None, reason: str | None,
) -> int:  # fmt: skip
    """Append the next version; return its number."""
    row = await one(conn, "SELECT coalesce(max(version), 0) FROM plan_versions "
                    "WHERE project_id = ?", (project_id,))  # fmt: skip
    number = (int(row[0]) if row else 0) + 1
    await conn.execute(
        f"INSERT INTO plan_versions ({_VERSION}) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
        (project_id, number, effective_month, start_month, end_month, targets,
         json.dumps(milestones, ensure_ascii=False), change_id, approved_by, approved_at,
         reason),
    )  # fmt: skip
    return number


async def apply_plan(conn: Connection, project_id: int, targets: str,
                     end_month: str, open_items: Sequence[tuple[str, str]],
                     now: str) -> None:  # fmt: skip
    """Make a new plan the project's own: targets, end month, and the milestones not yet
    done replaced (those ticked off stay, with their history)."""
    await conn.execute(
        "UPDATE projects SET targets = ?, end_month = ?, updated_at = ? WHERE id = ?",
        (targets, end_month, now, project_id),
    )
    # An open milestone the new plan keeps (same wording, maybe moved) keeps its row: a
    # report being written may have ticked it by id. Only dropped ones go, new ones are added.
    wanted = list(open_items)
    for old in await conn.execute_fetchall(
        "SELECT id, content FROM milestones WHERE project_id = ? AND done_month IS NULL "
        "ORDER BY position",
        (project_id,),
    ):
        same = next((item for item in wanted if item[1] == old["content"]), None)
        if same is None:
            await conn.execute("DELETE FROM milestones WHERE id = ?", (old["id"],))
        else:
            wanted.remove(same)
            await conn.execute("UPDATE milestones SET month = ? WHERE id = ?", (same[0], old["id"]))
    row = await one(conn, "SELECT coalesce(max(position), 0) FROM milestones "
                    "WHERE project_id = ?", (project_id,))  # fmt: skip
    last = int(row[0]) if row else 0
    await conn.executemany(
        "INSERT INTO milestones (project_id, position, month, content) VALUES (?, ?, ?, ?)",
        [(project_id, last + i, month, content)
         for i, (month, content) in enumerate(wanted, start=1)],
    )  # fmt: skip


async def terminate(conn: Connection, project_id: int, month: str, by: int,
                    reason: str, now: str) -> bool:  # fmt: skip
    """已立项 → 已终止, once; False if the project was not 已立项 (any more)."""
    cur = await conn.execute(
        "UPDATE projects SET status = 'terminated', updated_at = ? "
        "WHERE id = ? AND status = 'approved'",
        (now, project_id),
    )
    if cur.rowcount != 1:
        return False
    await conn.execute(
        "INSERT INTO terminations (project_id, month, by_user, reason, at) VALUES (?, ?, ?, ?, ?)",
        (project_id, month, by, reason, now),
    )
    return True


async def termination(conn: Reader, project_id: int) -> Termination | None:
    row = await one(conn, "SELECT project_id, month, by_user, reason, at FROM terminations "
                    "WHERE project_id = ?", (project_id,))  # fmt: skip
    return Termination(row[0], row[1], row[2], row[3], parse_ts(row[4])) if row else None


async def earlier_schedules(conn: Reader, period: str) -> dict[int, Items]:
    """{project id: the milestones of its plan in force in `period`} for the projects whose
    plan in force then was changed since (for every other project the milestones table is
    that plan)."""
    rows = await conn.execute_fetchall(
        "SELECT v.project_id, v.milestones FROM plan_versions v "
        "WHERE v.version = (SELECT max(w.version) FROM plan_versions w "
        "  WHERE w.project_id = v.project_id AND w.effective_month <= ?) "
        "AND v.version < (SELECT max(w.version) FROM plan_versions w "
        "  WHERE w.project_id = v.project_id)",
        (period,),
    )
    return {int(r[0]): _items(r[1]) for r in rows}

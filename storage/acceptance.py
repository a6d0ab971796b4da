"""SQL for 验收: reviewers and their invites, scores (and drafts), results, 示范项目."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.projects import COLUMNS, project_row
from storage.rows import Project, Reader, one, parse_ts

MEASURES = ("goal", "satisfaction", "benefit", "promotion")


@dataclass(frozen=True, slots=True)
class Reviewer:
    user_id: int
    full_name: str
    org_id: int | None
    active: bool
    root_id: int | None = None  # the subtree whose projects they score (None: every one)


@dataclass(frozen=True, slots=True)
class ReviewerInvite:
    code: str
    org_id: int | None
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None
    root_id: int | None = None  # the inviter's subtree


@dataclass(frozen=True, slots=True)
class Draft:
    project_id: int
    reviewer_id: int
    goal: int | None
    satisfaction: int | None
    benefit: int | None
    promotion: int | None
    remark: str | None
    remark_set: bool


@dataclass(frozen=True, slots=True)
class Score:
    project_id: int
    reviewer_id: int
    reviewer_name: str
    goal: int
    satisfaction: int
    benefit: int
    promotion: int
    remark: str | None
    times: int
    submitted_at: datetime

    def values(self) -> tuple[int, int, int, int]:
        return self.goal, self.satisfaction, self.benefit, self.promotion


@dataclass(frozen=True, slots=True)
class Result:
    project_id: int
    score: float
    grade: str
    reviewers: int
    accepted_by: int
    accepted_at: datetime


@dataclass(frozen=True, slots=True)
class Model:
    project_id: int
    year: int
    citation: str
    chosen_at: datetime


# -- reviewers --------------------------------------------------------------------------------


def _reviewer(r: aiosqlite.Row) -> Reviewer:
    return Reviewer(r[0], r[1], r[2], bool(r[3]), r[4])


async def reviewer(conn: Reader, user_id: int) -> Reviewer | None:
    """The reviewer with this Telegram id (active or not)."""
    row = await one(conn, "SELECT user_id, full_name, org_id, active, root_id FROM reviewers "
                          "WHERE user_id = ?", (user_id,))  # fmt: skip
    return _reviewer(row) if row else None


async def active_reviewers(conn: Reader) -> list[Reviewer]:
    """Every active reviewer, in the order they were named."""
    rows = await conn.execute_fetchall(
        "SELECT user_id, full_name, org_id, active, root_id FROM reviewers WHERE active = 1 "
        "ORDER BY named_at, user_id"
    )
    return [_reviewer(r) for r in rows]


async def name_reviewer(
    conn: Connection, user_id: int, full_name: str, org_id: int | None,
    named_by: int | None, now: str, root_id: int | None = None,
) -> bool:  # fmt: skip
    """Make this person an active reviewer of `root_id`'s subtree (None: every project);
    False if they already were one (their subtree then stays as it was)."""
    existing = await reviewer(conn, user_id)
    await conn.execute(
        "INSERT INTO reviewers (user_id, full_name, org_id, named_by, named_at, active, root_id) "
        "VALUES (?, ?, ?, ?, ?, 1, ?) ON CONFLICT(user_id) DO UPDATE SET "
        "root_id = CASE WHEN reviewers.active = 1 THEN reviewers.root_id "
        "ELSE excluded.root_id END, active = 1, "
        "full_name = excluded.full_name, org_id = excluded.org_id",
        (user_id, full_name, org_id, named_by, now, root_id),
    )
    return existing is None or not existing.active


async def drop_reviewer(conn: Connection, user_id: int) -> bool:
    """No longer a reviewer (their submitted scores stay); False if they were not one."""
    cur = await conn.execute(
        "UPDATE reviewers SET active = 0 WHERE user_id = ? AND active = 1", (user_id,)
    )
    return cur.rowcount == 1


async def add_invite(
    conn: Connection, code: str, org_id: int | None, by: int, now: str, expires: str,
    root_id: int | None = None,
) -> None:  # fmt: skip
    """Store a new reviewer invite (for `root_id`'s subtree: its inviter's)."""
    await conn.execute(
        "INSERT INTO reviewer_invites (code, org_id, created_by, created_at, expires_at, root_id) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (code, org_id, by, now, expires, root_id),
    )


async def invite(conn: Reader, code: str) -> ReviewerInvite | None:
    """The reviewer invite with this code."""
    row = await one(conn, "SELECT code, org_id, expires_at, used_at, used_by, root_id "
                          "FROM reviewer_invites WHERE code = ?", (code,))  # fmt: skip
    if row is None:
        return None
    return ReviewerInvite(row[0], row[1], parse_ts(row[2]),
                          parse_ts(row[3]) if row[3] else None, row[4], row[5])  # fmt: skip


async def use_invite(conn: Connection, code: str, user_id: int, now: str) -> bool:
    """Mark the invite used; False if someone used it first."""
    cur = await conn.execute(
        "UPDATE reviewer_invites SET used_at = ?, used_by = ? WHERE code = ? AND used_at IS NULL",
        (now, user_id, code),
    )
    return cur.rowcount == 1


# -- scores -----------------------------------------------------------------------------------


async def draft(conn: Reader, project_id: int, reviewer_id: int) -> Draft | None:
    """The reviewer's scoring in progress for this project."""
    row = await one(
        conn,
        "SELECT project_id, reviewer_id, goal, satisfaction, benefit, promotion, remark, "
        "remark_set FROM acceptance_drafts WHERE project_id = ? AND reviewer_id = ?",
        (project_id, reviewer_id),
    )
    if row is None:
        return None
    return Draft(row[0], row[1], row[2], row[3], row[4], row[5], row[6], bool(row[7]))


async def start_draft(conn: Connection, project_id: int, reviewer_id: int,
                      now: str) -> None:  # fmt: skip
    """Begin scoring afresh (an earlier unfinished draft is dropped)."""
    await clear_draft(conn, project_id, reviewer_id)
    await conn.execute(
        "INSERT INTO acceptance_drafts (project_id, reviewer_id, updated_at) VALUES (?, ?, ?)",
        (project_id, reviewer_id, now),
    )


async def set_draft(
    conn: Connection, project_id: int, reviewer_id: int,
    values: dict[str, int | str | None], now: str,
) -> None:  # fmt: skip
    """Store answers of the draft (measure columns, remark, remark_set)."""
    allowed = {*MEASURES, "remark", "remark_set"}
    if set(values) - allowed:
        raise ValueError(f"not a draft column: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{column} = ?" for column in values)
    await conn.execute(
        f"UPDATE acceptance_drafts SET {assignments}, updated_at = ? "
        "WHERE project_id = ? AND reviewer_id = ?",
        (*values.values(), now, project_id, reviewer_id),
    )


async def clear_draft(conn: Connection, project_id: int, reviewer_id: int) -> None:
    """Forget the scoring in progress."""
    await conn.execute(
        "DELETE FROM acceptance_drafts WHERE project_id = ? AND reviewer_id = ?",
        (project_id, reviewer_id),
    )


async def submit(
    conn: Connection, project_id: int, reviewer_id: int,
    values: Sequence[int], remark: str | None, now: str,
) -> int:  # fmt: skip
    """Store the reviewer's scores, replacing any earlier ones; return how many times this
    reviewer has now submitted for the project (2 or more: a replacement)."""
    await conn.execute(
        "INSERT INTO acceptance_scores (project_id, reviewer_id, goal, satisfaction, benefit, "
        "promotion, remark, times, submitted_at) VALUES (?, ?, ?, ?, ?, ?, ?, 1, ?) "
        "ON CONFLICT(project_id, reviewer_id) DO UPDATE SET goal = excluded.goal, "
        "satisfaction = excluded.satisfaction, benefit = excluded.benefit, "
        "promotion = excluded.promotion, remark = excluded.remark, times = times + 1, "
        "submitted_at = excluded.submitted_at",
        (project_id, reviewer_id, *values, remark, now),
    )
    row = await one(conn, "SELECT times FROM acceptance_scores WHERE project_id = ? "
                          "AND reviewer_id = ?", (project_id, reviewer_id))  # fmt: skip
    return int(row[0]) if row else 0


_SCORE = (
    "SELECT s.project_id, s.reviewer_id, coalesce(r.full_name, ''), s.goal, s.satisfaction, "
    "s.benefit, s.promotion, s.remark, s.times, s.submitted_at FROM acceptance_scores s "
    "LEFT JOIN reviewers r ON r.user_id = s.reviewer_id"
)


def _score(r: aiosqlite.Row) -> Score:
    return Score(r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], parse_ts(r[9]))


async def scores(conn: Reader, project_id: int) -> list[Score]:
    """Every reviewer's submitted scores for the project, by submission time."""
    rows = await conn.execute_fetchall(
        f"{_SCORE} WHERE s.project_id = ? ORDER BY s.submitted_at, s.reviewer_id", (project_id,)
    )
    return [_score(r) for r in rows]


async def scores_of_status(
    conn: Reader, statuses: Sequence[str], year: int | None = None
) -> dict[int, list[Score]]:
    """{project id: its scores by submission time} for the projects `of_status` lists, in
    one query however many."""
    where, params = _status_filter(statuses, year)
    rows = await conn.execute_fetchall(
        f"{_SCORE} JOIN projects p ON p.id = s.project_id WHERE {where} "
        "ORDER BY s.project_id, s.submitted_at, s.reviewer_id",
        params,
    )
    found: dict[int, list[Score]] = {}
    for r in rows:
        found.setdefault(r[0], []).append(_score(r))
    return found


async def scores_of_year(conn: Reader, year: int) -> list[Score]:
    """Every submitted score of the year's projects (by 立项 year)."""
    rows = await conn.execute_fetchall(
        f"{_SCORE} JOIN projects p ON p.id = s.project_id WHERE p.number_year = ? "
        "ORDER BY p.number_seq, s.submitted_at, s.reviewer_id",
        (year,),
    )
    return [_score(r) for r in rows]


# -- projects in 结题 and 验收 ----------------------------------------------------------------


async def mark_concluded(conn: Connection, project_id: int, now: str) -> bool:
    """已立项 → 已结题 (the closing report accepted)."""
    cur = await conn.execute(
        "UPDATE projects SET status = 'concluded', updated_at = ? "
        "WHERE id = ? AND status = 'approved'",
        (now, project_id),
    )
    return cur.rowcount == 1


def _status_filter(statuses: Sequence[str], year: int | None) -> tuple[str, list[object]]:
    """The WHERE of `of_status` on projects aliased `p`, with its parameters."""
    marks = ",".join("?" * len(statuses))
    where = f"p.status IN ({marks}) AND p.number_year IS NOT NULL"
    params: list[object] = list(statuses)
    if year is not None:
        where += " AND p.number_year = ?"
        params.append(year)
    return where, params


async def of_status(
    conn: Reader, statuses: Sequence[str], year: int | None = None
) -> list[Project]:
    """Numbered projects in these statuses (of one 立项 year), by number."""
    where, params = _status_filter(statuses, year)
    rows = await conn.execute_fetchall(
        f"SELECT {COLUMNS} FROM projects p WHERE {where} ORDER BY p.number_year, p.number_seq",
        params,
    )
    return [project_row(r) for r in rows]


async def accept(
    conn: Connection, project_id: int, score: float, grade: str, reviewers: int,
    by: int, now: str,
) -> bool:  # fmt: skip
    """已结题 → 已验收 with its result; False if it was not 已结题 (any more)."""
    cur = await conn.execute(
        "UPDATE projects SET status = 'accepted', updated_at = ? "
        "WHERE id = ? AND status = 'concluded'",
        (now, project_id),
    )
    if cur.rowcount != 1:
        return False
    await conn.execute(
        "INSERT INTO acceptance_results (project_id, score, grade, reviewers, accepted_by, "
        "accepted_at) VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, score, grade, reviewers, by, now),
    )
    return True


def _result(r: aiosqlite.Row) -> Result:
    return Result(r[0], float(r[1]), r[2], r[3], r[4], parse_ts(r[5]))


async def result(conn: Reader, project_id: int) -> Result | None:
    """The project's 验收 result, if it was accepted."""
    row = await one(
        conn,
        "SELECT project_id, score, grade, reviewers, accepted_by, accepted_at "
        "FROM acceptance_results WHERE project_id = ?",
        (project_id,),
    )
    return _result(row) if row else None


async def results_of_status(
    conn: Reader, statuses: Sequence[str], year: int | None = None
) -> dict[int, Result]:
    """{project id: result} for the accepted ones among the projects `of_status` lists."""
    where, params = _status_filter(statuses, year)
    rows = await conn.execute_fetchall(
        "SELECT a.project_id, a.score, a.grade, a.reviewers, a.accepted_by, a.accepted_at "
        f"FROM acceptance_results a JOIN projects p ON p.id = a.project_id WHERE {where}",
        params,
    )
    return {r[0]: _result(r) for r in rows}


async def results_of_year(conn: Reader, year: int) -> dict[int, Result]:
    """{project id: result} for the year's accepted projects."""
    rows = await conn.execute_fetchall(
        "SELECT a.project_id, a.score, a.grade, a.reviewers, a.accepted_by, a.accepted_at "
        "FROM acceptance_results a JOIN projects p ON p.id = a.project_id "
        "WHERE p.number_year = ?",
        (year,),
    )
    return {r[0]: _result(r) for r in rows}


# -- 示范项目 -----------------------------------------------------------------------------------


async def choose_model(
    conn: Connection, project_id: int, year: int, citation: str, by: int, now: str
) -> bool:
    """Select (or re-cite) a 示范项目; True if it was newly selected."""
    existed = await model(conn, project_id)
    await conn.execute(
        "INSERT INTO model_projects (project_id, year, citation, chosen_by, chosen_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(project_id) DO UPDATE SET "
        "citation = excluded.citation, chosen_by = excluded.chosen_by",
        (project_id, year, citation, by, now),
    )
    return existed is None


async def drop_model(conn: Connection, project_id: int) -> bool:
    """Take a project off the 示范 list; False if it was not on it."""
    cur = await conn.execute("DELETE FROM model_projects WHERE project_id = ?", (project_id,))
    return cur.rowcount == 1


async def model(conn: Reader, project_id: int) -> Model | None:
    """The project's 示范 citation, if it was selected."""
    row = await one(conn, "SELECT project_id, year, citation, chosen_at FROM model_projects "
                          "WHERE project_id = ?", (project_id,))  # fmt: skip
    return Model(row[0], row[1], row[2], parse_ts(row[3])) if row else None


async def models_by_project(conn: Reader) -> dict[int, Model]:
    """Every 示范项目 of any year, by project id (a few a year: the ledger marks them)."""
    rows = await conn.execute_fetchall(
        "SELECT project_id, year, citation, chosen_at FROM model_projects"
    )
    return {r[0]: Model(r[0], r[1], r[2], parse_ts(r[3])) for r in rows}


async def models_of_year(conn: Reader, year: int) -> list[Model]:
    """The year's 示范项目, in the order they were selected."""
    rows = await conn.execute_fetchall(
        "SELECT project_id, year, citation, chosen_at FROM model_projects WHERE year = ? "
        "ORDER BY chosen_at, project_id",
        (year,),
    )
    return [Model(r[0], r[1], r[2], parse_ts(r[3])) for r in rows]

"""SQL for the review of a digest before publishing (the 月通报 and the 双月调度 summary,
told apart by kind): 点评 and 发布; for the 月通报 also 调整红旗/蜗牛."""

from __future__ import annotations

import sqlite3
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from storage.db import Connection
from storage.rows import Reader, one, parse_ts


@dataclass(frozen=True, slots=True)
class Review:
    """What the admins did with a period's draft."""

    kind: str  # bulletin | dispatch
    period: str
    comment: str | None
    comment_by: int | None
    published_at: datetime | None
    published_by: int | None  # None with published_at: went out at the set time


@dataclass(frozen=True, slots=True)
class FlagChange:
    """An admin's change to a period's 红旗 or 蜗牛 list."""

    project_id: int
    flag: str  # red | snail
    action: str  # add | remove
    reason: str
    by_user: int
    at: datetime


async def review(conn: Reader, period: str, kind: str = "bulletin") -> Review | None:
    """The period's review of this kind, if an admin commented or published."""
    row = await one(
        conn,
        "SELECT kind, period, comment, comment_by, published_at, published_by "
        "FROM digest_reviews WHERE kind = ? AND period = ?",
        (kind, period),
    )
    if row is None:
        return None
    published = parse_ts(row[4]) if row[4] else None
    return Review(row[0], row[1], row[2], row[3], published, row[5])


async def published(
    conn: Reader, periods: Sequence[str], kind: str = "bulletin"
) -> dict[str, datetime]:
    """{period: when 发布 was pressed} of these periods, of this kind."""
    if not periods:
        return {}
    marks = ",".join("?" * len(periods))
    rows = await conn.execute_fetchall(
        f"SELECT period, published_at FROM digest_reviews WHERE kind = ? "
        f"AND period IN ({marks}) AND published_at IS NOT NULL",
        [kind, *periods],
    )
    return {r[0]: parse_ts(r[1]) for r in rows}


async def set_comment(
    conn: Connection, kind: str, period: str, comment: str, by_user: int, at: str
) -> None:
    """Keep (or replace) the period's 点评."""
    await conn.execute(
        "INSERT INTO digest_reviews (kind, period, comment, comment_by, comment_at) "
        "VALUES (?, ?, ?, ?, ?) ON CONFLICT(kind, period) DO UPDATE SET "
        "comment = excluded.comment, comment_by = excluded.comment_by, "
        "comment_at = excluded.comment_at",
        (kind, period, comment, by_user, at),
    )


async def publish(conn: Connection, kind: str, period: str, by_user: int | None, at: str) -> bool:
    """Record the publication (发布 by `by_user`, or None: the clock at the set time) unless
    it was recorded before; whether this call recorded it."""
    await conn.execute(
        "INSERT OR IGNORE INTO digest_reviews (kind, period) VALUES (?, ?)", (kind, period)
    )
    cur = await conn.execute(
        "UPDATE digest_reviews SET published_at = ?, published_by = ? "
        "WHERE kind = ? AND period = ? AND published_at IS NULL",
        (at, by_user, kind, period),
    )
    return cur.rowcount == 1


async def add_flag_change(
    conn: Connection, period: str, project_id: int, flag: str, action: str,
    reason: str, by_user: int, at: str,
) -> None:  # fmt: skip
    """Keep one change to a 红旗/蜗牛 list."""
    await conn.execute(
        "INSERT INTO flag_changes (period, project_id, flag, action, reason, by_user, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (period, project_id, flag, action, reason, by_user, at),
    )


async def flag_changes(conn: Reader, period: str) -> list[FlagChange]:
    """The period's changes to the lists, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT project_id, flag, action, reason, by_user, at FROM flag_changes "
        "WHERE period = ? ORDER BY id",
        (period,),
    )
    return [FlagChange(r[0], r[1], r[2], r[3], r[4], parse_ts(r[5]))
            for r in rows]  # fmt: skip


@dataclass(frozen=True, slots=True)
class LateReport:
    """A report filed late, waiting for the tick to send the drafts it changes."""

    id: int  # the mark's
    report_id: int
    period: str
    at: datetime
    project: str
    org: str


def mark_late_in(conn: sqlite3.Connection, report_id: int, period: str, at: str) -> None:
    """Inside the report's own write: the drafts covering `period` changed."""
    conn.execute(
        "INSERT INTO draft_changes (report_id, period, at) VALUES (?, ?, ?)",
        (report_id, period, at),
    )


async def late_waiting(conn: Reader) -> list[LateReport]:
    """The late reports no tick took up yet, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT c.id, c.report_id, c.period, c.at, coalesce(p.name, ''), o.name "
        "FROM draft_changes c JOIN reports r ON r.id = c.report_id "
        "JOIN projects p ON p.id = r.project_id JOIN orgs o ON o.id = p.org_id "
        "WHERE c.redrafted_at IS NULL ORDER BY c.id"
    )
    return [LateReport(r[0], r[1], r[2], parse_ts(r[3]), r[4], r[5]) for r in rows]


async def mark_redrafted(conn: Connection, ids: Sequence[int], at: str) -> None:
    """These marks are taken up (their drafts sent, or none was awaiting publication)."""
    await conn.executemany(
        "UPDATE draft_changes SET redrafted_at = ? WHERE id = ?", [(at, i) for i in ids]
    )

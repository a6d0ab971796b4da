"""SQL for 督办单: drafts, gap-free numbers per year, the feedback copy and the history."""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import replace
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.rows import Notice, NoticeEvent, Reader, one, parse_ts

_COLUMNS = (
    "id, year, seq, project_id, problem, requirement, deadline, status, round, feedback, "
    "feedback_files, created_by, created_at, issued_at, signed_at, answered_at, closed_at"
)
OPEN = ("issued", "signed", "answered")


def _opt(value: str | None) -> datetime | None:
    return parse_ts(value) if value else None


def _notice(r: aiosqlite.Row) -> Notice:
    return Notice(
        r["id"], r["year"], r["seq"], r["project_id"], r["problem"], r["requirement"],
        r["deadline"], r["status"], r["round"], r["feedback"], json.loads(r["feedback_files"]),
        r["created_by"], parse_ts(r["created_at"]), _opt(r["issued_at"]), _opt(r["signed_at"]),
        _opt(r["answered_at"]), _opt(r["closed_at"]),
    )  # fmt: skip


async def get(conn: Reader, notice_id: int) -> Notice | None:
    """One notice (or draft) by id."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM notices WHERE id = ?", (notice_id,))
    return _notice(row) if row else None


async def by_number(conn: Reader, year: int, seq: int) -> Notice | None:
    """The notice 督办〔year〕第seq号."""
    row = await one(conn, f"SELECT {_COLUMNS} FROM notices WHERE year = ? AND seq = ?", (year, seq))
    return _notice(row) if row else None


async def create_draft(
    conn: Connection, project_id: int, problem: str, by_user: int, now: str
) -> int:
    """Start a notice that is not issued yet; return its id."""
    cur = await conn.execute(
        "INSERT INTO notices (project_id, problem, created_by, created_at) VALUES (?, ?, ?, ?)",
        (project_id, problem, by_user, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def set_draft(conn: Connection, notice_id: int, values: dict[str, str | None]) -> None:
    """Store the admin's answers on a draft (requirement, deadline)."""
    allowed = {"requirement", "deadline", "problem"}
    if set(values) - allowed:
        raise ValueError(f"not a draft column: {sorted(set(values) - allowed)}")
    assignments = ", ".join(f"{k} = ?" for k in values)
    await conn.execute(
        f"UPDATE notices SET {assignments} WHERE id = ? AND status = 'draft'",
        (*values.values(), notice_id),
    )


async def delete_draft(conn: Connection, notice_id: int) -> None:
    """Abandon a draft that was never issued. The row stays (it has no number and lists
    never show drafts): deleting it would let SQLite reuse its id, and an old button of
    the abandoned draft would then act on a new one."""
    await conn.execute(
        "UPDATE notices SET deadline = NULL WHERE id = ? AND status = 'draft'", (notice_id,)
    )


async def issue(conn: Connection, notice_id: int, year: int, now: str) -> int:
    """下发: give the draft the next number of `year` (gap-free, never reused); 0 if stale."""
    row = await one(conn, "SELECT coalesce(max(seq), 0) + 1 FROM notices WHERE year = ?", (year,))
    seq = int(row[0]) if row else 1
    cur = await conn.execute(
        "UPDATE notices SET status = 'issued', year = ?, seq = ?, issued_at = ? "
        "WHERE id = ? AND status = 'draft'",
        (year, seq, now, notice_id),
    )
    return seq if cur.rowcount == 1 else 0


async def move(
    conn: Connection,
    notice_id: int,
    from_status: Sequence[str],
    to_status: str,
    now: str,
    *,
    round_: int | None = None,
) -> bool:
    """Change status if the notice is in one of `from_status` (and in `round_`)."""
    stamp = {"signed": "signed_at", "answered": "answered_at", "closed": "closed_at"}
    sets = ["status = ?"]
    params: list[object] = [to_status]
    if to_status in stamp:
        sets.append(f"{stamp[to_status]} = ?")
        params.append(now)
    sql = (
        f"UPDATE notices SET {', '.join(sets)} WHERE id = ? "
        f"AND status IN ({','.join('?' * len(from_status))})"
    )
    params += [notice_id, *from_status]
    if round_ is not None:
        sql += " AND round = ?"
        params.append(round_)
    cur = await conn.execute(sql, params)
    return cur.rowcount == 1


async def withdraw_open(conn: Connection, project_id: int, by_user: int, reason: str,
                        now: str) -> int:  # fmt: skip
    """/terminate: the project's open notices become 已撤销, each with a 'withdraw' step
    carrying the reason; return how many."""
    rows = await conn.execute_fetchall(
        f"SELECT id, round FROM notices WHERE project_id = ? "
        f"AND status IN ({','.join('?' * len(OPEN))})",
        (project_id, *OPEN),
    )
    for notice_id, round_ in rows:
        await conn.execute(
            "UPDATE notices SET status = 'withdrawn', closed_at = ? WHERE id = ?", (now, notice_id)
        )
        await record(conn, notice_id, "withdraw", round_, by_user, now, reason)
    return len(rows)


async def next_round(conn: Connection, notice_id: int) -> None:
    """退回: the secretary answers again; the working answer starts from the last one."""
    await conn.execute("UPDATE notices SET round = round + 1 WHERE id = ?", (notice_id,))


async def set_feedback(
    conn: Connection, notice_id: int, text: str | None, files: list[list[str]]
) -> None:
    """Store the secretary's working answer."""
    await conn.execute(
        "UPDATE notices SET feedback = ?, feedback_files = ? WHERE id = ?",
        (text, json.dumps(files), notice_id),
    )


async def record(
    conn: Connection,
    notice_id: int,
    action: str,
    round_: int,
    by_user: int,
    now: str,
    text: str | None = None,
    files: list[list[str]] | None = None,
) -> None:
    """Append a step of the notice's life."""
    await conn.execute(
        "INSERT INTO notice_events (notice_id, action, round, by_user, text, files, at) "
        "VALUES (?, ?, ?, ?, ?, ?, ?)",
        (notice_id, action, round_, by_user, text, json.dumps(files or []), now),
    )


async def events(conn: Reader, notice_id: int) -> list[NoticeEvent]:
    """The notice's history, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT notice_id, action, round, by_user, text, files, at FROM notice_events "
        "WHERE notice_id = ? ORDER BY id",
        (notice_id,),
    )
    return [
        NoticeEvent(r[0], r[1], r[2], r[3], r[4], json.loads(r[5] or "[]"), parse_ts(r[6]))
        for r in rows
    ]


# The status each step leaves a notice in (退回 sends it back to 已签收).
_AFTER = {"issue": "issued", "sign": "signed", "answer": "answered", "close": "closed",
          "return": "signed", "withdraw": "withdrawn"}  # fmt: skip


async def steps(conn: Reader, until: str) -> dict[int, list[tuple[datetime, str]]]:
    """{notice id: [(when, the status the step left it in), …] in order} of the steps taken
    up to the stored moment `until`: a notice's history, to judge it as it stood then."""
    found: dict[int, list[tuple[datetime, str]]] = {}
    for notice_id, action, at in await conn.execute_fetchall(
        "SELECT notice_id, action, at FROM notice_events WHERE at <= ? ORDER BY at, id", (until,)
    ):
        found.setdefault(notice_id, []).append((parse_ts(at), _AFTER[action]))
    return found


async def as_of(conn: Reader, moment: str) -> list[Notice]:
    """Issued notices as they stood at the stored moment `moment`: each with the status its
    last step by then left it in (a digest of a past month); those issued later left out."""
    history = await steps(conn, moment)
    return [replace(n, status=history[n.id][-1][1]) for n in await listing(conn)
            if n.id in history]  # fmt: skip


async def listing(
    conn: Reader, statuses: Sequence[str] | None = None, year: int | None = None
) -> list[Notice]:
    """Issued notices (not drafts), newest number first."""
    sql = f"SELECT {_COLUMNS} FROM notices WHERE status != 'draft'"
    params: list[object] = []
    if statuses:
        sql += f" AND status IN ({','.join('?' * len(statuses))})"
        params.extend(statuses)
    if year is not None:
        sql += " AND year = ?"
        params.append(year)
    return [
        _notice(r)
        for r in await conn.execute_fetchall(sql + " ORDER BY year DESC, seq DESC", params)
    ]

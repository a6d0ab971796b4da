"""SQL for the public side (晒): channels, posts, 民主评议 ballots and 意见建议."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

import aiosqlite

from storage.db import Connection
from storage.projects import COLUMNS, project_row
from storage.ran import since_approved
from storage.rows import Project, Reader, one, parse_ts

APPROVED = ("approved", "concluded", "accepted")


@dataclass(frozen=True, slots=True)
class Channel:
    chat_id: int
    title: str
    username: str | None
    root_org_id: int | None
    bound_by: int
    since: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class Post:
    id: int
    key: str
    kind: str  # card | progress | result | vote
    chat_id: int
    project_id: int | None
    vote_id: int | None
    period: str | None
    message_id: int | None
    extra_ids: list[int]
    status: str  # sending | posted | uncertain | failed | withheld | deleted
    shown: int
    edited_at: datetime | None
    created_at: datetime


@dataclass(frozen=True, slots=True)
class Vote:
    id: int
    project_id: int
    opens_at: datetime
    closes_at: datetime
    changes: int
    final: bool
    created_by: int


@dataclass(frozen=True, slots=True)
class Ballot:
    user_id: int
    full_name: str
    username: str | None
    choice: str  # s | b | u
    times: int
    first_at: datetime
    at: datetime


@dataclass(frozen=True, slots=True)
class Suggestion:
    id: int
    project_id: int
    user_id: int
    full_name: str
    username: str | None
    text: str
    at: datetime


# -- channels -----------------------------------------------------------------------------

_CHANNEL = "chat_id, title, username, root_org_id, bound_by, since, active"


def _channel(r: aiosqlite.Row) -> Channel:
    return Channel(r["chat_id"], r["title"], r["username"], r["root_org_id"], r["bound_by"],
                   parse_ts(r["since"]), bool(r["active"]))  # fmt: skip


async def channel(conn: Reader, chat_id: int) -> Channel | None:
    """The registered channel with this chat id (active or not)."""
    row = await one(conn, f"SELECT {_CHANNEL} FROM public_channels WHERE chat_id = ?", (chat_id,))
    return _channel(row) if row else None


async def active_channels(conn: Reader) -> list[Channel]:
    """Every channel the bot may post to."""
    rows = await conn.execute_fetchall(
        f"SELECT {_CHANNEL} FROM public_channels WHERE active = 1 ORDER BY chat_id"
    )
    return [_channel(r) for r in rows]


async def bind_channel(
    conn: Connection, chat_id: int, title: str, username: str | None,
    root_org_id: int | None, by_user: int, now: str,
) -> None:  # fmt: skip
    """Register (or re-register) a channel; its first binding's time is kept."""
    await conn.execute(
        "INSERT INTO public_channels (chat_id, title, username, root_org_id, bound_by, bound_at, "
        "since, active) VALUES (?, ?, ?, ?, ?, ?, ?, 1) ON CONFLICT(chat_id) DO UPDATE SET "
        "title = excluded.title, username = excluded.username, "
        "root_org_id = excluded.root_org_id, bound_by = excluded.bound_by, "
        "bound_at = excluded.bound_at, active = 1",
        (chat_id, title, username, root_org_id, by_user, now, now),
    )


async def deactivate_channel(conn: Connection, chat_id: int) -> bool:
    """Stop posting to a channel; False if it was not an active registered one."""
    cur = await conn.execute(
        "UPDATE public_channels SET active = 0 WHERE chat_id = ? AND active = 1", (chat_id,)
    )
    return cur.rowcount == 1


_IN_SCOPE = (
    "(? IS NULL OR p.org_id IN (WITH RECURSIVE sub(id) AS (SELECT ? UNION "
    "SELECT o.id FROM orgs o JOIN sub ON o.parent_id = sub.id) SELECT id FROM sub))"
)


async def covers(conn: Reader, root_org_id: int | None, project_id: int) -> bool:
    """Whether a channel with this root covers the project's organization."""
    row = await one(
        conn,
        f"SELECT 1 FROM projects p WHERE p.id = ? AND {_IN_SCOPE}",
        (project_id, root_org_id, root_org_id),
    )
    return row is not None


async def cards_owed(conn: Reader, chat_id: int, root_org_id: int | None, since: str) -> list[int]:
    """Projects in scope approved since the channel's binding whose card was never claimed."""
    rows = await conn.execute_fetchall(
        "SELECT p.id FROM projects p WHERE p.status IN ('approved', 'concluded', 'accepted') "
        f"AND p.approved_at >= ? AND {_IN_SCOPE} AND NOT EXISTS (SELECT 1 FROM public_posts "
        "WHERE key = 'card:' || p.id || ':' || ?) ORDER BY p.approved_at, p.id",
        (since, root_org_id, root_org_id, chat_id),
    )
    return [r[0] for r in rows]


async def results_owed(
    conn: Reader, chat_id: int, root_org_id: int | None, since: str
) -> list[int]:
    """Projects in scope that reached 已结题 (or 已验收) since the channel's binding, as far
    as their last change says, whose 晒效果 was never claimed in this channel."""
    rows = await conn.execute_fetchall(
        "SELECT p.id FROM projects p WHERE p.status IN ('concluded', 'accepted') "
        f"AND p.updated_at >= ? AND {_IN_SCOPE} AND NOT EXISTS (SELECT 1 FROM public_posts "
        "WHERE key = 'result:' || p.id || ':' || ?) ORDER BY p.updated_at, p.id",
        (since, root_org_id, root_org_id, chat_id),
    )
    return [r[0] for r in rows]


@dataclass(frozen=True, slots=True)
class MonthLine:
    """A running project's month, as a 晒动态 shows it."""

    project: Project
    org_name: str
    completion: int | None  # of the latest submitted report up to the month
    done: tuple[str, ...]  # milestones done in the month, in order
    photos: tuple[str, ...]  # file ids marked 可公开 in the month's submitted report


# Approved projects in scope running in a month, owed since 立项 (storage/ran.py
# since_approved): (month, month, month, root, root).
_RUNNING = (
    "p.status IN ('approved', 'concluded', 'accepted') AND p.start_month <= ? "
    f"AND p.end_month >= ? AND {since_approved('?')} AND {_IN_SCOPE}"
)


async def month_lines(conn: Reader, root_org_id: int | None, period: str) -> list[MonthLine]:
    """Every approved project in scope running in `period` (YYYY-MM), by number, with what
    its 晒动态 line shows: three queries for the whole scope, whatever its size."""
    running = (period, period, period, root_org_id, root_org_id)
    done: dict[int, list[str]] = {}
    for project_id, content in await conn.execute_fetchall(
        f"SELECT m.project_id, m.content FROM milestones m JOIN projects p ON p.id = m.project_id "
        f"WHERE m.done_month = ? AND {_RUNNING} ORDER BY m.project_id, m.position",
        (period, *running),
    ):
        done.setdefault(project_id, []).append(content)
    photos: dict[int, list[str]] = {}
    # The latest submitted version's photos only: an edit not submitted is not public.
    for project_id, file_id in await conn.execute_fetchall(
        "SELECT r.project_id, json_extract(e.value, '$[1]') FROM projects p "
        "JOIN reports r ON r.project_id = p.id AND r.period = ? JOIN report_versions v "
        "ON v.report_id = r.id AND v.version = r.version, json_each(v.files) e "
        f"WHERE {_RUNNING} AND json_extract(e.value, '$[0]') = 'photo' "
        "AND json_extract(e.value, '$[2]') = 1 ORDER BY r.project_id, e.key",
        (period, *running),
    ):
        photos.setdefault(project_id, []).append(file_id)
    columns = ", ".join(f"p.{c} AS {c}" for c in COLUMNS.replace(" ", "").split(","))
    # The completion as completion_by gives it, for every project at once.
    rows = await conn.execute_fetchall(
        f"SELECT {columns}, o.name AS org_name, (SELECT v.completion FROM reports r "
        "JOIN report_versions v ON v.report_id = r.id WHERE r.project_id = p.id "
        "AND r.period <= ? ORDER BY r.period DESC, v.version DESC LIMIT 1) AS completion "
        f"FROM projects p JOIN orgs o ON o.id = p.org_id WHERE {_RUNNING} "
        "ORDER BY p.number_year, p.number_seq",
        (period, *running),
    )
    lines = []
    for r in rows:
        completion = int(r["completion"]) if r["completion"] is not None else None
        pid = r["id"]
        lines.append(MonthLine(project_row(r), r["org_name"], completion,
                               tuple(done.get(pid, ())), tuple(photos.get(pid, ()))))  # fmt: skip
    return lines


# -- posts ----------------------------------------------------------------------------------

_POST = ("id, key, kind, chat_id, project_id, vote_id, period, message_id, extra_ids, status, "
         "shown, edited_at, created_at")  # fmt: skip


def _post(r: aiosqlite.Row) -> Post:
    return Post(
        r["id"], r["key"], r["kind"], r["chat_id"], r["project_id"], r["vote_id"], r["period"],
        r["message_id"], json.loads(r["extra_ids"]), r["status"], r["shown"],
        parse_ts(r["edited_at"]) if r["edited_at"] else None, parse_ts(r["created_at"]),
    )  # fmt: skip


async def claim_post(
    conn: Connection, key: str, kind: str, chat_id: int, project_id: int | None,
    vote_id: int | None, period: str | None, now: str,
) -> int | None:  # fmt: skip
    """Claim a post under its key before sending it; None if it was claimed before."""
    cur = await conn.execute(
        "INSERT INTO public_posts (key, kind, chat_id, project_id, vote_id, period, status, "
        "created_at, updated_at) VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, ?) "
        "ON CONFLICT(key) DO NOTHING",
        (key, kind, chat_id, project_id, vote_id, period, now, now),
    )
    return cur.lastrowid if cur.rowcount == 1 else None


async def claimed(conn: Reader, key: str) -> bool:
    """Whether a post was claimed under this key (sent, being sent, or settled)."""
    return await one(conn, "SELECT 1 FROM public_posts WHERE key = ?", (key,)) is not None


async def settle_stale_claims(conn: Connection, before: str, now: str) -> int:
    """Claims still `sending` since before `before`: their process died mid-send, so the
    post may be up. Marked `uncertain` (never sent again); a send that does finish after
    all records its own status over this."""
    cur = await conn.execute(
        "UPDATE public_posts SET status = 'uncertain', updated_at = ?, "
        "error = 'still sending at a later tick' WHERE status = 'sending' AND updated_at < ?",
        (now, before),
    )
    return cur.rowcount


async def release_post(conn: Connection, post_id: int) -> None:
    """Forget a claim whose send never left: the next tick tries again."""
    await conn.execute("DELETE FROM public_posts WHERE id = ? AND status = 'sending'", (post_id,))


async def finish_post(
    conn: Connection, post_id: int, status: str, message_id: int | None,
    extra_ids: list[int], error: str | None, now: str,
) -> None:  # fmt: skip
    """Record how a claimed post ended (posted, uncertain, failed)."""
    await conn.execute(
        "UPDATE public_posts SET status = ?, message_id = ?, extra_ids = ?, error = ?, "
        "updated_at = ? WHERE id = ?",
        (status, message_id, json.dumps(extra_ids), error, now, post_id),
    )


async def post(conn: Reader, post_id: int) -> Post | None:
    """One post by its number."""
    row = await one(conn, f"SELECT {_POST} FROM public_posts WHERE id = ?", (post_id,))
    return _post(row) if row else None


async def post_of_message(conn: Reader, chat_id: int, message_id: int) -> Post | None:
    """The post whose first message this is."""
    row = await one(
        conn,
        f"SELECT {_POST} FROM public_posts WHERE chat_id = ? AND message_id = ?",
        (chat_id, message_id),
    )
    return _post(row) if row else None


_SUBTREE = (
    "WITH RECURSIVE sub(id) AS (SELECT ? UNION SELECT o.id FROM orgs o JOIN sub "
    "ON o.parent_id = sub.id) SELECT id FROM sub"
)


async def recent_posts(
    conn: Reader, project_id: int | None, limit: int = 30, under: int | None = None
) -> list[Post]:
    """The newest posts (of one project, if given), newest first; with `under`, only posts
    of its subtree's projects and the 晒动态 of channels bound within it."""
    where, params = ["1"], []
    if project_id is not None:
        where.append("project_id = ?")
        params.append(project_id)
    if under is not None:
        where.append(
            f"(project_id IN (SELECT id FROM projects WHERE org_id IN ({_SUBTREE})) OR "
            "(project_id IS NULL AND chat_id IN (SELECT chat_id FROM public_channels "
            f"WHERE root_org_id IN ({_SUBTREE}))))"
        )
        params += [under, under]
    rows = await conn.execute_fetchall(
        f"SELECT {_POST} FROM public_posts WHERE {' AND '.join(where)} ORDER BY id DESC LIMIT ?",
        (*params, limit),
    )
    return [_post(r) for r in rows]


async def set_post_status(conn: Connection, post_id: int, status: str, now: str) -> None:
    """Mark a post withheld or deleted by an admin."""
    await conn.execute(
        "UPDATE public_posts SET status = ?, updated_at = ? WHERE id = ?", (status, now, post_id)
    )


async def vote_posts(conn: Reader, vote_id: int) -> list[Post]:
    """The posts of one vote that are up in a channel."""
    rows = await conn.execute_fetchall(
        f"SELECT {_POST} FROM public_posts WHERE vote_id = ? AND status = 'posted' ORDER BY id",
        (vote_id,),
    )
    return [_post(r) for r in rows]


async def mark_shown(conn: Connection, post_id: int, shown: int, now: str) -> None:
    """Record that a vote post now shows the tally after `shown` ballot changes."""
    await conn.execute(
        "UPDATE public_posts SET shown = ?, edited_at = ? WHERE id = ?", (shown, now, post_id)
    )


# -- 民主评议 ---------------------------------------------------------------------------------

_VOTE = "id, project_id, opens_at, closes_at, changes, final, created_by"


def _vote(r: aiosqlite.Row) -> Vote:
    return Vote(r["id"], r["project_id"], parse_ts(r["opens_at"]), parse_ts(r["closes_at"]),
                r["changes"], bool(r["final"]), r["created_by"])  # fmt: skip


async def create_vote(
    conn: Connection, project_id: int, opens_at: str, closes_at: str, by_user: int,
    now: str,
) -> int:  # fmt: skip
    """Open a voting window for a project; return its id."""
    cur = await conn.execute(
        "INSERT INTO public_votes (project_id, opens_at, closes_at, created_by, created_at) "
        "VALUES (?, ?, ?, ?, ?)",
        (project_id, opens_at, closes_at, by_user, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def vote(conn: Reader, vote_id: int) -> Vote | None:
    """One voting window."""
    row = await one(conn, f"SELECT {_VOTE} FROM public_votes WHERE id = ?", (vote_id,))
    return _vote(row) if row else None


async def votes_of(conn: Reader, project_id: int) -> list[Vote]:
    """A project's voting windows, oldest first."""
    rows = await conn.execute_fetchall(
        f"SELECT {_VOTE} FROM public_votes WHERE project_id = ? ORDER BY id", (project_id,)
    )
    return [_vote(r) for r in rows]


async def open_vote_of(conn: Reader, project_id: int, now: str) -> Vote | None:
    """The project's window open at `now`, if any."""
    row = await one(
        conn,
        f"SELECT {_VOTE} FROM public_votes WHERE project_id = ? AND opens_at <= ? "
        "AND closes_at > ? ORDER BY id DESC LIMIT 1",
        (project_id, now, now),
    )
    return _vote(row) if row else None


async def unsettled_votes(conn: Reader) -> list[Vote]:
    """Windows whose posts may need an edit: open, or closed without the final tally."""
    rows = await conn.execute_fetchall(f"SELECT {_VOTE} FROM public_votes WHERE final = 0")
    return [_vote(r) for r in rows]


async def mark_final(conn: Connection, vote_id: int) -> None:
    """The closed tally is up in every post of this window."""
    await conn.execute("UPDATE public_votes SET final = 1 WHERE id = ?", (vote_id,))


async def cast(
    conn: Connection, vote_id: int, user_id: int, full_name: str,
    username: str | None, choice: str, now: str,
) -> str:  # fmt: skip
    """Cast or change one account's ballot: 'cast', 'changed' or 'same'."""
    row = await one(
        conn, "SELECT choice FROM public_ballots WHERE vote_id = ? AND user_id = ?",
        (vote_id, user_id),
    )  # fmt: skip
    if row is not None and row["choice"] == choice:
        return "same"
    if row is None:
        await conn.execute(
            "INSERT INTO public_ballots (vote_id, user_id, full_name, username, choice, "
            "first_at, at) VALUES (?, ?, ?, ?, ?, ?, ?)",
            (vote_id, user_id, full_name, username, choice, now, now),
        )
    else:
        await conn.execute(
            "UPDATE public_ballots SET choice = ?, full_name = ?, username = ?, "
            "times = times + 1, at = ? WHERE vote_id = ? AND user_id = ?",
            (choice, full_name, username, now, vote_id, user_id),
        )
    await conn.execute("UPDATE public_votes SET changes = changes + 1 WHERE id = ?", (vote_id,))
    return "cast" if row is None else "changed"


async def tally(conn: Reader, vote_ids: list[int]) -> dict[str, int]:
    """Ballots by choice over these windows."""
    if not vote_ids:
        return {}
    marks = ",".join("?" * len(vote_ids))
    rows = await conn.execute_fetchall(
        f"SELECT choice, COUNT(*) FROM public_ballots WHERE vote_id IN ({marks}) GROUP BY choice",
        vote_ids,
    )
    return {r[0]: r[1] for r in rows}


async def ballots(conn: Reader, vote_id: int) -> list[Ballot]:
    """Every ballot of a window, in the order they were first cast (for audit)."""
    rows = await conn.execute_fetchall(
        "SELECT user_id, full_name, username, choice, times, first_at, at FROM public_ballots "
        "WHERE vote_id = ? ORDER BY first_at, user_id",
        (vote_id,),
    )
    return [Ballot(r[0], r[1], r[2], r[3], r[4], parse_ts(r[5]), parse_ts(r[6])) for r in rows]


# -- 意见建议 ---------------------------------------------------------------------------------


async def add_suggestion(
    conn: Connection, project_id: int, user_id: int, full_name: str,
    username: str | None, text: str, now: str,
) -> int:  # fmt: skip
    """Store one suggestion; return its id."""
    cur = await conn.execute(
        "INSERT INTO public_suggestions (project_id, user_id, full_name, username, text, at) "
        "VALUES (?, ?, ?, ?, ?, ?)",
        (project_id, user_id, full_name, username, text, now),
    )
    assert cur.lastrowid is not None
    return cur.lastrowid


async def suggestions_since(conn: Reader, user_id: int, since: str) -> int:
    """How many suggestions this account sent since `since`."""
    row = await one(
        conn, "SELECT COUNT(*) FROM public_suggestions WHERE user_id = ? AND at >= ?",
        (user_id, since),
    )  # fmt: skip
    return int(row[0]) if row else 0


async def suggestions(conn: Reader, project_id: int) -> list[Suggestion]:
    """A project's suggestions, oldest first."""
    rows = await conn.execute_fetchall(
        "SELECT id, project_id, user_id, full_name, username, text, at FROM public_suggestions "
        "WHERE project_id = ? ORDER BY at, id",
        (project_id,),
    )
    return [Suggestion(r[0], r[1], r[2], r[3], r[4], r[5], parse_ts(r[6])) for r in rows]


# -- what a monthly post shows -----------------------------------------------------------------


async def completion_by(conn: Reader, project_id: int, period: str) -> int | None:
    """The completion of the project's latest submitted report up to `period`."""
    row = await one(
        conn,
        "SELECT v.completion FROM report_versions v JOIN reports r ON r.id = v.report_id "
        "WHERE r.project_id = ? AND r.period <= ? ORDER BY r.period DESC, v.version DESC "
        "LIMIT 1",
        (project_id, period),
    )
    return int(row[0]) if row else None


async def set_file_public(
    conn: Connection, report_id: int, file_unique_id: str, shown: bool
) -> bool:
    """Mark an evidence file 可公开 (or not); False if the report has no such file."""
    cur = await conn.execute(
        "UPDATE report_files SET public = ? WHERE report_id = ? AND file_unique_id = ?",
        (int(shown), report_id, file_unique_id),
    )
    return cur.rowcount == 1

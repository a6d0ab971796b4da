"""A subtree larger than SQLite's variable limit: project lists stay one bounded query."""

from __future__ import annotations

import sqlite3
from contextlib import closing

from bot.services.people import Identity
from bot.services.projects import list_projects
from bot.services.scopes import AdminScope
from storage import orgs, projects
from storage.db import Database
from tests.conftest import ADMIN_ID

STAMP = "2026-11-21T10:00:00+08:00"
# More organizations than this SQLite binds parameters in one statement (32,766 by default;
# some builds allow more).
with closing(sqlite3.connect(":memory:")) as probe:
    SIZE = probe.getlimit(sqlite3.SQLITE_LIMIT_VARIABLE_NUMBER) + 1


async def province(db: Database) -> tuple[int, int]:
    """ROOT, MID under it and SIZE organizations under MID, plus OTHER beside ROOT; one
    approved project at the bottom of ROOT's subtree, one in OTHER."""
    async with db.transaction() as conn:
        await conn.executemany(
            "INSERT INTO orgs (code, name, kind, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
            [
                *((code, code, "党委", STAMP, STAMP) for code in ("ROOT", "MID", "OTHER")),
                *((f"L{i}", f"支部{i}", "党支部", STAMP, STAMP) for i in range(SIZE)),
            ],
        )
        await conn.execute(
            "UPDATE orgs SET parent_id = (SELECT id FROM orgs WHERE code = 'ROOT') "
            "WHERE code = 'MID'"
        )
        await conn.execute(
            "UPDATE orgs SET parent_id = (SELECT id FROM orgs WHERE code = 'MID') "
            "WHERE code LIKE 'L%'"
        )
        ids = []
        for code in (f"L{SIZE - 1}", "OTHER"):
            org = await orgs.by_code(conn, code)
            assert org is not None
            project_id = await projects.create_draft(conn, org.id, ADMIN_ID, STAMP)
            await conn.execute(
                "UPDATE projects SET status = 'approved', start_month = '2027-01', "
                "end_month = '2027-12', owed_from = '2027-01', name = ? WHERE id = ?",
                (code, project_id),
            )
            ids.append(project_id)
    return ids[0], ids[1]


async def test_projects_of_a_huge_subtree(db: Database) -> None:
    inside, outside = await province(db)
    admin = Identity(ADMIN_ID, "admin", scope=AdminScope(ADMIN_ID, None))
    found = await list_projects(db, admin, query="ROOT")
    assert found.outcome == "ok"
    assert (found.total, [i.project.id for i in found.items]) == (1, [inside])
    assert (await list_projects(db, admin)).total == 2
    root = await orgs.by_code(db, "ROOT")
    assert root is not None
    active = await projects.active_in(db, "2027-06", root.id)
    assert [p.id for p in active] == [inside]
    assert {p.id for p in await projects.active_in(db, "2027-06")} == {inside, outside}

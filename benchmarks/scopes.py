"""Benchmark (`scopes`): what 分级管理 costs at province scale: the admin lookup every update
makes, the subtree checks every admin action makes, and a subtree admin's lists.

    python -m benchmarks.scopes [--orgs 20000] [--db FILE]

Generates a province with `benchmarks.seed` (or reuses `--db`, copied first), makes one
account admin of the first 党委's subtree, and times on one connection: `admin_scope` (read
per update by the command gate), `covers` for an organization inside and outside the
subtree, `nearest_level` (where an application or 反馈 goes), a page of `/projects` and
`/reports` for that admin, and `/reports` for the top level. Prints one JSON line of
milliseconds per call.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

from benchmarks.seed import SeedSpec, seed_database
from bot.services import people, reporting, scopes
from bot.services import projects as catalog
from bot.services.calendar import ReportCalendar
from storage import admins
from storage.db import Database
from storage.rows import ts

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 11, 28, 10, 0, tzinfo=TZ)
LEVEL_ADMIN = 777_000_001


async def per_call(fn: Callable[[], Awaitable[Any]], calls: int) -> float:
    """Milliseconds per call, over `calls` calls."""
    started = time.perf_counter()
    for _ in range(calls):
        await fn()
    return round((time.perf_counter() - started) / calls * 1000, 3)


async def measure(path: Path, orgs: int) -> dict[str, Any]:
    db = await Database.open(path)
    try:
        [(root,)] = await db.execute_fetchall(
            "SELECT id FROM orgs WHERE kind = '党委' ORDER BY id LIMIT 1"
        )
        [(inside,)] = await db.execute_fetchall(
            "SELECT id FROM orgs WHERE parent_id = ? ORDER BY id LIMIT 1", (root,)
        )
        [(outside,)] = await db.execute_fetchall(
            "SELECT id FROM orgs WHERE parent_id IS NOT NULL AND parent_id != ? "
            "AND kind != '党委' ORDER BY id LIMIT 1",
            (root,),
        )
        async with db.transaction() as conn:
            await admins.grant(conn, LEVEL_ADMIN, root, "镇管理员", None, None, ts(NOW))
        scope = await scopes.admin_scope(db, LEVEL_ADMIN)
        assert scope is not None
        top = scopes.AdminScope(0, None)
        subtree = await scopes.org_ids(db, scope)
        who = await people.identify(db, LEVEL_ADMIN)
        cal = ReportCalendar(tz=TZ)
        # /reports is built in the export process, which the bot starts before any command.
        await reporting.period_status(db, cal, "2026-10", NOW, scope)
        return {
            "orgs": orgs,
            "subtree_orgs": len(subtree or ()),
            "admin_scope_ms": await per_call(lambda: scopes.admin_scope(db, LEVEL_ADMIN), 500),
            "covers_inside_ms": await per_call(lambda: scopes.covers(db, scope, inside), 500),
            "covers_outside_ms": await per_call(lambda: scopes.covers(db, scope, outside), 500),
            "nearest_level_ms": await per_call(lambda: scopes.nearest_level(db, inside), 500),
            "projects_page_level_ms": await per_call(lambda: catalog.list_projects(db, who), 20),
            "reports_level_ms": await per_call(
                lambda: reporting.period_status(db, cal, "2026-10", NOW, scope), 5
            ),
            "reports_top_ms": await per_call(
                lambda: reporting.period_status(db, cal, "2026-10", NOW, top), 1
            ),
        }
    finally:
        await db.close()


async def run(orgs: int, given: Path | None) -> dict[str, Any]:
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "scopes.sqlite3"
        if given is not None:
            shutil.copy(given, path)  # the admin granted here must not stay in the given file
        else:
            await seed_database(path, SeedSpec(orgs=orgs))
        return await measure(path, orgs)


def main(argv: Sequence[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.scopes",
                                     description=__doc__.split("\n\n")[0])  # fmt: skip
    parser.add_argument("--orgs", type=int, default=20_000)
    parser.add_argument("--db", type=Path, default=None, help="a seeded file to copy")
    args = parser.parse_args(argv)
    print(json.dumps(asyncio.run(run(args.orgs, args.db)), ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

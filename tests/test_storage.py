"""The database: settings of the connection, migrations, refusal of newer schemas."""

from __future__ import annotations

import sqlite3
from pathlib import Path

import pytest

from storage.db import Database, SchemaTooNewError, latest_version, migrations


async def test_new_database_gets_every_migration_wal_and_foreign_keys(tmp_path: Path) -> None:
    db = await Database.open(tmp_path / "new" / "bot.sqlite3")
    try:
        assert await db.version() == latest_version() == len(migrations()) >= 1
        assert (await db.fetchone("PRAGMA journal_mode"))[0] == "wal"
        assert (await db.fetchone("PRAGMA foreign_keys"))[0] == 1
        assert (await db.fetchone("PRAGMA synchronous"))[0] == 2  # FULL
        tables = {r[0] for r in await db.fetchall("SELECT name FROM sqlite_master")}
        assert {"orgs", "people", "invites", "supervisor_groups"} <= tables
    finally:
        await db.close()


async def test_migrating_twice_changes_nothing(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.close()
    db = await Database.open(path, migrate=False)
    try:
        assert await db.migrate() == []
        assert await db.version() == latest_version()
    finally:
        await db.close()


async def test_database_from_newer_code_is_refused_untouched(tmp_path: Path) -> None:
    path = tmp_path / "bot.sqlite3"
    db = await Database.open(path)
    await db.write(lambda conn: conn.execute(f"PRAGMA user_version = {latest_version() + 1}"))
    await db.close()
    with pytest.raises(SchemaTooNewError) as err:
        await Database.open(path)
    assert err.value.found == latest_version() + 1
    with sqlite3.connect(path) as raw:
        assert raw.execute("PRAGMA user_version").fetchone()[0] == latest_version() + 1


async def test_foreign_keys_are_enforced(db: Database) -> None:
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO invites (code, org_id, created_at, expires_at) "
                "VALUES ('x', 999, '', '')"
            )


async def test_failed_transaction_rolls_back_everything(db: Database) -> None:
    with pytest.raises(RuntimeError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO orgs (code, name, kind, created_at, updated_at) "
                "VALUES ('A', 'a', '党支部', '', '')"
            )
            raise RuntimeError("boom")
    assert (await db.fetchone("SELECT count(*) FROM orgs"))[0] == 0


async def test_one_secretary_per_organization_is_a_database_rule(db: Database) -> None:
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO orgs (id, code, name, kind, created_at, updated_at) "
            "VALUES (1, 'A', 'a', '党支部', '', '')"
        )
        await conn.execute(
            "INSERT INTO people (user_id, full_name, role, org_id, created_at, updated_at) "
            "VALUES (1, 'x', 'secretary', 1, '', '')"
        )
    with pytest.raises(sqlite3.IntegrityError):
        async with db.transaction() as conn:
            await conn.execute(
                "INSERT INTO people (user_id, full_name, role, org_id, created_at, updated_at) "
                "VALUES (2, 'y', 'secretary', 1, '', '')"
            )


async def test_processes_opening_a_new_file_at_once_migrate_it_once(tmp_path: Path) -> None:
    import asyncio

    for attempt in range(8):
        path = tmp_path / f"race{attempt}.sqlite3"
        opened = await asyncio.gather(*(Database.open(path) for _ in range(3)))
        try:
            for db in opened:
                assert await db.version() == latest_version()
        finally:
            for db in opened:
                await db.close()

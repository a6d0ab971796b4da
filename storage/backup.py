"""Copies of the database through SQLite's online backup API (sqlite3.Connection.backup).

The backup API copies from one moment, so a copy taken while the bot writes is consistent,
unlike a file copy, which may catch a page half written or miss the -wal file. These
functions block: callers run them in a thread or in a command of their own.
"""

from __future__ import annotations

import os
import sqlite3
from contextlib import closing
from dataclasses import dataclass
from pathlib import Path

from storage.db import BUSY_TIMEOUT_MS


@dataclass(frozen=True)
class Checked:
    """What a backup file holds: its schema version and what integrity_check found."""

    version: int
    problems: list[str]  # empty when PRAGMA integrity_check says ok
    is_bot_database: bool  # it has the bot's tables, not just any SQLite file


def _open(path: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(path, isolation_level=None)
    conn.execute(f"PRAGMA busy_timeout = {BUSY_TIMEOUT_MS}")
    return conn


def copy_database(source: Path, target: Path) -> None:
    """Copy the database at `source` to the new file `target`, written beside it under a
    temporary name and renamed into place once complete, checked and on disk."""
    target.parent.mkdir(parents=True, exist_ok=True)
    partial = target.with_name(target.name + ".part")
    partial.unlink(missing_ok=True)
    # Owner-only from the start: a copy holds invite codes and everyone's answers.
    os.close(os.open(partial, os.O_CREAT | os.O_WRONLY | os.O_EXCL, 0o600))
    try:
        with closing(_open(source)) as src, closing(_open(partial)) as dst:
            src.execute("PRAGMA query_only = ON")
            src.backup(dst)  # every page in one step: one read transaction, one moment
            # A single self-contained file: no -wal beside the copy.
            dst.execute("PRAGMA journal_mode = DELETE")
            problems = _integrity(dst)
        if problems:
            raise sqlite3.DatabaseError("; ".join(problems))
        with open(partial, "rb+") as written:
            os.fsync(written.fileno())
        partial.replace(target)
    finally:
        partial.unlink(missing_ok=True)


def _integrity(conn: sqlite3.Connection) -> list[str]:
    try:
        rows = [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]
    except sqlite3.DatabaseError as exc:  # too damaged for the check to finish
        return [str(exc)]
    return [] if rows == ["ok"] else rows


def check_backup(path: Path) -> Checked:
    """Read a backup file without changing it: schema version, integrity, whose it is."""
    with closing(sqlite3.connect(f"{path.resolve().as_uri()}?mode=ro", uri=True)) as conn:
        version = int(conn.execute("PRAGMA user_version").fetchone()[0])
        problems = _integrity(conn)
        tables = {
            str(row[0])
            for row in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")
        }
    return Checked(version, problems, {"orgs", "people", "deliveries"} <= tables)


def restore_database(backup: Path, target: Path) -> None:
    """Write the backup's content over the database at `target`, through SQLite (which also
    discards the old -wal), and check the result."""
    with closing(_open(backup)) as src, closing(_open(target)) as dst:
        src.execute("PRAGMA query_only = ON")
        src.backup(dst)
        problems = _integrity(dst)
    if problems:
        raise sqlite3.DatabaseError("; ".join(problems))

"""A database the bot may not write, or one another process holds locked: `python -m bot run`
and `migrate` stop with one clear line (no traceback, no token) and leave the file exactly as
it was, with no -wal/-shm files left beside it.

Tests may run as root (CI containers do), and root writes through any permission bits. The
commands are then run without the capabilities that allow that (CAP_DAC_OVERRIDE and
CAP_DAC_READ_SEARCH, dropped from the child's bounding set before exec), so a chmod binds them
as it binds an ordinary user. Each test first proves, in a child set up the same way, that the
file or folder really cannot be written: if this machine could not make it so, the test fails
saying that, instead of passing without testing anything.
"""

from __future__ import annotations

import asyncio
import ctypes
import hashlib
import os
import sqlite3
import stat
import subprocess
import sys
import threading
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path

import pytest

from bot.cli import main
from storage.db import Database
from tests.conftest import SHANGHAI, load_sample_units
from tests.standin.core import TOKEN
from tests.test_e2e_polling import SECRET, Finished, clean_env, run_cli

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
UNREACHABLE_API = "http://127.0.0.1:9/bot"  # never asked: the database is checked first
PR_CAPBSET_DROP = 24  # <linux/prctl.h>
CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH = 1, 2  # <linux/capability.h>
READ_ONLY_LINE = "是只读的"


def _without_root_overrides() -> None:
    """preexec_fn, when the tests run as root: permission bits bind the child and what it execs."""
    libc = ctypes.CDLL(None, use_errno=True)
    for cap in (CAP_DAC_OVERRIDE, CAP_DAC_READ_SEARCH):
        if libc.prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) != 0:
            raise OSError(ctypes.get_errno(), "prctl(PR_CAPBSET_DROP) refused")


def _spawn_options() -> dict:
    return {"preexec_fn": _without_root_overrides} if os.geteuid() == 0 else {}


def _env(db_path: Path) -> dict[str, str]:
    return clean_env(
        TELEGRAM_BOT_TOKEN=TOKEN, BOT_DB_PATH=str(db_path), BOT_API_BASE_URL=UNREACHABLE_API
    )


async def _bot(*args: str, env: dict[str, str]) -> Finished:
    """`python -m bot ARGS` as a process that cannot write past permission bits."""
    return await run_cli(*args, env=env, deadline=30, **_spawn_options())


WRITE_PROBE = """
import sys
from pathlib import Path
target = Path(sys.argv[1])
try:
    if target.is_dir():
        (target / "probe").touch()
    else:
        target.open("r+b").close()
except PermissionError:
    sys.exit(0)
sys.exit(3)
"""


def assert_child_cannot_write(target: Path) -> None:
    """The premise: a child spawned like the bot is refused writing `target`."""
    done = subprocess.run(
        [sys.executable, "-I", "-S", "-c", WRITE_PROBE, str(target)],
        capture_output=True, text=True, timeout=30, check=False, **_spawn_options(),
    )  # fmt: skip
    assert done.returncode == 0, (
        f"cannot make {target} read-only for a child process on this machine "
        f"(uid {os.geteuid()}); exit {done.returncode}: {done.stderr}"
    )


def snapshot(folder: Path) -> dict[str, tuple[int, str]]:
    """Every file in `folder`: (mode, sha256 of its bytes)."""
    return {
        p.name: (stat.S_IMODE(p.stat().st_mode), hashlib.sha256(p.read_bytes()).hexdigest())
        for p in sorted(folder.iterdir())
    }


def one_line(result: Finished, *expected: str) -> str:
    """The command failed with exit 2 and one line on stderr naming `expected`."""
    assert result.returncode == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, f"expected one line\n{result.output}"
    for text in expected:
        assert text in lines[0], result.output
    assert "Traceback" not in result.stdout + result.stderr, result.output
    assert SECRET not in result.stdout + result.stderr, result.output
    return lines[0]


def read_only_folder(folder: Path) -> Path:
    folder.mkdir(mode=0o555)
    return folder


@pytest.fixture
def restore_modes(tmp_path: Path) -> Iterator[list[Path]]:
    """Paths a test made read-only get their write bit back, so tmp_path can be cleaned."""
    changed: list[Path] = []
    yield changed
    for path in changed:
        path.chmod(path.stat().st_mode | stat.S_IWUSR)


def names(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


async def a_database(folder: Path) -> Path:
    """A migrated database with the sample organizations, closed cleanly (no -wal/-shm)."""
    db_path = folder / "bot.sqlite3"
    db = await Database.open(db_path)  # creates the folder
    try:
        await load_sample_units(db, NOW)
    finally:
        await db.close()
    assert names(folder) == ["bot.sqlite3"]
    return db_path


@pytest.mark.parametrize("read_only", ["file", "folder"])
async def test_read_only_database_is_one_clear_line_and_left_untouched(
    tmp_path: Path, restore_modes: list[Path], read_only: str
) -> None:
    db_path = await a_database(tmp_path / "data")
    folder = db_path.parent
    if read_only == "file":
        db_path.chmod(0o444)
        restore_modes.append(db_path)
        assert_child_cannot_write(db_path)
    else:
        folder.chmod(0o555)
        restore_modes.append(folder)
        assert_child_cannot_write(folder)
    before = snapshot(folder)

    migrated, ran = await asyncio.gather(
        _bot("migrate", env=_env(db_path)), _bot("run", env=_env(db_path))
    )

    # The file itself is named when it is read-only, else the folder that refuses -wal/-shm.
    refused = str(db_path) if read_only == "file" else f"无法写入：{folder} 是只读的"
    for result in (migrated, ran):
        line = one_line(result, READ_ONLY_LINE, refused, "BOT_DB_PATH")
        assert "Bot API" not in line  # stopped before asking Telegram anything
    assert snapshot(folder) == before, "the database or its folder changed"


async def test_new_database_in_a_read_only_folder(
    tmp_path: Path, restore_modes: list[Path]
) -> None:
    folder = read_only_folder(tmp_path / "data")
    restore_modes.append(folder)
    assert_child_cannot_write(folder)
    db_path = folder / "bot.sqlite3"
    migrated = await _bot("migrate", env=_env(db_path))
    one_line(migrated, READ_ONLY_LINE, str(folder))
    assert names(folder) == []


async def test_a_folder_given_as_the_database_is_one_line(tmp_path: Path) -> None:
    """SQLite cannot open it at all: the connection's worker thread must be gone before the
    message, not print a traceback after it about the closed event loop (it used to)."""

    def workers() -> list[threading.Thread]:
        return [t for t in threading.enumerate() if "connection_worker" in t.name]

    threads = workers()
    with pytest.raises(sqlite3.OperationalError, match="unable to open database file"):
        await Database.open(tmp_path)
    assert [t for t in workers() if t not in threads] == []
    migrated = await _bot("migrate", env=_env(tmp_path))
    one_line(migrated, "无法打开数据库", "unable to open database file")


HOLDER = """
import sqlite3, sys
conn = sqlite3.connect(sys.argv[1], isolation_level=None)
conn.execute("BEGIN EXCLUSIVE")
print("held", flush=True)
sys.stdin.read()
conn.execute("ROLLBACK")
"""


async def _held(db_path: Path) -> asyncio.subprocess.Process:
    """Another process holding the write lock until its stdin closes."""
    holder = await asyncio.create_subprocess_exec(
        sys.executable, "-c", HOLDER, str(db_path), stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
    )  # fmt: skip
    assert holder.stdout is not None
    assert (await asyncio.wait_for(holder.stdout.readline(), 30)).strip() == b"held"
    return holder


async def _release(holder: asyncio.subprocess.Process) -> None:
    assert holder.stdin is not None
    holder.stdin.close()
    await asyncio.wait_for(holder.wait(), 30)


@pytest.mark.parametrize("command", ["migrate", "run"])
async def test_locked_by_another_process(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    command: str,
) -> None:
    """Another process holds the write lock past the busy timeout (the default five seconds):
    one line, exit 2, and the file as it was. The lock is held by a real other process."""
    db_path = await a_database(tmp_path / "data")
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    holder = await _held(db_path)
    try:
        for name, value in _env(db_path).items():
            if name.startswith(("TELEGRAM_", "BOT_")):
                monkeypatch.setenv(name, value)
        monkeypatch.delenv("BOT_CONFIG", raising=False)
        code = await asyncio.to_thread(main, [command])
    finally:
        await _release(holder)
    captured = capsys.readouterr()
    result = Finished(code, captured.out, captured.err)
    one_line(result, "无法打开数据库", "database is locked")
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before


async def test_the_busy_timeout_is_the_callers(tmp_path: Path) -> None:
    """`busy_timeout_ms` is how long opening waits for another process's write lock: a short
    one fails with SQLite's 'locked' and leaves the file as it was."""
    db_path = await a_database(tmp_path / "data")
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    holder = await _held(db_path)
    try:
        with pytest.raises(sqlite3.OperationalError, match="locked"):
            await Database.open(db_path, busy_timeout_ms=100)
    finally:
        await _release(holder)
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before
    db = await Database.open(db_path, busy_timeout_ms=250)
    try:  # both connections wait that long: the writer (read in a write) and the reader
        writer = await db.write(lambda conn: conn.execute("PRAGMA busy_timeout").fetchone()[0],
                                marked=False)  # fmt: skip
        assert writer == 250
        assert [tuple(r) for r in await db.fetchall("PRAGMA busy_timeout")] == [(250,)]
    finally:
        await db.close()


async def test_the_write_probe_leaves_a_new_database_in_wal_mode(tmp_path: Path) -> None:
    """Opening checks that the file can be written with a rolled-back write; on a new file
    that must not undo the switch to WAL (readers beside the writer, one fsync per commit)."""
    db_path = await a_database(tmp_path / "data")
    before = hashlib.sha256(db_path.read_bytes()).hexdigest()
    db = await Database.open(db_path)
    try:
        row = await db.fetchone("PRAGMA journal_mode")
        assert row is not None and row[0] == "wal"
    finally:
        await db.close()
    assert hashlib.sha256(db_path.read_bytes()).hexdigest() == before  # the probe wrote nothing

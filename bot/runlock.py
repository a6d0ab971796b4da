"""Who is using the database: `run` holds a shared lock on `<database>.lock` for as long as
it runs; `restore` takes it exclusively, so it never writes under a running bot and no bot
starts in the middle of a restore. flock(2) locks are dropped by the kernel when the
process ends, however it ends (SIGKILL included), so a crash never leaves one behind."""

from __future__ import annotations

import fcntl
import os
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager
from pathlib import Path


class LockHeld(Exception):
    """Another process holds the lock in a way that excludes us."""


def lock_path(db_path: Path) -> Path:
    return db_path.with_name(db_path.name + ".lock")


@contextmanager
def _locked(db_path: Path, mode: int) -> Iterator[None]:
    fd = os.open(lock_path(db_path), os.O_RDWR | os.O_CREAT, 0o644)
    try:
        try:
            fcntl.flock(fd, mode | fcntl.LOCK_NB)
        except BlockingIOError:
            raise LockHeld(str(lock_path(db_path))) from None
        yield
    finally:
        os.close(fd)  # closing the descriptor releases the lock


def bot_running(db_path: Path) -> AbstractContextManager[None]:
    """Held by `run`: several may share it; a restore in progress excludes it."""
    return _locked(db_path, fcntl.LOCK_SH)


def nobody_running(db_path: Path) -> AbstractContextManager[None]:
    """Held by `restore`: only while no bot runs on this database."""
    return _locked(db_path, fcntl.LOCK_EX)

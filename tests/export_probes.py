"""Exports for tests of Database.off_loop: module-level, so the export process can import
them; they meet the test through files, the one thing both processes see."""

from __future__ import annotations

import asyncio
import os
import time
from pathlib import Path

from storage import summary
from storage.db import Database


async def _count(view: Database) -> int:
    row = await view.read("SELECT count(*) FROM t")
    assert row is not None
    return int(row[0])


async def count_while_written(view: Database, folder: str) -> tuple[int, int, int]:
    """Count, say so (file `reading`), wait for the test's write (file `written`), count
    again: the same moment both times. Returns both counts and this process's id."""
    before = await _count(view)
    # The export process's own loop: nothing else runs on it to be held up.
    Path(folder, "reading").touch()  # noqa: ASYNC240
    deadline = time.monotonic() + 30
    while not Path(folder, "written").exists():  # noqa: ASYNC240
        if time.monotonic() > deadline:
            raise TimeoutError("the test never wrote: its event loop was held")
        await asyncio.sleep(0.01)
    return before, await _count(view), os.getpid()


async def fail_while_streaming(view: Database) -> None:
    """Fail in the middle of a streamed read, as a bug in an export would."""
    async for _ in summary._stream(view, "SELECT k FROM t", ()):
        raise RuntimeError("a bug while the rows are read")


async def held(view: Database, folder: str) -> int:
    """Say so (file `holding`), then wait for the test's word (file `release`): an export
    that takes as long as the test wants."""
    Path(folder, "holding").touch()  # noqa: ASYNC240
    deadline = time.monotonic() + 30
    while not Path(folder, "release").exists():  # noqa: ASYNC240
        if time.monotonic() > deadline:
            raise TimeoutError("the test never released the export")
        await asyncio.sleep(0.01)
    return os.getpid()


async def pid(view: Database) -> int:
    return os.getpid()


async def die_once(view: Database, folder: str) -> int:
    """End the worker process abruptly the first time (as the kernel's OOM killer would),
    then answer with its process id."""
    marker = Path(folder, "died")
    if not marker.exists():  # noqa: ASYNC240
        marker.touch()  # noqa: ASYNC240
        os._exit(1)
    return os.getpid()

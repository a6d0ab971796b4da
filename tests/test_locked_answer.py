"""An answer SQLite could not write (another process held the write lock past the busy
timeout, or the disk is full) is not stored: the person is told so plainly and asked to
send it again, never an apology that leaves them thinking it was kept."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from datetime import datetime
from typing import Any

import pytest

from storage import dialogs, reports
from tests.conftest import SHANGHAI, BotHarness, Clock
from tests.projects_helpers import approved_project, report_step
from tests.standin.dialogue import Bench, TgUser

MARCH_21 = datetime(2027, 3, 21, 10, 0, tzinfo=SHANGHAI)
ANSWER = "完成文林街整治，召开议事会两次"


@pytest.fixture
async def secretary(bench: Bench, clock: Clock) -> TgUser:
    user = await approved_project(bench)
    clock.now = MARCH_21
    assert report_step("progress") in (await user.send("/report")).text
    # Wait 50 ms, not 5 s, for the other writer: the outcome is the same, only sooner.
    await bench.app.bot_data.db.write(lambda conn: conn.execute("PRAGMA busy_timeout = 50"))
    return user


@pytest.fixture
def other_process(bench: Bench) -> Iterator[sqlite3.Connection]:
    """A second connection to the file, as another process (the CLI, a backup) would hold."""
    conn = sqlite3.connect(bench.app.bot_data.db.path, isolation_level=None)
    yield conn
    conn.close()


def assert_told_not_saved(text: str) -> None:
    assert "没有保存" in text and "再发一遍" in text
    assert "已记录下来" not in text and "已保存" not in text.replace("没有保存", "")


async def test_an_answer_blocked_by_another_writer_is_said_not_saved(
    harness: BotHarness, bench: Bench, secretary: TgUser, other_process: sqlite3.Connection
) -> None:
    db = bench.app.bot_data.db
    other_process.execute("BEGIN IMMEDIATE")  # holds the write lock past busy_timeout
    replies = await secretary.send(ANSWER)
    assert len(harness.errors) == 1 and "locked" in str(harness.errors[0])
    harness.errors.clear()
    assert_told_not_saved(replies.text)
    assert "数据库正忙" in replies.text
    report = await reports.of_period(db, 1, "2027-03")
    assert report is None or report.progress != ANSWER
    other_process.execute("ROLLBACK")
    # Sent again once the lock is gone: stored, and the conversation goes on.
    assert report_step("milestones") in (await secretary.send(ANSWER)).text
    report = await reports.of_period(db, 1, "2027-03")
    assert report is not None and report.progress == ANSWER
    dialog = await dialogs.get(db, secretary.id)
    assert dialog is not None and dialog.step == "milestones"


def disk_full_error() -> sqlite3.OperationalError:
    """The error SQLite raises when the disk is full, raised by SQLite itself: a database
    allowed no more pages than it has (the bot's own file cannot be made to fill up)."""
    conn = sqlite3.connect(":memory:")
    try:
        conn.execute("PRAGMA max_page_count = 1")
        conn.execute("CREATE TABLE a (x)")
        conn.execute("CREATE TABLE b (x)")
    except sqlite3.OperationalError as exc:
        return exc
    finally:
        conn.close()
    raise AssertionError("SQLite found room")


async def test_an_answer_on_a_full_disk_is_said_not_saved(
    harness: BotHarness, bench: Bench, secretary: TgUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    db = bench.app.bot_data.db
    full = disk_full_error()

    def set_fields(conn: sqlite3.Connection, *args: Any) -> None:
        raise full

    monkeypatch.setattr(reports, "set_fields", set_fields)
    replies = await secretary.send(ANSWER)
    assert harness.errors == [full]
    harness.errors.clear()
    assert_told_not_saved(replies.text)
    assert "存储空间已满" in replies.text
    report = await reports.of_period(db, 1, "2027-03")
    assert report is None or report.progress is None

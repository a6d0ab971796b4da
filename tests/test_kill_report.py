"""SIGKILL of `python -m bot run` in the middle of a monthly report (issue #8).

The real polling loop talks to the stand-in over loopback HTTP, as in test_e2e_polling.py.
A kill can land at three moments of one answer, and each is played here:

1. after the bot's reply to the answer reached the person (acknowledged): the answer must
   be on disk and the restarted bot must ask the next question;
2. after the bot stored the answer but before its reply and its getUpdates confirmation got
   out: Telegram hands the update out again, and the restarted bot must not apply it twice
   (nor to the next question);
3. before the bot fetched an update at all: the restarted bot must fetch and answer it once.

`run` has no setting that fixes "now", so the conversation is in whatever month the wall
clock is in: the project spans 2020-2099 and nothing here depends on which month it is. (A
run across the opening of a new report window, the 20th at 00:00 in Shanghai, would see the
month change under it.)
"""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from datetime import datetime
from pathlib import Path
from typing import Any

from storage.db import Database
from tests.conftest import ADMIN_ID, SHANGHAI, load_sample_units
from tests.projects_helpers import report_step, seed_project
from tests.standin.core import TOKEN, BotApiStandIn, Call
from tests.standin.http import serve_http
from tests.test_e2e_polling import REPO, SECRET, Finished, clean_env, wait_until

SECRETARY_ID = 4242001
SEEDED_AT = datetime(2020, 1, 5, 10, 0, tzinfo=SHANGHAI)
SPAN = ("2020-01", "2099-12")  # whatever month the wall clock is in, the report is open
PROGRESS = "完成文林街整治，召开议事会两次"
PROBLEMS = "经费不足，需要街道协调"
PLAN = "完成剩余街巷整治，开展满意度调查"


class BotProcess:
    """`python -m bot ARGS` in the background, both pipes drained, killed or stopped at will."""

    def __init__(self, proc: asyncio.subprocess.Process) -> None:
        assert proc.stdout is not None and proc.stderr is not None
        self.proc = proc
        # Drain both pipes while it runs so that it can never block on a full pipe.
        self._out = asyncio.create_task(proc.stdout.read())
        self._err = asyncio.create_task(proc.stderr.read())

    @classmethod
    async def start(cls, *args: str, env: dict[str, str]) -> BotProcess:
        proc = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", *args, cwd=REPO, env=env, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        return cls(proc)

    @property
    def alive(self) -> bool:
        return self.proc.returncode is None

    async def kill(self) -> None:
        """SIGKILL: no shutdown code runs, nothing is flushed or confirmed."""
        assert self.alive, "the bot exited before it was killed"
        self.proc.send_signal(signal.SIGKILL)
        await self.proc.wait()

    async def stop(self) -> int | None:
        """SIGTERM, as systemd stops it; the exit status, or None if it did not stop."""
        if self.alive:
            self.proc.send_signal(signal.SIGTERM)
            try:
                await asyncio.wait_for(self.proc.wait(), 15)
            except TimeoutError:
                self.proc.kill()
                await self.proc.wait()
                return None
        return self.proc.returncode

    async def finished(self) -> Finished:
        """What it printed (after it ended)."""
        if self.alive:
            self.proc.kill()
            await self.proc.wait()
        assert self.proc.returncode is not None
        out, err = await self._out, await self._err
        return Finished(self.proc.returncode, out.decode(), err.decode())


class Person:
    """The secretary on their phone, sending updates through the stand-in's queue."""

    def __init__(self, api: BotApiStandIn, user_id: int, first_name: str) -> None:
        self.api, self.id, self.first_name = api, user_id, first_name
        self.last_update_id = 0

    def _from(self) -> dict[str, Any]:
        return {"id": self.id, "is_bot": False, "first_name": self.first_name,
                "language_code": "zh-hans"}  # fmt: skip

    def _queue(self, body: dict[str, Any]) -> dict[str, Any]:
        update = self.api.new_update(body)
        self.last_update_id = update["update_id"]
        return update

    def sends(self, text: str) -> dict[str, Any]:
        message: dict[str, Any] = {
            "message_id": self.api.next_message_id(),
            "date": int(self.api.clock()),
            "chat": {"id": self.id, "type": "private", "first_name": self.first_name},
            "from": self._from(),
            "text": text,
        }
        if text.startswith("/"):
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text)}]
        return self._queue({"message": message})

    def presses(self, label: str) -> dict[str, Any]:
        """Press the button `label` on the bot's latest message that has it."""
        for (chat_id, _), message in reversed(list(self.api.messages.items())):
            rows = message.get("reply_markup", {}).get("inline_keyboard", [])
            for button in (b for row in rows for b in row):
                if chat_id == self.id and button.get("text") == label:
                    query = {"id": self.api.next_callback_id(), "from": self._from(),
                             "chat_instance": f"ci{self.id}",
                             "data": button["callback_data"], "message": message}  # fmt: skip
                    return self._queue({"callback_query": query})
        raise AssertionError(f"no bot message with a button {label!r}")


async def seed(db_path: Path) -> None:
    """The sample organizations; WH01's secretary bound, with an approved project whose only
    milestone is far away (so the report has five steps: no 完成节点 step)."""
    db = await Database.open(db_path)
    try:
        await load_sample_units(db, SEEDED_AT)
        await seed_project(db, "WH01", SECRETARY_ID, SEEDED_AT, span=SPAN,
                           milestones=[(SPAN[1], "全部完成")])  # fmt: skip
    finally:
        await db.close()


def report_row(db_path: Path) -> tuple[Any, ...] | None:
    """(progress, completion, problems, plan, version) of the project's one report."""
    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        row = conn.execute(
            "SELECT progress, completion, problems, plan, version FROM reports"
        ).fetchall()
    conn.close()
    assert len(row) <= 1, row
    return row[0] if row else None


async def test_sigkill_mid_report_loses_no_acknowledged_answer(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    await seed(db_path)
    api = BotApiStandIn()
    alice = Person(api, SECRETARY_ID, "李娜")
    processes: list[BotProcess] = []

    def describe() -> str:
        calls = "\n".join(f"  {c.method} {c.status} {c.params}" for c in api.calls[-30:])
        states = ", ".join("running" if p.alive else f"exited {p.proc.returncode}"
                           for p in processes)  # fmt: skip
        return f"bot processes: {states}; last stand-in calls:\n{calls}"

    async def start() -> int:
        """A new bot process on the same database; the index of the stand-in's next call."""
        since = len(api.calls)
        processes.append(await BotProcess.start("run", env=env))
        return since

    async def reply(since: int, *expected: str) -> Call:
        """Wait for the bot's message to the secretary (after call `since`) naming `expected`."""

        def found() -> list[Call]:
            return [c for c in api.sent(SECRETARY_ID, since) if all(e in c.text for e in expected)]

        await wait_until(f"a reply with {expected}", found, describe)
        return found()[0]

    async def exchange(says: str, *expected: str) -> None:
        since = len(api.calls)
        alice.sends(says)
        await reply(since, *expected)

    failure: AssertionError | None = None
    async with serve_http(api) as base_url:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            BOT_DB_PATH=str(db_path),
            BOT_API_BASE_URL=base_url,
            BOT_ADMIN_IDS=str(ADMIN_ID),
            BOT_TICK_SECONDS="0",  # no reminders on the wall clock in the middle of the talk
        )
        try:
            # -- 1. killed right after acknowledging two answers -------------------------
            await start()
            await exchange("/report", f"{report_step('progress', milestones=False)}：本月主要进展")
            await exchange(PROGRESS, f"{report_step('completion', milestones=False)}：完成度")
            await exchange("30", f"{report_step('problems', milestones=False)}：存在问题和困难")
            await processes[-1].kill()
            assert report_row(db_path) == (PROGRESS, 30, None, None, 0)

            since = await start()
            alice.sends("/report")
            resumed = await reply(
                since, "继续填写", f"{report_step('problems', milestones=False)}：存在问题和困难"
            )
            assert (
                report_step("progress", milestones=False) not in resumed.text
            )  # nothing acknowledged is asked again

            # -- 2. killed after storing an answer, before its reply and confirmation ------
            answer_id = alice.last_update_id + 1
            api.stall_updates(after=answer_id)
            replies = api.hold(lambda c: c.chat_id == SECRETARY_ID, delivered=False)
            since = len(api.calls)
            alice.sends(PROBLEMS)
            assert alice.last_update_id == answer_id
            await wait_until("the bot to answer the problems", lambda: replies.calls, describe)
            # -- 3. ...and with the person's next message not fetched yet ----------------
            # They saw no answer, so they ask where they are; no poll fetches it now.
            asked_again = alice.sends("/report")["update_id"]
            await processes[-1].kill()
            assert report_row(db_path) == (PROGRESS, 30, PROBLEMS, None, 0)
            assert api.sent(SECRETARY_ID, since) == []  # the person saw no answer
            assert api.handed_out.count(answer_id) == 1
            assert asked_again not in api.handed_out
            api.release_holds()
            api.resume_updates()

            since = await start()
            resumed = await reply(
                since, "继续填写", f"{report_step('plan', milestones=False)}：下月工作计划"
            )
            kept = await reply(since, "上一条消息已经保存，不必再发一遍")
            # Both updates were handed out to the new process; the stored answer was dropped
            # (not stored again, not taken as the plan; the person is told it was kept, as
            # its answer never reached them), the unanswered /report answered once.
            assert api.handed_out.count(answer_id) == 2
            assert api.handed_out.count(asked_again) == 1
            assert report_row(db_path) == (PROGRESS, 30, PROBLEMS, None, 0)
            assert api.sent(SECRETARY_ID, since) == [kept, resumed]

            # -- and the report goes on to the end, every answer once ---------------------
            await exchange(PLAN, f"{report_step('files', milestones=False)}：佐证材料")
            since = len(api.calls)
            alice.presses("跳过")
            preview = await reply(since, "请核对")
            for answer in (PROGRESS, "30%", PROBLEMS, PLAN):
                assert preview.text.count(answer) == 1, preview.text
            since = len(api.calls)
            alice.presses("✅ 提交")
            await reply(since, "月报已提交", "第 1 版")
            assert report_row(db_path) == (PROGRESS, 30, PROBLEMS, PLAN, 1)
            assert await processes[-1].stop() == 0, "the bot did not stop cleanly on SIGTERM"
        except AssertionError as exc:
            failure = exc
        finally:
            api.release_holds()
            api.resume_updates()
            results = [await p.finished() for p in processes]
    shown = "\n".join(r.output for r in results)
    if failure is not None:
        raise AssertionError(f"{failure}\n{shown}") from failure
    for result in results:
        assert "Traceback" not in result.stdout + result.stderr, shown
        assert SECRET not in result.stdout + result.stderr, shown
    assert [r.returncode for r in results] == [-signal.SIGKILL, -signal.SIGKILL, 0], shown

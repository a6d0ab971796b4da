"""The real `python -m bot` in subprocesses, talking to the stand-in over loopback HTTP.

These runs cover what the in-process tests cannot: the CLI entry point, the real polling
loop of python-telegram-bot, signal handling, exit statuses and what reaches the terminal.
"""

from __future__ import annotations

import asyncio
import csv
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.http import serve_http

REPO = Path(__file__).resolve().parents[1]
SAMPLE_UNITS = REPO / "data" / "sample_units.csv"
ADMIN_ID = 900001
SECRETARY_ID = 4242001
WRONG_TOKEN = "987654:WRONG-token-the-stand-in-refuses"
# The secret half of a token (after the bot id): none of it may ever reach the terminal.
SECRET = TOKEN.split(":", 1)[1]
WRONG_SECRET = WRONG_TOKEN.split(":", 1)[1]
DEADLINE = 20.0  # seconds any single wait may take before the test gives up
STEP = 0.05


# -- helpers ------------------------------------------------------------------------------------


def clean_env(**extra: str) -> dict[str, str]:
    """A copy of os.environ without any bot setting or proxy, plus `extra`."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith(("TELEGRAM_", "BOT_")) and "proxy" not in key.lower()
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


@dataclass
class Finished:
    returncode: int
    stdout: str
    stderr: str

    @property
    def output(self) -> str:
        return f"--- stdout ---\n{self.stdout}\n--- stderr ---\n{self.stderr}"


async def run_cli(
    *args: str, env: Mapping[str, str], deadline: float = DEADLINE, **spawn: Any
) -> Finished:
    """Run `python -m bot ARGS` without blocking the event loop the stand-in is served on
    (`spawn`: more options for the process, e.g. preexec_fn)."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "bot",
        *args,
        cwd=REPO,
        env=dict(env),
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        **spawn,
    )
    try:
        out, err = await asyncio.wait_for(proc.communicate(), deadline)
    finally:
        if proc.returncode is None:
            proc.kill()
            await proc.communicate()
    assert proc.returncode is not None
    return Finished(proc.returncode, out.decode(), err.decode())


async def wait_until(what: str, check: Callable[[], object], describe: Callable[[], str]) -> None:
    """Poll `check` every STEP seconds until it is truthy, for at most DEADLINE seconds."""
    deadline = time.monotonic() + DEADLINE
    while not check():
        if time.monotonic() >= deadline:
            raise AssertionError(
                f"timed out after {DEADLINE:.0f}s waiting for {what}\n{describe()}"
            )
        await asyncio.sleep(STEP)


def private_start(api: BotApiStandIn, user_id: int, first_name: str, text: str) -> dict:
    """A private-chat message as Telegram delivers it (cf. tests/standin/dialogue.py)."""
    command = text.split(maxsplit=1)[0]
    return {
        "message_id": api.next_message_id(),
        "date": int(api.clock()),
        "chat": {"id": user_id, "type": "private", "first_name": first_name},
        "from": {
            "id": user_id,
            "is_bot": False,
            "first_name": first_name,
            "language_code": "zh-hans",
        },
        "text": text,
        "entities": [{"type": "bot_command", "offset": 0, "length": len(command)}],
    }


def no_traceback(result: Finished) -> None:
    assert "Traceback" not in result.stdout + result.stderr, result.output


# -- 1. invite binding over the real polling loop ----------------------------------------------


async def test_invite_binding_over_real_polling_loop(tmp_path: Path) -> None:
    api = BotApiStandIn()
    db_path = tmp_path / "bot.sqlite3"
    invites_csv = tmp_path / "invites.csv"
    async with serve_http(api) as base_url:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=TOKEN,
            BOT_DB_PATH=str(db_path),
            BOT_API_BASE_URL=base_url,
            BOT_ADMIN_IDS=str(ADMIN_ID),
            # Deliberately not the stand-in's name: getMe must win over this fallback.
            BOT_USERNAME="fallback_name_bot",
        )

        imported = await run_cli("import-units", str(SAMPLE_UNITS), env=env)
        assert imported.returncode == 0, imported.output
        assert SECRET not in imported.stdout + imported.stderr, imported.output

        issued = await run_cli("invites", "--out", str(invites_csv), env=env)
        assert issued.returncode == 0, issued.output
        assert SECRET not in issued.stdout + issued.stderr, issued.output
        assert api.methods("getMe"), "`invites` did not ask the Bot API who the bot is"

        with invites_csv.open(encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.DictReader(fh))
        assert rows and list(rows[0]) == ["组织编号", "组织名称", "邀请链接", "邀请码", "有效期至"]
        [wh01] = [row for row in rows if row["组织编号"] == "WH01"]
        code = wh01["邀请码"]
        assert code, wh01
        assert wh01["邀请链接"] == f"https://t.me/shuji_test_bot?start={code}", wh01

        with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
            [(org_id,)] = conn.execute("SELECT id FROM orgs WHERE code = 'WH01'").fetchall()
        conn.close()

        run_env = {k: v for k, v in env.items() if k != "BOT_USERNAME"}
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "bot",
            "run",
            cwd=REPO,
            env=run_env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        assert proc.stdout is not None and proc.stderr is not None
        # Drain both pipes while the bot runs so that it can never block on a full pipe.
        out_task = asyncio.create_task(proc.stdout.read())
        err_task = asyncio.create_task(proc.stderr.read())
        returncode: int | None = None
        failure: AssertionError | None = None
        try:

            def describe() -> str:
                calls = "\n".join(f"  {c.method} {c.params}" for c in api.calls)
                alive = "running" if proc.returncode is None else f"exited {proc.returncode}"
                return f"bot process {alive}; stand-in calls:\n{calls}"

            await wait_until(
                "the bot to start polling", lambda: api.methods("getUpdates"), describe
            )
            since = len(api.calls)
            update = api.new_update(
                {"message": private_start(api, SECRETARY_ID, "李娜", f"/start {code}")}
            )

            def bound_reply() -> list:
                return [c for c in api.sent(SECRETARY_ID, since) if "绑定成功" in c.text]

            await wait_until("the 绑定成功 reply", bound_reply, describe)
            [reply] = bound_reply()
            assert "护国街道党工委" in reply.text, reply.text
            assert reply.method == "sendMessage", reply

            # The next getUpdates carries offset = update_id + 1: the update is confirmed.
            await wait_until(
                f"update {update['update_id']} to be confirmed by a getUpdates offset",
                lambda: not api.pending_updates(),
                describe,
            )
            offsets = [int(c.params.get("offset") or 0) for c in api.methods("getUpdates")]
            assert max(offsets) > update["update_id"], offsets

            assert proc.returncode is None, "the bot exited before it was asked to stop"
            proc.send_signal(signal.SIGTERM)
            try:
                returncode = await asyncio.wait_for(proc.wait(), 15)
            except TimeoutError:
                returncode = None
        except AssertionError as exc:
            failure = exc
        finally:
            if proc.returncode is None:
                proc.kill()
                await proc.wait()
            stdout = (await out_task).decode()
            stderr = (await err_task).decode()

    result = Finished(proc.returncode, stdout, stderr)
    if failure is not None:
        raise AssertionError(f"{failure}\n{result.output}") from failure
    assert returncode is not None, f"the bot did not stop within 15 s of SIGTERM\n{result.output}"
    assert returncode == 0, f"the bot exited {returncode} after SIGTERM\n{result.output}"
    assert SECRET not in stdout + stderr, f"the bot token leaked to the terminal\n{result.output}"
    assert f"Bot API：{base_url}" in stdout, f"no start-up line\n{result.output}"
    no_traceback(result)

    with sqlite3.connect(f"file:{db_path}?mode=ro", uri=True) as conn:
        person = conn.execute(
            "SELECT role, org_id FROM people WHERE user_id = ?", (SECRETARY_ID,)
        ).fetchone()
    conn.close()
    assert person == ("secretary", org_id), person


# -- 2. no token --------------------------------------------------------------------------------


async def test_run_without_token_explains_botfather(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    result = await run_cli("run", env=clean_env(BOT_DB_PATH=str(db_path)))
    assert result.returncode == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].strip(), result.output
    assert "TELEGRAM_BOT_TOKEN" in lines[0] and "@BotFather" in lines[0], result.output
    no_traceback(result)
    assert not db_path.exists(), "the token is checked before the database is created"


def test_make_run_without_token_explains_botfather(tmp_path: Path) -> None:
    """`make run` is a newcomer's first command; without a token it must say what to do.

    `-o .venv/.installed` keeps make from (re)installing the package, which would need the
    network; the venv the tests run in already has it. The run recipe is executed as written.
    """
    env = clean_env(BOT_DB_PATH=str(tmp_path / "bot.sqlite3"))
    env.pop("MAKEFLAGS", None)
    env.pop("MFLAGS", None)
    done = subprocess.run(
        ["make", "--no-print-directory", "-o", ".venv/.installed", "run"],
        cwd=REPO,
        env=env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    result = Finished(done.returncode, done.stdout, done.stderr)
    assert done.returncode == 2, result.output
    assert "未设置 TELEGRAM_BOT_TOKEN" in done.stderr, result.output
    assert "@BotFather" in done.stderr, result.output
    no_traceback(result)


# -- 4. a token the Bot API refuses -------------------------------------------------------------


async def run_with_rejected_token(tmp_path: Path) -> Finished:
    """`python -m bot run` against the stand-in, which answers 401 to any other token."""
    async with serve_http(BotApiStandIn()) as base_url:
        env = clean_env(
            TELEGRAM_BOT_TOKEN=WRONG_TOKEN,
            BOT_DB_PATH=str(tmp_path / "bot.sqlite3"),
            BOT_API_BASE_URL=base_url,
        )
        return await run_cli("run", env=env)


async def test_run_with_rejected_token_says_so_without_the_token(tmp_path: Path) -> None:
    result = await run_with_rejected_token(tmp_path)
    assert result.returncode == 2, result.output
    assert "Bot API 拒绝了这个令牌" in result.stderr, result.output
    assert result.stderr.rstrip().splitlines()[-1].startswith("Bot API 拒绝了这个令牌"), (
        f"the explanation must be the last thing printed\n{result.output}"
    )
    assert WRONG_SECRET not in result.stdout + result.stderr, result.output
    # a refused token is explained in one line, not a library traceback above it
    no_traceback(result)


# -- 5. --help ----------------------------------------------------------------------------------


def test_help_lists_the_commands() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "bot", "--help"],
        cwd=REPO,
        env=clean_env(),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    for command in ("run", "migrate", "import-units", "invites"):
        assert any(line.split()[:1] == [command] for line in done.stdout.splitlines()), (
            f"{command} missing from --help:\n{done.stdout}"
        )
    assert done.stderr == "", done.stderr


# -- 6. tick --at -------------------------------------------------------------------------------


async def test_tick_at_sends_what_is_due_once_over_http(tmp_path: Path) -> None:
    from datetime import datetime

    from storage.db import Database
    from tests.conftest import SHANGHAI, load_sample_units
    from tests.projects_helpers import seed_project

    db_path = tmp_path / "tick.sqlite3"
    db = await Database.open(db_path)
    try:
        now = datetime(2026, 11, 1, 10, 0, tzinfo=SHANGHAI)
        await load_sample_units(db, now)
        await seed_project(db, "WH01", 1001, now)
        await seed_project(db, "WH02", 1002, now)
    finally:
        await db.close()
    api = BotApiStandIn()
    api.blocked.add(1002)
    async with serve_http(api) as base_url:
        env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, BOT_DB_PATH=str(db_path),
                        BOT_API_BASE_URL=base_url, BOT_ADMIN_IDS="900001")  # fmt: skip
        first = await run_cli("tick", "--at", "2026-11-20 09:00", env=env)
        assert first.returncode == 0, first.output
        assert "发送 1 条" in first.stdout and "无法送达 1 条" in first.stdout, first.output
        [notice] = api.sent(1001)
        assert "11 月月报开始填写了" in notice.text and notice.buttons
        again = await run_cli("tick", "--at", "2026-11-20 09:05", env=env)
        assert again.returncode == 0 and "发送 0 条" in again.stdout, again.output
        assert len(api.sent(1001)) == 1
        quiet = await run_cli("tick", "--at", "2026-11-23 23:00", env=env)
        assert "免打扰时段" in quiet.stdout and len(api.sent(1001)) == 1, quiet.output
        bad = await run_cli("tick", "--at", "明天早上", env=env)
        assert bad.returncode == 2 and "没有看懂时间" in bad.stderr
        for result in (first, again, quiet, bad):
            no_traceback(result)
            assert SECRET not in result.stdout + result.stderr

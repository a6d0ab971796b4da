"""Backups, restores and `status`: the operator's commands around the one database file."""

from __future__ import annotations

import asyncio
import signal
import sqlite3
import subprocess
import sys
from contextlib import closing
from dataclasses import replace
from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.cli import main
from bot.settings import Settings
from scheduler.backup import run_backup
from scheduler.tick import run_tick
from storage.db import latest_version
from tests.conftest import SHANGHAI, BotHarness, Clock, load_sample_units
from tests.projects_helpers import bound_secretary, seed_project
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import Bench, TgUser
from tests.standin.http import serve_http
from tests.test_e2e_polling import REPO, clean_env, run_cli, wait_until

ORGS = ["WH01", "WH02", "WH03", "WH04", "WH05", "WH06", "WH07", "WH08"]


async def cli(*args: str, now: datetime | None = None) -> int:
    """`python -m bot ARGS` in this process (its own event loop, in a thread)."""
    if now is None:
        return await asyncio.to_thread(main, list(args))
    return await asyncio.to_thread(main, list(args), lambda: now)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def integrity(path: Path) -> list[str]:
    with closing(sqlite3.connect(path)) as conn:
        return [str(row[0]) for row in conn.execute("PRAGMA integrity_check")]


def kept_before_restore(folder: Path) -> list[Path]:
    return list(folder.glob("bot.sqlite3.before-restore-*"))


def stored_answers(path: Path) -> set[str]:
    with closing(sqlite3.connect(path)) as conn:
        rows = conn.execute("SELECT name, problem, measures FROM projects").fetchall()
    return {value for row in rows for value in row if value}


async def answer_stream(secretaries: list[TgUser]) -> list[tuple[TgUser, str, str]]:
    """(who, answer, what the bot says once it has stored it), step by step, round robin:
    project name, problem, measures of every secretary's declaration."""
    for secretary in secretaries:
        assert "第 1/7 步" in (await secretary.send("/new_project")).text
    steps = []
    for n, secretary in enumerate(secretaries):
        steps.append((secretary, f"第{n}号街巷党建项目", "第 2/7 步"))
    for n, secretary in enumerate(secretaries):
        steps.append((secretary, f"第{n}号小区停车难、环境差的问题。", "第 4/7 步"))
    for n, secretary in enumerate(secretaries):
        steps.append((secretary, f"第{n}号：成立街巷党小组，党员认领巡查。", "第 5/7 步"))
    return steps


async def test_a_backup_taken_during_writes_restores_every_acknowledged_answer(
    bench: Bench, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secretaries = [await bound_secretary(bench, org, 1001 + i) for i, org in enumerate(ORGS)]
    steps = await answer_stream(secretaries)
    acknowledged: list[str] = []

    async def say(secretary: TgUser, text: str, stored: str) -> None:
        replies = await secretary.send(text)
        if stored in replies.text:
            acknowledged.append(text)
        if stored == "第 2/7 步":  # the type is a button, then the problem is asked
            assert "第 3/7 步" in (await secretary.press("典型示范型")).text

    head = len(steps) // 3
    for step in steps[:head]:
        await say(*step)
    before_backup = list(acknowledged)
    backup = tmp_path / "backups" / "copy.sqlite3"
    env = clean_env(BOT_DB_PATH=str(settings.db_path))
    proc = await asyncio.create_subprocess_exec(
        sys.executable, "-m", "bot", "backup", "--out", str(backup), cwd=REPO, env=env,
        stdout=subprocess.PIPE, stderr=subprocess.PIPE,
    )  # fmt: skip
    # The bot keeps storing answers while the other process copies the database.
    for step in steps[head:]:
        await say(*step)
    out, err = await asyncio.wait_for(proc.communicate(), 60)
    assert proc.returncode == 0, err.decode()
    assert "已备份到" in out.decode()
    assert len(acknowledged) == len(steps)  # every answer of the stream was stored

    restored = tmp_path / "restored" / "bot.sqlite3"
    monkeypatch.setenv("BOT_DB_PATH", str(restored))
    assert await cli("restore", str(backup)) == 0
    assert integrity(restored) == ["ok"]
    assert set(before_backup) <= stored_answers(restored)
    assert len(before_backup) == head


async def test_restore_refuses_while_the_bot_runs(tmp_path: Path) -> None:
    db_path = tmp_path / "bot.sqlite3"
    backup = tmp_path / "copy.sqlite3"
    api = BotApiStandIn()
    async with serve_http(api) as base_url:
        env = clean_env(TELEGRAM_BOT_TOKEN=TOKEN, BOT_DB_PATH=str(db_path),
                        BOT_API_BASE_URL=base_url, BOT_TICK_SECONDS="0")  # fmt: skip
        assert (await run_cli("migrate", env=env)).returncode == 0
        assert (await run_cli("backup", "--out", str(backup), env=env)).returncode == 0
        bot = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "bot", "run", cwd=REPO, env=env,
            stdout=subprocess.PIPE, stderr=subprocess.PIPE,
        )  # fmt: skip
        try:
            await wait_until("the bot polling", lambda: api.methods("getUpdates"),
                             lambda: "no getUpdates yet")  # fmt: skip
            refused = await run_cli("restore", str(backup), env=env)
            assert refused.returncode == 1, refused.output
            assert "机器人正在使用数据库" in refused.stderr
            assert not kept_before_restore(tmp_path)  # nothing touched
        finally:
            bot.send_signal(signal.SIGTERM)
            await asyncio.wait_for(bot.communicate(), 30)
        restored = await run_cli("restore", str(backup), env=env)
        assert restored.returncode == 0, restored.output
        assert "恢复数据库" in restored.stdout
        assert len(kept_before_restore(tmp_path)) == 1


async def test_restore_checks_integrity_and_version_before_writing(
    db: object, settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("BOT_DB_PATH", str(settings.db_path))
    good = tmp_path / "good.sqlite3"
    assert await cli("backup", "--out", str(good)) == 0
    capsys.readouterr()
    assert await cli("backup", "--out", str(settings.db_path)) == 1  # never over the live file
    assert "这是数据库本身" in capsys.readouterr().err

    too_new = tmp_path / "new.sqlite3"
    too_new.write_bytes(good.read_bytes())
    with closing(sqlite3.connect(too_new)) as conn:
        conn.execute(f"PRAGMA user_version = {latest_version() + 1}")
    not_ours = tmp_path / "other.sqlite3"
    with closing(sqlite3.connect(not_ours)) as conn:
        conn.execute("CREATE TABLE t (x)")
    broken = tmp_path / "broken.sqlite3"
    with closing(sqlite3.connect(good)) as conn:
        page_size = conn.execute("PRAGMA page_size").fetchone()[0]
        root = conn.execute("SELECT rootpage FROM sqlite_master WHERE name = 'orgs'").fetchone()[0]
    data = bytearray(good.read_bytes())
    start = (root - 1) * page_size
    data[start + 3 : start + 5] = b"\x7f\xff"  # the page claims cells it does not hold
    broken.write_bytes(bytes(data))

    restored = tmp_path / "target" / "bot.sqlite3"
    monkeypatch.setenv("BOT_DB_PATH", str(restored))
    capsys.readouterr()
    refusals = [
        (too_new, "更新版本的程序"),
        (not_ours, "不是书记项目机器人的数据库"),
        (broken, "完整性检查"),
        (tmp_path / "missing.sqlite3", "不存在"),
    ]
    for refused, says in refusals:
        assert await cli("restore", str(refused)) == 1
        assert says in capsys.readouterr().err
        assert not restored.exists()
    assert await cli("restore", str(good)) == 0
    assert integrity(restored) == ["ok"]
    # Copies hold invite codes and every answer: readable by their owner only, including
    # the database kept aside by a second restore.
    assert await cli("restore", str(good)) == 0
    copies = [good, *kept_before_restore(restored.parent)]
    assert len(copies) == 2
    assert [oct(p.stat().st_mode & 0o777) for p in copies] == ["0o600", "0o600"]


async def test_daily_backups_keep_the_newest(
    settings: Settings, clock: Clock, tmp_path: Path
) -> None:
    folder = tmp_path / "daily"
    harness = BotHarness(replace(settings, backup_dir=folder, backup_keep=2), clock)
    bench = await harness.start()
    try:
        assert [j.name for j in bench.app.job_queue.jobs()] == ["backup"]
        await load_sample_units(bench.app.bot_data.db, clock())
        (folder / "notes.txt").parent.mkdir(parents=True, exist_ok=True)
        (folder / "notes.txt").write_text("not a backup")
        written = []
        for day in range(3):
            written.append(await run_backup(bench.app, at("2026-11-20 03:00") + timedelta(day)))
    finally:
        await harness.stop()
    assert sorted(p.name for p in folder.iterdir()) == [
        "bot-20261121-030000.sqlite3", "bot-20261122-030000.sqlite3", "notes.txt"]  # fmt: skip
    assert written[-1] == folder / "bot-20261122-030000.sqlite3"
    assert integrity(written[-1]) == ["ok"]


async def test_status_says_what_needs_attention(
    bench: Bench, settings: Settings, clock: Clock, tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    monkeypatch.setenv("BOT_DB_PATH", str(settings.db_path))
    monkeypatch.setenv("BOT_TICK_SECONDS", "60")
    now = at("2026-11-20 09:00")
    capsys.readouterr()
    assert await cli("status", now=now) == 1  # never ticked, never backed up
    first = capsys.readouterr().out
    assert f"结构版本 {latest_version()}（本程序 {latest_version()}）" in first
    assert "时钟上次运行：从未运行" in first and "上次备份：没有记录" in first
    assert "时钟没有按时运行" in first and "超过两天没有备份" in first

    await seed_project(bench.app.bot_data.db, "WH01", 1001, clock())
    await seed_project(bench.app.bot_data.db, "WH02", 1002, clock())
    bench.api.never_started.add(1002)
    await run_tick(bench.app, now)  # 月报开始填写: one sent, one unreachable
    assert await cli("backup", "--out", str(tmp_path / "b.sqlite3"), now=now) == 0
    capsys.readouterr()
    assert await cli("status", now=now + timedelta(minutes=1)) == 0
    healthy = capsys.readouterr().out
    assert "时钟上次运行：2026-11-20 09:00" in healthy
    assert "无法联系的人：1 位" in healthy
    assert f"上次备份：2026-11-20 09:00，文件 {tmp_path / 'b.sqlite3'}" in healthy
    assert "一切正常" in healthy

    # A message Telegram refuses for good, and a clock that stopped an hour ago.
    await seed_project(bench.app.bot_data.db, "WH03", 1003, clock())
    bench.api.faults.append(lambda m, p: (400, {"ok": False, "error_code": 400,
                                                "description": "Bad Request: broken"})
                            if m == "sendMessage" else None)  # fmt: skip
    await run_tick(bench.app, now + timedelta(minutes=5))
    capsys.readouterr()
    assert await cli("status", now=now + timedelta(hours=1)) == 1
    troubled = capsys.readouterr().out
    assert "已放弃 1 条" in troubled
    assert "定时消息不确定是否送达或已放弃" in troubled and "时钟没有按时运行" in troubled
    assert "超过两天没有备份" not in troubled

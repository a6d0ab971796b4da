"""`python -m bot demo` driven through a pseudo-terminal, as a person at the keyboard would."""

from __future__ import annotations

import os
import pty
import re
import select
import sqlite3
import subprocess
import sys
import termios
import time
from contextlib import closing
from pathlib import Path

from tests.test_e2e_polling import REPO, clean_env

DEADLINE = 60.0  # seconds a single answer may take before the test gives up (a hang guard)
PROMPT = re.compile(r" · \d{4}-\d\d-\d\d \d\d:\d\d > $")


class Terminal:
    """The demo on a pseudo-terminal without echo: type a line, read up to the next prompt."""

    def __init__(self, folder: Path) -> None:
        self.master, slave = pty.openpty()
        attrs = termios.tcgetattr(slave)
        attrs[3] &= ~termios.ECHO  # what the test types is not printed back
        termios.tcsetattr(slave, termios.TCSANOW, attrs)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bot", "demo", "--dir", str(folder)],
            cwd=REPO, env=clean_env(), stdin=slave, stdout=slave, stderr=slave,
            close_fds=True,
        )  # fmt: skip
        os.close(slave)
        self.transcript = ""

    def read_until(self, done: re.Pattern[str]) -> str:
        start = len(self.transcript)
        deadline = time.monotonic() + DEADLINE
        while not done.search(self.transcript[start:]):
            left = deadline - time.monotonic()
            if left <= 0:
                raise AssertionError(f"no {done.pattern!r} in time:\n{self.transcript}")
            ready, _, _ = select.select([self.master], [], [], left)
            if ready:
                try:
                    chunk = os.read(self.master, 65536)
                except OSError:  # the demo closed the terminal
                    chunk = b""
                if not chunk:
                    raise AssertionError(f"the demo ended:\n{self.transcript}")
                self.transcript += chunk.decode("utf-8", "replace").replace("\r\n", "\n")
        return self.transcript[start:]

    def type(self, line: str) -> str:
        """Type a line; return what the demo printed before asking for the next one."""
        os.write(self.master, (line + "\n").encode())
        return self.read_until(PROMPT)

    def press(self, label: str, shown: str) -> str:
        """Type the number the demo printed beside the button labelled `label`."""
        numbers = re.findall(r"［(\d+)］[^［\n]*?" + re.escape(label), shown)
        assert numbers, f"no button {label!r} in:\n{shown}"
        return self.type(numbers[-1])

    def close(self) -> int:
        try:
            return self.proc.wait(DEADLINE)
        finally:
            if self.proc.poll() is None:
                self.proc.kill()
                self.proc.wait()
            os.close(self.master)


def test_a_whole_monthly_report_in_the_demo(tmp_path: Path) -> None:
    folder = tmp_path / "demo"
    term = Terminal(folder)
    try:
        welcome = term.read_until(PROMPT)
        assert "WH01 李娜：南强街巷街区党建项目" in welcome
        assert "现在扮演：管理员" in welcome

        shown = term.type("/as 书记 WH01")
        assert "现在扮演：书记 WH01 李娜" in shown
        shown = term.type("/at 2026-11-23 09:00")  # the planner runs: 2 days left
        assert "2026-11-23 09:00：到期" in shown and "还有 2 天截止" in shown
        shown = term.press("填写月报", shown)
        assert "本月主要进展" in shown
        shown = term.type("整治街巷两条，走访群众 80 户")
        if "完成节点" in shown:
            shown = term.press("下一步", shown)
        assert "完成度" in shown
        shown = term.type("85%")
        assert "存在问题和困难" in shown
        shown = term.press("无", shown)
        assert "下月工作计划" in shown
        shown = term.type("开展满意度回访")
        assert "佐证材料" in shown
        shown = term.press("跳过", shown)
        assert "请核对" in shown and "85%" in shown
        shown = term.press("提交", shown)
        assert "月报已提交" in shown and "按时" in shown

        shown = term.type("/as 管理员")
        shown = term.type("/ledger 2026-11")
        [saved] = re.findall(r"文件已保存：(.+\.xlsx)", shown)
        assert Path(saved).parent == folder / "files" and Path(saved).stat().st_size > 0

        os.write(term.master, b"/quit\n")
        assert "演示结束" in term.read_until(re.compile("演示结束.*\n"))
    finally:
        code = term.close()
    assert code == 0, term.transcript
    assert "Traceback" not in term.transcript, term.transcript

    with closing(sqlite3.connect(folder / "demo.sqlite3")) as conn:
        row = conn.execute(
            "SELECT v.progress, v.completion, v.on_time FROM report_versions v "
            "JOIN reports r ON r.id = v.report_id WHERE r.period = '2026-11'"
        ).fetchone()
    assert row == ("整治街巷两条，走访群众 80 户", 85, 1)


def test_make_run_without_a_token_points_to_the_demo(tmp_path: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "bot", "run"], cwd=REPO, capture_output=True, text=True,
        env=clean_env(BOT_DB_PATH=str(tmp_path / "b.sqlite3")), timeout=DEADLINE,
    )  # fmt: skip
    assert result.returncode == 2
    assert "make demo" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_the_scripted_year_runs_every_step(tmp_path: Path) -> None:
    """`python -m bot demo --year`: one project's year; a step the script cannot take (a
    button that is not there) stops it with exit code 1, so each step below is checked."""
    folder = tmp_path / "demo"
    result = subprocess.run(
        [sys.executable, "-m", "bot", "demo", "--year", "--dir", str(folder)],
        cwd=REPO, env=clean_env(), stdin=subprocess.DEVNULL, capture_output=True, text=True,
        timeout=DEADLINE,
    )  # fmt: skip
    out = result.stdout
    assert result.returncode == 0, out + result.stderr
    assert "Traceback" not in out + result.stderr and "这里没有名为" not in out
    shown = [
        "按计划，到 2026 年 11 月底应完成约 92%，上次报告为 83%。",  # the reminder's pace line
        "月报已提交",
        "调整申请已提交",
        "已同意“南强街巷街区党建项目”（2026-001）调整计划，从 2026-11 起按新计划计算进度",
        "已下发 督办〔2026〕第1号",
        "督办〔2026〕第1号 已办结",
        "结题报告已提交",
        "项目已结题",
        "2 位评委的平均分：90.0 分，等次：优秀",
        "🏅 2026 年度书记项目示范项目",
        "已立项：南强街巷“长效管护”党建项目",
    ]
    positions = {text: out.find(text) for text in shown}
    assert -1 not in positions.values(), positions
    assert list(positions.values()) == sorted(positions.values()), positions  # in this order

    with closing(sqlite3.connect(folder / "demo.sqlite3")) as conn:
        versions = conn.execute(
            "SELECT version, effective_month, targets FROM plan_versions WHERE project_id = 1 "
            "ORDER BY version"
        ).fetchall()
        states = conn.execute(
            "SELECT number_year, number_seq, status FROM projects ORDER BY id"
        ).fetchall()
        notice = conn.execute("SELECT status FROM notices WHERE project_id = 1").fetchall()
        models = conn.execute("SELECT project_id, year FROM model_projects").fetchall()
    assert [(v, m) for v, m, _ in versions] == [(1, "2026-01"), (2, "2026-11")]
    assert "14 条" in versions[1][2]
    assert states[0] == (2026, 1, "accepted") and states[-1] == (2027, 1, "approved")
    assert notice == [("closed",)] and models == [(1, 2026)]

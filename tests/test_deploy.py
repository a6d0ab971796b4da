"""The deployment files in the repository agree with the code they deploy."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

from bot.cli import EXIT_CONFIG
from bot.settings import _ENV, load_settings

ROOT = Path(__file__).resolve().parents[1]


def test_the_container_image_holds_every_package_and_what_they_read() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    packages = {name.split(".")[0] for name in pyproject["tool"]["setuptools"]["packages"]}
    copied = set(re.findall(r"^COPY (\w+)/ ", (ROOT / "Containerfile").read_text(), re.M))
    # bot/texts.py reads templates/; the demo and the README's example read data/.
    assert copied == packages | {"templates", "data"}


def test_the_systemd_unit_runs_the_bot_and_does_not_restart_on_a_bad_setting() -> None:
    unit = (ROOT / "deploy" / "shuji-bot.service").read_text(encoding="utf-8")
    assert re.search(r"^ExecStart=\S+/python -m bot run$", unit, re.M)
    assert f"RestartPreventExitStatus={EXIT_CONFIG}" in unit


def test_the_example_environment_file_is_valid() -> None:
    lines = (ROOT / "deploy" / "shuji-bot.env.example").read_text(encoding="utf-8").splitlines()
    env = dict(line.split("=", 1) for line in lines if line and not line.startswith("#"))
    assert set(env) <= set(_ENV)
    settings = load_settings(env)
    assert settings.backup_dir is not None and settings.db_path.parent == settings.backup_dir.parent

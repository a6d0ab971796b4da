"""Groups are not ignored (issue 17, item 6): /help says what a supervisor group gets, for
which scope and when; /digest shows the group's latest bulletin, its own scope only."""

from __future__ import annotations

from datetime import datetime

from bot.services import groups
from scheduler.tick import run_tick
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def test_help_and_digest_in_an_unbound_group(bench: Bench) -> None:
    group, member = bench.group(-6001, "某群"), bench.user(1500)
    assert "请管理员在本群发送 /bind_group 登记" in (await group.send(member, "/help")).text
    replies = await group.send(member, "/digest")
    [only] = replies
    assert only.text == "本群还不是督导群，没有月通报。请管理员在本群发送 /bind_group 登记。"


async def test_help_and_digest_in_a_bound_group(bench: Bench, clock: Clock) -> None:
    db = bench.app.bot_data.db
    wh01 = await seed_project(db, "WH01", None, clock(), milestones=[("2026-12", "总结")])
    await seed_project(db, "WH02", None, clock(), milestones=[("2026-12", "总结")])
    await seed_report(db, wh01, "2026-11", at("2026-11-21 10:00"), completion=95)
    await groups.bind_group(db, -6002, "大观", ADMIN_ID, "WH02", clock())
    group, member = bench.group(-6002, "大观"), bench.user(1500)
    text = (await group.send(member, "/help")).text
    assert "本群是督导群，范围：大观街道党工委（WH02）及下属" in text
    assert "最迟当天 11:00" in text and "2、4、6、8、10、12 月 28 日" in text
    # before November's bulletin is published, /digest shows October's (nothing due then)
    clock.now = at("2026-11-26 10:00")
    replies = await group.send(member, "/digest")
    assert "2026 年 10 月书记项目月通报" in replies.text
    await run_tick(bench.app, at("2026-11-26 11:00"))
    clock.now = at("2026-11-27 10:00")
    replies = await group.send(member, "/digest")
    [photo] = [c for c in replies if c.method == "sendPhoto"]
    assert "2026 年 11 月书记项目月通报</b>（大观街道党工委）" in photo.text
    assert "应报 1，按时 0，逾期 0，未报 1" in photo.text and "护国" not in photo.text
    assert [c.method for c in replies] == ["sendDocument", "sendPhoto"]

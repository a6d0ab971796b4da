"""The 双月调度 summary is reviewed like the 月通报 (issue 17, item 3): a draft to the top
admins with 发布 and 添加点评; without them it goes out as drafted at
`BOT_DISPATCH_PUBLISH_AT`; each draft and each publication exactly once, across ticks and a
restart; an exemption or a late report before publication is in it."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time
from pathlib import Path

import pytest

from bot.cli import main
from bot.services import groups
from bot.settings import SettingsError, load_settings
from scheduler.tick import run_tick
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock, load_sample_units
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench
from tests.test_bulletin_review import behind_the_clock

GROUP = -4101
SECRETARY = 1001
OTHER_ADMIN = 900002
SPAN = ("2026-01", "2027-06")


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
async def world(bench: Bench, clock: Clock) -> dict[str, int]:
    """WH01 progressing every month; WH02 at 40% since October (no progress in November or
    December: 两个月无进展 until it files); a supervisor group for everything."""
    db = bench.app.bot_data.db
    ids = {code: await seed_project(db, code, None, clock(), span=SPAN, name=f"{code}项目")
           for code in ("WH01", "WH02")}  # fmt: skip
    for per, value in (("2026-10", 50), ("2026-11", 60), ("2026-12", 70)):
        await seed_report(db, ids["WH01"], per, at(f"{per}-21 10:00"), completion=value)
    await seed_report(db, ids["WH02"], "2026-10", at("2026-10-21 10:00"), completion=40)
    await seed_report(db, ids["WH02"], "2026-11", at("2026-11-21 10:00"), completion=40)
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    return ids


def drafts(bench: Bench) -> list[str]:
    return [c.text for c in bench.api.sent(ADMIN_ID) if "双月调度汇总草稿" in c.text]


def late_leads(bench: Bench) -> list[str]:
    """The lead line of each draft sent again for reports filed late."""
    return [c.text.split("\n")[0] for c in bench.api.sent(ADMIN_ID) if "刚刚" in c.text]


def in_group(bench: Bench) -> list[str]:
    return [c.text for c in bench.api.sent(GROUP) if "双月调度汇总</b>" in c.text]


async def test_one_draft_then_out_as_drafted_once_across_ticks_and_a_restart(
    harness: BotHarness, bench: Bench, world: dict[str, int]
) -> None:
    await run_tick(bench.app, at("2026-12-28 08:59"))
    assert drafts(bench) == []
    await run_tick(bench.app, at("2026-12-28 09:00"))
    await run_tick(bench.app, at("2026-12-28 09:01"))
    [draft] = drafts(bench)
    assert "如无人操作，将于 12-28 11:00 按此稿发布" in draft
    assert "两个月无进展 1 个" in draft
    message = bench.user(ADMIN_ID).last_bot_message(with_button="📤 发布")
    labels = [b["text"] for row in message["reply_markup"]["inline_keyboard"] for b in row]
    assert labels == ["📤 发布", "✍️ 添加点评"]
    assert in_group(bench) == []
    bench = await harness.restart()
    await run_tick(bench.app, at("2026-12-28 09:02"))
    await run_tick(bench.app, at("2026-12-28 10:59"))
    assert len(drafts(bench)) == 1 and in_group(bench) == []
    await run_tick(bench.app, at("2026-12-28 11:00"))
    await run_tick(bench.app, at("2026-12-28 11:01"))
    [published] = in_group(bench)
    assert "通报点评" not in published
    bench = await harness.restart()
    await run_tick(bench.app, at("2026-12-28 11:30"))
    await run_tick(bench.app, at("2026-12-29 09:00"))
    assert len(in_group(bench)) == 1 and len(drafts(bench)) == 1


async def test_comment_then_publish_now_once(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await run_tick(bench.app, at("2026-12-28 09:00"))
    admin = bench.user(ADMIN_ID)
    draft = admin.last_bot_message(with_button="✍️ 添加点评")
    assert "双月调度汇总草稿" in draft["caption"]
    clock.now = at("2026-12-28 09:10")
    asked = await admin.press("✍️ 添加点评", draft)
    assert "请发送通报点评" in asked.text and "将随双月调度汇总一起发布" in asked.text
    assert "超过了 200 字，没有保存" in (await admin.send("长" * 201)).text
    comment = "两个月无进展的项目，请所在街道下周前拿出‘一项一策’。"
    replies = await admin.send(comment)
    assert "通报点评已加入草稿" in replies.text
    assert f"<b>通报点评</b>：{comment}" in replies.text and "双月调度汇总草稿" in replies.text
    assert in_group(bench) == []
    clock.now = at("2026-12-28 09:20")
    done = await admin.press("📤 发布", admin.last_bot_message(with_button="📤 发布"))
    assert "2026 年 12 月双月调度汇总已发布到 1 个督导群" in done.text
    [published] = in_group(bench)
    assert comment in published
    await run_tick(bench.app, at("2026-12-28 11:00"))
    assert len(in_group(bench)) == 1
    again = await admin.press_data("g:202612:s")
    assert again.text == "2026 年 12 月双月调度汇总已经发布，没有重复发送。"
    late = await admin.press_data("g:202612:k")
    assert late.text == "2026 年 12 月双月调度汇总已经发布，没有重复发送。"
    assert len(in_group(bench)) == 1


async def test_an_exemption_updates_the_draft_and_a_late_report_is_published(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db = bench.app.bot_data.db
    third = await seed_project(db, "WH03", None, clock(), span=SPAN, name="WH03项目")
    await run_tick(bench.app, at("2026-12-28 09:00"))
    [draft] = drafts(bench)
    assert "两个月无进展 2 个" in draft and "WH03项目" in draft
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-12-28 09:40")
    replies = await admin.send("/exempt WH03 2026-12 换届选举")
    assert "双月调度汇总草稿尚未发布，已按此更新" in replies.text
    assert "两个月无进展 1 个" in replies.text  # December exempt: not held against WH03
    # WH02 reports December late, before the publication: counted, no longer stalled.
    await seed_report(db, world["WH02"], "2026-12", at("2026-12-28 10:30"), completion=55,
                      on_time=False)  # fmt: skip
    await run_tick(bench.app, at("2026-12-28 11:00"))
    [published] = in_group(bench)
    assert "两个月无进展 0 个" in published
    assert third


async def test_the_publication_time_is_a_setting(harness: BotHarness, clock: Clock) -> None:
    assert load_settings(env={}).dispatch_publish_at == time(11, 0)
    assert load_settings(env={"BOT_DISPATCH_PUBLISH_AT": "14:30"}).dispatch_publish_at == time(
        14, 30)  # fmt: skip
    for bad in ("23:30", "25:00", "下午"):
        with pytest.raises(SettingsError):
            load_settings(env={"BOT_DISPATCH_PUBLISH_AT": bad})
    harness.settings = replace(harness.settings, dispatch_publish_at=time(14, 30))
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, clock())
    await seed_project(bench.app.bot_data.db, "WH01", None, clock(), span=SPAN)
    await groups.bind_group(bench.app.bot_data.db, GROUP, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-12-28 09:00"))
    [draft] = drafts(bench)
    assert "如无人操作，将于 12-28 14:30 按此稿发布" in draft
    await run_tick(bench.app, at("2026-12-28 14:29"))
    assert in_group(bench) == []
    await run_tick(bench.app, at("2026-12-28 14:30"))
    assert len(in_group(bench)) == 1


async def test_a_comment_behind_the_publication_is_said_too_late(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """The summary's 点评 sent a moment before the set time, written after the clock
    recorded the publication: refused as too late, not in what the groups get."""
    await run_tick(bench.app, at("2026-12-28 09:00"))
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-12-28 10:50")
    await admin.press("✍️ 添加点评", admin.last_bot_message(with_button="✍️ 添加点评"))
    clock.now = at("2026-12-28 10:59:59.900")
    comment = "请各街道抓紧推进。"
    replies = await behind_the_clock(bench, lambda: admin.send(comment), at("2026-12-28 11:00"))
    assert "2026 年 12 月双月调度汇总已经发布，来不及加入，没有保存" in replies.text
    await run_tick(bench.app, at("2026-12-28 11:00"))
    [published] = in_group(bench)
    assert comment not in published


@pytest.mark.parametrize("publish_at", ["09:00", "08:30"])
def test_a_reviewed_summary_must_be_published_after_its_draft(
    publish_at: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """One meaning each: BOT_DISPATCH_PUBLISH_AT is when the summary goes out, and
    BOT_DISPATCH_AUTO_SEND whether a draft is reviewed first; a reviewed summary due out
    no later than its draft (BOT_REMIND_AT) is refused at start-up, saying what to set."""
    env = {"BOT_DISPATCH_PUBLISH_AT": publish_at}
    with pytest.raises(SettingsError) as err:
        load_settings(env=env)
    assert err.value.template == "cli/dispatch_publish_early.txt"
    assert load_settings(env={**env, "BOT_DISPATCH_AUTO_SEND": "true"}).dispatch_auto_send
    config = tmp_path / "bot.toml"
    config.write_text(f'[bot]\ndb_path = "{tmp_path / "x.sqlite3"}"\n'
                      f'dispatch_publish_at = "{publish_at}"\n', encoding="utf-8")  # fmt: skip
    assert main(["--config", str(config), "run"]) == 2
    said = capsys.readouterr().err
    assert f"BOT_DISPATCH_PUBLISH_AT（{publish_at}）须晚于 BOT_REMIND_AT（09:00）" in said
    assert "BOT_DISPATCH_AUTO_SEND=true" in said and not (tmp_path / "x.sqlite3").exists()


async def test_auto_send_has_no_draft_and_goes_out_at_the_publication_time(
    harness: BotHarness, clock: Clock
) -> None:
    harness.settings = replace(harness.settings, dispatch_auto_send=True,
                               dispatch_publish_at=time(10, 0))  # fmt: skip
    bench = await harness.start()
    db = bench.app.bot_data.db
    await load_sample_units(db, clock())
    await seed_project(db, "WH01", None, clock(), span=SPAN)
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-12-28 09:00"))
    await run_tick(bench.app, at("2026-12-28 09:59"))
    assert drafts(bench) == [] and in_group(bench) == []
    await run_tick(bench.app, at("2026-12-28 10:00"))
    assert len(in_group(bench)) == 1 and drafts(bench) == []
    assert "没有待发布的双月调度汇总" in (await bench.user(ADMIN_ID).press_data("g:202612:k")).text


async def test_a_late_report_through_the_bot_updates_the_draft(
    harness: BotHarness, clock: Clock
) -> None:
    """A secretary files December's report on the dispatch day, after its deadline and
    before the publication: at the next tick the top admins get the draft as it now stands."""
    harness.settings = replace(harness.settings, admin_ids=frozenset({ADMIN_ID, OTHER_ADMIN}))
    bench = await harness.start()
    db = bench.app.bot_data.db
    await load_sample_units(db, clock())
    for code in ("WH01", "WH02"):
        await seed_project(db, code, None, clock(), span=SPAN, name=f"{code}项目")
    await groups.bind_group(db, GROUP, "全区", ADMIN_ID, None, clock())
    await seed_project(db, "WH03", SECRETARY, clock(), span=SPAN, name="WH03项目")
    await run_tick(bench.app, at("2026-12-28 09:00"))
    [draft] = drafts(bench)
    assert "两个月无进展 3 个" in draft
    clock.now = at("2026-12-28 10:30")
    secretary = bench.user(SECRETARY, "李娜")
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    await secretary.press("下一步 ›")
    await secretary.send("30")
    await secretary.press("无")
    await secretary.send("完成剩余街巷整治")
    await secretary.press("跳过")
    bench.api.blocked.add(OTHER_ADMIN)  # one top admin blocked the bot: the others still get it
    submitted = await secretary.press("✅ 提交")
    assert "月报已提交" in submitted.text and "出错" not in submitted.text
    assert late_leads(bench) == []  # the secretary's update sends no draft: the clock does
    await run_tick(bench.app, at("2026-12-28 10:31"))
    lead = "华山街道党工委“WH03项目”刚刚补报了 2026 年 12 月月报（逾期）。"
    # December's 月通报 is drafted the same morning (its deadline was the 25th): both change.
    assert late_leads(bench) == [lead + "月通报草稿尚未发布，已按此更新，如下：",
                                 lead + "双月调度汇总草稿尚未发布，已按此更新，如下："]  # fmt: skip
    assert "两个月无进展 2 个" in drafts(bench)[-1]  # the draft again, as it now stands
    await run_tick(bench.app, at("2026-12-28 10:32"))
    assert len(late_leads(bench)) == 2  # once
    await run_tick(bench.app, at("2026-12-28 11:00"))
    [published] = in_group(bench)
    assert "两个月无进展 2 个" in published


@pytest.mark.parametrize("word", ["⬅️ 上一步", "/cancel"])
async def test_leaving_the_comment_gives_the_summarys_buttons_back(
    bench: Bench, world: dict[str, int], clock: Clock, word: str
) -> None:
    await run_tick(bench.app, at("2026-12-28 09:00"))
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-12-28 09:10")
    await admin.press("✍️ 添加点评", admin.last_bot_message(with_button="✍️ 添加点评"))
    replies = await admin.send(word)
    assert "没有添加通报点评。2026 年 12 月双月调度汇总草稿仍待发布" in replies.text
    assert [label for label, _ in replies.buttons] == ["📤 发布", "✍️ 添加点评"]
    assert "双月调度汇总已发布到 1 个督导群" in (await admin.press("📤 发布")).text
    [published] = in_group(bench)
    assert "通报点评" not in published

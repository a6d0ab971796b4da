"""The clock: reminders and notices once, on working days, never at night, never lost.

Every test runs the real planner and delivery path (`run_tick`) through the real
Application on the stand-in, with `now` passed in; nothing waits on the wall clock."""

from __future__ import annotations

from dataclasses import replace
from datetime import datetime, time

import pytest

from bot.services import groups
from scheduler.tick import run_tick
from storage import deliveries
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock, load_sample_units
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench

ALICE, BOB = 1001, 1002


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def texts_to(bench: Bench, chat: int, since: int = 0) -> list[str]:
    return [c.text for c in bench.api.sent(chat, since=since)]


async def tick(bench: Bench, when: str):
    return await run_tick(bench.app, at(when))


async def status_of(bench: Bench, key: str) -> str | None:
    found = await deliveries.known(bench.app.bot_data.db, [key])
    return found[key].status if key in found else None


def flood_once() -> object:
    """A fault hook: the first sendMessage gets HTTP 429 with retry_after 1."""
    refusals = iter([True])

    def flood(method: str, params: dict) -> tuple[int, dict] | None:
        if method == "sendMessage" and next(refusals, False):
            return 429, {"ok": False, "error_code": 429, "description": "Too Many Requests",
                         "parameters": {"retry_after": 1}}  # fmt: skip
        return None

    return flood


@pytest.fixture
async def alice(bench: Bench, clock: Clock) -> int:
    """WH01's secretary with an approved 2026 project (#1); November 2026's report is due
    on Wednesday 11-25."""
    return await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())


async def test_the_november_rhythm_day_by_day(bench: Bench, alice: int) -> None:
    expected = [
        ("2026-11-20 08:59", None),
        ("2026-11-20 09:00", "11 月月报开始填写了，截止 <b>2026-11-25</b>"),
        ("2026-11-23 09:00", "月报还有 2 天截止（<b>2026-11-25</b>）"),
        ("2026-11-25 09:00", "今天（2026-11-25）是月报截止日"),
        ("2026-11-25 15:00", "月报今天（2026-11-25）截止"),
        ("2026-11-26 09:00", "月报已逾期 1 个工作日"),
        ("2026-11-27 09:00", "月报已逾期 2 个工作日"),
        ("2026-11-28 09:00", None),  # Saturday
        ("2026-11-30 09:00", "月报已逾期 3 个工作日"),
        # Three daily reminders, no more: the one message is the project's last month's
        # invitation to write its closing report (结题).
        ("2026-12-01 09:00", "已进入最后一个月（2026-12）"),
    ]
    for when, text in expected:
        since = len(bench.api.calls)
        await tick(bench, when)
        sent = texts_to(bench, ALICE, since)
        if text is None:
            assert sent == [], when
        else:
            assert len(sent) == 1 and text in sent[0], (when, sent)
    reminder = [c for c in bench.api.sent(ALICE) if "月报已逾期" in c.text][-1]
    assert [b for b, _ in reminder.buttons] == ["📝 填写月报"]
    assert reminder.buttons[0][1] == f"p:0:-:pick:{alice}"


async def test_the_reminder_button_opens_the_report(bench: Bench, alice: int, clock: Clock):
    clock.now = at("2026-11-20 09:00")
    await tick(bench, "2026-11-20 09:00")
    replies = await bench.user(ALICE).press("📝 填写月报")
    assert "开始填写 2026 年 11 月月报" in replies.text


async def test_only_those_who_have_not_reported_are_reminded(
    bench: Bench, alice: int, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", BOB, clock())
    clock.now = at("2026-11-21 10:00")
    alice_user = bench.user(ALICE)
    await alice_user.send("/report")
    for answer in ("完成了本月的主要工作", "下一步", "30", "无", "下月继续推进", "跳过"):
        await alice_user.send(answer)
    await alice_user.press("✅ 提交")
    since = len(bench.api.calls)
    await tick(bench, "2026-11-23 09:00")
    assert texts_to(bench, ALICE, since) == []
    # the window notice would be late: only the newest of the series, "2 days left", goes
    assert len(texts_to(bench, BOB, since)) == 1
    assert await status_of(bench, "report_open:2026-11:1") is None  # never planned


async def test_deadline_on_a_holiday_moves_to_the_next_working_day(
    bench: Bench, alice: int
) -> None:
    # September 2026: the 25th is Mid-Autumn Festival, then a weekend: due Monday 09-28.
    await tick(bench, "2026-09-20 09:00")
    since = len(bench.api.calls)
    await tick(bench, "2026-09-25 09:00")
    assert texts_to(bench, ALICE, since) == []
    await tick(bench, "2026-09-28 09:00")
    assert "今天（2026-09-28）是月报截止日" in texts_to(bench, ALICE, since)[0]
    # 2 days before would be Saturday 09-26: moved to Monday it meets the deadline itself,
    # so it is not sent separately.
    assert await status_of(bench, f"report_due_soon:2026-09:{alice}") is None


async def test_deadline_on_an_adjusted_working_saturday(harness: BotHarness, clock: Clock) -> None:
    harness.settings = replace(harness.settings, report_due_day=28)
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, clock())
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    # 2026-02-28 is a Saturday, but an official working day (调休): the deadline stays.
    await tick(bench, "2026-02-20 09:00")
    since = len(bench.api.calls)
    await tick(bench, "2026-02-28 09:00")
    assert "今天（2026-02-28）是月报截止日" in texts_to(bench, ALICE, since)[0]


async def test_nothing_between_22_and_8(bench: Bench, alice: int) -> None:
    result = await tick(bench, "2026-11-20 23:30")  # the 09:00 notice was missed
    assert result.quiet and texts_to(bench, ALICE) == []
    result = await tick(bench, "2026-11-21 07:59")
    assert result.quiet and texts_to(bench, ALICE) == []
    await tick(bench, "2026-11-21 08:00")
    assert "开始填写了" in texts_to(bench, ALICE)[0]


async def test_a_time_set_inside_the_quiet_hours_waits_for_8(
    harness: BotHarness, clock: Clock
) -> None:
    harness.settings = replace(harness.settings, remind_at=time(7, 0))
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, clock())
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    await tick(bench, "2026-11-20 07:30")
    assert texts_to(bench, ALICE) == []
    await tick(bench, "2026-11-20 08:00")
    assert len(texts_to(bench, ALICE)) == 1


async def test_no_duplicate_across_two_ticks(bench: Bench, alice: int) -> None:
    await tick(bench, "2026-11-20 09:00")
    second = await tick(bench, "2026-11-20 09:01")
    third = await tick(bench, "2026-11-20 09:00")
    assert len(texts_to(bench, ALICE)) == 1
    assert second.sent == third.sent == 0


async def test_no_duplicate_after_a_crash_between_send_and_record(
    harness: BotHarness, bench: Bench, alice: int
) -> None:
    await tick(bench, "2026-11-20 09:00")
    key = f"report_open:2026-11:{alice}"
    # The process died after Telegram accepted the message, before `sent` was committed.
    async with bench.app.bot_data.db.transaction() as conn:
        await conn.execute("UPDATE deliveries SET status = 'sending' WHERE key = ?", (key,))
    bench = await harness.restart()
    assert await status_of(bench, key) == "uncertain"
    await tick(bench, "2026-11-20 09:05")
    assert len(texts_to(bench, ALICE)) == 1


async def test_catch_up_after_a_two_day_outage(bench: Bench, alice: int) -> None:
    # The bot was down from the 19th: on the 24th the window notice and "2 days left" are
    # both still meaningful; one message goes late, the newest ("2 days left"), and the
    # window notice it supersedes is recorded as skipped.
    result = await tick(bench, "2026-11-24 10:00")
    assert result.sent == 1
    sent = texts_to(bench, ALICE)
    assert len(sent) == 1 and "还有 2 天截止" in sent[0]
    assert await status_of(bench, f"report_open:2026-11:{alice}") == "skipped"
    # Down again until the 26th: the deadline-day reminders are stale and skipped (and
    # recorded as skipped), the first overdue reminder goes out.
    result = await tick(bench, "2026-11-26 09:30")
    assert result.skipped == 2 and result.sent == 1
    assert "逾期 1 个工作日" in texts_to(bench, ALICE)[-1]
    assert await status_of(bench, f"report_due_am:2026-11:{alice}") == "skipped"
    assert await status_of(bench, f"report_due_pm:2026-11:{alice}") == "skipped"
    # and a skipped one is never sent later
    await tick(bench, "2026-11-26 09:31")
    assert len(texts_to(bench, ALICE)) == 2


async def test_a_blocked_secretary_is_unreachable_and_the_fan_out_goes_on(
    bench: Bench, alice: int, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", BOB, clock())
    bench.api.blocked.add(ALICE)
    result = await tick(bench, "2026-11-20 09:00")
    assert (result.sent, result.unreachable) == (1, 1)
    assert len(texts_to(bench, BOB)) == 1
    assert await status_of(bench, f"report_open:2026-11:{alice}") == "unreachable"
    attempts = len([c for c in bench.api.calls if c.chat_id == ALICE])
    await tick(bench, "2026-11-20 10:00")  # not retried
    assert len([c for c in bench.api.calls if c.chat_id == ALICE]) == attempts
    text = (await bench.user(ADMIN_ID).send("/unreachable")).text
    assert "🚫 已屏蔽机器人：书记1001（护国街道党工委）" in text
    assert "尚未绑定书记的组织</b>（共 13 个" in text
    # unblocked and reached again: off the list
    bench.api.blocked.discard(ALICE)
    await tick(bench, "2026-11-23 09:00")
    assert "已屏蔽" not in (await bench.user(ADMIN_ID).send("/unreachable")).text


async def test_retry_after_without_the_limiter_is_retried_next_tick(
    bench: Bench, alice: int
) -> None:
    bench.api.faults.append(flood_once())
    first = await tick(bench, "2026-11-20 09:00")
    assert first.failed == 1 and texts_to(bench, ALICE) == []
    assert await status_of(bench, f"report_open:2026-11:{alice}") == "failed"
    second = await tick(bench, "2026-11-20 09:01")
    assert second.sent == 1 and len(texts_to(bench, ALICE)) == 1


async def test_retry_after_with_the_limiter_waits_and_sends_in_the_same_tick(
    harness: BotHarness, clock: Clock
) -> None:
    harness.settings = replace(harness.settings, rate_limit=True)
    bench = await harness.start()
    await load_sample_units(bench.app.bot_data.db, clock())
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock())
    bench.api.faults.append(flood_once())
    result = await tick(bench, "2026-11-20 09:00")
    assert result.sent == 1
    assert len(bench.api.methods("sendMessage")) == 2  # refused once, then delivered


async def test_exempt_organizations_are_neither_reminded_nor_counted(
    bench: Bench, alice: int, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH02", BOB, clock())
    admin = bench.user(ADMIN_ID)
    assert "用法：/exempt" in (await admin.send("/exempt")).text
    assert "找不到组织编号" in (await admin.send("/exempt NOPE 2026-11 换届")).text
    assert "没有看懂期间" in (await admin.send("/exempt WH01 十一月 换届")).text
    replies = await admin.send("/exempt WH01 2026-11 换届选举")
    assert "护国街道党工委 2026-11 免报（换届选举）" in replies.text
    assert "仅限管理员" in (await bench.user(ALICE).send("/exempt WH01 2026-11 x")).text
    since = len(bench.api.calls)
    await tick(bench, "2026-11-20 09:00")
    assert texts_to(bench, ALICE, since) == [] and len(texts_to(bench, BOB, since)) == 1
    text = (await admin.send("/reports 2026-11")).text
    assert "应报 1，已报 0（按时 0，逾期 0），未报 1，填写中 0，免报 1" in text
    assert "大观街道党工委：未报 1" in text and "护国街道党工委" not in text


async def test_the_overdue_list_goes_in_the_bulletin_to_each_group_for_its_scope(
    bench: Bench, alice: int, clock: Clock
) -> None:
    db = bench.app.bot_data.db
    await seed_project(db, "WH02", BOB, clock())
    await groups.bind_group(db, -1001, "全区督导群", ADMIN_ID, None, clock())
    await groups.bind_group(db, -1002, "大观督导群", ADMIN_ID, "WH02", clock())
    await groups.bind_group(db, -1003, "已退出的群", ADMIN_ID, None, clock())
    await groups.group_left(db, -1003)
    bob = bench.user(BOB)
    clock.now = at("2026-11-24 10:00")
    await bob.send("/report")
    for answer in ("完成了本月的主要工作", "下一步", "30", "无", "下月继续推进", "跳过"):
        await bob.send(answer)
    await bob.press("✅ 提交")
    await tick(bench, "2026-11-25 20:00")
    assert bench.api.sent(-1001) == []  # the day after the deadline, not before
    await tick(bench, "2026-11-26 09:00")
    assert bench.api.sent(-1001) == []  # the admins review the draft first
    await tick(bench, "2026-11-26 11:00")
    [whole] = [t for t in texts_to(bench, -1001) if t]
    assert "2026 年 11 月书记项目月通报" in whole and "应报 2，按时 1，逾期 0，未报 1" in whole
    assert "未报较多：护国街道党工委 1 个" in whole
    [scoped] = [t for t in texts_to(bench, -1002) if t]
    assert "应报 1，按时 1，逾期 0，未报 0" in scoped and "未报较多" not in scoped
    assert "护国街道党工委" not in scoped
    assert bench.api.sent(-1003) == []  # the bot left it: never posted to
    await tick(bench, "2026-11-27 09:00")
    # one bulletin (its workbook, then its chart and text), the overdue list inside it, once
    assert [c.method for c in bench.api.sent(-1001)] == ["sendDocument", "sendPhoto"]


async def test_dispatch_notice_and_admin_reminder(bench: Bench, alice: int) -> None:
    # December 2026 is a dispatch month: the 28th is a Monday; the notice goes 3 days
    # before, on Friday the 25th.
    await tick(bench, "2026-12-24 09:00")
    assert not any("双月调度" in t for t in texts_to(bench, ALICE))
    await tick(bench, "2026-12-25 09:00")
    assert any("请于 2026-12-28 前更新项目进展" in t for t in texts_to(bench, ALICE))
    await tick(bench, "2026-12-28 09:00")
    assert any("双月调度日，在建项目 1 个" in t for t in texts_to(bench, ADMIN_ID))
    await tick(bench, "2026-11-28 09:00")  # an odd month: nothing of the kind
    assert sum("双月调度" in t for t in texts_to(bench, ALICE)) == 1


async def test_admins_are_warned_once_about_a_year_without_holiday_data(
    bench: Bench, clock: Clock
) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", ALICE, clock(), span=("2027-01", "2027-12"))
    await tick(bench, "2027-01-20 09:00")
    await tick(bench, "2027-01-21 09:00")
    warnings = [t for t in texts_to(bench, ADMIN_ID) if "2027 年的官方放假安排" in t]
    assert len(warnings) == 1


async def test_unbound_organizations_are_not_messaged(bench: Bench, clock: Clock) -> None:
    await seed_project(bench.app.bot_data.db, "WH03", None, clock())
    result = await tick(bench, "2026-11-20 09:00")
    assert result.sent == 0 and bench.api.sent() == []


async def test_the_job_is_scheduled_every_minute(harness: BotHarness) -> None:
    harness.settings = replace(harness.settings, tick_seconds=60)
    bench = await harness.start()
    [job] = bench.app.job_queue.jobs()
    assert job.name == "clock"

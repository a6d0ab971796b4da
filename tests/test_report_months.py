"""/report when more than one month is open (the current one and one an admin reopened),
and /report with a month typed after it."""

from __future__ import annotations

from datetime import datetime

from storage import reports
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench, TgUser


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def reopened_october(bench: Bench, clock: Clock) -> TgUser:
    """Project 2026-001 (2026-09..2027-08); on 21 November, November's window is open and
    an admin has reopened October."""
    db = bench.app.bot_data.db
    await seed_project(db, "WH01", 1001, at("2026-08-20 10:00"), span=("2026-09", "2027-08"),
                       milestones=[("2026-12", "建成党群服务中心")])  # fmt: skip
    clock.now = at("2026-11-21 10:00")
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "重新开放 2026 年 10 月月报" in (await admin.send("/reopen 2026-001 2026-10")).text
    return bench.user(1001, "李娜")


async def test_report_offers_the_reopened_month_and_what_is_typed_lands_there(
    bench: Bench, clock: Clock
) -> None:
    secretary = await reopened_october(bench, clock)
    replies = await secretary.send("/report")
    assert "现在有 2 期月报可以填写" in replies.text
    assert "2026 年 10 月：组织部已重新开放，补报记为逾期" in replies.text
    assert [b for b, _ in replies.buttons] == ["2026 年 11 月（本期）", "2026 年 10 月（补报）"]
    started = await secretary.press("2026 年 10 月（补报）")
    assert "开始填写 2026 年 10 月月报，管理员已重新开放本期" in started.text
    await secretary.send("十月完成了文林街整治")
    db = bench.app.bot_data.db
    october = await reports.of_period(db, 1, "2026-10")
    assert october is not None and october.progress == "十月完成了文林街整治"
    assert await reports.of_period(db, 1, "2026-11") is None
    # The choice again, and November from its button.
    assert "现在有 2 期月报可以填写" in (await secretary.send("/report")).text
    assert "开始填写 2026 年 11 月月报" in (await secretary.press("2026 年 11 月（本期）")).text


async def test_a_month_typed_after_report_opens_it_or_says_why_not(
    bench: Bench, clock: Clock
) -> None:
    secretary = await reopened_october(bench, clock)
    assert "开始填写 2026 年 10 月月报" in (await secretary.send("/report 2026-10")).text
    assert "继续填写 2026 年 10 月月报" in (await secretary.send("/report 2026年10月")).text
    assert "开始填写 2026 年 11 月月报" in (await secretary.send("/report 2026-11")).text
    refusals = {
        "2026-09": "2026 年 9 月月报已截止，不能再填写或修改。如需补报或修改，请联系组织部管理员",
        "2026-12": "2026 年 12 月月报还没有开放，2026-12-20 开放填写",
        "2027-09": "不需要报告 2027 年 9 月：需要报告的月份是 2026 年 9 月至 2027 年 8 月",
        "十月": "没有看懂“十月”",
    }
    for typed, reply in refusals.items():
        assert reply in (await secretary.send(f"/report {typed}")).text
    db = bench.app.bot_data.db
    for period in ("2026-09", "2026-12", "2027-09"):
        assert await reports.of_period(db, 1, period) is None


async def test_forged_stale_and_strangers_month_picks_change_nothing(
    bench: Bench, clock: Clock
) -> None:
    """A month pick for a month not open (closed, not yet, outside the span) says why; one for
    another project or a malformed one is the stale alert; nothing is created. A stranger's
    /report opens nothing; an argument that is no month is named back escaped, cut short."""
    secretary = await reopened_october(bench, clock)
    said = {
        "p:0:-:pick:1_202609": "2026 年 9 月月报已截止",
        "p:0:-:pick:1_202612": "2026 年 12 月月报还没有开放",
        "p:0:-:pick:1_202709": "不需要报告 2027 年 9 月",
    }
    for data, reply in said.items():
        assert reply in (await secretary.press_data(data)).text
    for data in ("p:0:-:pick:2_202611", "p:0:-:pick:1_202613"):
        assert (await secretary.press_data(data)).text == ""
        alert = bench.api.methods("answerCallbackQuery")[-1].params
        assert alert.get("show_alert") and "按钮已失效" in alert["text"]
    stranger = (await bench.user(5555, "路人").send("/report 2026-10")).text
    assert "只有已绑定组织的书记才能报送月报" in stranger
    db = bench.app.bot_data.db
    for period in ("2026-09", "2026-10", "2026-12", "2027-09"):
        assert await reports.of_period(db, 1, period) is None
    assert "没有看懂“&lt;b&gt;”" in (await secretary.send("/report <b>")).text
    long_reply = (await secretary.send("/report " + "十" * 5000)).text
    assert "没有看懂" in long_reply and len(long_reply) < 300

"""Digests and ledgers with fixed data and `now` passed in: every rule and number."""

from __future__ import annotations

import io
from collections.abc import Callable
from datetime import datetime

import pytest
from openpyxl import load_workbook

from bot.cli import main
from bot.services import digest, duban, groups
from bot.services.months import Month
from scheduler.tick import run_tick
from storage import notices, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench

NOV = Month(2026, 11)


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
async def world(bench: Bench, clock: Clock) -> dict[str, int]:
    """Four 2026 projects (planned pace in November: 11/12 = 92%):
    WH01 red: on time, 95%, its milestone done;     WH02 snail: no report;
    WH03 snail: late, 60% both months, a milestone overdue, a problem;   WH04 exempt."""
    db = bench.app.bot_data.db
    ms = [("2026-03", "建成中心")]
    ids = {code: await seed_project(db, code, 1000 + i, clock(), milestones=ms, name=f"{code}项目")
           for i, code in enumerate(("WH01", "WH02", "WH03", "WH04"))}  # fmt: skip
    [m1] = await projects.milestones(db, ids["WH01"])
    await seed_report(db, ids["WH01"], "2026-10", at("2026-10-22 10:00"), completion=85)
    await seed_report(db, ids["WH01"], "2026-11", at("2026-11-21 10:00"), completion=95,
                      tick=[m1.id])  # fmt: skip
    await seed_report(db, ids["WH03"], "2026-10", at("2026-10-22 10:00"), completion=60)
    await seed_report(db, ids["WH03"], "2026-11", at("2026-11-27 10:00"), completion=60,
                      on_time=False, problems="活动场地紧张，需要街道协调")  # fmt: skip
    async with db.transaction() as conn:
        from storage import deliveries

        await deliveries.exempt(conn, 5, "2026-11", "换届", ADMIN_ID, ts(clock()))
    return ids


async def test_bulletin_numbers_flags_and_problems(bench: Bench, world: dict[str, int]) -> None:
    cal = bench.app.bot_data.calendar
    b = await digest.bulletin(bench.app.bot_data.db, cal, NOV, at("2026-11-28 09:00"))
    assert (b.expected, b.count("on_time"), b.count("late"), b.count("missing")) == (3, 1, 1, 1)
    assert b.count("exempt") == 1 and b.rate == 67
    assert [ln.org.code for ln in b.red] == ["WH01"]
    assert [(ln.org.code, ln.reasons) for ln in b.snail] == [
        ("WH02", ["missing", "milestone_overdue"]),  # 92% behind: ranked first
        ("WH03", ["milestone_overdue", "no_change"]),  # 32% behind
    ]
    assert [ln.org.code for ln in b.problems] == ["WH03"]
    assert digest.planned_pace(b.red[0].project, NOV) == 92


async def test_bulletin_text(bench: Bench, world: dict[str, int]) -> None:
    b = await digest.bulletin(bench.app.bot_data.db, bench.app.bot_data.calendar, NOV,
                              at("2026-11-28 09:00"))  # fmt: skip
    text = bench.app.bot_data.texts.html("digest/bulletin.html", b=b)
    assert "应报 3，按时 1，逾期 1，未报 1，免报 1；按时率 33%" in text
    assert "未报较多：大观街道党工委 1 个" in text
    assert "🚩 红旗：护国街道党工委“WH01项目”，按时报送，已完成 95%，按计划此时应完成 92%" in text
    assert "🐌 蜗牛：大观街道党工委“WH02项目”，本月月报未报送" in text
    assert "🐌 蜗牛：华山街道党工委“WH03项目”，原定 2026 年 3 月完成的“建成中心”至今未完成" in text
    assert "反映问题 1 条；督办单在办 0 份。" in text


async def test_flags_are_capped(bench: Bench, world: dict[str, int]) -> None:
    rules = digest.FlagRules(max_each=1)
    b = await digest.bulletin(bench.app.bot_data.db, bench.app.bot_data.calendar, NOV,
                              at("2026-11-28 09:00"), rules=rules)  # fmt: skip
    assert len(b.snail) == 1 and b.snail[0].org.code == "WH02"


async def test_an_overdue_notice_makes_a_snail(bench: Bench, world: dict[str, int],
                                               clock: Clock) -> None:  # fmt: skip
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, world["WH01"], "台账不全", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, nid, {"requirement": "补齐", "deadline": "2026-11-24"})
    await duban._issue(db, bench.app.bot_data.calendar, ADMIN_ID, nid, clock())
    b = await digest.bulletin(db, bench.app.bot_data.calendar, NOV, at("2026-11-28 09:00"))
    assert b.red == [] and "notice_overdue" in next(ln for ln in b.snail
                                                    if ln.org.code == "WH01").reasons  # fmt: skip
    assert (b.notices_issued, b.notices_open, len(b.notices_overdue)) == (1, 1, 1)


async def test_bulletin_goes_to_each_group_once_for_its_scope(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db = bench.app.bot_data.db
    await groups.bind_group(db, -4001, "全区", ADMIN_ID, None, clock())
    await groups.bind_group(db, -4002, "大观", ADMIN_ID, "WH02", clock())
    await run_tick(bench.app, at("2026-11-26 11:00"))
    await run_tick(bench.app, at("2026-11-26 12:00"))
    [whole] = [c.text for c in bench.api.sent(-4001) if "月通报" in c.text]
    [scoped] = [c.text for c in bench.api.sent(-4002) if "月通报" in c.text]
    assert "护国街道党工委" in whole and "（大观街道党工委）" in scoped
    assert "护国街道党工委" not in scoped and "应报 1" in scoped


async def test_a_report_after_the_bulletin_is_late_in_the_next_one(
    bench: Bench, world: dict[str, int]
) -> None:
    db = bench.app.bot_data.db
    # WH02 files November after November's bulletin (2026-11-26 09:00); WH03 filed on the
    # 27th, also after it
    await seed_report(db, world["WH02"], "2026-11", at("2026-11-30 10:00"), on_time=False)
    published = at("2026-11-26 09:00")
    b = await digest.bulletin(db, bench.app.bot_data.calendar, Month(2026, 12),
                              at("2026-12-28 09:00"), published_at=published)  # fmt: skip
    assert sorted(org.code for _, org, _ in b.late_before) == ["WH02", "WH03"]
    text = bench.app.bot_data.texts.html("digest/bulletin.html", b=b)
    assert "上月截止后补报 2 个，计为逾期。" in text


async def test_dispatch_summary_to_admins_then_groups_once(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db = bench.app.bot_data.db
    await groups.bind_group(db, -4001, "全区", ADMIN_ID, None, clock())
    await seed_report(db, world["WH01"], "2026-12", at("2026-12-21 10:00"), completion=100)
    await run_tick(bench.app, at("2026-12-28 09:00"))
    summary = next(c for c in bench.api.sent(ADMIN_ID) if "双月调度汇总" in c.text)
    assert [b for b, _ in summary.buttons] == ["📤 发布", "✍️ 添加点评"]
    text = summary.text
    # WH04 was exempt in November: not held against it
    assert "在建项目 4 个，两个月无进展 2 个，需协调问题 1 条" in text
    stalled = [ln for ln in text.splitlines() if ln.startswith("⏸️ 两个月无进展")]
    assert "大观街道党工委" in stalled[0] and "WH04" not in text  # stalled, by code
    [document] = [c for c in bench.api.sent(ADMIN_ID) if c.method == "sendDocument"
                  and c.upload and "双月调度" in c.upload[0]]  # fmt: skip
    assert document.upload is not None
    rows = list(read_book(document.upload[1])["双月调度"].iter_rows(values_only=True))
    wh01 = next(r for r in rows if r[1] == "2026-001")
    assert wh01[3:9] == (85, 95, 100, "按时", "按时", 1) and wh01[11] is None
    wh04 = next(r for r in rows if r[1] == "2026-004")
    assert wh04[6:8] == ("免报", "未报") and wh04[11] is None
    assert not any("双月调度汇总" in c.text for c in bench.api.sent(-4001))
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-12-28 09:30")
    replies = await admin.press("📤 发布")
    assert "2026 年 12 月双月调度汇总已发布到 1 个督导群" in replies.text
    assert sum("双月调度汇总" in c.text for c in bench.api.sent(-4001)) == 1
    again = await admin.press_data("g:202612:s")
    assert again.text == "2026 年 12 月双月调度汇总已经发布，没有重复发送。"
    assert sum("双月调度汇总" in c.text for c in bench.api.sent(-4001)) == 1  # never twice


async def test_dispatch_auto_send(harness, clock: Clock) -> None:
    from dataclasses import replace

    from tests.conftest import load_sample_units

    harness.settings = replace(harness.settings, dispatch_auto_send=True)
    bench = await harness.start()
    db = bench.app.bot_data.db
    await load_sample_units(db, clock())
    await seed_project(db, "WH01", 1001, clock())
    await groups.bind_group(db, -4001, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-12-28 09:00"))
    assert not any("双月调度汇总" in c.text for c in bench.api.sent(-4001))
    await run_tick(bench.app, at("2026-12-28 11:00"))  # BOT_DISPATCH_PUBLISH_AT
    assert sum("双月调度汇总" in c.text for c in bench.api.sent(-4001)) == 1
    summary = next(c for c in bench.api.sent(ADMIN_ID) if "双月调度汇总" in c.text)
    assert "已同时发布到督导群" in summary.text and not summary.buttons
    assert not any("双月调度汇总草稿" in c.text for c in bench.api.sent(ADMIN_ID))


def read_book(data: bytes):
    return load_workbook(io.BytesIO(data))


async def test_ledger_cell_by_cell(bench: Bench, world: dict[str, int], clock: Clock) -> None:
    from bot.services.ledger import build_ledger, words_from

    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, world["WH03"], "台账不全", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, nid, {"requirement": "补齐", "deadline": "2026-11-30"})
    await duban._issue(db, bench.app.bot_data.calendar, ADMIN_ID, nid, clock())
    # A month's ledger is the detailed one (the yearly overview: tests/test_ledger_layout.py).
    data = await build_ledger(db, words_from(bench.app.bot_data.texts), bench.app.bot_data.calendar,
                              at("2026-11-28 09:00"), period=NOV)  # fmt: skip
    book = read_book(data)
    sheet, second = book["月报台账"], book["督办单"]
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:P6"
    header = [c.value for c in sheet[2]]
    expected = ["项目编号", "项目名称", "组织编号", "组织", "期间", "报送状态", "首次提交时间",
                "版本", "本月主要进展", "完成节点", "完成度(%)", "完成度下降原因",
                "存在问题和困难", "下月工作计划", "佐证材料(份)", "督办单(份)"]  # fmt: skip
    assert header == expected  # the report's questions in the field list's order
    rows = [dict(zip(header, [c.value for c in r], strict=True))
            for r in sheet.iter_rows(min_row=3)]  # fmt: skip
    assert len(rows) == 4  # four projects, November

    def row(number: str) -> dict[str, object]:
        return next(r for r in rows if r["项目编号"] == number and r["期间"] == "2026-11")

    wh01_nov = row("2026-001")
    assert wh01_nov["报送状态"] == "按时"
    assert wh01_nov["首次提交时间"] == datetime(2026, 11, 21, 10, 0)
    assert wh01_nov["完成度(%)"] == 95 and wh01_nov["完成节点"] == "2026-03 建成中心"
    wh03_nov = row("2026-003")
    assert (wh03_nov["报送状态"], wh03_nov["存在问题和困难"], wh03_nov["督办单(份)"]) == (
        "逾期", "活动场地紧张，需要街道协调", 1)  # fmt: skip
    wh02_nov = row("2026-002")
    assert wh02_nov["报送状态"] == "未报" and wh02_nov["首次提交时间"] is None
    assert wh02_nov["完成度(%)"] is None and wh02_nov["佐证材料(份)"] is None
    assert row("2026-004")["报送状态"] == "免报"
    assert sheet.column_dimensions["B"].width == 28
    assert sheet.cell(row=3, column=7).number_format == "yyyy-mm-dd hh:mm"
    notice_row = [c.value for c in second[3]]
    assert notice_row[:3] == ["督办〔2026〕第1号", "2026-003", "华山街道党工委"]
    assert notice_row[5] == datetime(2026, 11, 30, 0, 0) and notice_row[6] == "已下发"


async def test_ledger_and_digest_commands_in_chat(bench: Bench, world: dict[str, int],
                                                  clock: Clock) -> None:  # fmt: skip
    admin = bench.user(ADMIN_ID)
    clock.now = at("2026-11-28 09:00")
    replies = await admin.send("/ledger 2026-11")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert "书记项目台账（2026-11）" in doc.params.get("caption", "")
    assert "没有看懂“明年”" in (await admin.send("/ledger 明年")).text
    text = (await admin.send("/digest 2026-11")).text
    assert "2026 年 11 月书记项目月通报" in text and "按时率 33%" in text
    assert "仅限管理员" in (await bench.user(1000).send("/digest")).text
    assert "仅限管理员" in (await bench.user(1000).send("/ledger")).text
    del replies


async def test_history_own_only(bench: Bench, world: dict[str, int], clock: Clock) -> None:
    clock.now = at("2026-11-28 09:00")
    text = (await bench.user(1000).send("/history 2026-001")).text
    assert "2026 年 11 月：✅ 按时，完成度 95%" in text
    assert "2026 年 1 月：❌ 未报" in text
    assert "找不到" in (await bench.user(1000).send("/history 2026-002")).text
    assert "2026 年 11 月：⏰ 逾期" in (await bench.user(ADMIN_ID).send("/history 2026-003")).text
    # With one project, the number may be left out; an admin has no project of their own.
    assert (await bench.user(1000).send("/history")).text == text
    assert "用法" in (await bench.user(ADMIN_ID).send("/history")).text


def test_cli_ledger_and_digest(tmp_path, monkeypatch, capsys) -> None:
    import asyncio

    from storage.db import Database
    from tests.conftest import load_sample_units

    db_path = tmp_path / "d.sqlite3"
    now = at("2026-11-28 09:00")

    async def prepare() -> None:
        db = await Database.open(db_path)
        try:
            await load_sample_units(db, now)
            pid = await seed_project(db, "WH01", 1001, now)
            await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=95)
        finally:
            await db.close()

    asyncio.run(prepare())
    for var in ("TELEGRAM_BOT_TOKEN", "BOT_CONFIG"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("BOT_DB_PATH", str(db_path))
    out = tmp_path / "ledger.xlsx"
    assert main(["ledger", "--year", "2026", "--out", str(out)], clock=lambda: now) == 0
    book = load_workbook(out)
    assert book.sheetnames == ["年度汇总", "分组小计", "督办单", "结题报告", "验收评分", "验收结果",
                               "示范项目"]  # fmt: skip
    assert book["年度汇总"].max_row == 3  # title, header, the project (its months in columns)
    assert main(["ledger", "--year", "2026", "--detail", "--out", str(out)],
                clock=lambda: now) == 0  # fmt: skip
    book = load_workbook(out)
    assert book.sheetnames == ["年度汇总", "分组小计",
                               *(f"2026-{m:02d} 月报台账" for m in range(1, 12)), "督办单",
                               "结题报告", "验收评分", "验收结果", "示范项目"]  # fmt: skip
    assert book["2026-11 月报台账"].max_row == 3
    assert main(["ledger", "--period", "2026-11", "--out", str(out)], clock=lambda: now) == 0
    assert load_workbook(out).sheetnames == ["月报台账", "分组小计", "督办单"]
    assert not list(tmp_path.glob("*.part"))  # written beside the output, then renamed
    capsys.readouterr()
    assert main(["digest", "--period", "2026-11"], clock=lambda: now) == 0
    printed = capsys.readouterr().out
    # The compact bulletin the groups get, not the old full text.
    assert "2026 年 11 月书记项目月通报" in printed and "<b>" not in printed
    assert "应报 1，按时 1，逾期 0，未报 0；按时率 100%" in printed
    snail = "🐌 蜗牛：护国街道党工委“街巷党建项目”，原定 2026 年 1 月完成的“启动”至今未完成"
    assert snail in printed
    assert "一、报送情况" not in printed and len(printed) <= 800
    assert "加 --out" in printed  # where the full lists are
    out = tmp_path / "通报" / "2026-11.xlsx"
    assert main(["digest", "--period", "2026-11", "--out", str(out)], clock=lambda: now) == 0
    written = capsys.readouterr().out
    assert printed.split("（完整名单")[0] in written and f"已写入完整名单 {out}" in written
    assert "项目明细" in load_workbook(out).sheetnames
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    assert main(["digest", "--period", "2026-11", "--out", str(tmp_path / "a.txt")],
                clock=lambda: now) == 2  # fmt: skip
    assert "请写入 .xlsx 文件" in capsys.readouterr().err
    assert main(["digest", "--period", "十一月"], clock=lambda: now) == 2


async def test_review_fixes_not_due_months_ended_projects_and_one_overdue_rule(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    # /history before the deadline: the month is not due yet, not 未报
    clock.now = at("2026-11-21 10:00")
    text = (await bench.user(1001).send("/history 2026-002")).text
    assert "2026 年 11 月：⏳ 未到截止日" in text and "2026 年 10 月：❌ 未报" in text
    # a project that ended in November and filed late after November's bulletin
    ended = await seed_project(db, "WH05", 1099, clock(), span=("2026-06", "2026-11"),
                               name="已结束项目")  # fmt: skip
    await seed_report(db, ended, "2026-11", at("2026-11-30 10:00"), on_time=False)
    b = await digest.bulletin(db, cal, Month(2026, 12), at("2026-12-28 09:00"),
                              published_at=at("2026-11-26 09:00"))  # fmt: skip
    assert "WH05" in {org.code for _, org, _ in b.late_before}
    # a notice unsigned for more than a day is overdue in the bulletin as in /duban_list
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, world["WH01"], "问题", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, nid, {"requirement": "要求", "deadline": "2026-12-20"})
    await duban._issue(db, cal, ADMIN_ID, nid, at("2026-11-24 09:00"))
    b = await digest.bulletin(db, cal, NOV, at("2026-11-28 09:00"))
    assert len(b.notices_overdue) == 1 and b.red == []


async def test_ledger_month_counts_and_not_due(bench: Bench, world: dict[str, int]) -> None:
    from bot.services.ledger import build_ledger, words_from

    state = bench.app.bot_data
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-21 10:00"), year=2026)  # fmt: skip
    sheet = read_book(data)["年度汇总"]
    header = [c.value for c in sheet[2]]
    rows = [dict(zip(header, (c.value for c in r), strict=True))
            for r in sheet.iter_rows(min_row=3)]  # fmt: skip
    wh02 = next(r for r in rows if r["项目编号"] == "2026-002")
    assert (wh02["11月"], wh02["10月"]) == ("未到截止日", "未报")
    assert (wh02["应报(月)"], wh02["未报"]) == (10, 10)  # November is not due yet
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-21 10:00"), period=NOV)  # fmt: skip
    rows = [[c.value for c in r] for r in read_book(data)["月报台账"].iter_rows(min_row=3)]
    assert next(r for r in rows if r[0] == "2026-002")[5] == "未到截止日"


def test_cli_ledger_cannot_write(tmp_path, monkeypatch, capsys) -> None:
    (tmp_path / "afile").write_text("x", encoding="utf-8")
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "l.sqlite3"))
    assert main(["ledger", "--out", str(tmp_path / "afile" / "x.xlsx")]) == 2
    err = capsys.readouterr().err
    assert "无法写入" in err and "Traceback" not in err


async def test_red_flag_rule_edges(bench: Bench, clock: Clock) -> None:
    """Behind pace is no red flag; the furthest ahead ranks first; a milestone one month
    late makes a snail, one due this month does not (but blocks a red flag); a notice
    issued last month is not 'issued this month'."""
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    when = at("2026-11-28 09:00")
    ahead = await seed_project(db, "WH01", 1001, clock(), milestones=[("2026-03", "甲")])
    ahead2 = await seed_project(db, "WH02", 1002, clock(), milestones=[("2026-03", "乙")])
    behind = await seed_project(db, "WH03", 1003, clock(), milestones=[("2026-03", "丙")])
    due_now = await seed_project(db, "WH04", 1004, clock(), milestones=[("2026-11", "丁")])
    late_ms = await seed_project(db, "WH05", 1005, clock(), milestones=[("2026-10", "戊")])
    for pid, completion in ((ahead, 100), (ahead2, 95), (behind, 50), (due_now, 95),
                            (late_ms, 95)):  # fmt: skip
        [m] = await projects.milestones(db, pid)
        tick = [m.id] if pid in (ahead, ahead2, behind) else []
        await seed_report(db, pid, "2026-10", at("2026-10-22 10:00"), completion=completion - 5)
        await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=completion,
                          tick=tick)  # fmt: skip
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, behind, "问题", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, nid, {"requirement": "要求", "deadline": "2026-12-31"})
    await duban._issue(db, cal, ADMIN_ID, nid, at("2026-10-30 10:00"))
    async with db.transaction() as conn:  # signed, so it is not overdue
        await notices.move(conn, nid, ("issued",), "signed", ts(clock()))
        await notices.record(conn, nid, "sign", 1, 1003, ts(clock()))
    b = await digest.bulletin(db, cal, NOV, when)
    assert [ln.org.code for ln in b.red] == ["WH01", "WH02"]  # 100% before 95%
    capped = await digest.bulletin(db, cal, NOV, when, rules=digest.FlagRules(max_each=1))
    assert [ln.org.code for ln in capped.red] == ["WH01"]
    reasons = {ln.org.code: ln.reasons for ln in b.lines}
    assert reasons["WH03"] == []  # behind pace alone: neither flag
    assert "WH03" not in {ln.org.code for ln in b.red}
    assert reasons["WH04"] == [] and "WH04" not in {ln.org.code for ln in b.red}
    assert reasons["WH05"] == ["milestone_overdue"]
    assert (b.notices_issued, b.notices_open) == (0, 1)  # issued in October


async def test_a_ledger_being_built_does_not_hold_up_a_secretary(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """/ledger and /digest take seconds at province scale; they hold up only the admin's
    own later updates. Through the real update queue: the admin's ledger is stuck sending
    (held by the stand-in) while a secretary's /help is answered."""
    import asyncio

    from telegram import Update

    clock.now = at("2026-11-28 09:00")
    app, api = bench.app, bench.api
    held = api.hold(lambda c: c.method == "sendDocument")

    def update(user_id: int, text: str) -> Update:
        body = bench.user(user_id)._message({"text": text, "entities": [
            {"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]})  # fmt: skip
        return Update.de_json(api.new_update({"message": body}), app.bot)

    async def until(what: Callable[[], bool]) -> bool:
        # A failure's deadline only: the export process is spawned and built meanwhile.
        for _ in range(3000):
            if what():
                return True
            await asyncio.sleep(0.01)
        return False

    try:
        await app.update_queue.put(update(ADMIN_ID, "/ledger 2026-11"))
        assert await until(lambda: bool(held.calls))  # the ledger is built, its upload stuck
        await app.update_queue.put(update(1000, "/help"))
        assert await until(lambda: bool(api.sent(1000))), "the secretary waited for the ledger"
        assert not held.released.is_set()
    finally:
        api.release_holds()  # else a failure would leave the bot stuck at shutdown
    assert await until(lambda: any(c.method == "sendDocument" and c.chat_id == ADMIN_ID
                                   and c.status == 200 for c in api.calls))  # fmt: skip


async def test_every_export_is_built_off_the_event_loop(
    bench: Bench, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Ledgers, bulletins and dispatch summaries are built by Database.off_loop (in the
    export process: tests/test_db.py), and what they return comes from there."""
    from bot.services.ledger import build_ledger, words_from
    from storage.db import Database

    db = bench.app.bot_data.db
    cal = bench.app.bot_data.calendar
    built: list[str] = []
    real = Database.off_loop

    async def recording(self: Database, fn, *args):  # type: ignore[no-untyped-def]
        built.append(fn.__name__)
        return await real(self, fn, *args)

    monkeypatch.setattr(Database, "off_loop", recording)
    now = at("2026-11-28 09:00")
    data = await build_ledger(db, words_from(bench.app.bot_data.texts), cal, now, year=2026)
    b = await digest.bulletin(db, cal, NOV, now)
    s = await digest.dispatch_summary(db, cal, NOV, now)
    assert built == ["_write", "bulletin_from", "dispatch_summary_from"]
    assert data.startswith(b"PK") and b.lines and s.lines
    built.clear()
    text = (await bench.user(ADMIN_ID).send("/digest 2026-11")).text  # rendered there too
    assert built == ["bulletin"] and "2026 年 11 月" in text

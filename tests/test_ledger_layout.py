"""The ledger's layouts at any scale (yearly overview, month detail, Excel's row limit,
Telegram's upload limit) and the lean digest queries' edges, with fixed data."""

from __future__ import annotations

import io
from contextlib import aclosing
from datetime import datetime

import pytest
from openpyxl import load_workbook

from bot.context import AppState
from bot.services import digest, duban
from bot.services import ledger as ledger_service
from bot.services.ledger import build_ledger, words_from
from bot.services.months import Month
from storage import notices, orgs, projects, summary
from storage.rows import ts
from tests import test_digest
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench
from tests.test_digest import NOV, at, read_book

world = test_digest.world  # the fixture: four 2026 projects, November's reports


def table(sheet) -> list[dict[str, object]]:
    """A sheet's rows by its header (row 2: row 1 is the title)."""
    header = [c.value for c in sheet[2]]
    return [dict(zip(header, (c.value for c in r), strict=True))
            for r in sheet.iter_rows(min_row=3)]  # fmt: skip


async def issue_notice(bench: Bench, project_id: int, clock: Clock) -> None:
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        nid = await notices.create_draft(conn, project_id, "台账不全", ADMIN_ID, ts(clock()))
        await notices.set_draft(conn, nid, {"requirement": "补齐", "deadline": "2026-11-30"})
    await duban._issue(db, bench.app.bot_data.calendar, ADMIN_ID, nid, clock())


async def ledger_here(state: AppState, now: datetime, *, period: Month) -> bytes:
    """build_ledger run in this process, where the test's monkeypatches reach (the bot
    builds it in the export process: tests/test_digest.py)."""
    months, year = ledger_service._months(state.calendar, now, None, period)
    async with state.db.snapshot() as view:
        data = await ledger_service._write(view, words_from(state.texts), state.calendar, now,
                                           None, year, months, period, False)  # fmt: skip
    assert data is not None
    return data


async def test_yearly_overview_cell_by_cell(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """A year is one row per project: where it stands, its 四看 and 示范, totals, then a cell
    per month: a filed month's completion as a number (its status in its number format and
    colour), an unfiled month's reason as a word (coloured)."""
    state = bench.app.bot_data
    await issue_notice(bench, world["WH03"], clock)
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-28 09:00"), year=2026)  # fmt: skip
    book = read_book(data)
    assert book.sheetnames == ["年度汇总", "分组小计", "督办单"]
    sheet = book["年度汇总"]
    months = [f"{m}月" for m in range(1, 12)]  # December is after now: left out
    assert [c.value for c in sheet[2]] == [
        "项目编号", "项目名称", "组织编号", "组织", "项目状态", "四看（立项时）", "示范项目",
        "计划调整(次)", "应报(月)", "按时", "逾期", "未报", "免报", "按时率", "最新完成度",
        "督办单(份)", *months,
    ]  # fmt: skip
    assert sheet.freeze_panes == "A3" and sheet.auto_filter.ref == "A2:AA6"
    # Equal neighbouring widths are one <col min= max=> span, keyed by its first.
    widths = {i: d.width for d in sheet.column_dimensions.values()
              for i in range(d.min, d.max + 1)}  # fmt: skip
    assert widths[2] == 28 and widths[17] == widths[27] == 11 and 28 not in widths
    rows = {r["组织编号"]: r for r in table(sheet)}
    assert [r["项目编号"] for r in table(sheet)] == ["2026-001", "2026-002", "2026-003",
                                                   "2026-004"]  # fmt: skip
    wh01 = rows["WH01"]
    assert [wh01[k] for k in ("项目名称", "组织", "项目状态", "四看（立项时）", "示范项目",
                              "计划调整(次)", "应报(月)", "按时", "逾期", "未报", "免报",
                              "最新完成度", "督办单(份)")] == [
        "WH01项目", "护国街道党工委", "已立项", "均符合", None, 0, 11, 2, 0, 9, 0, 0.95, 0,
    ]  # fmt: skip
    assert wh01["按时率"] == pytest.approx(2 / 11)
    assert [wh01[m] for m in months] == ["未报"] * 9 + [0.85, 0.95]
    wh03 = rows["WH03"]
    assert (wh03["10月"], wh03["11月"]) == (0.6, 0.6)
    assert (wh03["按时"], wh03["逾期"], wh03["最新完成度"], wh03["督办单(份)"]) == (1, 1, 0.6, 1)
    wh04 = rows["WH04"]  # exempt in November: not owed
    assert (wh04["11月"], wh04["应报(月)"], wh04["免报"], wh04["最新完成度"]) == (
        "免报", 10, 1, None)  # fmt: skip
    assert rows["WH02"]["未报"] == 11 and rows["WH02"]["按时率"] == 0
    # Rates and completion are numbers shown as percentages; counts are plain numbers.
    wh01_row, wh03_row = 3, 5
    for column in ("N", "O"):  # 按时率, 最新完成度
        cell = sheet[f"{column}{wh01_row}"]
        assert cell.data_type == "n" and cell.number_format == "0%", column
    assert sheet[f"I{wh01_row}"].number_format == "General"
    # A filed month: a number, shown "95% 按时" or "60% 逾期", green or amber; an unfiled one:
    # its word, red (未报) or grey (免报).
    on_time, late = sheet[f"AA{wh01_row}"], sheet[f"AA{wh03_row}"]
    assert on_time.data_type == late.data_type == "n"
    assert (on_time.number_format, late.number_format) == ('0%" 按时"', '0%" 逾期"')
    assert sheet[f"Z{wh03_row}"].number_format == '0%" 按时"'  # WH03 was on time in October
    missing, exempt = sheet[f"Q{wh01_row}"], sheet["AA6"]
    assert (missing.value, exempt.value) == ("未报", "免报")
    fills = [c.fill.fgColor.rgb for c in (on_time, late, missing, exempt)]
    assert fills == ["FFC6EFCE", "FFFFEB9C", "FFFFC7CE", "FFEDEDED"]
    # The 督办单 by the number the bot's messages give it.
    notice = [c.value for c in book["督办单"][3]]
    assert notice[:3] == ["督办〔2026〕第1号", "2026-003", "华山街道党工委"] and notice[11] == 0
    # A month's status column is coloured by conditional formats, a rule per word.
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-28 09:00"), period=NOV)  # fmt: skip
    month = read_book(data)["月报台账"]
    coloured = {str(rng.sqref): sorted(r.formula[0] for r in rng.rules)
                for rng in month.conditional_formatting}  # fmt: skip
    assert coloured == {"F3:F6": sorted(['"按时"', '"逾期"', '"未报"', '"免报"'])}


async def test_every_sheet_has_a_title_and_prints_one_page_wide(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """Row 1 names the scope, the period and when it was made; every sheet prints
    landscape on A4, one page wide, title and header repeated on each page."""
    state = bench.app.bot_data
    await issue_notice(bench, world["WH03"], clock)
    words = ledger_service.words_from(state.texts, state.settings.acceptance_weights)
    book = read_book(await build_ledger(state.db, words, state.calendar, at("2026-11-28 09:00"),
                                        year=2026, detail=True))  # fmt: skip
    assert book.sheetnames == ["年度汇总", "分组小计", *(f"2026-{m:02d} 月报台账" for m in
                               range(1, 12)), "督办单", "结题报告", "验收评分", "验收结果",
                               "示范项目"]  # fmt: skip
    for sheet in book.worksheets:
        assert sheet["A1"].value == (f"五华区委组织部书记项目台账（2026 年）：{sheet.title}。"
                                     "生成时间：2026-11-28 09:00")  # fmt: skip
        assert sheet["A1"].font.b and sheet["A2"].font.b
        assert [c.value for c in sheet[1]][1:] == [None] * (sheet.max_column - 1)
        setup = sheet.page_setup
        assert (setup.orientation, setup.paperSize, setup.fitToHeight) == ("landscape", 9, 0)
        assert setup.fitToWidth in (None, 1)  # 1 is the file format's default
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$1:$2" and sheet.freeze_panes == "A3"
        assert sheet.auto_filter.ref is not None and sheet.auto_filter.ref.startswith("A2:")
    month = read_book(await build_ledger(state.db, words, state.calendar,
                                         at("2026-11-28 09:00"), period=NOV))  # fmt: skip
    assert month["月报台账"]["A1"].value == (
        "五华区委组织部书记项目台账（2026 年 11 月）：月报台账。生成时间：2026-11-28 09:00"
    )


async def test_months_outside_a_project_are_blank(bench: Bench, clock: Clock) -> None:
    state = bench.app.bot_data
    await seed_project(state.db, "WH01", 1001, clock(), span=("2025-07", "2026-03"))
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-28 09:00"), year=2026)  # fmt: skip
    [row] = table(read_book(data)["年度汇总"])
    assert [row[f"{m}月"] for m in range(1, 6)] == ["未报", "未报", "未报", None, None]
    assert row["应报(月)"] == 3
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-11-28 09:00"), period=Month(2026, 4))  # fmt: skip
    assert read_book(data)["月报台账"].max_row == 2  # the title and the header only


async def test_months_before_approval_are_blank_and_not_owed(bench: Bench, clock: Clock) -> None:
    """立项 in April (owing from April): January to March are blank and not 应报."""
    state = bench.app.bot_data
    await seed_project(state.db, "WH01", 1001, clock(), span=("2026-01", "2026-12"),
                       owed_from="2026-04")  # fmt: skip
    data = await build_ledger(state.db, words_from(state.texts), state.calendar,
                              at("2026-05-28 09:00"), year=2026)  # fmt: skip
    [row] = table(read_book(data)["年度汇总"])
    assert [row[f"{m}月"] for m in range(1, 6)] == [None, None, None, "未报", "未报"]
    assert row["应报(月)"] == 2


async def test_yearly_detail_has_each_month_as_the_month_ledger(
    bench: Bench, world: dict[str, int]
) -> None:
    state = bench.app.bot_data
    words, now = words_from(state.texts), at("2026-11-28 09:00")
    book = read_book(await build_ledger(state.db, words, state.calendar, now, year=2026,
                                        detail=True))  # fmt: skip
    months = [f"2026-{m:02d} 月报台账" for m in range(1, 12)]
    assert book.sheetnames == ["年度汇总", "分组小计", *months, "督办单"]
    alone = read_book(await build_ledger(state.db, words, state.calendar, now, period=NOV))
    assert table(book["2026-11 月报台账"]) == table(alone["月报台账"])
    assert len(table(book["2026-03 月报台账"])) == 4
    assert book["2026-03 月报台账"].freeze_panes == "A3"


async def test_a_sheet_past_excel_row_limit_goes_on(
    bench: Bench, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Excel holds 1,048,576 rows a sheet: past that the rows go on in "<sheet> (2)"."""
    monkeypatch.setattr(ledger_service, "MAX_ROWS", 4)  # title, header + 2 rows
    state = bench.app.bot_data
    book = read_book(await ledger_here(state, at("2026-11-28 09:00"), period=NOV))
    # The subtotals too: 4 sub-organizations and the total.
    assert book.sheetnames == ["月报台账", "月报台账 (2)", "分组小计", "分组小计 (2)",
                               "分组小计 (3)", "督办单"]  # fmt: skip
    assert [r["组织"] for r in table(book["分组小计 (3)"])] == ["合计"]
    first, second = book["月报台账"], book["月报台账 (2)"]
    assert [c.value for c in first[2]] == [c.value for c in second[2]]
    assert second["A1"].value is not None and second["A1"].value.endswith(
        "：月报台账 (2)。生成时间：2026-11-28 09:00")  # fmt: skip
    assert first.auto_filter.ref == second.auto_filter.ref == "A2:P4"
    numbers = [r["项目编号"] for r in table(first) + table(second)]
    assert numbers == ["2026-001", "2026-002", "2026-003", "2026-004"]


async def test_a_ledger_over_telegram_upload_limit_is_explained(
    bench: Bench, world: dict[str, int], clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    import handlers.digest

    monkeypatch.setattr(handlers.digest, "UPLOAD_LIMIT", 1000)  # every workbook is bigger
    clock.now = at("2026-11-28 09:00")
    admin = bench.user(ADMIN_ID)
    text = (await admin.send("/ledger 2026")).text
    assert "超过 Telegram 机器人发送文件" in text and "上限" in text
    assert "python -m bot ledger --year 2026 --out" in text and "/ledger 2026-01" in text
    text = (await admin.send("/ledger 2026-11")).text
    assert "python -m bot ledger --period 2026-11 --out" in text
    assert not bench.api.methods("sendDocument")


async def test_blank_or_wu_problems_are_no_problems(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """无 padded with full-width spaces or a line break is still 无 (as before: str.strip)."""
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    pid = await seed_project(db, "WH05", 1005, clock(), name="WH05项目")
    await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), problems="\u3000无\n")
    await seed_report(db, pid, "2026-12", at("2026-12-21 10:00"), problems=" ")
    b = await digest.bulletin(db, cal, NOV, at("2026-11-28 09:00"))
    assert [ln.org.code for ln in b.problems] == ["WH03"]
    s = await digest.dispatch_summary(db, cal, Month(2026, 12), at("2026-12-28 09:00"))
    assert next(ln for ln in s.lines if ln.org.code == "WH05").problems == []


async def test_dispatch_scope_ended_projects_and_milestones(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    db, cal = bench.app.bot_data.db, bench.app.bot_data.calendar
    ended = await seed_project(db, "WH05", 1005, clock(), span=("2026-06", "2026-11"))
    await seed_report(db, ended, "2026-11", at("2026-11-21 10:00"), completion=100)
    s = await digest.dispatch_summary(db, cal, Month(2026, 12), at("2026-12-28 09:00"))
    by_code = {ln.org.code: ln for ln in s.lines}
    assert by_code["WH05"].states == ("on_time", "not_due") and not by_code["WH05"].stalled
    assert by_code["WH01"].milestones_done == 1  # ticked off in November
    assert by_code["WH04"].states == ("exempt", "missing")
    wh01 = await orgs.by_code(db, "WH01")
    assert wh01 is not None
    scoped = await digest.dispatch_summary(db, cal, Month(2026, 12), at("2026-12-28 09:00"),
                                           wh01.id)  # fmt: skip
    assert [ln.org.code for ln in scoped.lines] == ["WH01"]
    from bot.digest_books import dispatch_book

    book = load_workbook(io.BytesIO(dispatch_book(bench.app.bot_data.texts, scoped)))
    [_, row] = book["双月调度"].iter_rows(values_only=True)
    assert row[6:9] == ("按时", "未报", 1)


async def test_a_stream_stopped_early_leaves_the_connection_usable(
    bench: Bench, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Rows are read a chunk ahead; a caller that stops early waits for that read."""
    monkeypatch.setattr(summary, "CHUNK", 1)
    db = bench.app.bot_data.db
    async with aclosing(summary.bulletin_rows(db, "2026-11", "2026-10")) as rows:
        async for project, *_ in rows:
            assert project.number == "2026-001"
            break
    row = await db.fetchone("SELECT count(*) FROM projects")
    assert row is not None and row[0] == 4
    seen = [p.number async for p, *_ in summary.bulletin_rows(db, "2026-11", "2026-10")]
    assert seen == ["2026-001", "2026-002", "2026-003", "2026-004"]


async def test_history_reads_one_project(bench: Bench, world: dict[str, int], clock: Clock) -> None:
    clock.now = at("2026-11-28 09:00")
    text = (await bench.user(ADMIN_ID).send("/history 2026-004")).text
    assert "2026 年 11 月：➖ 免报" in text and "2026 年 10 月：❌ 未报" in text
    text = (await bench.user(ADMIN_ID).send("/history 2026-001")).text
    assert "2026 年 10 月：✅ 按时，完成度 85%" in text
    [m] = await projects.milestones(bench.app.bot_data.db, world["WH01"])
    assert m.done_month == "2026-11"


async def test_a_sheet_past_its_text_budget_goes_on(
    bench: Bench, world: dict[str, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A sheet's XML stays under zip's 2 GiB (no ZIP64): past the budget, the next sheet."""
    monkeypatch.setattr(ledger_service, "MAX_SHEET_CHARS", 1)  # every row fills a sheet
    state = bench.app.bot_data
    book = read_book(await ledger_here(state, at("2026-11-28 09:00"), period=NOV))
    names = ["月报台账", *(f"月报台账 ({i})" for i in range(2, 5))]
    assert book.sheetnames[:4] == names and book.sheetnames[-1] == "督办单"
    assert [r["项目编号"] for n in names for r in table(book[n])] == [
        "2026-001", "2026-002", "2026-003", "2026-004"]  # fmt: skip


def test_cells_read_back_as_written() -> None:
    """A sheet's cells: text kept as text (never a formula or a link; what XML cannot carry
    dropped), spaces kept, Excel's cell length, empty text as no cell, numbers, dates as
    dates, columns past Z, sheet names without the characters Excel refuses."""
    from datetime import date, datetime

    book = ledger_service._Book()
    header = [f"列{i}" for i in range(30)]
    sheet = book.sheet("a/b: [c]", header, [10] * 30)
    values: list[object] = [" 前后空格 ", "a<b>&c\"'", "x\x07y\x00", "长" * 40_000, 0, -1, 2.5,
                            datetime(2026, 11, 21, 10, 30), date(2026, 11, 30), ""]  # fmt: skip
    sheet.append([*values, "=SUM(E2:G2)", "https://example.org", *[None] * 17, "最后一列"])
    with pytest.raises(TypeError):
        sheet.append([object()] + [None] * 29)
    sheet.close()
    data = book.close(None)
    assert data is not None
    wb = read_book(data)
    assert wb.sheetnames == ["a b   c "]
    ws = wb["a b   c "]
    assert ws["A1"].value == "a b   c "  # the title row (the book's title is the name)
    assert ws["AD2"].value == "列29" and ws["AD3"].value == "最后一列"
    got = [c.value for c in ws[3]][:10]
    assert got[:3] == [" 前后空格 ", "a<b>&c\"'", "xy"]
    assert got[3] == "长" * 32_767
    assert got[4:7] == [0, -1, 2.5]
    assert got[7] == datetime(2026, 11, 21, 10, 30) and ws["H3"].number_format == "yyyy-mm-dd hh:mm"
    assert got[8] == datetime(2026, 11, 30) and ws["I3"].number_format == "yyyy-mm-dd"
    assert ws["K3"].value == "=SUM(E2:G2)" and ws["K3"].data_type == "s"
    assert ws["L3"].value == "https://example.org" and ws["L3"].hyperlink is None
    assert got[9] is None and ws.auto_filter.ref == "A2:AD3" and ws.freeze_panes == "A3"


async def test_a_ledger_stopped_half_way_leaves_no_files(
    bench: Bench, world: dict[str, int], monkeypatch: pytest.MonkeyPatch, tmp_path
) -> None:
    """A ledger that fails mid-sheet closes and removes the sheets' temporary files."""
    import gc
    import tempfile

    real = summary.month_rows

    async def one_then_fail(conn, period, answers):  # type: ignore[no-untyped-def]
        async with aclosing(real(conn, period, answers)) as rows:
            async for row in rows:
                yield row
                raise OSError("disk gone")

    scratch = tmp_path / "scratch"  # the bench's database is in tmp_path
    scratch.mkdir()
    monkeypatch.setattr(tempfile, "tempdir", str(scratch))
    monkeypatch.setattr(summary, "month_rows", one_then_fail)
    state = bench.app.bot_data
    with pytest.raises(OSError, match="disk gone"):
        await ledger_here(state, at("2026-11-28 09:00"), period=NOV)
    gc.collect()  # an open temporary file would warn here (warnings are errors)
    assert list(scratch.iterdir()) == []

"""The 月通报 read at a glance: one phone screen, the full lists as a workbook, the overdue
list in the same message; the 双月调度 summary likewise (issue 17, item 1)."""

from __future__ import annotations

import io
from datetime import datetime

import pytest
from openpyxl import load_workbook

from bot.messages import visible_length
from bot.services import groups, units
from scheduler.tick import run_tick
from storage import projects
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench

# A county as the issue played it: 5 townships of 40 villages, a project each, long names.
TOWNS = 5
VILLAGES = 40
SCREEN = 800  # characters a phone shows on one screen, about


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


@pytest.fixture
async def county(bench: Bench, clock: Clock) -> dict[str, int]:
    """200 village projects under WH01..WH05; in November village v of town t files on time
    at 95% (v % 4 == 0), late (v % 4 == 1), not at all (v % 4 == 2: more in later towns), or
    on time but stuck at 40% with its March milestone open (v % 4 == 3)."""
    db = bench.app.bot_data.db
    name = "第{}镇第{:02d}村党支部委员会（联合党支部）"
    rows = [units.UnitRow(2 + t * VILLAGES + v, f"WH0{t + 1}V{v:02d}", name.format(t + 1, v),
                          f"WH0{t + 1}", "党支部")
            for t in range(TOWNS) for v in range(VILLAGES)]  # fmt: skip
    await units.import_units(db, rows, clock())
    ids: dict[str, int] = {}
    for t in range(TOWNS):
        for v in range(VILLAGES):
            code = f"WH0{t + 1}V{v:02d}"
            ids[code] = await seed_project(
                db,
                code,
                None,
                clock(),
                milestones=[("2026-03", "建成村级党群服务中心阵地")],
                name=f"第{v:02d}村强村富民乡村振兴示范带建设书记项目",
            )
    for code, pid in ids.items():
        t, v = int(code[3]) - 1, int(code[5:])
        [m] = await projects.milestones(db, pid)
        kind = v % 4
        if kind == 2 and v < 8 * (t + 1):
            continue  # missing: 2 in the first town … 10 in the last
        if kind == 0 or kind == 2:
            await seed_report(db, pid, "2026-10", at("2026-10-22 10:00"), completion=85)
            await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=95,
                              tick=[m.id])  # fmt: skip
        elif kind == 1:
            # filed after the deadline (the 25th) but before the bulletin went out: 逾期
            await seed_report(db, pid, "2026-11", at("2026-11-26 08:30"), on_time=False,
                              completion=70, tick=[m.id],
                              problems="村集体经济资金缺口大")  # fmt: skip
        else:
            await seed_report(db, pid, "2026-10", at("2026-10-22 10:00"), completion=40)
            await seed_report(db, pid, "2026-11", at("2026-11-21 10:00"), completion=40)
    return ids


def book_of(upload: tuple[str, bytes] | None) -> dict[str, list[list[object]]]:
    assert upload is not None and upload[0].endswith(".xlsx")
    book = load_workbook(io.BytesIO(upload[1]))
    return {ws.title: [[c.value for c in r] for r in ws.iter_rows()] for ws in book.worksheets}


async def test_the_bulletin_fits_one_screen_and_attaches_the_full_lists(
    bench: Bench, county: dict[str, int], clock: Clock
) -> None:
    await groups.bind_group(bench.app.bot_data.db, -4001, "全县", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-11-26 11:00"))  # published at the set time
    sent = bench.api.sent(-4001)
    # One bulletin (the overdue list is in it), its workbook first so the message stays last.
    assert sent[0].method == "sendDocument"
    [message] = [c for c in sent if c.method != "sendDocument"]
    [document] = [c for c in sent if c.method == "sendDocument"]
    text = message.text
    assert visible_length(text) <= SCREEN, visible_length(text)
    missing = sum(1 for v in range(VILLAGES) if v % 4 == 2 and v < 8) + sum(
        1 for t in range(1, TOWNS) for v in range(VILLAGES) if v % 4 == 2 and v < 8 * (t + 1)
    )
    late = TOWNS * 10
    on_time = TOWNS * VILLAGES - missing - late
    assert f"应报 200，按时 {on_time}，逾期 {late}，未报 {missing}" in text
    assert f"按时率 {round(100 * on_time / 200)}%" in text
    # the towns with most missing, most first; every name short enough for a glance
    most = text.split("未报较多：")[1].splitlines()[0]
    assert most.index("10 个") < most.index("8 个") < most.index("6 个")
    # one plain reason each; no bare 计划 figure, no arrows or dashes in place of numbers
    assert "🐌 蜗牛：" in text and "本月月报未报送" in text
    assert "🚩 红旗：" in text and "按计划此时应完成 92%" in text
    assert "→" not in text and "—" not in text and "逾期名单" not in text
    assert "反映问题 50 条" in text
    # the workbook: every project, every sub-organization with a total
    assert document.upload is not None and document.upload[0] == "2026-11 月通报明细.xlsx"
    sheets = book_of(document.upload)
    branches = sheets["分组统计"]
    assert branches[0] == ["组织", "应报", "按时", "逾期", "未报", "免报", "按时率(%)"]
    assert len(branches) == 1 + TOWNS + 1 and branches[-1][:5] == ["合计", 200, on_time, late,
                                                                    missing]  # fmt: skip
    detail = sheets["项目明细"]
    assert len(detail) == 1 + 200
    states = [row[4] for row in detail[1:]]
    assert states.count("未报") == missing and states.count("逾期") == late
    stuck = next(row for row in detail if row[2] == f"2026-{county['WH01V03'] % 1000:03d}")
    assert "完成度连续两个月停在 40%" in stuck[8] and "原定 2026 年 3 月完成" in stuck[8]


async def test_a_report_filed_late_before_the_bulletin_is_late_not_missing(
    bench: Bench, clock: Clock
) -> None:
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", None, clock())
    await groups.bind_group(db, -5001, "群", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-11-26 09:00"))  # the draft goes to the admins
    await seed_report(db, pid, "2026-11", at("2026-11-26 10:30"), on_time=False)
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [text] = [c.text for c in bench.api.sent(-5001) if "月通报" in c.text]
    assert "应报 1，按时 0，逾期 1，未报 0" in text and "未报较多" not in text


async def test_the_dispatch_summary_is_a_glance_and_a_workbook(
    bench: Bench, county: dict[str, int]
) -> None:
    await run_tick(bench.app, at("2026-12-28 09:00"))
    sent = bench.api.sent(ADMIN_ID)
    [document] = [c for c in sent if c.method == "sendDocument"]
    summary = next(c for c in sent if "双月调度汇总" in c.text)
    assert visible_length(summary.text) <= SCREEN
    assert "⏸️ 两个月无进展" in summary.text and "🐌" not in summary.text
    assert [label for label, _ in summary.buttons] == ["📤 发布", "✍️ 添加点评"]
    rows = book_of(document.upload)["双月调度"]
    assert len(rows) == 1 + 200 and rows[0][0] == "组织"
    assert rows[1][11] == "是"  # stalled first

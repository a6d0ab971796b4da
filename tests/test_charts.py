"""Charts (issue 17, item 2): each is drawn in the bundled CJK font with no missing glyph,
and goes out as a photo where people would rather look than read."""

from __future__ import annotations

from datetime import datetime

import pytest
from matplotlib.figure import Figure
from matplotlib.text import Text

from bot import charts
from bot.services import digest, groups, units
from bot.services.months import Month
from scheduler.tick import run_tick
from storage import projects
from storage.rows import Milestone
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.standin.dialogue import Bench

PNG = b"\x89PNG\r\n\x1a\n"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


def drawn_in_the_cjk_font(figure: Figure) -> None:
    """Every piece of text is set in the bundled font, which has all its characters, and
    the figure renders without a warning (matplotlib warns of each missing glyph)."""
    texts = [t for t in figure.findobj(Text) if t.get_text().strip()]
    assert texts and {t.get_fontname() for t in texts} == {charts.font()}
    assert charts.missing_glyphs(figure) == set()
    assert any("\u4e00" <= ch <= "\u9fff" for t in texts for ch in t.get_text())
    assert charts.png(figure).startswith(PNG)  # warnings are errors in this suite


@pytest.fixture
async def world(bench: Bench, clock: Clock) -> dict[str, int]:
    """Villages with names a font might lack (a rare character, an emoji), under two of the
    sample's 街道: on time, late and missing reports; a milestone done, one open."""
    db = bench.app.bot_data.db
    names = ["喆垚村党支部", "㙟村党支部🚩", "犇羴鱻社区党委", "彧珺燚村党支部"]
    rows = [units.UnitRow(2 + i, f"V{i}", name, "WH01" if i < 2 else "WH02", "党支部")
            for i, name in enumerate(names)]  # fmt: skip
    await units.import_units(db, rows, clock())
    ms = [("2026-03", "建成党群服务中心"), ("2026-12", "形成可推广经验")]
    ids = {f"V{i}": await seed_project(db, f"V{i}", None, clock(), milestones=ms,
                                       name=f"“红色引擎”乡村振兴项目{i}")
           for i in range(4)}  # fmt: skip
    [m1, _] = await projects.milestones(db, ids["V0"])
    for month, completion in (("2026-09", 60), ("2026-10", 75)):
        await seed_report(db, ids["V0"], month, at(f"{month}-21 10:00"), completion=completion)
    await seed_report(db, ids["V0"], "2026-11", at("2026-11-21 10:00"), completion=95,
                      tick=[m1.id])  # fmt: skip
    await seed_report(db, ids["V1"], "2026-11", at("2026-11-26 08:00"), on_time=False)
    await seed_report(db, ids["V2"], "2026-11", at("2026-11-21 10:00"), completion=30)
    return ids


async def test_the_bulletin_chart_stacks_each_sub_organization(
    bench: Bench, world: dict[str, int]
) -> None:
    state = bench.app.bot_data
    b = await digest.bulletin(state.db, state.calendar, Month(2026, 11), at("2026-11-26 09:00"))
    figure = charts.bulletin_figure(state.texts, b)
    drawn_in_the_cjk_font(figure)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    # bottom-up: the most missing on top; shares of the reports due there
    assert labels == ["护国街道党工委（应报 2）", "大观街道党工委（应报 2）"]
    [on_time, late, missing] = figure.axes[0].containers
    assert [bar.get_width() for bar in missing] == [0, 50]
    assert [bar.get_width() for bar in late] == [50, 0]
    assert [bar.get_width() for bar in on_time] == [50, 50]


async def test_many_sub_organizations_share_one_last_bar(bench: Bench, clock: Clock) -> None:
    db = bench.app.bot_data.db
    rows = [units.UnitRow(2 + i, f"T{i:02d}", f"第{i:02d}镇党委", "WH", "党委") for i in range(40)]
    await units.import_units(db, rows, clock())
    for i in range(40):
        await seed_project(db, f"T{i:02d}", None, clock())
    state = bench.app.bot_data
    b = await digest.bulletin(db, state.calendar, Month(2026, 11), at("2026-11-26 09:00"))
    figure = charts.bulletin_figure(state.texts, b)
    labels = [t.get_text() for t in figure.axes[0].get_yticklabels()]
    assert len(labels) == charts.MAX_BARS + 1 and labels[0] == "其余 15 个组织（应报 15）"
    drawn_in_the_cjk_font(figure)


def test_the_history_chart_has_pace_completion_and_milestones(bench: Bench) -> None:
    points = [digest.HistoryPoint(Month(2026, m), c)
              for m, c in zip(range(1, 13), [5, 10, None, 30, 35, 40, 50, 55, 60, None, 85, 95],
                              strict=True)]  # fmt: skip
    milestones = [Milestone(1, 1, 1, "2026-03", "建成村级党群服务中心", "2026-04"),
                  Milestone(2, 1, 2, "2026-09", "完成验收🎉", None)]  # fmt: skip
    figure = charts.history_figure(bench.app.bot_data.texts, "强村富民项目", points, milestones)
    drawn_in_the_cjk_font(figure)
    [pace, completion] = figure.axes[0].get_lines()
    pace_values = list(pace.get_ydata())
    assert (pace_values[0], pace_values[-1]) == (8, 100)
    assert list(completion.get_xdata()) == [0, 1, 3, 4, 5, 6, 7, 8, 10, 11]
    labels = {t.get_text() for t in figure.axes[0].texts}
    assert labels == {"建成村级党…", "完成验收"}


async def test_the_dispatch_chart_counts_projects_by_pace(
    bench: Bench, world: dict[str, int]
) -> None:
    state = bench.app.bot_data
    s = await digest.dispatch_summary(state.db, state.calendar, Month(2026, 12),
                                      at("2026-12-28 09:00"))  # fmt: skip
    # December's planned pace is 100%: V0 at 95% is within 10 points; V1 (50%) and V2
    # (30%) are further behind; V3 never reported: no progress in two months
    assert s.by_pace() == {"ahead": 0, "on_pace": 1, "behind": 2, "stalled": 1}
    figure = charts.dispatch_figure(state.texts, s)
    drawn_in_the_cjk_font(figure)
    [bars] = figure.axes[0].containers
    assert [bar.get_width() for bar in bars] == [1, 2, 1, 0]  # bottom-up: stalled first


async def test_the_bulletin_history_and_dispatch_go_out_with_their_charts(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    await groups.bind_group(bench.app.bot_data.db, -4001, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, at("2026-11-26 11:00"))
    [document, photo] = bench.api.sent(-4001)
    assert document.method == "sendDocument" and photo.method == "sendPhoto"
    assert "月通报" in photo.text and photo.upload and photo.upload[1].startswith(PNG)
    clock.now = at("2026-11-28 10:00")
    replies = await bench.user(ADMIN_ID).send("/history 2026-001")
    [chart] = [c for c in replies if c.method == "sendPhoto"]
    assert chart.upload and chart.upload[1].startswith(PNG) and "月报记录" in replies.text
    await run_tick(bench.app, at("2026-12-28 09:00"))
    summary = next(c for c in bench.api.sent(ADMIN_ID) if "双月调度汇总" in c.text)
    assert summary.method == "sendPhoto" and summary.buttons


async def test_the_export_process_is_prepared_with_a_chart_in_the_font(
    bench: Bench, caplog: pytest.LogCaptureFixture
) -> None:
    from bot.app import warm_exports
    from bot.texts import Texts

    drawn_in_the_cjk_font(charts.warm_up_figure(Texts()))
    caplog.set_level("INFO", logger="bot.app")
    compiled = await warm_exports(bench.app)  # in the export process, as `run` starts it
    assert compiled == Texts().compile_all() > 400
    assert f"export process ready ({compiled} templates compiled)" in caplog.text

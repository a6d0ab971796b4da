"""The ledger as data: subtotals per sub-organization (of the whole district and of a town
admin's subtree), the year's 四看 and 示范项目 in the overview, and projects adjusted or
terminated during the year, through /ledger."""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook

from storage import projects
from tests import test_adjust, test_digest
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import bound_secretary, declare, seed_project, seed_report
from tests.scopes_helpers import TOWN_A, add_communities, scoped_admin
from tests.standin.dialogue import Bench, TgUser
from tests.test_acceptance import concluded, score_all
from tests.test_digest import at
from tests.test_ledger_layout import table

world = test_digest.world  # the fixture: four 2026 projects, November's reports


async def ledger_of(bench: Bench, user: TgUser, query: str):  # type: ignore[no-untyped-def]
    """Send /ledger <query> as `user`; the workbook the bot sent back."""
    await user.send(f"/ledger {query}")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == user.id][-1:]
    assert doc.upload is not None
    return load_workbook(io.BytesIO(doc.upload[1]))


async def test_subtotals_per_sub_organization(
    bench: Bench, world: dict[str, int], clock: Clock
) -> None:
    """分组小计: a row per child of the scope's root (its own projects under its own name),
    counts as numbers, rates as fractions in a percent format, and the total last."""
    db = bench.app.bot_data.db
    await add_communities(bench)
    community = await seed_project(db, "WH0101", 1011, clock(), name="钱局项目")
    await seed_report(db, community, "2026-10", at("2026-10-22 10:00"), completion=40)
    clock.now = at("2026-11-28 09:00")
    book = await ledger_of(bench, bench.user(ADMIN_ID), "2026")
    sheet = book["分组小计"]
    assert sheet["A1"].value == ("五华区委组织部书记项目台账（2026 年）：分组小计。"
                                 "生成时间：2026-11-28 09:00")  # fmt: skip
    rows = table(sheet)
    assert [list(r.values())[:8] for r in rows] == [
        # 组织编号, 组织, 项目数, 应报, 按时, 逾期, 未报, 免报: 护国 with its community's project
        ["WH01", "护国街道党工委", 2, 22, 3, 0, 19, 0],
        ["WH02", "大观街道党工委", 1, 11, 0, 0, 11, 0],
        ["WH03", "华山街道党工委", 1, 11, 1, 1, 9, 0],
        ["WH04", "龙翔街道党工委", 1, 10, 0, 0, 10, 1],
        [None, "合计", 5, 54, 4, 1, 49, 1],
    ]  # fmt: skip
    wh01, total = rows[0], rows[-1]
    assert wh01["报送率"] == wh01["按时率"] == pytest.approx(3 / 22)
    assert wh01["平均完成度"] == pytest.approx((0.95 + 0.40) / 2)  # each project's latest
    assert total["报送率"] == pytest.approx(5 / 54) and total["按时率"] == pytest.approx(4 / 54)
    assert rows[1]["平均完成度"] is None  # nothing filed: no average, not 0%
    for column in "IJK":
        assert sheet[f"{column}3"].data_type == "n" and sheet[f"{column}3"].number_format == "0%"
        assert sheet[f"{column}7"].number_format == "0%" and sheet[f"{column}7"].font.b
    assert sheet["C3"].data_type == "n" and sheet.auto_filter.ref == "A2:M6"  # total below
    # A month's ledger has its own subtotals: that month only.
    month = table((await ledger_of(bench, bench.user(ADMIN_ID), "2026-11"))["分组小计"])
    assert [list(r.values())[2:8] for r in month] == [
        [2, 2, 1, 0, 1, 0], [1, 1, 0, 0, 1, 0], [1, 1, 0, 1, 0, 0], [1, 0, 0, 0, 0, 1],
        [5, 4, 1, 1, 2, 1],
    ]  # fmt: skip
    # A town's admin: the town's own project, then its communities.
    town = await scoped_admin(bench, "WH01", TOWN_A, "护国小张")
    mine = await ledger_of(bench, town, "2026")
    assert mine["年度汇总"]["A1"].value.startswith("护国街道党工委书记项目台账（2026 年）")
    assert [list(r.values())[:3] for r in table(mine["分组小计"])] == [
        ["WH01", "护国街道党工委", 1], ["WH0101", "钱局街社区党委", 1], [None, "合计", 2],
    ]  # fmt: skip


async def test_four_checks_and_models_in_the_year_ledger(bench: Bench, clock: Clock) -> None:
    """四看 as marked at 立项 and the 示范 citation are columns of the year's overview; the
    示范 list, 验收 scores and results and 结题 are sheets of the year's book."""
    admin = bench.user(ADMIN_ID, "组织部小王")
    secretary = await bound_secretary(bench)
    await declare(secretary, span="2026-12 至 2027-11",
                  milestones="2027-03 建成党群服务中心\n2027-11 全部整治完成")  # fmt: skip
    application = admin.last_bot_message(with_button="✅ 立项")
    await admin.press("✅ 目标高低适当", application)
    assert "已立项" in (await admin.press("✅ 立项", admin.last_bot_message(
        with_button="✅ 立项"))).text  # fmt: skip
    model_id = await concluded(bench, clock, "WH02", 1002)
    model = await projects.get(bench.app.bot_data.db, model_id)
    assert model is not None and model.number is not None
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    await score_all(admin, model.number, ("90", "90", "90", "90"))
    await admin.send(f"/accept {model.number}")
    await admin.press("✅ 确认验收")
    await admin.send(f"/model {model.number} 以街巷党小组破解老旧小区治理难题")
    book = await ledger_of(bench, admin, "2026")
    assert book.sheetnames == ["年度汇总", "分组小计", "督办单", "结题报告", "验收评分", "验收结果",
                               "示范项目"]  # fmt: skip
    overview = {r["组织编号"]: r for r in table(book["年度汇总"])}
    assert (overview["WH01"]["项目状态"], overview["WH02"]["项目状态"]) == ("已立项", "已验收")
    assert overview["WH01"]["四看（立项时）"] == "目标过高或过低"
    assert overview["WH01"]["示范项目"] is None
    assert overview["WH02"]["四看（立项时）"] == "均符合"
    assert overview["WH02"]["示范项目"] == "以街巷党小组破解老旧小区治理难题"
    models = {r["组织编号"]: r["示范项目(个)"] for r in table(book["分组小计"])}
    assert models == {"WH01": 0, "WH02": 1, None: 1}
    [chosen] = table(book["示范项目"])
    assert chosen["项目编号"] == model.number
    assert chosen["评语"] == "以街巷党小组破解老旧小区治理难题"
    [score] = table(book["验收评分"])
    assert (score["评委总分"], score["项目编号"]) == (90, model.number)
    [result] = table(book["验收结果"])
    assert (result["总分"], result["等次"], result["示范项目"]) == (90, "优秀", "示范项目")


async def test_adjusted_and_terminated_projects_in_the_year_ledger(
    bench: Bench, clock: Clock
) -> None:
    """A project whose plan was adjusted counts its adjustments; one terminated in July
    stays in the year's ledger as 已终止, owing the months before July only."""
    db = bench.app.bot_data.db
    await test_adjust.project(bench, clock)
    ended = await seed_project(db, "WH02", 1002, clock(), name="撤并项目")
    await seed_report(db, ended, "2026-06", at("2026-06-21 10:00"), completion=30)
    clock.now = at("2026-07-10 10:00")
    await test_adjust.ask_for_later_end(bench)
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.press("✅ 同意调整", admin.last_bot_message(with_button="✅ 同意调整"))
    assert "已终止" in (await admin.send("/terminate 2026-002 村两委换届后项目主体撤并")).text
    clock.now = at("2026-11-28 09:00")
    book = await ledger_of(bench, admin, "2026")
    rows = {r["项目编号"]: r for r in table(book["年度汇总"])}
    kept, stopped = rows["2026-001"], rows["2026-002"]
    assert (kept["项目状态"], kept["计划调整(次)"]) == ("已立项", 1)
    assert (stopped["项目状态"], stopped["计划调整(次)"]) == ("已终止", 0)
    assert [stopped[f"{m}月"] for m in range(1, 12)] == ["未报"] * 5 + [0.3] + ["已终止"] * 5
    assert (stopped["应报(月)"], stopped["按时"], stopped["未报"]) == (6, 1, 5)
    # A month's ledger lists it while the month was owed.
    june = table((await ledger_of(bench, admin, "2026-06"))["月报台账"])
    august = table((await ledger_of(bench, admin, "2026-08"))["月报台账"])
    assert [r["项目编号"] for r in june] == ["2026-001", "2026-002"]
    assert [r["项目编号"] for r in august] == ["2026-001"]

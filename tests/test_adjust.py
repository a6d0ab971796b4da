"""调整 after 立项 and 终止: the secretary's request on the step engine, the admins' decision,
the plan in force for each month's pace, and a terminated project's silence."""

from __future__ import annotations

import io
import re
import sqlite3
from datetime import datetime
from pathlib import Path

from openpyxl import load_workbook

from bot.services import digest, groups
from bot.services.months import Month
from bot.services.quarterly import Quarter, due_time
from bot.services.scopes import AdminScope
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from scheduler.tick import run_tick
from storage import plans, projects
from storage.db import Database, _statements, migrations
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import file_closing_report, seed_project, seed_report
from tests.standin.dialogue import Bench, Press, expect_dialogue

SECRETARY = 1001
REASON = "受征地进度影响，第二批街巷整治无法按期完成。"
MILESTONES = [("2026-03", "成立街巷党小组"), ("2026-05", "完成首批街巷整治"),
              ("2026-12", "全部整治完成")]  # fmt: skip


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def project(bench: Bench, clock: Clock) -> int:
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH01", SECRETARY, clock(), milestones=MILESTONES)
    async with db.transaction() as conn:  # the first milestone was ticked off in March
        await conn.execute("UPDATE milestones SET done_month = '2026-03' WHERE position = 1")
    return pid


def alert(bench: Bench) -> tuple[bool, str]:
    params = bench.api.methods("answerCallbackQuery")[-1].params
    return params.get("show_alert", False), params.get("text", "")


async def ask_for_later_end(bench: Bench) -> None:
    """The secretary asks to end in 2027-06 with the open milestones moved."""
    secretary = bench.user(SECRETARY, "李娜")
    card = await secretary.send("/project")
    assert "📝 申请调整计划" in [label for label, _ in card.buttons]
    await expect_dialogue(secretary, [
        (Press("📝 申请调整计划"), "第 1/4 步：<b>调整原因</b>"),
        ("短", "至少写 4 个字"),
        (REASON, "请核对调整申请"),
        (Press("✅ 提交"), "还没有任何改动"),
        (Press("✏️ 修改某项"), "要修改哪一项？"),
        (Press("结束月份"), "第 3/4 步：<b>结束月份</b>"),
        ("2026-05", "结束月份不能早于本月"),
        ("2028-06", "超过了最长 24 个月"),
        ("2027-06", "请核对调整申请"),
        (Press("✏️ 修改某项"), "要修改哪一项？"),
        (Press("进度安排"), "第 4/4 步"),
        ("2026-05 太早的节点", "不在 2026-07 至 2027-06 之内"),
        ("2026-12 完成首批街巷整治\n2027-06 全部整治完成", "请核对调整申请"),
        (Press("✅ 提交"), "调整申请已提交"),
    ])  # fmt: skip


async def test_the_examples_obey_the_rules_beside_them(bench: Bench, clock: Clock) -> None:
    """结束月份 and 进度安排 examples are months from this one, within the end and the
    24-month limit, however late in the project the request is made."""
    await project(bench, clock)
    clock.now = at("2026-10-10 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await secretary.send("/project")
    await secretary.press("📝 申请调整计划")
    await secretary.send(REASON)

    async def milestone_examples() -> list[str]:
        """The 进度安排 prompt's example months, which the bot then accepts as written."""
        await secretary.press("✏️ 修改某项")
        text = (await secretary.press("进度安排")).text
        shown = re.findall(r"^(\d{4}-\d{2}) ", text.split("例如：")[1], re.MULTILINE)
        lines = "\n".join(f"{month} 节点{n}" for n, month in enumerate(shown))
        assert "请核对调整申请" in (await secretary.send(lines)).text
        return shown

    shown = await milestone_examples()  # the end is still 2026-12
    assert len(shown) == 2 and all("2026-10" <= month <= "2026-12" for month in shown)
    await secretary.press("✏️ 修改某项")
    text = (await secretary.press("结束月份")).text
    [end] = re.findall(r"结束月份</b>（如 (\d{4}-\d{2})）", text)
    assert "2026-10" <= end <= "2027-12"
    assert "请核对调整申请" in (await secretary.send(end)).text  # the example is accepted
    shown = await milestone_examples()
    assert len(shown) == 2 and all("2026-10" <= month <= end for month in shown)


async def test_request_approve_and_pace_by_the_plan_in_force(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    secretary = bench.user(SECRETARY, "李娜")
    # One request at a time.
    assert "已有一份调整申请在等待审批" in (await secretary.send("/adjust")).text
    admin = bench.user(ADMIN_ID, "组织部小王")
    request = admin.last_bot_message(with_button="✅ 同意调整")
    assert REASON in request["text"] and "原为 2026-12" in request["text"]
    assert ("成立街巷党小组（已完成，保留）\n2026-12　完成首批街巷整治\n2027-06　全部整治完成"
            in request["text"])  # one milestone a line  # fmt: skip
    # Someone else, and a forged button, change nothing.
    stranger = bench.user(4001, "路人")
    await stranger.send("/help")
    await stranger.press_data("ajr:1:a")
    assert alert(bench) == (True, Texts().plain("adjust/not_admin_alert.txt"))
    await admin.press_data("ajr:99:a")
    assert alert(bench) == (True, Texts().plain(STALE_ALERT))
    await admin.press_data("ajr:1:x")
    assert alert(bench) == (True, Texts().plain(STALE_ALERT))
    await secretary.press_data("aj:1:preview:submit:")
    assert alert(bench) == (True, Texts().plain(STALE_ALERT))
    db = bench.app.bot_data.db
    assert (await projects.get(db, pid)).end_month == "2026-12"  # type: ignore[union-attr]

    agreed = await admin.press("✅ 同意调整", request)
    assert "从 2026-07 起按新计划计算进度，已通知书记" in agreed.text
    assert "已获同意，从 2026-07 起" in bench.api.sent(SECRETARY)[-1].text
    # Pressed again: already decided.
    await admin.press_data("ajr:1:a", request)
    assert alert(bench) == (True, Texts().plain(STALE_ALERT))
    found = await projects.get(db, pid)
    assert found is not None and found.end_month == "2027-06"
    marks = [(m.month, m.content, m.done_month) for m in await projects.milestones(db, pid)]
    assert marks == [
        ("2026-03", "成立街巷党小组", "2026-03"),
        ("2026-12", "完成首批街巷整治", None),
        ("2027-06", "全部整治完成", None),
    ]
    versions = await plans.versions(db, pid)
    assert [(v.version, v.effective_month, v.end_month) for v in versions] == [
        (1, "2026-01", "2026-12"), (2, "2026-07", "2027-06")]  # fmt: skip
    assert versions[1].approved_by == ADMIN_ID and versions[1].reason == REASON

    # June keeps the plan of 立项 (6 of 12 months); July on goes by the new one (7 of 18).
    cal = bench.app.bot_data.calendar
    june = await digest.bulletin(db, cal, Month(2026, 6), clock())
    july = await digest.bulletin(db, cal, Month(2026, 7), clock())
    assert [ln.pace for ln in june.lines] == [50]
    assert [ln.pace for ln in july.lines] == [39]
    # So are the milestones: May's, moved by the change, was overdue in June, not in July.
    assert [(m.month, m.content) for m in june.lines[0].overdue_milestones] == [
        ("2026-05", "完成首批街巷整治")]  # fmt: skip
    assert "milestone_overdue" in june.lines[0].reasons
    assert july.lines[0].overdue_milestones == []
    dispatch = await digest.dispatch_summary(db, cal, Month(2026, 8), clock())
    assert [ln.pace for ln in dispatch.lines] == [44]
    # The /history chart's pace line follows the same plans.
    found = await digest.history(db, cal, None, AdminScope(ADMIN_ID, None), "2026-001", clock())
    paces = {str(p.month): p.pace for p in found.points}
    assert (paces["2026-06"], paces["2026-07"], paces["2027-06"]) == (50, 39, 100)

    card = await secretary.send("/project")
    assert "计划版本" in card.text and "第 2 版，2026-07 起执行" in card.text
    assert "立项时的计划" in card.text and "（现行）" in card.text


async def test_refuse_with_a_reason_then_ask_again(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    admin = bench.user(ADMIN_ID, "组织部小王")
    await expect_dialogue(admin, [
        (Press("↩️ 不同意"), "请输入不同意“街巷党建项目”（护国街道党工委）调整计划的理由"),
        ("", "理由不能为空"),
        ("取消", "已放弃，调整申请仍待审批"),
        (Press("↩️ 不同意"), "请输入不同意"),
        ("征地问题可协调解决，请按原计划推进", "已不同意“街巷党建项目”的调整申请，已通知书记"),
    ])  # fmt: skip
    told = bench.api.sent(SECRETARY)[-1].text
    assert "未获同意" in told and "征地问题可协调解决" in told
    db = bench.app.bot_data.db
    assert (await projects.get(db, pid)).end_month == "2026-12"  # type: ignore[union-attr]
    assert await plans.versions(db, pid) == []
    secretary = bench.user(SECRETARY, "李娜")
    card = await secretary.send("/project")
    assert "未获同意：征地问题可协调解决" in card.text
    again = await secretary.send("/adjust")
    assert "第 1/4 步：<b>调整原因</b>" in again.text


async def test_a_subtree_admin_of_the_project_itself_may_not_decide(
    bench: Bench, clock: Clock
) -> None:
    """The request goes to the level above; the organization's own admin is a stranger to it."""
    await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        await conn.execute(
            "INSERT INTO org_admins (user_id, org_id, full_name, granted_at) "
            "SELECT 5005, id, '街道管理员', '2026-01-01T00:00:00+00:00' FROM orgs "
            "WHERE code = 'WH01'"
        )
    own_admin = bench.user(5005, "街道管理员")
    await own_admin.press_data("ajr:1:a", bench.user(ADMIN_ID).last_bot_message())
    assert alert(bench) == (True, Texts().plain("adjust/not_admin_alert.txt"))
    assert "不能终止本组织的项目" in (await own_admin.send("/terminate 2026-001 撤并")).text


async def test_terminated_project_gets_no_reminders(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    assert any("月报开始填写了" in c.text for c in await sent_at(bench, "2026-10-20 10:00"))
    clock.now = at("2026-11-02 10:00")
    admin = bench.user(ADMIN_ID, "组织部小王")
    secretary = bench.user(SECRETARY, "李娜")
    assert "用法：/terminate" in (await admin.send("/terminate")).text
    assert "请写明终止的原因" in (await admin.send("/terminate 2026-001")).text
    assert "管理员" in (await secretary.send("/terminate 2026-001 不做了")).text
    done = await admin.send("/terminate 2026-001 村两委换届后项目主体撤并")
    assert "已终止“街巷党建项目”" in done.text and "已通知书记" in done.text
    told = bench.api.sent(SECRETARY)[-1].text
    assert "已由组织部终止" in told and "村两委换届后项目主体撤并" in told
    assert "不能终止" in (await admin.send("/terminate 2026-001 再来")).text
    db = bench.app.bot_data.db
    assert (await projects.get(db, pid)).status == "terminated"  # type: ignore[union-attr]
    # No reminder any more, not owed in the bulletin, shown in /project and /projects 已终止.
    assert await sent_at(bench, "2026-11-20 10:00") == []
    assert await sent_at(bench, "2026-11-25 10:00") == []
    bulletin = await digest.bulletin(db, bench.app.bot_data.calendar, Month(2026, 11), clock())
    assert bulletin.expected == 0
    card = await secretary.send("/project")
    assert "状态：已终止" in card.text and "理由：村两委换届后项目主体撤并" in card.text
    assert "申请调整计划" not in str(card.buttons)
    assert "没有在实施中" in (await secretary.send("/adjust")).text
    listing = await admin.send("/projects 已终止")
    assert "街巷党建项目" in listing.text
    # /history and the ledger keep the months it owed (January to October), no more.
    clock.now = at("2026-11-26 10:00")
    history = await secretary.send("/history")
    assert "2026 年 10 月：" in history.text and "2026 年 11 月" not in history.text
    await admin.send("/ledger 2026")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert doc.upload is not None
    sheet = load_workbook(io.BytesIO(doc.upload[1]))["年度汇总"]
    header = [c.value for c in sheet[2]]
    [row] = [dict(zip(header, (c.value for c in r), strict=True))
             for r in sheet.iter_rows(min_row=3) if r[0].value == "2026-001"]  # fmt: skip
    assert (row["项目状态"], row["应报(月)"], row["10月"], row["11月"]) == (
        "已终止", 10, "未报", "已终止")  # fmt: skip


async def sent_at(bench: Bench, when: str) -> list:
    since = len(bench.api.calls)
    await run_tick(bench.app, at(when))
    return [c for c in bench.api.sent(SECRETARY, since=since)]


async def test_the_rebuild_keeps_every_row_that_references_a_project(tmp_path: Path) -> None:
    """0019 rebuilds `projects`: the rows of the tables that cascade from it survive."""
    path = tmp_path / "old.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    raw.execute("PRAGMA foreign_keys = ON")
    for number, _, sql in migrations()[:18]:
        for statement in _statements(sql):
            raw.execute(statement)
        raw.execute(f"PRAGMA user_version = {number}")
    stamp = "2026-01-01T00:00:00+00:00"
    raw.execute("INSERT INTO orgs (id, code, name, kind, created_at, updated_at) "
                "VALUES (1, 'WH01', '护国', '党工委', ?, ?)", (stamp, stamp))  # fmt: skip
    raw.execute("INSERT INTO projects (id, org_id, status, created_by, created_at, updated_at) "
                "VALUES (1, 1, 'approved', 1, ?, ?)", (stamp, stamp))  # fmt: skip
    raw.execute("INSERT INTO milestones (project_id, position, month, content) "
                "VALUES (1, 1, '2026-03', '启动')")  # fmt: skip
    raw.execute("INSERT INTO project_reviews (project_id, action, round, by_user, at) "
                "VALUES (1, 'approve', 1, 1, ?)", (stamp,))  # fmt: skip
    raw.close()
    db = await Database.open(path)
    try:
        assert await db.version() == len(migrations())
        assert len(await projects.milestones(db, 1)) == 1
        assert len(await projects.reviews(db, 1)) == 1
        row = await db.read("PRAGMA foreign_keys")
        assert row is not None and row[0] == 1
    finally:
        await db.close()


async def test_answers_are_bound_to_their_questions(bench: Bench, clock: Clock) -> None:
    """An edited reason replaces it; a stranger has nothing to adjust."""
    await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    assert "只有已绑定的书记" in (await bench.user(4001, "路人").send("/adjust")).text
    secretary = bench.user(SECRETARY, "李娜")
    await expect_dialogue(secretary, [
        ("/adjust", "第 1/4 步：<b>调整原因</b>"),
        (REASON, "请核对调整申请"),
    ])  # fmt: skip
    edited = await secretary.edit("受征地进度影响，第二批街巷整治要推迟半年。")
    assert "已按你修改后的消息更新“调整原因”" in edited.text
    assert "要推迟半年" in edited.text and "请核对调整申请" in edited.text
    # A photo at the preview: the buttons there still work.
    assert "请用下面的按钮操作" in (await secretary.send_media("photo")).text
    await expect_dialogue(secretary, [
        (Press("✏️ 修改某项"), "要修改哪一项？"),
        (Press("预期目标"), "第 2/4 步：<b>预期目标</b>"),
        ("按期完成", "要“可量化”"),
        ("年内整治背街小巷 10 条，群众满意率达到 90% 以上。", "原为：目标 10 个"),
        (Press("✅ 提交"), "调整申请已提交"),
    ])  # fmt: skip


async def test_a_milestone_ticked_while_the_request_waits_stays_done_once(
    bench: Bench, clock: Clock
) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    db = bench.app.bot_data.db
    async with db.transaction() as conn:  # the July report ticks 完成首批街巷整治 meanwhile
        await conn.execute("UPDATE milestones SET done_month = '2026-07' WHERE position = 2")
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.press("✅ 同意调整", admin.last_bot_message(with_button="✅ 同意调整"))
    marks = [(m.content, m.done_month) for m in await projects.milestones(db, pid)]
    assert [c for c, _ in marks].count("完成首批街巷整治") == 1, marks
    assert ("完成首批街巷整治", "2026-07") in marks


async def test_an_approved_change_keeps_the_ids_a_draft_ticked(bench: Bench, clock: Clock) -> None:
    pid = await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    await ask_for_later_end(bench)
    db = bench.app.bot_data.db
    before = {m.content: m.id for m in await projects.milestones(db, pid)}
    # Another project's milestones come after: new rows would get other ids.
    await seed_project(db, "WH02", 1002, clock(), name="另一个项目",
                       milestones=[("2026-09", "别的节点")])  # fmt: skip
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.press("✅ 同意调整", admin.last_bot_message(with_button="✅ 同意调整"))
    after = {m.content: (m.id, m.month) for m in await projects.milestones(db, pid)}
    assert after["完成首批街巷整治"] == (before["完成首批街巷整治"], "2026-12")
    assert after["全部整治完成"] == (before["全部整治完成"], "2027-06")


async def test_bad_input_at_the_reason_and_at_terminate_loses_nothing(
    bench: Bench, clock: Clock
) -> None:
    """A sticker or 5,000 characters at 调整原因: a clear reply, the question stays open;
    markup is kept as typed and shown escaped. /terminate names the real length."""
    await project(bench, clock)
    clock.now = at("2026-07-10 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    assert "第 1/4 步" in (await secretary.send("/adjust")).text
    sticker = await secretary.send_media("sticker")
    assert sticker.text and "请核对调整申请" not in sticker.text
    too_long = await secretary.send("因" * 5000)
    assert "500" in too_long.text and "请核对调整申请" not in too_long.text
    marked = "<b>征地</b>进度受影响，第二批街巷整治无法按期完成。"
    preview = await secretary.send(marked)
    assert "请核对调整申请" in preview.text
    shown = bench.api.sent(SECRETARY)[-1].params["text"]
    assert "&lt;b&gt;征地&lt;/b&gt;" in shown and "<b>征地</b>" not in shown
    change = await plans.change(bench.app.bot_data.db, 1)
    assert change is not None and change.reason == marked
    admin = bench.user(ADMIN_ID, "组织部小王")
    refused = await admin.send("/terminate 2026-001 " + "撤" * 2000)
    assert "2000" in refused.text
    kept = await projects.get(bench.app.bot_data.db, 1)
    assert kept is not None and kept.status == "approved"


def ledger_sheet(bench: Bench, sheet: str) -> list[dict[str, object]]:
    """The rows of a sheet of the latest ledger the admin got, by header."""
    doc = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID][-1]
    assert doc.upload is not None
    rows = load_workbook(io.BytesIO(doc.upload[1]))[sheet]
    header = [c.value for c in rows[2]]
    return [dict(zip(header, (c.value for c in r), strict=True))
            for r in rows.iter_rows(min_row=3)]  # fmt: skip


async def test_a_terminated_project_counts_for_the_months_before_it_ended(
    bench: Bench, clock: Clock
) -> None:
    """Digests of a month before the termination month are built from what the project was
    then: /digest, the 双月调度 summary, the quarter's comparison, the ledger's month,
    /evidence; the termination month counts only a report filed for it."""
    pid = await project(bench, clock)
    db = bench.app.bot_data.db
    for month in ("09", "10"):
        await seed_report(db, pid, f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=60 + int(month))  # fmt: skip
    async with db.transaction() as conn:  # October's report came with a photo
        await conn.execute("UPDATE report_versions SET files = ? WHERE report_id = "
                           "(SELECT id FROM reports WHERE period = '2026-10')",
                           ('[["photo", "PHOTO-10", "U10", false]]',))  # fmt: skip
    await seed_report(db, pid, "2026-11", at("2026-11-02 09:00"), completion=75)
    clock.now = at("2026-11-02 10:00")
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "已终止" in (await admin.send("/terminate 2026-001 项目主体撤并")).text
    clock.now = at("2027-01-06 10:00")
    october = (await admin.send("/digest 2026-10")).text
    assert "应报 1，按时 1" in october
    november = (await admin.send("/digest 2026-11")).text  # filed before it ended: kept
    assert "应报 1，按时 1" in november
    assert "应报 0" in (await admin.send("/digest 2026-12")).text
    cal = bench.app.bot_data.calendar
    dispatch = await digest.dispatch_summary(db, cal, Month(2026, 10), clock())
    assert [(ln.project.id, ln.states) for ln in dispatch.lines] == [(pid, ("on_time", "on_time"))]
    later = await digest.dispatch_summary(db, cal, Month(2026, 12), clock())
    assert [ln.states for ln in later.lines] == [("on_time", "not_due")]
    # The fourth quarter's comparison, sent by the clock in January, counts October and
    # November (filed), not December.
    await groups.bind_group(db, -5001, "全区", ADMIN_ID, None, clock())
    when = due_time(cal, Quarter(2026, 4), bench.app.bot_data.clock_config.remind_at)
    await run_tick(bench.app, when)
    [text] = [c.text for c in bench.api.sent(-5001) if "季度互比" in c.text]
    assert "护国街道党工委：报送率 100%，按时率 100%" in text
    await admin.send("/ledger 2026-10")
    assert [r["项目编号"] for r in ledger_sheet(bench, "月报台账")] == ["2026-001"]
    await admin.send("/ledger 2026")
    [row] = ledger_sheet(bench, "年度汇总")
    assert (row["应报(月)"], row["11月"], row["12月"]) == (11, 0.75, "已终止")
    assert "2026 年 11 月：✅ 按时" in (await admin.send("/history 2026-001")).text
    replies = await admin.send("/evidence 2026-001 2026-10")
    assert "找不到" not in replies.text
    assert any(c.params.get("photo") == "PHOTO-10" for c in bench.api.methods("sendPhoto"))


async def test_a_project_closed_early_counts_until_its_closing_is_accepted(
    bench: Bench, clock: Clock
) -> None:
    """结题 accepted in October (closed early): September's bulletin, rebuilt later, still
    counts it; from October, without a report for it, nothing is owed."""
    pid = await project(bench, clock)
    db = bench.app.bot_data.db
    await seed_report(db, pid, "2026-09", at("2026-09-21 10:00"), completion=100)
    clock.now = at("2026-10-09 10:00")
    admin, secretary = bench.user(ADMIN_ID, "组织部小王"), bench.user(SECRETARY, "李娜")
    await admin.send("/close_early 2026-001 目标已于 9 月全部完成")
    await file_closing_report(secretary)
    assert "项目已结题" in (await admin.press("✅ 通过结题")).text
    assert (await projects.get(db, pid)).status == "concluded"  # type: ignore[union-attr]
    clock.now = at("2026-12-02 10:00")
    assert "应报 1，按时 1" in (await admin.send("/digest 2026-09")).text
    assert "应报 0" in (await admin.send("/digest 2026-10")).text
    await admin.send("/ledger 2026")
    [row] = ledger_sheet(bench, "年度汇总")
    assert (row["项目状态"], row["应报(月)"], row["10月"], row["11月"]) == (
        "已结题", 9, "已结题", "已结题")  # fmt: skip


async def test_a_dispatch_before_a_change_counts_the_milestones_it_had(
    bench: Bench, clock: Clock
) -> None:
    """双月调度 of May–June, built after July's 调整 added a milestone and moved the end: its
    milestones done and open, and its months left, are those of the plan in force in June."""
    pid = await project(bench, clock)
    db = bench.app.bot_data.db
    await seed_report(db, pid, "2026-05", at("2026-05-21 10:00"), completion=30,
                      tick=[m.id for m in await projects.milestones(db, pid)
                            if m.content == "完成首批街巷整治"])  # fmt: skip
    clock.now = at("2026-07-10 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await expect_dialogue(secretary, [
        ("/adjust", "第 1/4 步：<b>调整原因</b>"),
        (REASON, "请核对调整申请"),
        (Press("✏️ 修改某项"), "要修改哪一项？"),
        (Press("结束月份"), "第 3/4 步：<b>结束月份</b>"),
        ("2027-06", "请核对调整申请"),
        (Press("✏️ 修改某项"), "要修改哪一项？"),
        (Press("进度安排"), "第 4/4 步"),
        ("2026-10 建立长效管护机制\n2027-03 第二批街巷整治\n2027-06 全部整治完成",
         "请核对调整申请"),
        (Press("✅ 提交"), "调整申请已提交"),
    ])  # fmt: skip
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "从 2026-07 起" in (await admin.press("✅ 同意调整")).text
    assert len(await projects.milestones(db, pid)) == 5  # 2 done, 3 open now
    cal = bench.app.bot_data.calendar
    june = await digest.dispatch_summary(db, cal, Month(2026, 6), clock())
    [line] = june.lines
    # Then: May's milestone done in the two months, December's the only one open.
    assert (line.milestones_done, line.milestones_open) == (1, 1)
    assert digest.months_left(line, Month(2026, 6)) == 6  # July to December 2026
    august = await digest.dispatch_summary(db, cal, Month(2026, 8), clock())
    assert (august.lines[0].milestones_done, august.lines[0].milestones_open) == (0, 3)


async def test_a_quarter_keeps_the_pace_of_a_project_that_reported_its_last_month(
    bench: Bench, clock: Clock
) -> None:
    """Terminated in December after filing December's report: the fourth quarter's comparison
    counts it against its pace, as it counts the report (`ran_in`)."""
    pid = await project(bench, clock)
    db = bench.app.bot_data.db
    for month, pct in (("10", 70), ("11", 80), ("12", 90)):
        await seed_report(db, pid, f"2026-{month}", at(f"2026-{month}-21 10:00"),
                          completion=pct)  # fmt: skip
    clock.now = at("2026-12-22 10:00")
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "已终止" in (await admin.send("/terminate 2026-001 项目主体撤并")).text
    state = bench.app.bot_data
    await groups.bind_group(db, -5001, "全区", ADMIN_ID, None, clock())
    await run_tick(bench.app, due_time(state.calendar, Quarter(2026, 4),
                                       state.clock_config.remind_at))  # fmt: skip
    [text] = [c.text for c in bench.api.sent(-5001) if "季度互比" in c.text]
    # December: 90 % against a pace of 100 %.
    assert "报送率 100%，按时率 100%，完成度平均落后计划 10 个百分点" in text

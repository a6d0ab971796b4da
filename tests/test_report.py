"""单月报告 through the real Application: every step, versions, late flags, reopen, bad input."""

from __future__ import annotations

from datetime import datetime

import pytest

from storage import dialogs, projects, reports
from tests.conftest import ADMIN_ID, SHANGHAI, BotHarness, Clock
from tests.projects_helpers import approved_project, declare, report_step
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue

MARCH_21 = datetime(2027, 3, 21, 10, 0, tzinfo=SHANGHAI)
FIRST_MILESTONE = "⬜ 2027-03 建成党群服务中心"


async def report_row(bench: Bench, period: str = "2027-03", project_id: int = 1):
    return await reports.of_period(bench.app.bot_data.db, project_id, period)


async def file_march(secretary: TgUser, completion: str = "30%", plan: str = "完成剩余街巷整治",
                     tick: bool = True, opener: str | Press = "/report") -> None:  # fmt: skip
    """The happy path: a full report in as few exchanges as the bot allows."""
    script: list = [
        (opener, f"{report_step('progress')}：本月主要进展"),
        ("完成文林街整治，召开议事会两次", f"{report_step('milestones')}：完成节点"),
    ]
    if tick:
        script.append((Press(FIRST_MILESTONE), "✅ 2027-03　建成党群服务中心"))
    script += [
        (Press("下一步 ›"), f"{report_step('completion')}：完成度"),
        (Press(completion), f"{report_step('problems')}：存在问题和困难"),
        (Press("无"), f"{report_step('plan')}：下月工作计划"),
        (plan, f"{report_step('files')}：佐证材料"),
        (Press("跳过"), "请核对 2027 年 3 月月报"),
        (Press("✅ 提交"), "月报已提交"),
    ]
    await expect_dialogue(secretary, script)


@pytest.fixture
async def secretary(bench: Bench, clock: Clock) -> TgUser:
    """A secretary whose project 2027-001 (2027-01..12) is approved; it is 2027-03-21."""
    user = await approved_project(bench)
    clock.now = MARCH_21
    return user


async def test_happy_path_in_under_ten_exchanges_with_a_receipt(
    bench: Bench, secretary: TgUser
) -> None:
    before = len([c for c in bench.api.calls if c.method in ("sendMessage",)])
    await file_march(secretary)
    receipt = bench.api.sent(secretary.id)[-1].text
    assert receipt == (
        "✅ <b>月报已提交</b>\n项目：南强街巷街区党建项目（2027-001）\n期间：2027 年 3 月\n"
        "提交时间：2027-03-21 10:00（第 1 版）\n状态：按时（截止 2027-03-25）\n"
        "可修改至 2027-04-19：再次发送 /report 即可。"
    )
    exchanges = len([c for c in bench.api.calls if c.method == "sendMessage"]) - before
    assert exchanges <= 9  # one answer from the bot per thing the secretary did
    r = await report_row(bench)
    assert r is not None and (r.version, r.on_time, r.completion, r.problems) == (1, True, 30, "无")
    [m1, *_] = await projects.milestones(bench.app.bot_data.db, 1)
    assert m1.done_month == "2027-03"
    versions = await reports.versions(bench.app.bot_data.db, r.id)
    assert [(v.version, v.progress, v.on_time) for v in versions] == [
        (1, "完成文林街整治，召开议事会两次", True)
    ]


async def test_last_months_plan_is_shown_and_late_is_computed(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary, plan="四月开展满意度调查")
    clock.now = datetime(2027, 4, 27, 9, 0, tzinfo=SHANGHAI)  # due 2027-04-26 (25th a Sunday)
    replies = await secretary.send("/report")
    assert "上月计划：四月开展满意度调查" in replies.text
    # Late from the first message, not only at 提交.
    assert "截止日 2027-04-26 已过，现在提交记为<b>逾期</b>" in replies.text
    await expect_dialogue(
        secretary,
        [
            ("开展满意度调查，回收问卷 300 份", "上月完成度：30%"),
            (
                "60",
                f"{report_step('problems', milestones=False)}：存在问题和困难",
            ),  # no milestone left open for April
            ("经费不足", report_step("plan", milestones=False)),
            ("五月全面完成", "佐证材料"),
            (Press("跳过"), "请核对"),
            (Press("✅ 提交"), "状态：逾期（截止 2027-04-26）"),
        ],
    )
    april = await report_row(bench, "2027-04")
    assert april is not None and april.on_time is False


async def test_period_not_yet_open_says_when_it_opens(bench: Bench, clock: Clock) -> None:
    secretary = await approved_project(bench)  # starts 2027-01; it is 2026-11-21
    replies = await secretary.send("/report")
    assert "第一期月报 2027-01-20 开放填写" in replies.text
    clock.now = datetime(2027, 1, 19, 23, 0, tzinfo=SHANGHAI)
    assert "2027-01-20 开放填写" in (await secretary.send("/report")).text
    clock.now = datetime(2027, 1, 20, 8, 0, tzinfo=SHANGHAI)
    assert "开始填写 2027 年 1 月月报" in (await secretary.send("/report")).text


async def test_not_approved_projects_are_refused(bench: Bench) -> None:
    from tests.projects_helpers import bound_secretary

    secretary = await bound_secretary(bench)
    assert "还没有立项的书记项目" in (await secretary.send("/report")).text
    await declare(secretary)
    assert "还没有立项，立项后才需要每月报告" in (await secretary.send("/report")).text
    for who in (bench.user(5555), bench.user(ADMIN_ID)):
        assert "只有已绑定组织的书记" in (await who.send("/report")).text


async def test_edit_before_close_keeps_every_version(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary)
    clock.now = datetime(2027, 3, 30, 9, 0, tzinfo=SHANGHAI)  # after the due date, still open
    await expect_dialogue(
        secretary,
        [
            ("/report", "已于 2027-03-21 10:00 提交（按时，第 1 版）"),
            (Press("✏️ 修改本月报告"), "请核对"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("完成度"), "当前：30%"),
            ("40%", lambda r: "请核对" in r.text and "<b>完成度：</b>40%" in r.text),
            (Press("✅ 提交"), "第 2 版"),
        ],
    )
    receipt = bench.api.sent(secretary.id)[-1].text
    assert "状态：按时（以首次提交为准" in receipt
    r = await report_row(bench)
    assert r is not None and (r.version, r.completion, r.on_time) == (2, 40, True)
    versions = await reports.versions(bench.app.bot_data.db, r.id)
    assert [(v.completion, v.on_time) for v in versions] == [(30, True), (40, False)]


async def test_after_close_only_an_admin_reopens(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary)
    clock.now = datetime(2027, 4, 21, 9, 0, tzinfo=SHANGHAI)  # March closed on 04-20
    # the old edit button no longer works
    old = await secretary.press_data("p:1:-:edit_submitted:")
    assert "已截止" in old.text
    admin = bench.user(ADMIN_ID)
    await expect_dialogue(
        admin,
        [
            ("/reopen", "用法：/reopen 项目编号 期间"),
            ("/reopen 2027-999 2027-03", "找不到这个项目"),
            ("/reopen 2027-001 三月", "没有看懂期间"),
            ("/reopen 2027-001 2028-01", "不在项目“南强街巷街区党建项目”的起止时间"),
            ("/reopen 2027-001 2027-04", "尚未截止"),
            (
                "/reopen 2027-001 2027-03",
                "重新开放 2027 年 3 月月报，2027-04-28 09:00 前可补报或修改，已通知书记",
            ),
        ],
    )
    notice = bench.api.sent(secretary.id)[-1]
    assert "组织部已为“南强街巷街区党建项目”重新开放" in notice.text
    await expect_dialogue(
        secretary,
        [
            (Press("📝 填写月报"), "管理员已重新开放本期"),
            (Press("✏️ 修改本月报告"), "请核对 2027 年 3 月月报"),
            (Press("✅ 提交"), "第 2 版"),
            # the reopening ends with the new version: /report is April's again
            ("/report", "开始填写 2027 年 4 月月报"),
        ],
    )
    assert "仅限管理员" in (await secretary.send("/reopen 2027-001 2027-03")).text


async def test_a_missed_month_filed_after_reopening_is_late(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    clock.now = datetime(2027, 4, 21, 9, 0, tzinfo=SHANGHAI)
    await bench.user(ADMIN_ID).send("/reopen 2027-001 2027-03")
    # April is open and March reopened: /report offers both; the notice's button is March's
    assert "现在有 2 期月报可以填写" in (await secretary.send("/report")).text
    assert "开始填写 2027 年 4 月月报" in (await secretary.press("2027 年 4 月（本期）")).text
    await secretary.send("取消")
    await file_march(secretary, opener=Press("📝 填写月报"))
    r = await report_row(bench)
    assert r is not None and r.on_time is False
    assert "本次补报/修改已完成" in bench.api.sent(secretary.id)[-1].text


async def test_restart_mid_report_resumes(harness: BotHarness, bench: Bench,
                                          secretary: TgUser) -> None:  # fmt: skip
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    await secretary.press(FIRST_MILESTONE)
    bench = await harness.restart()
    secretary = bench.user(secretary.id, "李娜")
    replies = await secretary.send("/report")
    assert (
        "继续填写 2027 年 3 月月报" in replies.text
        and f"{report_step('milestones')}：完成节点" in replies.text
    )
    assert "✅ 2027-03　建成党群服务中心" in replies.text  # the tick survived
    await secretary.press("下一步 ›")
    bench = await harness.restart()
    secretary = bench.user(secretary.id, "李娜")
    assert report_step("problems") in (await secretary.send("50")).text


async def test_choice_between_two_projects(bench: Bench, secretary: TgUser, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
    await declare(secretary, name="第二个项目")
    await bench.user(ADMIN_ID).press("✅ 立项")
    clock.now = MARCH_21
    replies = await secretary.send("/report")
    assert "你有多个书记项目" in replies.text
    assert [b for b, _ in replies.buttons] == ["南强街巷街区党建项目", "第二个项目"]
    replies = await secretary.press("第二个项目")
    assert "项目：第二个项目（2027-002）" in replies.text
    forged = await secretary.press_data("p:0:-:pick:99")
    assert "已失效" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    assert report_step("progress") in forged.text  # shows where the secretary is


async def test_milestone_toggles_and_unticking_in_an_edit(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary)
    clock.now = datetime(2027, 3, 28, 9, 0, tzinfo=SHANGHAI)
    await secretary.send("/report")
    await secretary.press("✏️ 修改本月报告")
    await secretary.press("✏️ 修改某项")
    await secretary.press("完成节点")
    replies = await secretary.press("✅ 2027-03 建成党群服务中心")  # untick
    assert "⬜ 2027-03　建成党群服务中心" in replies.text
    assert replies[0].method == "editMessageText"  # redrawn in place
    await secretary.press("下一步 ›")
    await secretary.press("✅ 提交")
    [m1, *_] = await projects.milestones(bench.app.bot_data.db, 1)
    assert m1.done_month is None


async def test_done_and_future_milestones_are_not_offered(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary)
    clock.now = datetime(2027, 6, 21, 9, 0, tzinfo=SHANGHAI)
    await secretary.send("/report")
    await secretary.send("六月进展顺利推进")
    text = bench.api.sent(secretary.id)[-1].text
    assert "2027-06　完成首批 6 条街巷整治" in text
    assert "建成党群服务中心" not in text  # done in March
    assert "全部整治完成" not in text  # due in December


async def test_completion_input_and_a_reason_when_it_goes_down(
    bench: Bench, secretary: TgUser, clock: Clock
) -> None:
    await file_march(secretary, completion="50%")
    clock.now = datetime(2027, 4, 21, 9, 0, tzinfo=SHANGHAI)
    await expect_dialogue(
        secretary,
        [
            ("/report", report_step("progress", milestones=False)),
            ("四月推进了议事会", "完成度"),
            ("120", "0 到 100 之间的整数"),
            ("很多", "0 到 100 之间的整数"),
            ("-5", "0 到 100 之间的整数"),
            ("４０％", "本月完成度 40% 低于上月的 50%，请说明原因"),
            ("原定场地改建", "存在问题和困难"),
            ("上一步", "完成度下降的原因"),
            ("上一步", f"{report_step('completion', milestones=False, reason=True)}：完成度"),
            (Press("60%"), "存在问题和困难"),  # no longer lower: no reason asked
        ],
    )
    r = await report_row(bench, "2027-04")
    assert r is not None and r.completion == 60


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document", "location"])
async def test_non_text_at_a_text_step(bench: Bench, secretary: TgUser, kind: str) -> None:
    await secretary.send("/report")
    replies = await secretary.send_media(kind)
    assert "这一步需要文字回答" in replies.text and report_step("progress") in replies.text
    r = await report_row(bench)
    assert r is not None and r.progress is None
    assert await reports.files(bench.app.bot_data.db, r.id) == []


async def test_text_limits_and_markup(bench: Bench, secretary: TgUser) -> None:
    await secretary.send("/report")
    assert "最多 1000 字，你发了 1001 字" in (await secretary.send("进" * 1001)).text
    assert "至少 5 个字" in (await secretary.send("好")).text
    await secretary.send("<b>进展</b> & {{ x }} 完成")
    r = await report_row(bench)
    assert r is not None and r.progress == "<b>进展</b> & {{ x }} 完成"


async def test_evidence_files(bench: Bench, secretary: TgUser) -> None:
    await secretary.send("/report")
    for answer in ("完成文林街整治，召开议事会两次", "下一步", "30", "无", "完成剩余街巷整治"):
        await secretary.send(answer)
    assert "发送照片或文件" in (await secretary.send("我没有照片")).text
    assert "发送照片或文件" in (await secretary.send_media("sticker")).text
    assert "已收到第 1 份" in (await secretary.send_media("photo")).text
    assert "已经收到过了" in (await secretary.send_media("photo")).text
    assert "已收到第 2 份" in (await secretary.send_media("document")).text
    r = await report_row(bench)
    assert r is not None
    db = bench.app.bot_data.db
    async with db.transaction() as conn:
        for i in range(7):
            await reports.add_file(
                conn, r.id, "photo", f"f{i}", f"u{i}", "2027-03-21T02:00:00+00:00"
            )
    replies = await secretary.send_media("video")
    assert "发送照片或文件" in replies.text
    # the tenth file is refused
    from tests.standin import dialogue

    dialogue.MEDIA["photo2"] = {"photo": [{"file_id": "X", "file_unique_id": "x10", "width": 1,
                                           "height": 1}]}  # fmt: skip
    try:
        assert "最多 9 份，已经收满了" in (await secretary.send_media("photo2")).text
    finally:
        del dialogue.MEDIA["photo2"]
    await secretary.press("✅ 完成")
    await secretary.press("✅ 提交")
    [version] = await reports.versions(db, r.id)
    assert len(version.files) == 9 and version.files[0] == ("photo", "AgPhoto1", 0)


async def test_stale_and_foreign_buttons_change_nothing(bench: Bench, secretary: TgUser) -> None:
    from tests.projects_helpers import approved_project as other_project

    await secretary.send("/report")
    first_question = secretary.last_bot_message(with_button="✖️ 取消")
    await secretary.send("完成文林街整治，召开议事会两次")
    await secretary.press("✖️ 取消", first_question)  # an old step's button
    d = await dialogs.get(bench.app.bot_data.db, secretary.id)
    assert d is not None and d.step == "milestones"
    for forged in ("p:1:milestones:toggle:99", "p:1:completion:pct:500", "p:7:progress:back:",
                   "p:1:milestones:submit:", "p:x"):  # fmt: skip
        await secretary.press_data(forged)
    r = await report_row(bench)
    assert r is not None and r.milestones_done == [] and r.completion is None
    # another secretary pressing this report's buttons
    bob = await other_project(bench, "WH02", 1002)
    await bob.press_data("p:1:milestones:next:", secretary.last_bot_message())
    assert (await report_row(bench)).milestones_set is False  # type: ignore[union-attr]


async def test_admin_sees_who_reported(bench: Bench, secretary: TgUser, clock: Clock) -> None:
    clock.now = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
    bob = await approved_project(bench, "WH02", 1002)
    carol = await approved_project(bench, "WH03", 1003)
    clock.now = MARCH_21
    await file_march(secretary)
    await carol.send("/report")  # started, not submitted
    clock.now = datetime(2027, 3, 27, 9, 0, tzinfo=SHANGHAI)
    await expect_dialogue(
        bob,
        [("/report", report_step("progress"))],
    )
    for answer in ("迟交的进展情况说明", "下一步", "30", "无", "四月计划"):
        await bob.send(answer)
    await bob.press("跳过")
    await bob.press("✅ 提交")
    text = (await bench.user(ADMIN_ID).send("/reports 2027-03")).text
    assert "应报 3，已报 2（按时 1，逾期 1），未报 0，填写中 1，免报 0" in text
    # only those to chase are named, a line per sub-organization; on time ones are counted
    assert "大观街道党工委：逾期 1" in text and "华山街道党工委：填写中 1" in text
    assert "护国街道党工委" not in text
    assert "没有看懂“abc”" in (await bench.user(ADMIN_ID).send("/reports abc")).text
    assert "仅限管理员" in (await secretary.send("/reports")).text


NONE_ANSWERS = [
    "没有问题。", "暂无问题", "目前没有！", "无困难和需求", "N/A", "没问题", "目前暂无",
    "暂无问题和困难", "没什么问题", "一切正常", "暂时无", "無", "无，一切正常", "ＮＯ",
]  # fmt: skip
# Real problems worded with 无 or 没有: only a whole answer of "none" is 无.
PROBLEMS_WITH_NO = ["无法协调资金", "没有资金", "暂无资金来源。", "没有场地，无法开展"]


@pytest.mark.parametrize(
    ("answer", "stored"), [*((a, "无") for a in NONE_ANSWERS), *((a, a) for a in PROBLEMS_WITH_NO)]
)
async def test_ways_of_saying_none_are_no_problem_and_problems_stay(
    bench: Bench, secretary: TgUser, answer: str, stored: str
) -> None:
    """存在问题 answered "none" in other words is 无, never listed in the 问题清单; a problem
    that merely starts with 无 or 没有 is kept as written."""
    await secretary.send("/report")
    for text in ("完成文林街整治，召开议事会两次", "下一步", "30", answer):
        await secretary.send(text)
    r = await report_row(bench)
    assert r is not None and r.problems == stored


async def test_none_in_other_words_skips_the_files_step(bench: Bench, secretary: TgUser) -> None:
    """The same ways of saying "none" finish the 佐证材料 step, as 跳过 does."""
    await secretary.send("/report")
    for text in ("完成文林街整治，召开议事会两次", "下一步", "30", "无", "完成剩余街巷整治"):
        await secretary.send(text)
    assert "提交" in str((await secretary.send("暂时没有。")).buttons)
    r = await report_row(bench)
    assert r is not None and r.files_set


@pytest.mark.parametrize("typed", ["⬅️ 上一步", "上一步"])
async def test_a_typed_back_label_acts_as_the_button(
    bench: Bench, secretary: TgUser, typed: str
) -> None:
    """Typing (or pasting) the button's label goes back; it is never stored as an answer."""
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    assert report_step("progress") in (await secretary.send(typed)).text
    r = await report_row(bench)
    assert r is not None and r.progress == "完成文林街整治，召开议事会两次"


async def test_completion_is_asked_as_the_whole_projects(secretary: TgUser) -> None:
    """完成度 is cumulative: the prompt says so, so no one answers with this month's share."""
    await secretary.send("/report")
    await secretary.send("完成文林街整治，召开议事会两次")
    text = (await secretary.send("下一步")).text
    assert f"{report_step('completion')}：完成度" in text and "整个项目累计" in text


async def test_examples_fit_the_organization(bench: Bench, secretary: TgUser) -> None:
    """A village is not asked about city streets: the examples follow the organization."""
    async with bench.app.bot_data.db.transaction() as conn:
        await conn.execute("UPDATE orgs SET name = '张家村党支部' WHERE code = 'WH01'")
    text = (await secretary.send("/report")).text
    assert "村道硬化" in text and "文林街" not in text
    for answer in ("完成村道硬化 1 公里", "下一步", "30", "无"):
        text = (await secretary.send(answer)).text
    assert report_step("plan") in text and "村民满意度调查" in text and "街巷" not in text


async def test_typing_at_the_preview_sends_no_second_live_submit(
    bench: Bench, secretary: TgUser
) -> None:
    """Text typed at the preview gets a pointer to the preview's buttons, not a second
    preview with a second 提交."""
    await secretary.send("/report")
    for text in (
        "完成文林街整治，召开议事会两次",
        "下一步",
        "30",
        "无",
        "完成剩余街巷整治",
        "跳过",
    ):
        await secretary.send(text)
    before = len(bench.api.sent(secretary.id))
    replies = await secretary.send("好的")
    assert len(replies) == 1 and "上面核对消息" in replies.text and replies.buttons == []
    submits = [
        m
        for m in bench.api.sent(secretary.id)
        if any(label == "✅ 提交" and data.startswith("p:") for label, data in m.buttons)
    ]
    assert len(submits) == 1 and before == len(bench.api.sent(secretary.id)) - 1


async def test_a_photo_after_submitting_is_offered_a_way_into_the_report(
    bench: Bench, secretary: TgUser
) -> None:
    """Not "我没有看懂": the photo may be evidence for the report just submitted."""
    await file_march(secretary)
    replies = await secretary.send_media("photo")
    assert "月报已经提交" in replies.text and "没有看懂" not in replies.text
    assert [label for label, _ in replies.buttons] == ["✏️ 修改本月报告"]
    assert "请核对 2027 年 3 月月报" in (await secretary.press("✏️ 修改本月报告")).text


async def test_cancelling_a_change_gives_the_preview_and_its_submit_back(
    bench: Bench, secretary: TgUser
) -> None:
    await expect_dialogue(
        secretary,
        [
            ("/report", "本月主要进展"),
            ("完成文林街整治，召开议事会两次", "完成节点"),
            (Press("下一步 ›"), "完成度"),
            (Press("30%"), "存在问题和困难"),
            (Press("无"), "下月工作计划"),
            ("完成剩余街巷整治", "佐证材料"),
            (Press("跳过"), "请核对"),
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("下月工作计划"), "当前：完成剩余街巷整治"),
            ("/cancel", lambda r: "已放弃这项修改" in r.text and "请核对" in r.text),
        ],
    )
    assert "✅ 提交" in [b for b, _ in secretary.bench.api.sent(secretary.id)[-1].buttons]
    assert "已提交" in (await secretary.press("✅ 提交")).text
    r = await report_row(bench)
    assert r is not None and r.plan == "完成剩余街巷整治"


async def test_giving_up_a_change_of_the_evidence_keeps_the_files_it_had(
    bench: Bench, secretary: TgUser
) -> None:
    """清空重传 and a new file, then 取消: "原来的回答不变" must be true."""
    await expect_dialogue(
        secretary,
        [
            ("/report", "本月主要进展"),
            ("完成文林街整治，召开议事会两次", "完成节点"),
            (Press("下一步 ›"), "完成度"),
            (Press("30%"), "存在问题和困难"),
            (Press("无"), "下月工作计划"),
            ("完成剩余街巷整治", "佐证材料"),
        ],
    )
    await secretary.send_media("photo")
    assert "请核对" in (await secretary.press("✅ 完成")).text
    await secretary.press("✏️ 修改某项")
    await secretary.press("佐证材料")
    await secretary.press("🗑 清空重传")
    await secretary.send_media("document")
    assert "原来的回答不变" in (await secretary.send("取消")).text
    r = await report_row(bench)
    assert r is not None
    assert [f.kind for f in await reports.files(bench.app.bot_data.db, r.id)] == ["photo"]
    assert "已提交" in (await secretary.press("✅ 提交")).text
    [version] = await reports.versions(bench.app.bot_data.db, r.id)
    assert [f[0] for f in version.files] == ["photo"]

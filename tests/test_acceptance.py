"""验收 scoring and 示范项目: reviewers named by admins or invites score 已结题 projects,
admins confirm 已验收 and select 示范项目, announced to the supervisor groups once."""

from __future__ import annotations

import io
import re
from dataclasses import replace

import pytest
from openpyxl import load_workbook

from bot.services.acceptance import Rules, grade_of, weighted
from bot.settings import SettingsError, load_settings
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from storage import acceptance, projects
from storage.rows import ts
from tests.conftest import ADMIN_ID, Clock
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue
from tests.test_invites_and_start import LINK

WH01_SECRETARY, WH02_SECRETARY, REVIEWER, STRANGER = 1001, 1002, 3001, 4001


async def concluded(bench: Bench, clock: Clock, org: str, secretary: int) -> int:
    """A 2026 project of `org`, already 已结题 (set through the storage API: 结题 itself is
    another conversation)."""
    db = bench.app.bot_data.db
    pid = await seed_project(db, org, secretary, clock())
    async with db.transaction() as conn:
        assert await acceptance.mark_concluded(conn, pid, ts(clock()))
    return pid


async def status(bench: Bench, pid: int) -> str:
    project = await projects.get(bench.app.bot_data.db, pid)
    assert project is not None
    return project.status


async def invited_reviewer(bench: Bench, org: str, user_id: int) -> TgUser:
    admin = bench.user(ADMIN_ID, "组织部小王")
    replies = await admin.send(f"/reviewer_invite {org}")
    match = LINK.search(replies.text)
    assert match, replies.text
    reviewer = bench.user(user_id, "评委老张")
    assert "你已成为验收评委" in (await reviewer.send(f"/start {match.group(1)}")).text
    return reviewer


async def score_all(user: TgUser, number: str, values: tuple[str, str, str, str],
                    remark: str = "无") -> str:  # fmt: skip
    """Score a project by typing each value; return the receipt."""
    await user.send(f"/score {number}")
    for value in values:
        await user.send(value)
    await user.send(remark)
    return (await user.press("✅ 提交")).text


def test_weighted_mean_and_grade_bands() -> None:
    rules = Rules()
    assert weighted((90, 85, 80, 75), rules) == pytest.approx(83.5)
    assert [grade_of(s, rules) for s in (95, 90, 89.9, 80, 60, 59.9)] == [
        "excellent", "excellent", "good", "good", "pass", "fail"
    ]  # fmt: skip
    other = Rules((1, 0, 0, 0), (95, 85, 70))
    assert weighted((70, 0, 0, 0), other) == 70 and grade_of(70, other) == "pass"


def test_weights_and_bands_are_settings() -> None:
    env = {"BOT_ACCEPTANCE_WEIGHTS": "40,30,15,15", "BOT_ACCEPTANCE_GRADES": "95,85,70",
           "BOT_MODEL_PROJECTS_MAX": "3"}  # fmt: skip
    settings = load_settings(env)
    assert settings.acceptance_weights == (40, 30, 15, 15)
    assert settings.acceptance_grades == (95, 85, 70)
    assert settings.model_projects_max == 3
    for bad in ({"BOT_ACCEPTANCE_WEIGHTS": "40,30"}, {"BOT_ACCEPTANCE_GRADES": "60,80,90"},
                {"BOT_ACCEPTANCE_WEIGHTS": "0,0,0,0"}):  # fmt: skip
        with pytest.raises(SettingsError):
            load_settings(bad)


async def test_reviewer_scores_by_buttons_and_typing_then_rescores(
    bench: Bench, clock: Clock
) -> None:
    pid = await concluded(bench, clock, "WH01", WH01_SECRETARY)
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "已把" in (await admin.send(f"/reviewer_add {ADMIN_ID}")).text
    assert "已经是验收评委" in (await admin.send(f"/reviewer_add {ADMIN_ID}")).text
    await expect_dialogue(
        admin,
        [
            ("/score", "2026-001 街巷党建项目（护国街道党工委）：未打分"),
            (Press("打分 2026-001"), "第 1/5 步：<b>目标实现率</b>"),
            (Press("90"), "第 2/5 步：<b>群众满意率</b>"),
            ("85分", "第 3/5 步：<b>综合效益</b>"),
            ("一百二", "“一百二”不是 0 到 100 之间的分数"),
            ("101", "不是 0 到 100 之间的分数"),
            (Press("80"), "第 4/5 步"),
            (Press("⬅️ 上一步"), "第 3/5 步"),
            ("80", "第 4/5 步"),
            ("75", "第 5/5 步：<b>评语</b>"),
            ("评" * 301, "评语最多 300 字，你发了 301 字"),
        ],
    )
    # A sticker at the remark: the reason, the remark step again, nothing stored as remark.
    refused = await admin.send_media("sticker")
    assert "贴纸和语音不能作为评分" in refused.text and "第 5/5 步：<b>评语</b>" in refused.text
    draft = await acceptance.draft(bench.app.bot_data.db, pid, ADMIN_ID)
    assert draft is not None and not draft.remark_set and draft.remark is None
    await expect_dialogue(
        admin,
        [
            ("台账完整，群众认可", "你给出的总分是 <b>83.5</b> 分"),
            ("好的", "请按下面的“提交”确认"),
            (Press("✅ 提交"), "已提交对“街巷党建项目”（2026-001）的验收评分，总分 83.5 分"),
        ],
    )
    first_preview = admin.last_bot_message(with_button="90")
    # Scoring twice replaces the first, and says so before and after.
    await admin.send("/score 2026-001")
    for value in ("100", "100", "100"):
        await admin.send(value)
    await admin.send("100")
    preview = await admin.send("无")
    assert "提交后将<b>替换</b>那次的评分" in preview.text
    receipt = (await admin.press("✅ 提交")).text
    assert "替换</b>了你之前提交的评分" in receipt
    given = await acceptance.scores(bench.app.bot_data.db, pid)
    assert [(s.reviewer_id, s.values(), s.remark, s.times) for s in given] == [
        (ADMIN_ID, (100, 100, 100, 100), None, 2)
    ]
    # A button of a finished scoring changes nothing.
    await admin.press("90", first_preview)
    alert = bench.api.methods("answerCallbackQuery")[-1].params
    assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    assert len(await acceptance.scores(bench.app.bot_data.db, pid)) == 1


async def test_strangers_and_own_organization_are_refused(bench: Bench, clock: Clock) -> None:
    own = await concluded(bench, clock, "WH01", WH01_SECRETARY)
    other = await concluded(bench, clock, "WH02", WH02_SECRETARY)
    stranger = bench.user(STRANGER, "路人")
    assert "你不是验收评委" in (await stranger.send("/score")).text
    assert "你不是验收评委" in (await stranger.send("/score 2026-001")).text
    for data in (f"ys:{own}:-:open:", f"ys:{own}:goal:val:100", f"ya:{own}:0:c"):
        await stranger.press_data(data)
        alert = bench.api.methods("answerCallbackQuery")[-1].params
        assert alert["show_alert"] is True, data
    secretary = bench.user(WH01_SECRETARY)
    await secretary.send("/help")
    await secretary.press_data(f"ya:{own}:0:c")
    assert "只有管理员可以确认验收" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    assert "仅限管理员" in (await stranger.send("/reviewer_add 4001")).text
    # A reviewer of WH01 (invited for it) sees only the other project and may not score their own.
    reviewer = await invited_reviewer(bench, "WH01", REVIEWER)
    listing = await reviewer.send("/score")
    assert "2026-002" in listing.text and "2026-001" not in listing.text
    assert "按规定评委不给本单位的项目打分" in (await reviewer.send("/score 2026-001")).text
    await reviewer.press_data(f"ys:{own}:-:open:")
    assert "按规定评委不给本单位的项目打分" in bench.api.sent(REVIEWER)[-1].text
    db = bench.app.bot_data.db
    assert await acceptance.scores(db, own) == []
    assert "已提交" in await score_all(reviewer, "2026-002", ("80", "80", "80", "80"))
    assert [s.reviewer_id for s in await acceptance.scores(db, other)] == [REVIEWER]
    # A used invite makes no second reviewer.
    admin = bench.user(ADMIN_ID)
    link = LINK.search((await admin.send("/reviewer_invite")).text)
    assert link is not None
    assert "你已成为验收评委" in (await bench.user(4100).send(f"/start {link.group(1)}")).text
    assert "已经用过" in (await bench.user(4200).send(f"/start {link.group(1)}")).text
    assert "你不是验收评委" in (await bench.user(4200).send("/score")).text
    # Dropped, a reviewer can no longer score.
    assert "已取消" in (await admin.send(f"/reviewer_drop {REVIEWER}")).text
    assert "你不是验收评委" in (await reviewer.send("/score 2026-002")).text


async def test_accept_confirms_the_weighted_mean_and_locks_scores(
    bench: Bench, clock: Clock
) -> None:
    pid = await concluded(bench, clock, "WH01", WH01_SECRETARY)
    admin = bench.user(ADMIN_ID, "组织部小王")
    assert "还没有评委打分" in (await admin.send("/accept 2026-001")).text
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    reviewer = await invited_reviewer(bench, "WH03", REVIEWER)
    await score_all(admin, "2026-001", ("90", "90", "90", "90"))
    shown = await admin.send("/accept 2026-001")
    assert "1 位评委的平均分：<b>90.0</b> 分，等次：<b>优秀</b>" in shown.text
    stale_confirm = admin.last_bot_message(with_button="✅ 确认验收")
    await score_all(reviewer, "2026-001", ("70", "70", "70", "70"), "建议补充群众评议材料")
    # A reviewer scored since the figures were shown: the old button is stale.
    answer = await admin.press("✅ 确认验收", stale_confirm)
    assert "评分或项目状态已有变化" in answer.text and "<b>80.0</b>" in answer.text
    assert await status(bench, pid) == "concluded"
    await admin.send("/accept 2026-001")
    done = await admin.press("✅ 确认验收")
    assert (
        "✅ 已验收" in done.text
        and "2 位评委的平均分：<b>80.0</b> 分，等次：<b>良好</b>" in done.text
    )
    assert "建议补充群众评议材料" in done.text
    assert await status(bench, pid) == "accepted"
    told = bench.api.sent(WH01_SECRETARY)[-1].text
    assert "已完成验收" in told and "80.0" in told and "良好" in told
    result = await acceptance.result(bench.app.bot_data.db, pid)
    assert result is not None and (result.score, result.grade, result.reviewers) == (
        80.0, "good", 2
    )  # fmt: skip
    assert "评分已锁定" in (await reviewer.send("/score 2026-001")).text
    assert "已于" in (await admin.send("/accept 2026-001")).text
    overview = await admin.send("/acceptance 2026")
    assert "2026-001 街巷党建项目（护国街道党工委）：已验收，80.0 分，良好" in overview.text


async def test_model_projects_are_ranked_capped_and_announced_once(
    bench: Bench, clock: Clock
) -> None:
    state = bench.app.bot_data
    state.settings = replace(state.settings, model_projects_max=1)
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    await concluded(bench, clock, "WH01", WH01_SECRETARY)
    await concluded(bench, clock, "WH03", WH02_SECRETARY)
    for number, value in (("2026-001", "70"), ("2026-002", "95")):
        await score_all(admin, number, (value,) * 4)
    assert "还没有完成验收" in (await admin.send("/model 2026-001 引领示范")).text
    for number in ("2026-001", "2026-002"):
        await admin.send(f"/accept {number}")
        await admin.press("✅ 确认验收")
    ranking = await admin.send("/models 2026")
    assert re.search(
        r"1\. 2026-002 .*95\.0 分，优秀.*\n2\. 2026-001 .*70\.0 分，合格", ranking.text
    )
    assert "请在项目编号后写一句评语" in (await admin.send("/model 2026-002")).text
    chosen = await admin.send("/model 2026-002 以街巷党小组破解老旧小区治理难题")
    assert "已评为2026 年度示范项目" in chosen.text
    assert "已选满 1 个示范项目" in (await admin.send("/model 2026-001 也不错")).text
    assert "已更新示范项目评语" in (await admin.send("/model 2026-002 经验已在全区推广")).text
    card = await admin.send("/project 2026-002")
    assert "示范项目" in card.text and "经验已在全区推广" in card.text
    assert "95.0 分" in card.text
    group = bench.group(-100777, "区委督导群")
    await group.send(admin, "/bind_group")
    scoped = bench.group(-100778, "护国督导群")
    await scoped.send(admin, "/bind_group WH01")
    sent = await admin.send("/model_announce 2026")
    assert "已发到 1 个督导群" in sent.text
    posts = bench.api.sent(group.id)
    assert "2026 年度书记项目示范项目" in posts[-1].text and "经验已在全区推广" in posts[-1].text
    assert not any("示范项目" in m.text for m in bench.api.sent(scoped.id))  # not in its scope
    again = await admin.send("/model_announce 2026")
    assert "此前已经发过" in again.text
    assert len([m for m in bench.api.sent(group.id) if "示范项目" in m.text]) == 1
    assert "已把" in (await admin.send("/model_drop 2026-002")).text
    assert await acceptance.models_of_year(bench.app.bot_data.db, 2026) == []


async def test_year_ledger_has_the_scores_results_and_models(bench: Bench, clock: Clock) -> None:
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    reviewer = await invited_reviewer(bench, "WH03", REVIEWER)
    await concluded(bench, clock, "WH01", WH01_SECRETARY)
    await concluded(bench, clock, "WH02", WH02_SECRETARY)
    await score_all(admin, "2026-001", ("90", "80", "70", "60"), "台账完整")
    await score_all(reviewer, "2026-001", ("100", "100", "100", "100"))
    await score_all(reviewer, "2026-001", ("80", "80", "80", "80"))  # replaces the 100s
    await admin.send("/accept 2026-001")
    await admin.press("✅ 确认验收")
    await admin.send("/model 2026-001 以街巷党小组破解老旧小区治理难题")
    await admin.send("/ledger 2026")
    [doc] = [c for c in bench.api.methods("sendDocument") if c.chat_id == ADMIN_ID]
    assert doc.upload is not None
    book = load_workbook(io.BytesIO(doc.upload[1]))
    assert book.sheetnames == ["年度汇总", "分组小计", "督办单", "结题报告", "验收评分", "验收结果",
                               "示范项目"]  # fmt: skip
    scores = [[c.value for c in row] for row in book["验收评分"].iter_rows(min_row=3)]
    assert [[*row[:9], row[11]] for row in scores] == [
        ["2026-001", "街巷党建项目", "护国街道党工委", "评委老张", 80, 80, 80, 80, 80, 2],
        ["2026-001", "街巷党建项目", "护国街道党工委", str(ADMIN_ID), 90, 80, 70, 60, 77, 1],
    ]
    assert scores[1][9] == "台账完整"
    results = [[c.value for c in row] for row in book["验收结果"].iter_rows(min_row=3)]
    assert [[*r[:12], r[13]] for r in results] == [
        ["2026-001", "街巷党建项目", "WH01", "护国街道党工委", "已验收", 2, 85, 80, 75, 70, 78.5,
         "合格", "示范项目"],
        ["2026-002", "街巷党建项目", "WH02", "大观街道党工委", "已结题", 0, None, None, None,
         None, None, None, None],
    ]  # fmt: skip
    models = [[c.value for c in row] for row in book["示范项目"].iter_rows(min_row=3)]
    assert [m[:7] for m in models] == [
        [1, "2026-001", "街巷党建项目", "护国街道党工委", 78.5, "合格",
         "以街巷党小组破解老旧小区治理难题"]
    ]  # fmt: skip
    assert book["验收结果"].freeze_panes == "A3"


def built_off_loop(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The names of the functions the bot runs through Database.off_loop from now on."""
    from storage.db import Database

    built: list[str] = []
    real = Database.off_loop

    async def recording(self: Database, fn, *args, **options):  # type: ignore[no-untyped-def]
        built.append(fn.__name__)
        return await real(self, fn, *args, **options)

    monkeypatch.setattr(Database, "off_loop", recording)
    return built


async def test_the_lists_are_built_off_the_event_loop(
    bench: Bench, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/acceptance and /models cover every project of a province: read, rendered and split
    by Database.off_loop (in the export process: tests/test_db.py), sent from what it
    returns."""
    built = built_off_loop(monkeypatch)
    await concluded(bench, clock, "WH01", WH01_SECRETARY)
    admin = bench.user(ADMIN_ID, "组织部小王")
    overview = (await admin.send("/acceptance")).text
    assert built == ["acceptance_overview"]
    assert "2026-001 街巷党建项目（护国街道党工委）：待打分" in overview
    assert "“明年”不是年份" in (await admin.send("/acceptance 明年")).text
    ranking = (await admin.send("/models 2026")).text
    assert built == ["acceptance_overview", "acceptance_models"]
    assert "2026 年度还没有已验收的项目" in ranking and "已选 0 个，最多 5 个" in ranking


async def test_a_long_score_list_is_built_off_the_loop_as_it_read_before(
    bench: Bench, clock: Clock, monkeypatch: pytest.MonkeyPatch
) -> None:
    """/score without a number for a reviewer of every project: read, rendered and split in
    the lookups process, its first 20 buttons built on the loop from what it returns; the
    messages and buttons are exactly what rendering on the loop sent before."""
    from bot.callbacks import AcceptScore
    from bot.messages import split_message
    from bot.services.acceptance import to_score

    built = built_off_loop(monkeypatch)
    db = bench.app.bot_data.db
    for i in range(150):  # enough lines for the list to go out as two messages
        pid = await seed_project(db, ("WH02", "WH03", "WH04")[i % 3], None, clock(),
                                 name=f"第{i + 1}个街巷党建项目")  # fmt: skip
        async with db.transaction() as conn:
            assert await acceptance.mark_concluded(conn, pid, ts(clock()))
    admin = bench.user(ADMIN_ID, "组织部小王")
    await admin.send(f"/reviewer_add {ADMIN_ID}")
    await score_all(admin, "2026-003", ("90", "90", "90", "90"))
    built.clear()
    replies = await admin.send("/score")
    assert built == ["score_list"]
    # What the handler rendered on the loop before: the whole text, split, buttons on the last.
    outcome = await to_score(db, ADMIN_ID)
    texts, settings = Texts(), bench.app.bot_data.settings
    rules = Rules(settings.acceptance_weights, settings.acceptance_grades,
                  settings.model_projects_max)  # fmt: skip
    parts = split_message(texts.html("acceptance/score_list.html", tz=settings.timezone,
                                     rules=rules, o=outcome))  # fmt: skip
    buttons = [(texts.plain("acceptance/score_button.txt", p=p, mine=s),
                AcceptScore(p.id, "-", "open").pack())
               for p, _, s in outcome.projects[:20]]  # fmt: skip
    assert len(parts) == 2 and [r.text for r in replies] == parts
    assert [r.buttons for r in replies] == [[], buttons]
    assert [len(row) for row in replies[-1].params["reply_markup"]["inline_keyboard"]] == [1] * 20
    first = [p.id for p, _, _ in outcome.projects[:3]]
    assert buttons[:3] == [("打分 2026-001", f"ys:{first[0]}:-:open:"),
                           ("打分 2026-002", f"ys:{first[1]}:-:open:"),
                           ("重新打分 2026-003", f"ys:{first[2]}:-:open:")]  # fmt: skip
    assert "共 150 个" in parts[0] and "下面只有前 20 个项目的按钮" in parts[-1]

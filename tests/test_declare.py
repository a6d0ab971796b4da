"""申报: the secretary's conversation, every answer stored before the reply."""

from __future__ import annotations

import re

import pytest

from storage import dialogs, projects
from tests.conftest import ADMIN_ID, BotHarness, Clock
from tests.projects_helpers import ANSWERS, bound_secretary, declare, declare_step
from tests.standin.dialogue import Bench, Press, TgUser, expect_dialogue

PREVIEW = """<b>请核对申报内容</b>，确认无误后点“提交”；需要改动请点“修改某项”。

<b>书记项目申报书</b>
<b>组织：</b>护国街道党工委（WH01）
<b>项目名称：</b>南强街巷街区党建项目
<b>项目类型：</b>典型示范型
<b>起止时间：</b>2027-01 至 2027-12
<b>拟解决的突出问题：</b>
老旧小区无物业，环境卫生和停车难问题长期得不到解决。
<b>主要内容和举措：</b>
成立街巷党小组，建立党员认领、每周巡查、问题销号机制。
<b>预期目标：</b>
年内整治背街小巷 12 条，群众满意率达到 90% 以上。
<b>进度安排：</b>
2027-03　建成党群服务中心
2027-06　完成首批 6 条街巷整治
2027-12　全部整治完成"""


async def stored(bench: Bench, project_id: int = 1):
    return await projects.get(bench.app.bot_data.db, project_id)


async def walk_to(secretary: TgUser, step: int) -> None:
    """Answer the first `step - 1` questions."""
    script = [("/new_project", declare_step("name"))]
    answers: list = [ANSWERS["name"], Press("典型示范型"), ANSWERS["problem"], ANSWERS["measures"],
                     ANSWERS["targets"], ANSWERS["span"], ANSWERS["milestones"]]  # fmt: skip
    for i, answer in enumerate(answers[: step - 1], start=2):
        script.append((answer, f"第 {i}/7 步" if i <= 7 else "请核对申报内容"))
    await expect_dialogue(secretary, script)


async def test_happy_path_renders_the_application_as_filed(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    preview = bench.api.sent(secretary.id)[-1]
    assert preview.text == PREVIEW  # no "saved" line before every question
    assert [label for label, _ in preview.buttons] == [
        "✅ 提交", "✏️ 修改某项", "⬅️ 上一步", "✖️ 取消", "🗑 放弃草稿"
    ]  # fmt: skip
    replies = await secretary.press("✅ 提交")
    assert "已提交（申报号 1），等待组织部审核" in replies.text
    p = await stored(bench)
    assert p is not None and p.status == "submitted" and p.round == 1
    assert (p.name, p.kind, p.start_month, p.end_month) == (
        "南强街巷街区党建项目", "典型示范型", "2027-01", "2027-12"
    )  # fmt: skip
    ms = await projects.milestones(bench.app.bot_data.db, 1)
    assert [(m.month, m.content) for m in ms] == [
        ("2027-03", "建成党群服务中心"),
        ("2027-06", "完成首批 6 条街巷整治"),
        ("2027-12", "全部整治完成"),
    ]
    assert await dialogs.get(bench.app.bot_data.db, secretary.id) is None
    # the admin received the same application, with the review buttons
    to_admin = bench.api.sent(ADMIN_ID)[-1]
    assert "护国街道党工委</b> 提交了书记项目申报（申报号 1，第 1 次提交）" in to_admin.text
    assert PREVIEW.split("\n\n", 1)[1] in to_admin.text
    assert [b for b, _ in to_admin.buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]


async def test_every_answer_is_stored_before_the_reply(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 4)  # name, kind, problem answered
    p = await stored(bench)
    assert p is not None and (p.name, p.kind, p.problem) == (
        ANSWERS["name"], "典型示范型", ANSWERS["problem"]
    )  # fmt: skip
    d = await dialogs.get(bench.app.bot_data.db, secretary.id)
    assert d is not None and d.step == "measures"


async def test_restart_in_the_middle_resumes_at_the_first_unanswered_step(
    harness: BotHarness, bench: Bench
) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 4)
    bench = await harness.restart()
    secretary = bench.user(secretary.id, "李娜")
    # the next answer goes straight on, as if nothing happened
    replies = await secretary.send(ANSWERS["measures"])
    assert declare_step("targets") in replies.text
    bench = await harness.restart()
    secretary = bench.user(secretary.id, "李娜")
    replies = await secretary.send("/new_project")
    assert "继续填写上次的草稿（已完成 4/7 项）" in replies.text
    assert f"{declare_step('targets')}：预期目标" in replies.text
    assert "🗑 放弃草稿" in [b for b, _ in replies.buttons]


async def test_days_later_a_cancelled_draft_is_offered_again(bench: Bench, clock: Clock) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    replies = await secretary.send("取消")
    assert "已填写的内容都已保存为草稿" in replies.text
    assert "没有看懂" in (await secretary.send("随便说点什么")).text
    clock.advance(days=5)
    replies = await secretary.send("/new_project")
    assert "已完成 2/7 项" in replies.text and declare_step("problem") in replies.text


async def test_back_goes_one_step_and_shows_the_current_answer(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    await expect_dialogue(
        secretary,
        [
            (Press("⬅️ 上一步"), f"{declare_step('kind')}：项目类型"),
            ("上一步", "当前：南强街巷街区党建项目"),
            ("上一步", "已经是第一步了"),
            # answered steps are not asked again: on to the first unanswered one
            ("新的名称", declare_step("problem")),
            ("上一步", "当前：典型示范型"),
        ],
    )
    assert (await stored(bench)).name == "新的名称"  # type: ignore[union-attr]


async def test_back_from_the_preview_and_cancel_from_the_buttons(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    await expect_dialogue(
        secretary,
        [
            (Press("⬅️ 上一步"), f"{declare_step('milestones')}：进度安排"),
            (Press("✖️ 取消"), "已退出申报"),
        ],
    )
    assert (await stored(bench)).status == "draft"  # type: ignore[union-attr]


@pytest.mark.parametrize("kind", ["photo", "sticker", "voice", "document", "location"])
async def test_non_text_gets_the_same_question_again(bench: Bench, kind: str) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    replies = await secretary.send_media(kind)
    assert "这一步需要文字回答" in replies.text and declare_step("problem") in replies.text
    assert (await stored(bench)).problem is None  # type: ignore[union-attr]


async def test_over_long_answers_name_the_limit(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    replies = await secretary.send("名" * 41)
    assert "最多 40 字，你发了 41 字" in replies.text and declare_step("name") in replies.text
    await secretary.send("合适的名称")
    await secretary.press("创新探索型")
    replies = await secretary.send("问" * 5000)
    assert "最多 500 字" in replies.text
    assert (await stored(bench)).problem is None  # type: ignore[union-attr]


async def test_markup_and_template_syntax_are_kept_as_typed(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    await secretary.send("<b>党建</b> & {{ 7*7 }}")
    await secretary.press("创新探索型")
    await secretary.send("问题 <i> 与 {% raw %} 混在一起 🙂")
    p = await stored(bench)
    assert p is not None and p.name == "<b>党建</b> & {{ 7*7 }}"
    for _ in range(2):
        await secretary.send("上一步")
    replies = await secretary.send("上一步")
    assert "当前：&lt;b&gt;党建&lt;/b&gt; &amp; {{ 7*7 }}" in replies.text


async def test_short_or_empty_answers(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    assert "至少写 2 个字" in (await secretary.send("党")).text
    assert "不能为空" in (await secretary.send("   ")).text
    assert "写在一行内" in (await secretary.send("第一行\n第二行")).text


async def test_kind_typed_or_pressed_and_stale_or_forged_kind_buttons(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 2)
    assert "请点选下方三个按钮之一" in (await secretary.send("随便一种")).text
    kind_message = secretary.last_bot_message(with_button="创新探索型")
    assert declare_step("problem") in (await secretary.send("制度推广型")).text
    assert (await stored(bench)).kind == "制度推广型"  # type: ignore[union-attr]
    # the old kind button, pressed now, changes nothing and shows where we are
    replies = await secretary.press("创新探索型", kind_message)
    assert declare_step("problem") in replies.text
    assert (await stored(bench)).kind == "制度推广型"  # type: ignore[union-attr]
    answers = bench.api.methods("answerCallbackQuery")
    assert "已失效" in answers[-1].params.get("text", "")
    for forged in ("d:1:kind:kind:9", "d:999:problem:back:", "d:1:problem:drop:", "x" * 64, ""):
        await secretary.press_data(forged, kind_message)
        assert (await stored(bench)).kind == "制度推广型", forged  # type: ignore[union-attr]
    d = await dialogs.get(bench.app.bot_data.db, secretary.id)
    assert d is not None and d.step == "problem"


async def test_someone_elses_draft_buttons_do_nothing(bench: Bench) -> None:
    alice = await bound_secretary(bench, "WH01", 1001)
    bob = await bound_secretary(bench, "WH02", 1002, "张伟")
    await walk_to(alice, 2)
    message = alice.last_bot_message(with_button="创新探索型")
    await bob.press("创新探索型", message)
    assert (await stored(bench)).kind is None  # type: ignore[union-attr]
    await bob.press("✖️ 取消", message)
    d = await dialogs.get(bench.app.bot_data.db, alice.id)
    assert d is not None and d.step == "kind"


async def test_targets_must_be_quantified(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 5)
    replies = await secretary.send("进一步提升群众满意度")
    assert "可量化" in replies.text and declare_step("targets") in replies.text
    assert declare_step("span") in (await secretary.send("建成三个示范点，覆盖全部网格")).text


@pytest.mark.parametrize(
    ("answer", "expected"),
    [
        ("明年全年", "没有看懂起止时间"),
        ("2027-12 至 2027-01", "结束月份早于开始月份"),
        ("2027-01 至 2029-06", "30 个月，超过了最长 24 个月"),
        ("2030-01 至 2030-12", "开始年份应在 2025 至 2028 年之间"),
        ("2027-13 至 2027-14", "没有看懂起止时间"),
    ],
)
async def test_bad_spans_are_refused(bench: Bench, answer: str, expected: str) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 6)
    replies = await secretary.send(answer)
    assert expected in replies.text and declare_step("span") in replies.text
    assert (await stored(bench)).start_month is None  # type: ignore[union-attr]


async def test_long_span_is_warned_not_refused(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 6)
    replies = await secretary.send("2027年1月至2028年6月")
    assert (
        "项目周期 18 个月，超过 1 年" in replies.text and declare_step("milestones") in replies.text
    )
    p = await stored(bench)
    assert p is not None and (p.start_month, p.end_month) == ("2027-01", "2028-06")


async def test_full_width_months_are_read_as_typed_on_a_chinese_keyboard(bench: Bench) -> None:
    """２０２７－０１ 至 ２０２７－１２ and a milestone ２０２７－０３ … are the same months in
    ASCII; the milestone's words stay as written."""
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 6)
    replies = await secretary.send("２０２７－０１ 至 ２０２７－１２")
    assert declare_step("milestones") in replies.text
    p = await stored(bench)
    assert p is not None and (p.start_month, p.end_month) == ("2027-01", "2027-12")
    replies = await secretary.send("２０２７－０３ 建成服务中心（一期）\n２０２７．１１ 完成整治")
    assert "请核对申报内容" in replies.text
    ms = await projects.milestones(bench.app.bot_data.db, 1)
    assert [(m.month, m.content) for m in ms] == [
        ("2027-03", "建成服务中心（一期）"), ("2027-11", "完成整治")]  # fmt: skip


async def test_the_span_example_is_a_span_the_bot_accepts(bench: Bench, clock: Clock) -> None:
    """起止时间's example follows today (the start year must be near it), not a fixed year."""
    clock.now = clock.now.replace(year=2029)
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 5)
    text = (await secretary.send(ANSWERS["targets"])).text
    [example] = re.findall(r"例如：(\d{4}-\d{2} 至 \d{4}-\d{2})", text)
    assert example == "2030-01 至 2030-12"
    assert "没有看懂起止时间。请写两个月份，例如：2030-01 至 2030-12。" in (
        await secretary.send("明年全年")).text  # fmt: skip
    assert declare_step("milestones") in (await secretary.send(example)).text


@pytest.mark.parametrize("span", ["2026-06 至 2027-05", "2027-09 至 2027-10", "2028-02 至 2028-02"])
async def test_the_milestone_examples_lie_inside_the_span(bench: Bench, span: str) -> None:
    """The 进度安排 prompt's example months obey the rule written beside them."""
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 6)
    text = (await secretary.send(span)).text
    start, end = span.split(" 至 ")
    shown = re.findall(r"^(\d{4}-\d{2}) ", text.split("之内，例如：")[1], re.MULTILINE)
    assert len(shown) == 2 and all(start <= month <= end for month in shown)


async def test_milestone_problems_are_listed_by_line(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 7)
    replies = await secretary.send("2027-03 建成中心\n三月 开会\n2028-02 收尾\n2027-05")
    text = replies.text
    assert "第 2 行“三月 开会”：开头应是月份" in text
    assert "第 3 行：2028-02 不在项目起止时间（2027-01 至 2027-12）内" in text
    assert "第 4 行：2027-05 后面缺少节点内容" in text
    assert not (await stored(bench)).milestones_set  # type: ignore[union-attr]
    many = "\n".join(f"2027-{m % 12 + 1:02d} 节点{m}" for m in range(36))
    assert "最多 24 个，你写了 36 个" in (await secretary.send(many)).text


async def test_edit_one_field_from_the_preview(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    await expect_dialogue(
        secretary,
        [
            (Press("✏️ 修改某项"), "要修改哪一项？"),
            (Press("预期目标"), "当前：年内整治背街小巷 12 条"),
            ("整治街巷 20 条", lambda r: "请核对申报内容" in r.text and "整治街巷 20 条" in r.text),
        ],
    )
    assert (await stored(bench)).targets == "整治街巷 20 条"  # type: ignore[union-attr]


async def test_new_span_that_excludes_milestones_asks_for_them_again(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 8)
    await secretary.press("✏️ 修改某项")
    await secretary.press("起止时间")
    replies = await secretary.send("2027-01 至 2027-06")
    assert (
        "有 1 个节点不在新的起止时间内" in replies.text
        and declare_step("milestones") in replies.text
    )
    await secretary.send("2027-03 建成中心\n2027-06 完成整治")
    assert "请核对申报内容" in bench.api.sent(secretary.id)[-1].text


async def test_discard_a_draft(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await walk_to(secretary, 3)
    await secretary.send("取消")
    await secretary.send("/new_project")
    replies = await secretary.press("🗑 放弃草稿")
    assert "草稿已删除" in replies.text
    assert await stored(bench) is None
    assert declare_step("name") in (await secretary.send("/new_project")).text


async def test_only_bound_secretaries_declare(bench: Bench) -> None:
    for who in (bench.user(5555, "路人"), bench.user(ADMIN_ID)):
        assert "只有已绑定组织的书记" in (await who.send("/new_project")).text


async def test_at_most_two_projects_a_year(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    await declare(secretary, name="第二个项目")
    await walk_to(secretary, 6)
    replies = await secretary.send("2027-03 至 2027-12")
    assert "2027 年已申报 2 个书记项目，达到上限" in replies.text
    assert declare_step("milestones") in (await secretary.send("2028-01 至 2028-12")).text


async def test_greeting_button_opens_the_declaration(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    replies = await secretary.press("📝 申报书记项目")
    assert f"{declare_step('name')}：项目名称" in replies.text


async def test_cancel_command_and_nothing_to_cancel(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    assert "当前没有进行中的操作" in (await secretary.send("/cancel")).text
    await walk_to(secretary, 2)
    assert "已退出申报" in (await secretary.send("/cancel")).text
    # other commands in the middle do not break the draft
    await secretary.send("/new_project")
    assert "身份：书记" in (await secretary.send("/whoami")).text
    assert declare_step("problem") in (await secretary.press("创新探索型")).text


async def test_a_full_year_is_said_at_the_first_step(bench: Bench, clock: Clock) -> None:
    """The yearly limit is not kept for the 起止时间 step, five answers in."""
    clock.now = clock.now.replace(year=2027, month=2, day=1)
    secretary = await bound_secretary(bench)
    await declare(secretary)
    second = await secretary.send("/new_project")
    assert declare_step("name") in second.text and "每年上限" not in second.text
    await secretary.send("取消")
    await declare(secretary, name="第二个项目")
    third = await secretary.send("/new_project")
    assert (
        declare_step("name") in third.text
        and "2027 年开始的书记项目已有 2 个（每年上限）" in third.text
    )

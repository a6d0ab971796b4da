"""The return-with-reason side-steps run on the engine: a one-question conversation whose
取消, 上一步 (typed, or pasted as the button's label) and /cancel give back the buttons of
the decision it interrupted, and whose answer is read against its field's limits."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.services import bulletin_review, duban, public, review
from bot.services import closing as closing_service
from bot.services.conversation import CONVERSATIONS, SideStep
from storage import closing, notices, projects
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import approved_project, bound_secretary, declare, seed_project
from tests.standin.dialogue import Bench, TgUser
from tests.test_closing import write_and_submit
from tests.test_public import bound_channel

SECRETARY = 1001


def test_each_return_reason_is_a_one_field_conversation() -> None:
    for flow in (review.FLOW, duban.RETURN_FLOW, closing_service.RETURN_FLOW):
        side = CONVERSATIONS[flow]
        assert isinstance(side, SideStep) and side.names == ("reason",)
        assert side.question.limit == 500


@pytest.mark.parametrize("word", ["上一步", "⬅️ 上一步", "取消", "/cancel"])
async def test_leaving_a_declaration_return_gives_its_buttons_back(bench: Bench, word: str) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID)
    await admin.press("↩️ 退回修改")
    replies = await admin.send(word)
    assert "已放弃退回" in replies.text
    assert [label for label, _ in replies.buttons][-2:] == ["✅ 立项", "↩️ 退回修改"]
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.status == "submitted"
    assert [r.action for r in await projects.reviews(bench.app.bot_data.db, 1)] == ["submit"]
    assert "已立项" in (await admin.press("✅ 立项")).text


async def test_a_declaration_return_reason_is_kept_trimmed(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID)
    await admin.press("↩️ 退回修改")
    assert "退回理由不能为空" in (await admin.send("   ")).text
    assert "已退回" in (await admin.send("  目标要写具体  ")).text
    history = await projects.reviews(bench.app.bot_data.db, 1)
    assert history[-1].reason == "目标要写具体"


async def answered_notice(bench: Bench, clock: Clock) -> TgUser:
    """Notice 1, answered by the secretary; the admin is to decide it."""
    await seed_project(bench.app.bot_data.db, "WH01", SECRETARY, clock())
    secretary = bench.user(SECRETARY, "李娜")
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新 | 补齐3-5月台账 | 7天")
    await admin.press("📤 下发")
    await secretary.press("✅ 签收")
    await secretary.press("📝 反馈整改情况")
    await secretary.send("已整改完毕")
    await secretary.press("跳过")
    await secretary.press("✅ 提交")
    return admin


@pytest.mark.parametrize("word", ["上一步", "⬅️ 上一步", "取消", "/cancel"])
async def test_leaving_a_duban_return_gives_its_buttons_back(
    bench: Bench, clock: Clock, word: str
) -> None:
    admin = await answered_notice(bench, clock)
    await admin.press("↩️ 退回")
    replies = await admin.send(word)
    assert "已放弃退回" in replies.text
    assert [b for b, _ in replies.buttons] == ["✅ 办结", "↩️ 退回"]
    found = await notices.get(bench.app.bot_data.db, 1)
    assert found is not None and found.status == "answered" and found.round == 1
    assert "已办结" in (await admin.press("✅ 办结")).text


async def submitted_closing(bench: Bench, clock: Clock) -> TgUser:
    """A closing report submitted in the project's last month; the admin is to decide it."""
    await seed_project(bench.app.bot_data.db, "WH01", SECRETARY, clock(),
                       span=("2026-01", "2026-12"))  # fmt: skip
    clock.now = datetime(2026, 12, 2, 10, 0, tzinfo=SHANGHAI)
    await write_and_submit(bench.user(SECRETARY, "李娜"))
    return bench.user(ADMIN_ID)


@pytest.mark.parametrize("word", ["上一步", "⬅️ 上一步", "取消", "/cancel"])
async def test_leaving_a_closing_return_gives_its_buttons_back(
    bench: Bench, clock: Clock, word: str
) -> None:
    admin = await submitted_closing(bench, clock)
    await admin.press("↩️ 退回修改")
    replies = await admin.send(word)
    assert "已放弃退回" in replies.text
    assert [b for b, _ in replies.buttons] == ["✅ 通过结题", "↩️ 退回修改"]
    row = await closing.of_project(bench.app.bot_data.db, 1)
    assert row is not None and row.status == "submitted"
    assert "项目已结题" in (await admin.press("✅ 通过结题")).text


def test_the_suggestion_and_the_comments_are_side_steps_too() -> None:
    comments = bulletin_review.COMMENT_FLOWS.values()
    limits = {public.SUGGEST_FLOW: 500, **dict.fromkeys(comments, 200)}
    for flow, limit in limits.items():
        side = CONVERSATIONS[flow]
        assert isinstance(side, SideStep) and side.question.limit == limit
        assert not side.bindable(side.question.name)  # an edit or a reply is not bound to it


async def test_bad_suggestions_are_answered_and_lose_nothing(bench: Bench) -> None:
    await bound_channel(bench)
    secretary = await approved_project(bench)
    resident = bench.user(6001, "陈阿姨")
    await resident.send("/start yj_1")
    assert "请用文字发送" in (await resident.send_media("photo")).text
    assert "你发了 5000 字，没有保存" in (await resident.send("建" * 5000)).text
    assert "意见建议不能为空" in (await resident.send("\u200b\u2060 \u200b")).text
    assert "意见建议已收到" in (await resident.send("<b>路灯\u200b</b>")).text
    [kept] = await public.suggestions(bench.app.bot_data.db, 1)
    assert kept.text == "<b>路灯</b>"
    assert "&lt;b&gt;路灯&lt;/b&gt;" in bench.api.sent(secretary.id)[-1].text
    assert "修改已发送的消息不会被重新处理" in (await resident.edit("改过的建议")).text
    assert [s.text for s in await public.suggestions(bench.app.bot_data.db, 1)] == ["<b>路灯</b>"]

"""四看 at review: the admin marks the checks an application fails, with toggles under it;
立项 and 退回修改 keep the marks with the round; the secretary sees them with the reason."""

from __future__ import annotations

from storage import checks
from tests.conftest import ADMIN_ID
from tests.projects_helpers import bound_secretary, declare
from tests.standin.dialogue import Bench, Press, expect_dialogue


def labels(message: dict) -> list[str]:
    return [b["text"] for row in message.get("reply_markup", {}).get("inline_keyboard", [])
            for b in row]  # fmt: skip


async def test_marks_travel_with_the_return_and_stay_in_the_history(bench: Bench) -> None:
    secretary = await bound_secretary(bench)
    await declare(secretary)
    admin = bench.user(ADMIN_ID, "组织部小王")
    application = admin.last_bot_message(with_button="✅ 立项")
    assert "<b>四看</b>" in application["text"]
    assert labels(application)[:4] == ["✅ 内容符合实际", "✅ 目标高低适当", "✅ 要求具体实在",
                                       "✅ 能解决实际问题"]  # fmt: skip
    await admin.press("✅ 目标高低适当", application)
    await admin.press("✅ 能解决实际问题", admin.last_bot_message(with_button="✅ 立项"))
    await admin.press("❌ 能解决实际问题", admin.last_bot_message(with_button="✅ 立项"))
    marked = admin.last_bot_message(with_button="✅ 立项")
    assert labels(marked)[:4] == ["✅ 内容符合实际", "❌ 目标高低适当", "✅ 要求具体实在",
                                  "✅ 能解决实际问题"]  # fmt: skip
    # The secretary's forged toggle changes nothing.
    await secretary.press_data("rk:1:1:f:0")
    assert await checks.failed(bench.app.bot_data.db, 1, 1) == ["targets"]
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回修改"), "四看未通过：目标过高或过低"),
            ("目标要写清楚整治哪几条街巷", "四看未通过：目标过高或过低"),
        ],
    )
    told = bench.api.sent(secretary.id)[-1].text
    assert "四看未通过：目标过高或过低\n理由：目标要写清楚整治哪几条街巷" in told
    # A toggle of the decided round is stale.
    await admin.press_data("rk:1:1:f:0", marked)
    assert "失效" in bench.api.methods("answerCallbackQuery")[-1].params["text"]
    await expect_dialogue(
        secretary,
        [
            (Press("✏️ 修改申报"), "目标要写清楚整治哪几条街巷"),
            (Press("✅ 提交"), "已重新提交"),
        ],
    )
    second = admin.last_bot_message(with_button="✅ 立项")
    assert labels(second)[:4] == ["✅ 内容符合实际", "✅ 目标高低适当", "✅ 要求具体实在",
                                  "✅ 能解决实际问题"]  # fmt: skip
    assert "已立项" in (await admin.press("✅ 立项", second)).text
    card = (await admin.send("/project 2027-001")).text
    assert "退回：目标要写清楚整治哪几条街巷（四看未通过：目标过高或过低）" in card
    assert await checks.by_round(bench.app.bot_data.db, 1) == {(1, "final"): ["targets"]}

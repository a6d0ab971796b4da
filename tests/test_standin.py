"""The stand-in itself must refuse what Telegram refuses, or tests prove nothing."""

from __future__ import annotations

import pytest

from tests.standin.core import BotApiStandIn, StandInHTMLError


@pytest.mark.parametrize(
    "text", ["1<2 条", "a & b", "x <= y", "<b>未闭合", "<div>x</div>", "<b>x</i>", "</b>"]
)
async def test_markup_telegram_rejects_is_rejected(text: str) -> None:
    api = BotApiStandIn()
    with pytest.raises(StandInHTMLError):
        await api.handle("sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"})


@pytest.mark.parametrize(
    "text", ["1&lt;2 条", "a &amp; b", "<b>粗</b> <i>斜</i>", '<a href="https://t.me/x">链接</a>',
             "&#20013;", "a > b"],
)  # fmt: skip
async def test_valid_markup_passes(text: str) -> None:
    api = BotApiStandIn()
    status, body = await api.handle(
        "sendMessage", {"chat_id": 1, "text": text, "parse_mode": "HTML"}
    )
    assert status == 200 and body["result"]["text"] == text


async def test_blocked_and_unknown_token() -> None:
    api = BotApiStandIn()
    api.blocked.add(5)
    status, body = await api.handle("sendMessage", {"chat_id": 5, "text": "x"})
    assert status == 403 and "blocked" in body["description"]
    status, _ = await api.handle("getMe", {}, token="wrong")
    assert status == 401
    status, _ = await api.handle("sendMessage", {"chat_id": 1, "text": "x" * 4097})
    assert status == 400


def test_split_message_keeps_every_part_within_the_limit() -> None:
    from bot.messages import split_message, visible_length

    lines = ["<b>标题</b>", "甲" * 3000, "&lt;" * 5000, "尾"]
    text = "\n".join(lines)
    parts = split_message(text, limit=4096)
    assert all(visible_length(p) <= 4096 for p in parts)
    assert "".join(parts).replace("\n", "") == text.replace("\n", "")
    for part in parts:  # no entity cut in half
        assert not part.endswith("&") and not part.startswith("lt;")


def test_a_short_message_is_one_part_trimmed_as_a_long_one_would_be() -> None:
    from bot.messages import split_message

    for text, limit in [("\n<b>甲</b>\n\n乙\n", 4096), ("\n<b>甲</b>\n\n乙\n", 12)]:
        assert split_message(text, limit=limit) == ["<b>甲</b>\n\n乙"]  # 12: the long way
    assert split_message(" \n ") == [] and split_message("") == []
    assert split_message("甲" * 4096) == ["甲" * 4096]
    assert len(split_message("甲" * 4097)) == 2

"""How the Application is assembled: endpoint, defaults, rate limiter, resources."""

from __future__ import annotations

import gc
import shutil
from collections.abc import Callable, Coroutine
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest
from jinja2 import TemplateSyntaxError
from telegram import (
    CallbackQuery,
    InaccessibleMessage,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    MaybeInaccessibleMessage,
    Message,
    Update,
    User,
)
from telegram.constants import ParseMode
from telegram.ext import BaseRateLimiter, ExtBot

from bot import cli
from bot.app import build_application
from bot.messages import keyboard, send_parts
from bot.ratelimit import WindowRateLimiter
from bot.settings import Settings
from bot.texts import TEMPLATES, Texts
from handlers import dialogs
from handlers.common import drop_buttons
from tests.standin.core import TOKEN, BotApiStandIn
from tests.standin.dialogue import MEDIA
from tests.standin.inprocess import StandInRequest


def test_production_settings_use_the_rate_limiter_and_html(settings: Settings) -> None:
    app = build_application(replace(settings, rate_limit=True))
    assert isinstance(app.bot.rate_limiter, WindowRateLimiter)
    assert app.bot.defaults is not None and app.bot.defaults.parse_mode == ParseMode.HTML
    assert str(app.bot.defaults.tzinfo) == "Asia/Shanghai"


def test_custom_bot_api_server(settings: Settings) -> None:
    app = build_application(
        replace(
            settings,
            api_base_url="http://127.0.0.1:8081/bot",
            api_base_file_url="http://127.0.0.1:8081/file/bot",
        )
    )
    assert app.bot.base_url == f"http://127.0.0.1:8081/bot{settings.token}"
    assert app.bot.base_file_url == f"http://127.0.0.1:8081/file/bot{settings.token}"


async def test_resources_open_and_close_with_the_application(settings: Settings) -> None:
    app = build_application(settings, request=StandInRequest(BotApiStandIn()))
    await app.initialize()
    await app.post_init(app)
    try:
        assert await app.bot_data.db.version() >= 2
    finally:
        await app.shutdown()
        await app.post_shutdown(app)
    with pytest.raises(RuntimeError):
        app.bot_data.db  # noqa: B018 -- closed: refuses to be used


ROWS = [[("上一步", "p:1:plan:back:"), ("取消 <b>&", "p:1:plan:cancel:")], [("😀", "x")]]
ROWS_JSON = {
    "inline_keyboard": [
        [{"text": "上一步", "callback_data": "p:1:plan:back:"},
         {"text": "取消 <b>&", "callback_data": "p:1:plan:cancel:"}],
        [{"text": "😀", "callback_data": "x"}],
    ]
}  # fmt: skip


async def test_a_reply_goes_out_in_html_with_its_keyboard(settings: Settings) -> None:
    """The application's Defaults put every reply in HTML; the buttons go with the last part."""
    api = BotApiStandIn()
    app = build_application(replace(settings, rate_limit=True), request=StandInRequest(api))
    html = "<b>填报</b> &lt;x&gt; 😀"
    async with app:
        await send_parts(app.bot, 4242, html, keyboard(ROWS))
        await send_parts(app.bot, 4242, "第一行\n" * 2000, keyboard(ROWS))
    first, *long = api.methods("sendMessage")
    assert first.params == {
        "chat_id": 4242,
        "text": html,
        "parse_mode": "HTML",
        "reply_markup": ROWS_JSON,
    }
    assert len(long) > 1 and all(c.params["parse_mode"] == "HTML" for c in long)
    assert [c.params.get("reply_markup") for c in long] == [None] * (len(long) - 1) + [ROWS_JSON]


async def test_a_pressed_buttons_keyboard_comes_off(settings: Settings) -> None:
    api = BotApiStandIn()
    app = build_application(settings, request=StandInRequest(api))

    def pressed(message: MaybeInaccessibleMessage) -> Update:
        query = CallbackQuery("7", User(4242, "李", is_bot=False), "c", message=message)
        query.set_bot(app.bot)
        message.set_bot(app.bot)
        return Update(1, callback_query=query)

    async with app:
        sent = await app.bot.send_message(4242, "选择", reply_markup=keyboard(ROWS))
        assert api.messages[(4242, sent.message_id)]["reply_markup"] == ROWS_JSON
        await drop_buttons(pressed(sent))
        # Telegram refuses the edit (message gone, or no longer shown to the bot): only logged.
        await drop_buttons(pressed(Message(999, sent.date, sent.chat)))
        await drop_buttons(pressed(InaccessibleMessage(sent.chat, 998)))
    assert "reply_markup" not in api.messages[(4242, sent.message_id)]
    edits = api.methods("editMessageReplyMarkup")
    assert [(c.params["chat_id"], c.params["message_id"]) for c in edits] == [
        (4242, sent.message_id), (4242, 999), (4242, 998)
    ]  # fmt: skip
    assert [c.status for c in edits] == [200, 400, 400]
    assert all("reply_markup" not in c.params for c in edits)


class Recording(BaseRateLimiter[int]):
    """A rate limiter that only notes which Bot API methods went through it."""

    def __init__(self) -> None:
        self.endpoints: list[str] = []

    async def initialize(self) -> None:
        return None

    async def shutdown(self) -> None:
        return None

    async def process_request(
        self,
        callback: Callable[..., Coroutine[Any, Any, Any]],
        args: Any,
        kwargs: dict[str, Any],
        endpoint: str,
        data: dict[str, Any],
        rate_limit_args: int | None,
    ) -> Any:
        self.endpoints.append(endpoint)
        return await callback(*args, **kwargs)


async def test_replies_and_dropped_buttons_go_through_the_bots_rate_limiter() -> None:
    api = BotApiStandIn()
    limiter = Recording()
    async with ExtBot(TOKEN, request=StandInRequest(api), rate_limiter=limiter) as bot:
        await send_parts(bot, 4242, "好", keyboard(ROWS))
        [sent] = api.messages.values()
        query = {"id": "7", "from": {"id": 4242, "is_bot": False, "first_name": "李"},
                 "chat_instance": "c", "message": sent}  # fmt: skip
        await drop_buttons(Update.de_json({"update_id": 1, "callback_query": query}, bot))
    assert [e for e in limiter.endpoints if e != "getMe"] == [
        "sendMessage", "editMessageReplyMarkup"
    ]  # fmt: skip


def test_a_keyboard_is_ptbs_own_markup_of_callback_buttons() -> None:
    ours = keyboard(ROWS)
    theirs = InlineKeyboardMarkup(
        [[InlineKeyboardButton(text, callback_data=data) for text, data in row] for row in ROWS]
    )
    assert type(ours) is InlineKeyboardMarkup
    assert ours == theirs and ours.inline_keyboard == theirs.inline_keyboard
    assert ours.to_dict() == theirs.to_dict() == ROWS_JSON
    assert keyboard([]).to_dict() == InlineKeyboardMarkup([]).to_dict()


def test_callback_data_over_64_bytes_is_refused() -> None:
    assert keyboard([[("好", "x" * 64)]]).inline_keyboard[0][0].callback_data == "x" * 64
    with pytest.raises(ValueError, match="64 bytes"):
        keyboard([[("好", "x" * 63 + "好")]])  # 66 bytes in UTF-8


async def test_once_up_the_bot_compiles_every_template_and_freezes_its_heap(
    settings: Settings,
) -> None:
    """`python -m bot run` builds with settle=True (bot/cli.py): after post_init every
    template is compiled and the start-up heap is out of the garbage collector's way."""
    assert gc.get_freeze_count() == 0
    plain = build_application(settings, request=StandInRequest(BotApiStandIn()))
    await plain.initialize()
    try:
        await plain.post_init(plain)  # type: ignore[misc]
        assert gc.get_freeze_count() == 0  # tests and other commands: nothing frozen
    finally:
        await plain.shutdown()
        await plain.post_shutdown(plain)  # type: ignore[misc]
    app = build_application(settings, request=StandInRequest(BotApiStandIn()), settle=True)
    await app.initialize()
    try:
        await app.post_init(app)  # type: ignore[misc]
        assert gc.get_freeze_count() > 10_000
    finally:
        gc.unfreeze()
        await app.shutdown()
        await app.post_shutdown(app)  # type: ignore[misc]
    assert app.bot_data.texts.compile_all() == _template_files() > 200


def _template_files() -> int:
    return sum(1 for p in TEMPLATES.rglob("*") if p.suffix in (".html", ".txt"))


def test_a_broken_template_fails_at_start(tmp_path: Path) -> None:
    (tmp_path / "ok.html").write_text("好 {{ x }}", encoding="utf-8")
    (tmp_path / "broken.txt").write_text("{% if x %}没有结束", encoding="utf-8")
    with pytest.raises(TemplateSyntaxError):
        Texts(tmp_path).compile_all()
    (tmp_path / "broken.txt").write_text("{% if x %}结束{% endif %}", encoding="utf-8")
    assert Texts(tmp_path).compile_all() == 2


def test_a_template_renders_escaped_whether_or_not_it_has_jinja_syntax(tmp_path: Path) -> None:
    (tmp_path / "fixed.html").write_text("✅ 已保存。\n", encoding="utf-8")
    (tmp_path / "named.html").write_text("你好，{{ name }}", encoding="utf-8")
    (tmp_path / "commented.html").write_text("{# 注释 #}固定", encoding="utf-8")
    texts = Texts(tmp_path)
    assert [texts.html("fixed.html") for _ in range(3)] == ["✅ 已保存。"] * 3
    assert texts.html("named.html", name="<b>李</b>") == "你好，&lt;b&gt;李&lt;/b&gt;"
    assert texts.html("named.html", name="王") == "你好，王"
    assert [texts.html("commented.html") for _ in range(2)] == ["固定"] * 2


def test_only_the_dialog_router_takes_a_private_message_that_is_not_a_command(
    settings: Settings,
) -> None:
    """handlers/__init__.py registers the router first in its group; that changes nothing
    only while no other handler would take what it takes."""
    app = build_application(settings, request=StandInRequest(BotApiStandIn()))
    person = {"id": 5, "is_bot": False, "first_name": "李"}
    bodies = [{"text": "本月完成了主要工作"}, {"text": "60"}, {"text": "<b>{{ x }}</b> & 😀"},
              {"text": "a /start in the middle"}, *MEDIA.values(),
              {**MEDIA["photo"], "caption": "/start"}]  # fmt: skip
    for body in bodies:
        message = {"message_id": 1, "date": 0, "chat": {"id": 5, "type": "private"},
                   "from": person, **body}  # fmt: skip
        update = Update.de_json({"update_id": 1, "message": message}, app.bot)
        takers = [h.callback.__qualname__ for h in app.handlers[0] if h.check_update(update)]
        assert takers == ["on_message"], (body, takers)
        assert app.handlers[0][0].callback is dialogs.on_message


def test_a_template_edited_while_running_never_keeps_one_persons_text(tmp_path: Path) -> None:
    """Templates are not reloaded while the bot runs; a render for one person never gives
    another person's text, whatever the file on disk says now."""
    (tmp_path / "hello.html").write_text("你好，{{ name }}。", encoding="utf-8")
    texts = Texts(tmp_path)
    texts.compile_all()
    (tmp_path / "hello.html").write_text("你好。", encoding="utf-8")  # edited, not reloaded
    assert texts.html("hello.html", name="李四") == "你好，李四。"
    assert texts.html("hello.html", name="王五") == "你好，王五。"


def test_leftover_files_beside_the_templates_are_not_templates(tmp_path: Path) -> None:
    (tmp_path / "ok.html").write_text("好", encoding="utf-8")
    (tmp_path / "._ok.html").write_bytes(b"\x00\x05\x16\x07\xff\xfe")  # a file manager's
    (tmp_path / ".#ok.html").symlink_to(tmp_path / "gone")  # an editor's lock
    (tmp_path / ".git").mkdir()
    (tmp_path / ".git" / "x.txt").write_bytes(b"\xff")
    (tmp_path / "notes.md").write_text("{% broken", encoding="utf-8")
    assert Texts(tmp_path).compile_all() == 1


def test_run_with_a_broken_template_is_one_line_not_a_traceback(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    copy = tmp_path / "templates"
    shutil.copytree(TEMPLATES, copy)
    (copy / "report" / "saved.html").write_text("✅ 已保存{% if %}", encoding="utf-8")
    monkeypatch.setattr(cli, "Texts", lambda: Texts(copy))
    monkeypatch.setenv("TELEGRAM_BOT_TOKEN", "123:abc")
    monkeypatch.setenv("BOT_DB_PATH", str(tmp_path / "bot.sqlite3"))
    monkeypatch.delenv("BOT_CONFIG", raising=False)
    assert cli.main(["run"]) == cli.EXIT_CONFIG
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "report/saved.html" in err[0] and "没有启动" in err[0], err
    assert not (tmp_path / "bot.sqlite3").exists()  # stopped before touching anything

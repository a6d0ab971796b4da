"""Play Telegram users against the real Application and read what the bot answered.

bench = Bench(app, api)
alice = bench.user(1001, "李娜")
replies = await alice.send("/start CODE")
assert "绑定成功" in replies.text
await expect_dialogue(alice, [("/whoami", "书记"), (Press("立项"), "已立项")])
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from telegram import Update

from bot.standin.core import BotApiStandIn, Call

# Non-text message bodies a person can send instead of the text the bot asked for.
MEDIA: dict[str, dict[str, Any]] = {
    "photo": {
        "photo": [{"file_id": "AgPhoto1", "file_unique_id": "p1", "width": 800, "height": 600}]
    },
    "sticker": {
        "sticker": {
            "file_id": "CAStick1",
            "file_unique_id": "s1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
    },
    "voice": {"voice": {"file_id": "AwVoice1", "file_unique_id": "v1", "duration": 3}},
    "document": {
        "document": {"file_id": "BQDoc1", "file_unique_id": "d1", "file_name": "台账.xlsx"}
    },
    "video": {
        "video": {
            "file_id": "BAVideo1",
            "file_unique_id": "vi1",
            "width": 640,
            "height": 480,
            "duration": 5,
        }
    },
    "location": {"location": {"latitude": 25.04, "longitude": 102.71}},
    "contact": {"contact": {"phone_number": "+8613800000000", "first_name": "王"}},
    "animation": {
        "animation": {
            "file_id": "CgAnim1",
            "file_unique_id": "a1",
            "width": 200,
            "height": 200,
            "duration": 2,
        }
    },
}


class Replies(list[Call]):
    """What the bot sent in answer to one action."""

    @property
    def text(self) -> str:
        return "\n---\n".join(c.text for c in self)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        return [b for c in self for b in c.buttons]


@dataclass
class Press:
    """In a dialogue script: press the button with this label on the bot's latest message."""

    label: str


class Bench:
    """The real Application, the stand-in, and people to play."""

    def __init__(self, app: Any, api: BotApiStandIn) -> None:
        self.app = app
        self.api = api
        self.last_update: dict[str, Any] | None = None
        self.queued = False  # see through_queue

    @contextmanager
    def through_queue(self) -> Iterator[None]:
        """Within it, what people do goes into the application's update queue, as polling
        puts it there, to be handled by its update processor (bot/concurrency.py) with the
        updates queued beside it; nothing waits for the answers (app.update_queue.join()
        does), so each action's Replies are empty: read them from api.sent."""
        self.queued = True
        try:
            yield
        finally:
            self.queued = False

    async def deliver(self, body: dict[str, Any]) -> Replies:
        """Hand an update to the bot as polling would; return every message sent meanwhile."""
        since = len(self.api.calls)
        update = self.api.new_update(body)
        self.last_update = update
        if self.queued:
            await self.app.update_queue.put(Update.de_json(update, self.app.bot))
            return Replies()
        await self._process(Update.de_json(update, self.app.bot))
        return Replies(self.api.sent(since=since))

    async def _process(self, update: Update) -> None:
        """process_update, then wait for the tasks its handlers started (create_task)."""
        before = asyncio.all_tasks()
        await self.app.process_update(update)
        spawned = asyncio.all_tasks() - before - {asyncio.current_task()}
        if spawned:
            await asyncio.gather(*spawned, return_exceptions=True)

    async def replay(self) -> Replies:
        """Deliver the last update again, same update_id: what Telegram does after a crash
        between handling an update and confirming it."""
        assert self.last_update is not None
        since = len(self.api.calls)
        await self._process(Update.de_json(self.last_update, self.app.bot))
        return Replies(self.api.sent(since=since))

    def user(
        self,
        user_id: int,
        first_name: str = "测试",
        last_name: str | None = None,
        username: str | None = None,
    ) -> TgUser:
        return TgUser(self, user_id, first_name, last_name, username)

    def group(self, chat_id: int, title: str = "督导群") -> TgGroup:
        return TgGroup(self, chat_id, title)

    def channel(
        self, chat_id: int, title: str = "晒频道", username: str | None = None,
        admins: tuple[int, ...] = (), bot_admin: bool = True,
    ) -> TgChannel:  # fmt: skip
        """A channel the bot is an admin of (unless `bot_admin` is False), with these admins."""
        self.api.add_channel(chat_id, title, username, admins, bot_admin)
        return TgChannel(self, chat_id)


def _typed(text: str) -> dict[str, Any]:
    """A typed text, with the bot_command entity Telegram marks a leading command with."""
    if not text.startswith("/"):
        return {"text": text}
    length = len(text.split(maxsplit=1)[0].encode("utf-16-le")) // 2
    return {"text": text, "entities": [{"type": "bot_command", "offset": 0, "length": length}]}


class TgUser:
    """A person in a private chat with the bot."""

    def __init__(
        self,
        bench: Bench,
        user_id: int,
        first_name: str,
        last_name: str | None,
        username: str | None,
    ) -> None:
        self.bench, self.id = bench, user_id
        self.first_name, self.last_name, self.username = first_name, last_name, username
        self.sent: list[dict[str, Any]] = []  # their messages, oldest first (to edit one)

    @property
    def as_user(self) -> dict[str, Any]:
        user: dict[str, Any] = {
            "id": self.id,
            "is_bot": False,
            "first_name": self.first_name,
            "language_code": "zh-hans",
        }
        if self.last_name:
            user["last_name"] = self.last_name
        if self.username:
            user["username"] = self.username
        return user

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "private", "first_name": self.first_name}

    def _message(self, content: dict[str, Any], date: float | None = None) -> dict[str, Any]:
        api = self.bench.api
        message = {
            "message_id": api.next_message_id(),
            "date": int(api.clock() if date is None else date),
            "chat": self.chat,
            "from": self.as_user,
            **content,
        }
        self.sent.append(message)
        return message

    async def send(
        self, text: str, *, reply_to: dict[str, Any] | None = None, written: float | None = None
    ) -> Replies:
        """Type and send a text message (commands get their bot_command entity); as a reply
        to one of the bot's messages, or written at `written` (a timestamp: a second device
        that sends late what was typed earlier)."""
        content = _typed(text)
        if reply_to is not None:
            content["reply_to_message"] = reply_to
        return await self.bench.deliver({"message": self._message(content, written)})

    async def send_media(
        self, kind: str, caption: str | None = None, *, file_id: str | None = None
    ) -> Replies:
        """Send a photo, sticker, voice, document, video, location, contact or animation
        (a photo or document with its own `file_id`, to send several different ones)."""
        content = dict(MEDIA[kind])
        if file_id is not None and kind == "photo":
            content["photo"] = [{**content["photo"][0], "file_id": file_id,
                                 "file_unique_id": f"u{file_id}"}]  # fmt: skip
        elif file_id is not None and kind == "document":
            content["document"] = {**content["document"], "file_id": file_id,
                                   "file_unique_id": f"u{file_id}"}  # fmt: skip
        if caption:
            content["caption"] = caption
        return await self.bench.deliver({"message": self._message(content)})

    async def edit(self, text: str, message: dict[str, Any] | None = None) -> Replies:
        """Edit an earlier message of theirs (by default the last) so that it reads `text`."""
        original = message or (self.sent[-1] if self.sent else self._message({}))
        kept = {k: v for k, v in original.items() if k != "entities"}
        edited = {**kept, **_typed(text), "edit_date": int(self.bench.api.clock())}
        return await self.bench.deliver({"edited_message": edited})

    def last_bot_message(self, with_button: str | None = None) -> dict[str, Any]:
        """The bot's latest message in this chat (having a button with this label)."""
        for (chat_id, _), message in reversed(self.bench.api.messages.items()):
            if chat_id != self.id:
                continue
            labels = [
                b.get("text")
                for row in message.get("reply_markup", {}).get("inline_keyboard", [])
                for b in row
            ]
            if with_button is None or with_button in labels:
                return message
        raise AssertionError(f"no bot message with button {with_button!r} in chat {self.id}")

    async def press(self, label: str, message: dict[str, Any] | None = None) -> Replies:
        """Press the button labelled `label` on the bot's latest message that has it."""
        message = message or self.last_bot_message(with_button=label)
        for row in message["reply_markup"]["inline_keyboard"]:
            for button in row:
                if button.get("text") == label:
                    return await self.press_data(button["callback_data"], message)
        raise AssertionError(f"no button {label!r}")

    async def press_data(self, data: str, message: dict[str, Any] | None = None) -> Replies:
        """Send a callback query with arbitrary data: stale or forged buttons."""
        message = message or self.last_bot_message()
        query = {
            "id": self.bench.api.next_callback_id(),
            "from": self.as_user,
            "chat_instance": f"ci{self.id}",
            "data": data,
            "message": message,
        }
        return await self.bench.deliver({"callback_query": query})


class TgGroup:
    """A group chat with the bot in it (privacy mode: it sees commands only)."""

    def __init__(self, bench: Bench, chat_id: int, title: str) -> None:
        self.bench, self.id, self.title = bench, chat_id, title

    @property
    def chat(self) -> dict[str, Any]:
        return {"id": self.id, "type": "supergroup", "title": self.title}

    async def send(self, user: TgUser, text: str) -> Replies:
        """`user` sends `text` in the group."""
        api = self.bench.api
        message = {
            "message_id": api.next_message_id(),
            "date": int(api.clock()),
            "chat": self.chat,
            "from": user.as_user,
            **_typed(text),
        }
        return await self.bench.deliver({"message": message})

    async def remove_bot(self, by: TgUser) -> Replies:
        """Someone removes the bot from the group."""
        api = self.bench.api
        change = {
            "chat": self.chat,
            "from": by.as_user,
            "date": int(api.clock()),
            "old_chat_member": {"status": "member", "user": api.bot},
            "new_chat_member": {"status": "left", "user": api.bot},
        }
        return await self.bench.deliver({"my_chat_member": change})


class TgChannel:
    """A channel: its posts arrive as channel_post updates, without a sender."""

    def __init__(self, bench: Bench, chat_id: int) -> None:
        self.bench, self.id = bench, chat_id

    @property
    def chat(self) -> dict[str, Any]:
        return self.bench.api.channels[self.id].as_chat

    async def post(self, text: str) -> Replies:
        """An admin of the channel posts `text` in it (signed by the channel, not a person)."""
        api = self.bench.api
        message = {
            "message_id": api.next_message_id(),
            "date": int(api.clock()),
            "chat": self.chat,
            "sender_chat": self.chat,
            **_typed(text),
        }
        api.messages[(self.id, message["message_id"])] = message  # the bot may delete it
        return await self.bench.deliver({"channel_post": message})

    def posts(self) -> list[dict[str, Any]]:
        """The messages in the channel now, oldest first."""
        return [m for (chat, _), m in self.bench.api.messages.items() if chat == self.id]

    async def demote_bot(self) -> Replies:
        """The bot is no longer an admin of the channel (a my_chat_member update follows)."""
        api = self.bench.api
        api.channels[self.id].bot_admin = False
        change = {
            "chat": self.chat,
            "from": {"id": 1, "is_bot": False, "first_name": "owner"},
            "date": int(api.clock()),
            "old_chat_member": {"status": "administrator", "user": api.bot,
                                "can_be_edited": False, "is_anonymous": False,
                                "can_manage_chat": True, "can_delete_messages": True,
                                "can_manage_video_chats": False, "can_restrict_members": True,
                                "can_promote_members": False, "can_change_info": True,
                                "can_invite_users": True, "can_post_stories": False,
                                "can_edit_stories": False, "can_delete_stories": False},
            "new_chat_member": {"status": "left", "user": api.bot},
        }  # fmt: skip
        return await self.bench.deliver({"my_chat_member": change})


Expect = str | re.Pattern[str] | Callable[[Replies], Any]


async def expect_dialogue(user: TgUser, script: Sequence[tuple[str | Press, Expect]]) -> None:
    """Play (what the user does, what the bot must answer) pairs; fail with the transcript."""
    transcript: list[str] = []
    for says, expected in script:
        if isinstance(says, Press):
            replies = await user.press(says.label)
            transcript.append(f"[按 {says.label}]")
        else:
            replies = await user.send(says)
            transcript.append(f"> {says}")
        transcript.append(replies.text or "(no reply)")
        if isinstance(expected, str):
            ok = expected in replies.text
        elif isinstance(expected, re.Pattern):
            ok = expected.search(replies.text) is not None
        else:
            ok = expected(replies) is not False
        if not ok:
            shown = "\n".join(transcript)
            raise AssertionError(f"expected {expected!r} in the last answer:\n{shown}")

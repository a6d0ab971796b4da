"""A Bot API stand-in: answers the methods the bot uses, records every call, queues updates.

It is transport-free: `StandInRequest` (in-process) and `serve_http` (loopback) both call
`BotApiStandIn.handle`. Tests play users by creating updates; see bot/standin/dialogue.py.
"""

from __future__ import annotations

import asyncio
import itertools
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

TOKEN = "123456:TEST-token-for-the-stand-in"

# A fault hook may answer instead of the stand-in: return (HTTP status, JSON body) or None.
Fault = Callable[[str, dict[str, Any]], "tuple[int, dict[str, Any]] | None"]


@dataclass
class Call:
    method: str
    params: dict[str, Any]
    at: float = field(default_factory=time.monotonic)
    status: int = 0  # the HTTP status the stand-in answered

    @property
    def chat_id(self) -> int | None:
        value = self.params.get("chat_id")
        return int(value) if value is not None else None

    @property
    def text(self) -> str:
        """The message's text or caption; an album's caption (under its first item)."""
        album = self.params.get("media")
        if isinstance(album, list) and album and isinstance(album[0], dict):
            return str(album[0].get("caption") or "")
        return str(self.params.get("text") or self.params.get("caption") or "")

    @property
    def upload(self) -> tuple[str, bytes] | None:
        """(file name, bytes) of the file the call uploaded (in process only), if any."""
        uploads = self.params.get("uploads") or {}
        return next(iter(uploads.values()), None)

    @property
    def buttons(self) -> list[tuple[str, str]]:
        """(label, callback_data) of every inline button, row by row."""
        markup = self.params.get("reply_markup") or {}
        rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
        return [(b.get("text", ""), b.get("callback_data", "")) for row in rows for b in row]


@dataclass
class Hold:
    """Keep the bot's matching requests waiting for their answer, as if the answer were still
    on its way when the bot died (tests kill it meanwhile). `delivered`: Telegram carried the
    request out before that (a message reached the person; the bot never heard so), or not
    (the request was lost on the way). `release()` answers them all."""

    match: Callable[[Call], bool]
    delivered: bool = True
    calls: list[Call] = field(default_factory=list)
    released: asyncio.Event = field(default_factory=asyncio.Event)

    def release(self) -> None:
        self.released.set()


def _error(status: int, description: str, **parameters: Any) -> tuple[int, dict[str, Any]]:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if parameters:
        body["parameters"] = parameters
    return status, body


def _norm(params: dict[str, Any]) -> dict[str, Any]:
    """Make form-encoded values (all strings, JSON for objects) look like in-process ones."""
    out: dict[str, Any] = {}
    for key, value in params.items():
        if isinstance(value, str) and value[:1] in "[{":
            try:
                value = json.loads(value)
            except ValueError:
                pass
        out[key] = value
    return out


class BotApiStandIn:
    """The state of a fake Telegram: the bot, chats, messages and pending updates."""

    def __init__(
        self, token: str = TOKEN, bot_id: int = 7000001, username: str = "shuji_test_bot"
    ) -> None:
        self.token = token
        self.bot_id = bot_id
        self.bot = {
            "id": bot_id,
            "is_bot": True,
            "first_name": "书记项目助手",
            "username": username,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
        }
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.blocked: set[int] = set()  # users who blocked the bot (403)
        self.never_started: set[int] = set()  # users who never pressed Start (403)
        self.commands: dict[str, list[dict[str, Any]]] = {}  # scope key -> commands
        self.messages: dict[tuple[int, int], dict[str, Any]] = {}  # bot's, by (chat, id)
        self.webhook: dict[str, Any] | None = None  # setWebhook's parameters while one is set
        self.channels: dict[int, Channel] = {}  # channels, by chat id (add_channel)
        self._updates: list[dict[str, Any]] = []
        self._confirmed = 0  # every update_id below this was confirmed by an offset
        self._update_ids = itertools.count(1)
        self._message_ids = itertools.count(1)
        self._callback_ids = itertools.count(1)
        self._new_update = asyncio.Event()
        self.clock: Callable[[], float] = time.time
        # Kill tests: requests kept waiting (see Hold), the update ids every getUpdates answer
        # handed out (a re-delivery shows up twice), and polls stalled by stall_updates().
        self.holds: list[Hold] = []
        self.handed_out: list[int] = []
        self._stall_after: int | None = None
        self._resumed = asyncio.Event()

    # -- what tests read ---------------------------------------------------------------------

    def sent(self, chat_id: int | None = None, since: int = 0) -> list[Call]:
        """Messages and documents Telegram accepted from the bot (optionally to one chat),
        after call `since`; refused attempts are in `calls` only."""
        return [
            c
            for c in self.calls[since:]
            if c.method
            in ("sendMessage", "sendDocument", "sendPhoto", "sendMediaGroup", "editMessageText")
            and c.status == 200
            and (chat_id is None or c.chat_id == chat_id)
        ]

    def methods(self, name: str) -> list[Call]:
        """Every call of one Bot API method."""
        return [c for c in self.calls if c.method == name]

    # -- what tests do -----------------------------------------------------------------------

    def new_update(self, body: dict[str, Any]) -> dict[str, Any]:
        """Give `body` (e.g. {"message": {...}}) an update_id and queue it for getUpdates."""
        update = {"update_id": next(self._update_ids), **body}
        self._updates.append(update)
        self._new_update.set()
        return update

    def restart_update_ids(self, start: int) -> None:
        """Number the next updates from `start`: what Telegram may do after a week without
        updates (Bot API, Update.update_id: the next id is then chosen at random)."""
        self._update_ids = itertools.count(start)

    def next_message_id(self) -> int:
        return next(self._message_ids)

    def next_callback_id(self) -> str:
        return str(next(self._callback_ids))

    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by the bot's getUpdates offset."""
        return [u for u in self._updates if u["update_id"] >= self._confirmed]

    def hold(self, match: Callable[[Call], bool], delivered: bool = True) -> Hold:
        """Keep requests matching `match` waiting from now on (see Hold)."""
        held = Hold(match, delivered)
        self.holds.append(held)
        return held

    def release_holds(self) -> None:
        """Answer every held request and hold nothing more."""
        for held in self.holds:
            held.release()
        self.holds.clear()

    def stall_updates(self, after: int) -> None:
        """From now on, a getUpdates whose offset would confirm update `after` (or a later one)
        confirms nothing and gets no answer until resume_updates(): the bot has fetched
        `after`, and its confirmation dies with it. Telegram then hands `after` out again."""
        self._stall_after = after
        self._resumed = asyncio.Event()
        self._new_update.set()  # polls waiting now look at the stall

    def resume_updates(self) -> None:
        """End stall_updates(): stalled polls get an empty answer, later ones are served."""
        self._stall_after = None
        self._resumed.set()

    def _stalled(self, offset: int) -> bool:
        return self._stall_after is not None and offset > self._stall_after

    # -- the Bot API -------------------------------------------------------------------------

    async def handle(
        self, method: str, params: dict[str, Any], token: str | None = None
    ) -> tuple[int, dict[str, Any]]:
        """Answer one Bot API call as Telegram would: (HTTP status, JSON body)."""
        if token is not None and token != self.token:
            return _error(401, "Unauthorized")
        params = _norm(params)
        call = Call(method, params)
        self.calls.append(call)
        held = next((h for h in self.holds if h.match(call)), None)
        if held is not None:
            return await self._held(held, call)
        status, body = await self._answer(method, params)
        call.status = status
        return status, body

    async def _held(self, held: Hold, call: Call) -> tuple[int, dict[str, Any]]:
        held.calls.append(call)
        if held.delivered:
            status, body = await self._answer(call.method, call.params)
            call.status = status
            await held.released.wait()
            return status, body
        await held.released.wait()
        call.status, body = _error(502, "Bad Gateway: the request was lost on its way")
        return call.status, body

    async def _answer(self, method: str, params: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        for fault in list(self.faults):
            answer = fault(method, params)
            if answer is not None:
                return answer
        handler = getattr(self, f"_m_{method}", None)
        if handler is None:
            return _error(400, f"Bad Request: method {method} is not in the stand-in")
        result = handler(params)
        if asyncio.iscoroutine(result):
            result = await result
        if isinstance(result, tuple):
            return result
        return 200, {"ok": True, "result": result}

    def _m_getMe(self, p: dict[str, Any]) -> Any:
        return self.bot

    def _m_setWebhook(self, p: dict[str, Any]) -> Any:
        if not str(p.get("url", "")).startswith("https://"):
            return _error(400, "Bad Request: bad webhook: An HTTPS URL must be provided")
        self.webhook = dict(p)
        return True

    def _m_getWebhookInfo(self, p: dict[str, Any]) -> Any:
        url = self.webhook["url"] if self.webhook else ""
        return {"url": url, "has_custom_certificate": False, "pending_update_count": 0}

    def _m_deleteWebhook(self, p: dict[str, Any]) -> Any:
        self.webhook = None
        if str(p.get("drop_pending_updates", "")).lower() == "true":
            # Telegram forgets the updates it has not handed out yet: lost to the bot.
            self._confirmed = max([self._confirmed, *(u["update_id"] + 1 for u in self._updates)])
        return True

    def _m_logOut(self, p: dict[str, Any]) -> Any:
        return True

    async def _m_getUpdates(self, p: dict[str, Any]) -> Any:
        if self.webhook is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(p.get("offset") or 0)
        if self._stalled(offset):
            await self._resumed.wait()
            return []
        if offset:
            self._confirmed = max(self._confirmed, offset)
        timeout = min(float(p.get("timeout") or 0), 30.0)
        limit = int(p.get("limit") or 100)
        deadline = time.monotonic() + timeout
        while True:
            if self._stalled(offset):
                await self._resumed.wait()
                return []
            ready = self.pending_updates()[:limit]
            if ready:
                self.handed_out.extend(u["update_id"] for u in ready)
            if ready or time.monotonic() >= deadline:
                return ready
            self._new_update.clear()
            try:
                await asyncio.wait_for(self._new_update.wait(), deadline - time.monotonic())
            except TimeoutError:
                pass

    def _scope_key(self, p: dict[str, Any]) -> str:
        scope = p.get("scope") or {"type": "default"}
        key = scope.get("type", "default")
        if "chat_id" in scope:
            key += f":{scope['chat_id']}"
        return key + (f":{p['language_code']}" if p.get("language_code") else "")

    def _m_setMyCommands(self, p: dict[str, Any]) -> Any:
        scope = p.get("scope") or {}
        chat_id = scope.get("chat_id")
        if chat_id is not None and int(chat_id) in self.never_started:
            return _error(400, "Bad Request: chat not found")
        self.commands[self._scope_key(p)] = list(p.get("commands") or [])
        return True

    def _m_deleteMyCommands(self, p: dict[str, Any]) -> Any:
        self.commands.pop(self._scope_key(p), None)
        return True

    def _check_chat(self, p: dict[str, Any]) -> tuple[int, tuple[int, dict[str, Any]] | None]:
        chat_id = int(p["chat_id"])
        channel = self.channels.get(chat_id)
        if channel is not None and not channel.bot_admin:
            return chat_id, _error(403, "Forbidden: bot is not a member of the channel chat")
        if chat_id in self.blocked:
            return chat_id, _error(403, "Forbidden: bot was blocked by the user")
        if chat_id in self.never_started:
            return chat_id, _error(403, "Forbidden: bot can't initiate conversation with a user")
        return chat_id, None

    def _chat(self, chat_id: int) -> dict[str, Any]:
        if chat_id in self.channels:
            return self.channels[chat_id].as_chat
        if chat_id > 0:
            return {"id": chat_id, "type": "private", "first_name": f"user{chat_id}"}
        return {"id": chat_id, "type": "supergroup", "title": f"group{chat_id}"}

    def _store(self, chat_id: int, p: dict[str, Any], **content: Any) -> dict[str, Any]:
        message = {
            "message_id": self.next_message_id(),
            "date": int(self.clock()),
            "chat": self._chat(chat_id),
            "from": self.bot,
            **content,
        }
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        self.messages[(chat_id, message["message_id"])] = message
        return message

    def _m_sendMessage(self, p: dict[str, Any]) -> Any:
        chat_id, refused = self._check_chat(p)
        if refused:
            return refused
        text = str(p.get("text", ""))
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return _error(400, "Bad Request: message is too long")
        _check_html(text, p.get("parse_mode"))
        return self._store(chat_id, p, text=text)

    def _m_sendDocument(self, p: dict[str, Any]) -> Any:
        chat_id, refused = self._check_chat(p)
        if refused:
            return refused
        doc = {"file_id": f"doc{self.next_message_id()}", "file_unique_id": "u"}
        return self._store(chat_id, p, document=doc, caption=p.get("caption", ""))

    def _m_sendPhoto(self, p: dict[str, Any]) -> Any:
        chat_id, refused = self._check_chat(p)
        if refused:
            return refused
        photo = [
            {
                "file_id": f"ph{self.next_message_id()}",
                "file_unique_id": "u",
                "width": 1,
                "height": 1,
            }
        ]
        return self._store(chat_id, p, photo=photo, caption=p.get("caption", ""))

    def _edit(self, p: dict[str, Any], **changes: Any) -> Any:
        """A message edited: `changes`, and its buttons replaced by those sent (or none)."""
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            return _error(400, "Bad Request: message to edit not found")
        message = dict(self.messages[key], **changes)
        message.pop("reply_markup", None)
        if p.get("reply_markup"):
            message["reply_markup"] = p["reply_markup"]
        self.messages[key] = message
        return message

    def _m_editMessageText(self, p: dict[str, Any]) -> Any:
        return self._edit(p, text=str(p.get("text", "")))

    def _m_editMessageReplyMarkup(self, p: dict[str, Any]) -> Any:
        return self._edit(p)

    def _m_answerCallbackQuery(self, p: dict[str, Any]) -> Any:
        return True

    # -- channels ------------------------------------------------------------------------------

    def add_channel(
        self, chat_id: int, title: str, username: str | None = None,
        admins: tuple[int, ...] = (), bot_admin: bool = True,
    ) -> Channel:  # fmt: skip
        """A channel with these (human) admins; the bot is one of them when `bot_admin`."""
        channel = Channel(chat_id, title, username, set(admins), bot_admin)
        self.channels[chat_id] = channel
        return channel

    def _find_channel(self, p: dict[str, Any]) -> Channel | None:
        ref = str(p.get("chat_id", ""))
        for channel in self.channels.values():
            if ref == str(channel.chat_id) or (channel.username and ref == f"@{channel.username}"):
                return channel
        return None

    def _m_getChat(self, p: dict[str, Any]) -> Any:
        channel = self._find_channel(p)
        if channel is None:
            return _error(400, "Bad Request: chat not found")
        gifts = dict.fromkeys(
            (
                "unlimited_gifts",
                "limited_gifts",
                "unique_gifts",
                "premium_subscription",
                "gifts_from_channels",
            ),
            False,
        )
        return {**channel.as_chat, "accent_color_id": 0, "max_reaction_count": 11,
                "accepted_gift_types": gifts}  # fmt: skip

    def _member(self, channel: Channel, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            if not channel.bot_admin:
                return {"status": "left", "user": self.bot}
            return {"status": "administrator", "user": self.bot, **_ADMIN_RIGHTS}
        user = {"id": user_id, "is_bot": False, "first_name": f"user{user_id}"}
        if user_id in channel.admins:
            return {"status": "administrator", "user": user, **_ADMIN_RIGHTS}
        return {"status": "left", "user": user}

    def _m_getChatMember(self, p: dict[str, Any]) -> Any:
        channel = self._find_channel(p)
        if channel is None:
            return _error(400, "Bad Request: chat not found")
        return self._member(channel, int(p["user_id"]))

    def _m_getChatAdministrators(self, p: dict[str, Any]) -> Any:
        channel = self._find_channel(p)
        if channel is None:
            return _error(400, "Bad Request: chat not found")
        ids = [*sorted(channel.admins), *([self.bot_id] if channel.bot_admin else [])]
        return [self._member(channel, user_id) for user_id in ids]

    def _m_deleteMessage(self, p: dict[str, Any]) -> Any:
        key = (int(p["chat_id"]), int(p["message_id"]))
        if key not in self.messages:
            return _error(400, "Bad Request: message to delete not found")
        del self.messages[key]
        return True

    def _m_sendMediaGroup(self, p: dict[str, Any]) -> Any:
        chat_id, refused = self._check_chat(p)
        if refused:
            return refused
        media = p.get("media") or []
        if not 2 <= len(media) <= 10:
            return _error(400, "Bad Request: wrong number of media in the album")
        kinds = {item.get("type") for item in media}
        if not kinds <= {"photo", "video"} and len(kinds) > 1:
            # Telegram: documents (and audio) go only with their own kind.
            return _error(400, "Bad Request: document can't be mixed with other media types")
        stored = []
        for item in media:
            caption = item.get("caption", "")
            if len(caption) > 1024:
                return _error(400, "Bad Request: message caption is too long")
            _check_html(caption, item.get("parse_mode", p.get("parse_mode")))
            if item.get("type") == "document":
                doc = {"file_id": item["media"], "file_unique_id": "u"}
                stored.append(self._store(chat_id, {}, document=doc, caption=caption))
            else:
                photo = [{"file_id": item["media"], "file_unique_id": "u", "width": 1, "height": 1}]
                stored.append(self._store(chat_id, {}, photo=photo, caption=caption))
        return stored


_ADMIN_RIGHTS = {
    "can_be_edited": False, "is_anonymous": False, "can_manage_chat": True,
    "can_delete_messages": True, "can_manage_video_chats": False, "can_restrict_members": True,
    "can_promote_members": False, "can_change_info": True, "can_invite_users": True,
    "can_post_stories": False, "can_edit_stories": False, "can_delete_stories": False,
    "can_post_messages": True, "can_edit_messages": True,
}  # fmt: skip


@dataclass
class Channel:
    """A Telegram channel in the stand-in: its admins and whether the bot is one."""

    chat_id: int
    title: str
    username: str | None
    admins: set[int]
    bot_admin: bool

    @property
    def as_chat(self) -> dict[str, Any]:
        chat: dict[str, Any] = {"id": self.chat_id, "type": "channel", "title": self.title}
        if self.username:
            chat["username"] = self.username
        return chat

    def _m_leaveChat(self, p: dict[str, Any]) -> Any:
        return True


_ALLOWED_TAGS = {
    "b",
    "i",
    "u",
    "s",
    "code",
    "pre",
    "a",
    "tg-spoiler",
    "blockquote",
    "strong",
    "em",
    "ins",
    "strike",
    "del",
    "span",
    "tg-emoji",
}
_TOKEN = re.compile(
    r"<(?P<close>/?)(?P<tag>[a-z-]+)(?P<attrs>\s[^<>]*)?>"  # a tag
    r"|&(?:lt|gt|amp|quot|#\d+|#x[0-9a-fA-F]+);"  # an entity Telegram knows
    r"|(?P<bad>[<>&])"  # anything else made of these is an error
)


class StandInHTMLError(AssertionError):
    """The bot sent markup Telegram would refuse: a test bug surfaced loudly."""


def _check_html(text: str, parse_mode: Any) -> None:
    """Refuse what Telegram's HTML parser refuses: unknown or unbalanced tags, bare < > &."""
    if str(parse_mode).upper() != "HTML":
        return
    stack: list[str] = []
    for match in _TOKEN.finditer(text):
        if match["bad"] is not None:
            if match["bad"] == ">":
                continue  # Telegram tolerates a bare '>'
            raise StandInHTMLError(f"unescaped {match['bad']!r} at {match.start()} in {text!r}")
        tag = match["tag"]
        if tag is None:
            continue
        if tag not in _ALLOWED_TAGS:
            raise StandInHTMLError(f"unsupported tag <{tag}> in {text!r}")
        if match["close"]:
            if not stack or stack.pop() != tag:
                raise StandInHTMLError(f"unbalanced </{tag}> in {text!r}")
        else:
            stack.append(tag)
    if stack:
        raise StandInHTMLError(f"unclosed <{stack[-1]}> in {text!r}")

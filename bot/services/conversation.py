"""The one step engine every conversation runs on.

A conversation is data: its fields in order (name, kind, limits, minimum, editable, when
shown, how an answer is recognised) and its preview. The engine owns the moves every
conversation shares — next, back, cancel, the preview, "change one item", resume at the
first unanswered field and whose dialog it is — so a conversation only writes its own
rules (how an answer is read and stored). The position lives in the `dialogs` row; the
answers live in the conversation's working copy (a project, a report, a notice).

Prompts are `templates/<flow>/ask_<field>.html`, button labels `field_<field>` in
templates/buttons.txt.
"""

from __future__ import annotations

import sqlite3
import unicodedata
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Generic, Protocol, TypeVar

from bot.services.text import clean_line, clean_text
from storage import dialogs, prompts
from storage.db import Connection, Database
from storage.prompts import Answer, Prompt
from storage.rows import Dialog, Session, parse_ts, ts

PREVIEW = "preview"
# The same text again within this long is taken for a resend (a weak network, a double tap).
REPEAT_WINDOW = timedelta(minutes=5)
TYPED = ("text", "line", "choice", "percent", "span", "schedule")  # answered by typing
# Words typed instead of pressing the buttons.
CANCEL_WORDS = frozenset({"取消", "/cancel", "cancel", "退出"})
BACK_WORDS = frozenset({"上一步", "返回", "/back", "back"})


def control_word(text: str) -> str | None:
    """Return 'cancel' or 'back' when the text is one of those words, also typed (or pasted)
    as the button's label with its emoji (⬅️ 上一步, ✖️ 取消)."""
    word = "".join(c for c in clean_line(text) if not _decoration(c)).lower()
    if word in CANCEL_WORDS:
        return "cancel"
    if word in BACK_WORDS:
        return "back"
    return None


def _decoration(char: str) -> bool:
    """An emoji, a variation selector or a space around a button's words."""
    return char.isspace() or unicodedata.category(char) in ("So", "Sk", "Mn")


class Positioned(Protocol):
    """A conversation's view: the working copy plus where the person stands."""

    @property
    def step(self) -> str: ...

    @property
    def editing(self) -> bool: ...


V = TypeVar("V", bound=Positioned)


def _always(view: Any) -> bool:
    return True


@dataclass(frozen=True, slots=True)
class Field(Generic[V]):
    """One question: `answered` reads the working copy, `shown` says whether it is asked."""

    name: str
    kind: str  # text | line | choice | percent | ticks | files | span | schedule
    answered: Callable[[V], bool]
    limit: int = 0  # characters, for text kinds
    minimum: int = 0
    editable: bool = True  # offered under 修改某项
    shown: Callable[[V], bool] = _always
    columns: tuple[str, ...] = ()  # where the answer is stored (ledger and preview order)
    label: str = ""  # its name in templates/buttons.txt, if not field_<name>

    @property
    def label_key(self) -> str:
        return self.label or f"field_{self.name}"

    @property
    def typed(self) -> bool:
        """Answered by a typed message (so an edit or a reply can change it)."""
        return self.kind in TYPED and self.editable


@dataclass(frozen=True, slots=True)
class Conversation(Generic[V]):
    """A conversation's fields in order, and the moves between them."""

    flow: str
    fields: tuple[Field[V], ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(f.name for f in self.fields)

    def field(self, name: str) -> Field[V]:
        return next(f for f in self.fields if f.name == name)

    def stored(self) -> tuple[str, ...]:
        """Every column the answers are stored in, in the fields' order (what a submitted
        version keeps; the ledger's columns)."""
        return tuple(c for f in self.fields for c in f.columns)

    def limits(self) -> dict[str, int]:
        return {f.name: f.limit for f in self.fields if f.limit}

    def minimums(self) -> dict[str, int]:
        return {f.name: f.minimum for f in self.fields if f.limit}

    def prompt(self, step: str) -> str:
        """The template that asks `step` (or shows the preview)."""
        return f"{self.flow}/{PREVIEW if step == PREVIEW else f'ask_{step}'}.html"

    def applies(self, view: V, name: str) -> bool:
        return self.field(name).shown(view)

    def answered(self, view: V, name: str) -> bool:
        """Answered, or not asked at all in this working copy."""
        field = self.field(name)
        return not field.shown(view) or field.answered(view)

    def asked(self, view: V) -> list[str]:
        """The fields asked in this working copy, in order."""
        return [f.name for f in self.fields if f.shown(view)]

    def editable(self, view: V) -> list[str]:
        """The fields offered under 修改某项."""
        return [f.name for f in self.fields if f.editable and f.shown(view)]

    def first_unanswered(self, view: V) -> str:
        """Where to resume: the first field without an answer, else the preview."""
        return next((n for n in self.names if not self.answered(view, n)), PREVIEW)

    def after(self, view: V, step: str) -> str:
        """Where an answer to `step` leads: the next unanswered field, else the preview (so
        changing one item returns to the preview unless the change made a field needed,
        e.g. a lower 完成度 its reason)."""
        later = self.names[self.names.index(step) + 1 :] if step in self.names else ()
        return next((n for n in later if not self.answered(view, n)), PREVIEW)

    def before(self, view: V) -> str | None:
        """上一步: the previous asked field (from the preview the last one; while changing
        one item, the preview); None at the first."""
        if view.editing and view.step != PREVIEW:
            return PREVIEW
        asked = self.asked(view)
        earlier = asked if view.step == PREVIEW else asked[: self._index(asked, view.step)]
        return earlier[-1] if earlier else None

    @staticmethod
    def _index(asked: list[str], step: str) -> int:
        return asked.index(step) if step in asked else len(asked)

    def number(self, view: V) -> int:
        """The open step's place among the asked ones, for "第 n/m 步"."""
        asked = self.asked(view)
        return asked.index(view.step) + 1 if view.step in asked else len(asked)

    def total(self, view: V) -> int:
        return len(self.asked(view))

    def bindable(self, name: str) -> bool:
        """A message may be bound to this field out of turn (by an edit or a reply)."""
        return name in self.names and self.field(name).typed

    def __post_init__(self) -> None:
        CONVERSATIONS[self.flow] = self

    def own(
        self, dialog: Dialog | None, subject_id: int | None = None, step: str | None = None
    ) -> Dialog | None:
        """The person's dialog of this conversation, if a button's subject and step match it."""
        if dialog is None or dialog.flow != self.flow:
            return None
        if subject_id is not None and dialog.subject_id != subject_id:
            return None
        if step is not None and dialog.step != step:
            return None
        return dialog

    def position(
        self, dialog: Dialog | None, subject_id: int | None = None, step: str | None = None
    ) -> tuple[int, str, bool] | None:
        """(subject, step, editing) of the person's dialog of this conversation, if a
        button's subject and step match it."""
        mine = self.own(dialog, subject_id, step)
        return None if mine is None else (mine.subject_id, mine.step, mine.editing)

    async def move(
        self, db: Database, user_id: int, subject_id: int, step: str, editing: bool,
        now: datetime,
    ) -> None:  # fmt: skip
        """Put the person at `step` of this conversation (one commit)."""
        async with db.transaction() as conn:
            await dialogs.put(conn, user_id, self.flow, subject_id, step, editing, ts(now))


W = TypeVar("W")


@dataclass(frozen=True)  # no slots: Python 3.11 then refuses Outcome[View](...) calls
class StepOutcome(Generic[W]):
    """What one action of a conversation did: `kind` picks the template, `params` fill it."""

    kind: str
    view: W | None = None
    params: dict[str, Any] = field(default_factory=dict)


# Every conversation by its flow (each registers itself when its module is imported).
CONVERSATIONS: dict[str, Conversation[Any]] = {}


def text_problem(text: str, limit: int, minimum: int) -> tuple[str, dict[str, Any]] | None:
    """Empty, over `limit` or under `minimum` characters: the problem and its numbers."""
    value = text.strip()
    if not value:
        return "empty", {}
    if len(value) > limit:
        return "too_long", {"limit": limit, "length": len(value)}
    if len(value) < minimum:
        return "too_short", {"minimum": minimum}
    return None


def _never(view: Any) -> bool:
    return False


@dataclass(frozen=True, slots=True)
class SideStep(Conversation[Any]):
    """A one-field conversation that interrupts a decision (a return's reason): its one
    question is always the open one, so the dialog's step names the decision it
    interrupted (the round, and the stage where there are two) instead of a field. The
    engine opens it, reads the answer against the field's limits and ends it; 取消 and
    上一步 both end it, and the conversation offers that decision's buttons again."""

    @staticmethod
    def asking(name: str, limit: int, minimum: int = 1) -> tuple[Field[Any], ...]:
        """The one field: text, answered when the side-step ends."""
        return (Field(name, "text", _never, limit, minimum, editable=False),)

    @property
    def question(self) -> Field[Any]:
        return self.fields[0]

    async def open(
        self, db: Database, user_id: int, subject_id: int, decision: str, now: datetime
    ) -> None:
        """The person's next message answers the side-step's question about `decision`."""
        await self.move(db, user_id, subject_id, decision, False, now)

    def read(self, text: str) -> tuple[str, tuple[str, dict[str, Any]] | None]:
        """The answer as kept (cleaned, trimmed) and, if it cannot be kept, why (empty,
        too long) with the figures to say so."""
        value = clean_text(text).strip()
        return value, text_problem(value, self.question.limit, self.question.minimum)

    @staticmethod
    async def done(conn: Connection, user_id: int) -> None:
        """Inside the decision's own transaction: the side-step is over."""
        await dialogs.clear(conn, user_id)

    async def leave(self, db: Database, user_id: int) -> Dialog | None:
        """取消 or 上一步: end the side-step; the dialog it was (its subject and the decision
        it interrupted, whose buttons go back), or None if none was open."""
        dialog = self.own(await dialogs.get(db, user_id))
        if dialog is not None:
            await leave(db, user_id)
        return dialog


@dataclass(frozen=True, slots=True)
class Said:
    """A typed answer and the message that carried it; `at` is a field other than the open
    one it belongs to (an edit of an earlier answer, a reply to an earlier question) and
    `old` the text it replaces (an edit)."""

    text: str
    message_id: int | None = None
    at: str | None = None
    old: str | None = None


def note_answer(
    conn: sqlite3.Connection, user_id: int, said: Said | None, flow: str, subject_id: int,
    step: str, now: datetime,
) -> None:  # fmt: skip
    """Inside the answer's own transaction: which message answered which field."""
    if said is None or said.message_id is None:
        return
    prompts.put_answer(conn, Answer(user_id, said.message_id, flow, subject_id, step,
                                    clean_text(said.text).strip(), ts(now), False))  # fmt: skip


async def showing_buttons(db: Database, chat_id: int) -> list[int]:
    """The questions in the chat still showing buttons (a new question is about to go:
    theirs should go first)."""
    return await prompts.live_prompts(db, chat_id)


async def asked(
    db: Database, chat_id: int, message_id: int, flow: str, subject_id: int, step: str,
    when: datetime, cleared: list[int],
) -> None:  # fmt: skip
    """Record the question just sent, at `when` (Telegram's date of it), and that the
    questions `cleared` show no buttons any more: one commit, not waiting for the disk. A
    crash loses nothing; a power cut at most this record, until the next answer's commit
    syncs it, and it is of the open question, where an edit or a reply goes anyway."""

    def record(conn: sqlite3.Connection) -> None:
        prompts.mark_dead(conn, chat_id, cleared)
        prompts.add_prompt(conn, Prompt(chat_id, message_id, flow, subject_id, step, ts(when)))

    await db.write(record, marked=False, durable=False)


@dataclass(frozen=True, slots=True)
class Binding:
    """Where a typed message goes: `current` (the open question), `field` (`step`, out of
    turn), `repeat` (the same as the answer just given to `step`), or `which` (written
    before the open question was shown: it may answer `step`, already answered)."""

    kind: str
    step: str = ""


async def bind(
    db: Database, who: Session, message_id: int, text: str, written: datetime,
    reply_to: int | None, now: datetime,
) -> Binding:  # fmt: skip
    """Which question a typed message in the person's private chat answers: never a guess;
    `which` asks the person. Their session brings the conversation's last answer and last
    question; the database is read only for the question a reply quotes, or the one before
    the open question when the message was written before that was shown."""
    dialog, chat_id = who.dialog, who.user_id
    assert dialog is not None
    conversation = CONVERSATIONS.get(dialog.flow)
    if conversation is None:
        return Binding("current")
    if reply_to is not None:
        prompt = await prompts.prompt(db, chat_id, reply_to)
        if (
            prompt is not None
            and (prompt.flow, prompt.subject_id) == (dialog.flow, dialog.subject_id)
            and prompt.step != dialog.step
            and conversation.bindable(prompt.step)
        ):
            return Binding("field", prompt.step)
        return Binding("current")
    last = who.last_answer
    if (
        last is not None
        and last.message_id != message_id
        and last.step != dialog.step  # back at that question, the same answer is just that
        and last.text == clean_text(text).strip()
        and parse_ts(last.answered_at) >= now - REPEAT_WINDOW
    ):
        return Binding("repeat", last.step)
    current = who.last_prompt
    if current is not None and current.step == dialog.step and ts(written) < current.sent_at:
        earlier = await prompts.latest_prompt(db, chat_id, dialog.flow, dialog.subject_id,
                                              ts(written))  # fmt: skip
        if (
            earlier is not None
            and earlier.step != dialog.step
            and conversation.bindable(earlier.step)
        ):
            return Binding("which", earlier.step)
    return Binding("current")


async def hold(db: Database, dialog: Dialog, message_id: int, text: str, now: datetime) -> None:
    """Keep a message aside while the person says which question it answers."""
    answer = Answer(dialog.user_id, message_id, dialog.flow, dialog.subject_id, dialog.step,
                    clean_text(text).strip(), ts(now), True)  # fmt: skip
    await db.write(lambda conn: prompts.put_answer(conn, answer))


async def held(db: Database, dialog: Dialog | None, message_id: int) -> str | None:
    """The text kept aside from this message, if the conversation is still the same one;
    it is taken out (what happens to it next is the person's choice)."""
    if dialog is None:
        return None
    answer = await prompts.answer(db, dialog.user_id, message_id)
    if answer is None or not answer.held or (answer.flow, answer.subject_id) != (
        dialog.flow, dialog.subject_id):  # fmt: skip
        return None
    await db.write(lambda conn: prompts.drop_answer(conn, dialog.user_id, message_id))
    return answer.text


async def edited(db: Database, dialog: Dialog | None, message_id: int) -> Answer | None:
    """The stored answer an edited message carried, if its field can still be changed."""
    if dialog is None:
        return None
    answer = await prompts.answer(db, dialog.user_id, message_id)
    conversation = CONVERSATIONS.get(dialog.flow)
    if (
        answer is None
        or answer.held
        or conversation is None
        or (answer.flow, answer.subject_id) != (dialog.flow, dialog.subject_id)
        or not conversation.bindable(answer.step)
    ):
        return None
    return answer


async def leave(db: Database, user_id: int) -> None:
    """End the person's conversation; the working copy stays for later."""
    async with db.transaction() as conn:
        await dialogs.clear(conn, user_id)

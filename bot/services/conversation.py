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

import unicodedata
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Generic, Protocol, TypeVar

from bot.services.text import clean_line
from storage import dialogs
from storage.db import Database
from storage.rows import Dialog, ts

PREVIEW = "preview"
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

    async def move(
        self, db: Database, user_id: int, subject_id: int, step: str, editing: bool,
        now: datetime,
    ) -> None:  # fmt: skip
        """Put the person at `step` of this conversation (one commit)."""
        async with db.transaction() as conn:
            await dialogs.put(conn, user_id, self.flow, subject_id, step, editing, ts(now))


async def leave(db: Database, user_id: int) -> None:
    """End the person's conversation; the working copy stays for later."""
    async with db.transaction() as conn:
        await dialogs.clear(conn, user_id)

"""The typed context handlers receive: settings, database, texts and clock in one place."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast
from zoneinfo import ZoneInfo

from telegram.ext import Application, CallbackContext, ExtBot, JobQueue, filters

from bot.services.calendar import ReportCalendar
from bot.services.flood import FloodGuard
from bot.services.planner import ClockConfig
from bot.services.scopes import AdminScope, admin_scope
from bot.settings import Settings
from bot.texts import Texts
from storage import dialogs
from storage.db import CURRENT_UPDATE, Database
from storage.rows import Session, ts


def system_clock() -> datetime:
    """Return the current moment, aware, in UTC."""
    return datetime.now(UTC)


@dataclass
class AppState:
    """Long-lived resources; `db` is opened in post_init and closed in post_shutdown."""

    settings: Settings = field(default_factory=Settings)
    texts: Texts = field(default_factory=Texts)
    settle_heap: bool = False  # `python -m bot run`: see bot/app.py settle_heap
    clock: Callable[[], datetime] = system_clock
    # The configured (top-level) admins' user ids: their command menus and the flood guard.
    # Who may use an admin command is decided per update by bot/services/scopes.py.
    admins: filters.User = field(default_factory=lambda: filters.User(allow_empty=False))
    calendar: ReportCalendar = field(
        default_factory=lambda: ReportCalendar(tz=ZoneInfo("Asia/Shanghai"))
    )
    clock_config: ClockConfig = field(default_factory=ClockConfig)
    # One tick at a time: a long fan-out must not be started again by the next minute's job.
    tick_lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    # People told since this start that a re-delivered message was kept (handlers/replays).
    replay_noted: set[int] = field(default_factory=set)
    # How many updates each account sent lately (handlers/flood.py).
    flood: FloodGuard = field(default_factory=FloodGuard)
    _db: Database | None = None

    @property
    def db(self) -> Database:
        if self._db is None:
            raise RuntimeError("database used before post_init opened it")
        return self._db

    async def open_db(self) -> Database:
        """Open the database of the settings (applying migrations) for the whole run."""
        self._db = await Database.open(self.settings.db_path)
        return self._db

    async def close_db(self) -> None:
        """Close the database if it is open; `db` refuses to be used until it is opened again."""
        db, self._db = self._db, None
        if db is not None:
            await db.close()


def mark_writes_with(update: tuple[int, int] | None, now: datetime | None = None) -> None:
    """Mark this task's writes with the update being handled, (update id, user id), or None:
    the database records it, handled at `now`, in the same commit as its answer."""
    if update is None or now is None:
        CURRENT_UPDATE.set(None)
    else:
        CURRENT_UPDATE.set((*update, ts(now)))


class BotContext(CallbackContext[ExtBot[None], dict, dict, AppState]):
    """CallbackContext with typed access to the application's state.

    PTB makes one per update and hands it to every handler group, so the person's session
    read by the replay guard (group -1) serves the handler that answers (group 0).
    """

    def __init__(self, application: Any, chat_id: int | None = None,
                 user_id: int | None = None) -> None:  # fmt: skip
        super().__init__(application, chat_id, user_id)
        self.session: Session | None = None  # as the update arrived (handlers/replays.py)
        # Messages whose buttons this update took off already (handlers/common.py).
        self.buttons_dropped: set[int] = set()
        self._asked = False  # a question went to the person's chat in this update
        self._scope: tuple[int, AdminScope | None] | None = None

    async def who(self, user_id: int, update_id: int | None = None) -> Session:
        """The person's session as this update arrived (read once per update, by the replay
        guard, which gives the update's id)."""
        if self.session is None or self.session.user_id != user_id:
            self.session = await dialogs.session(self.db, user_id, update_id)
        return self.session

    def showing(self, chat_id: int) -> tuple[int, ...] | None:
        """The questions in the chat still showing buttons, read with the session, as a
        question is about to go there: only the person's own updates, one at a time, ask
        questions in their private chat, so it holds until this update asks one; None
        after that, and for another chat (read them then)."""
        session = self.session
        if session is None or session.user_id != chat_id or self._asked:
            return None
        self._asked = True
        return session.showing

    async def admin_scope(self, user_id: int) -> AdminScope | None:
        """What the person is admin of as this update arrived, or None: read from the
        database once per update (bot/services/scopes.py decides; services check again)."""
        if self._scope is None or self._scope[0] != user_id:
            self._scope = (user_id, await admin_scope(self.db, user_id))
        return self._scope[1]

    @property
    def application(self) -> BotApplication:  # type: ignore[override]  # narrows PTB's type
        # PTB's return type keeps a context type variable it never binds, which matches no
        # concrete application; a BotContext's application is always a BotApplication.
        return cast("BotApplication", super().application)

    @property
    def state(self) -> AppState:
        return self.bot_data

    @property
    def db(self) -> Database:
        return self.bot_data.db

    @property
    def texts(self) -> Texts:
        return self.bot_data.texts

    def now(self) -> datetime:
        """Return the application's notion of now (tests move it)."""
        return self.bot_data.clock()


BotApplication = Application[ExtBot[None], BotContext, dict, dict, AppState, JobQueue[BotContext]]

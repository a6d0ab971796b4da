"""How much one account may ask of the bot at once.

Each account's updates wait their own turn (bot/concurrency.py), but every reply takes a
place in Telegram's overall send limit, shared by everyone, and every update costs the
database its work: an account sending hundreds of messages would take them all. Past LIMIT
updates in a rolling WINDOW (in private or in groups) an account's updates go
unanswered for PAUSE; it is told so once, in private, with its first update over the
limit. Admins are not counted (an admin of a level is found out, and forgiven, only when
over the limit). While paused, an update costs a lookup here and nothing else.
"""

from __future__ import annotations

from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Literal

LIMIT = 30  # a person answering questions or pressing buttons stays far below this
WINDOW = timedelta(minutes=1)
PAUSE = timedelta(minutes=5)

Verdict = Literal["ok", "pause", "drop"]


@dataclass
class FloodGuard:
    """Counts each account's recent updates (in memory: a restart forgets them)."""

    limit: int = LIMIT
    window: timedelta = WINDOW
    pause: timedelta = PAUSE
    seen: dict[int, deque[datetime]] = field(default_factory=dict)
    paused_until: dict[int, datetime] = field(default_factory=dict)
    last_album: dict[int, str] = field(default_factory=dict)

    def admit(self, user_id: int, now: datetime, album: str | None = None) -> Verdict:
        """Whether to handle this update ("ok"), tell the account it is paused ("pause", the
        first update over the limit) or leave it unanswered ("drop", while paused). The
        photos of one album (`album`: Telegram's media_group_id) count as one update."""
        until = self.paused_until.get(user_id)
        if until is not None:
            if now < until:
                return "drop"
            del self.paused_until[user_id]
        if album is not None:
            if self.last_album.get(user_id) == album:
                return "ok"
            self.last_album[user_id] = album
        recent = self.seen.setdefault(user_id, deque())
        while recent and recent[0] <= now - self.window:
            recent.popleft()
        recent.append(now)
        if len(recent) <= self.limit:
            return "ok"
        del self.seen[user_id]
        self.paused_until[user_id] = now + self.pause
        return "pause"

    def forgive(self, user_id: int) -> None:
        """Lift the account's pause (an admin of a level): its updates are counted afresh."""
        self.paused_until.pop(user_id, None)

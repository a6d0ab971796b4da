"""Dataclass rows returned by the repository functions, and timestamp helpers."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime


def ts(moment: datetime) -> str:
    """Return the stored form of a moment: UTC ISO 8601, seconds, so strings sort by time."""
    if moment.tzinfo is None:
        raise ValueError("naive datetime: pass an aware one")
    return moment.astimezone(UTC).isoformat(timespec="seconds")


def parse_ts(value: str) -> datetime:
    """Return the aware datetime of a stored timestamp."""
    return datetime.fromisoformat(value)


@dataclass(frozen=True, slots=True)
class Org:
    id: int
    code: str
    name: str
    parent_id: int | None
    kind: str


@dataclass(frozen=True, slots=True)
class Person:
    user_id: int
    full_name: str
    username: str | None
    role: str  # 'admin' | 'secretary'
    org_id: int | None


@dataclass(frozen=True, slots=True)
class Invite:
    code: str
    org_id: int
    created_by: int | None
    created_at: datetime
    expires_at: datetime
    used_at: datetime | None
    used_by: int | None


@dataclass(frozen=True, slots=True)
class SupervisorGroup:
    chat_id: int
    title: str
    root_org_id: int | None
    bound_by: int
    bound_at: datetime
    active: bool

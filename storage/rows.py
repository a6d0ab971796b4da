"""Dataclass rows returned by the repository functions, and timestamp helpers."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Protocol

import aiosqlite


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
    role: str = "secretary"  # secretary | admin (of the organization's subtree)


@dataclass(frozen=True, slots=True)
class OrgAdmin:
    """An admin of one organization's subtree (分级管理), active until removed."""

    id: int
    user_id: int
    org: Org
    full_name: str
    username: str | None
    invited_by: int | None
    granted_at: datetime
    removed_by: int | None
    removed_at: datetime | None


@dataclass(frozen=True, slots=True)
class SupervisorGroup:
    chat_id: int
    title: str
    root_org_id: int | None
    bound_by: int
    bound_at: datetime
    active: bool


@dataclass(frozen=True, slots=True)
class Project:
    id: int
    org_id: int
    status: str  # draft | submitted | returned | approved | concluded | accepted
    number_year: int | None
    number_seq: int | None
    name: str | None
    kind: str | None
    problem: str | None
    measures: str | None
    targets: str | None
    start_month: str | None  # 'YYYY-MM'
    end_month: str | None
    milestones_set: bool
    round: int
    created_by: int
    created_at: datetime
    updated_at: datetime
    submitted_at: datetime | None
    approved_at: datetime | None
    # 'YYYY-MM': the first month it owes a report for (立项 before its deadline); None before
    owed_from: str | None = None

    @property
    def number(self) -> str | None:
        return project_number(self.number_year, self.number_seq)

    @property
    def first_owed(self) -> str | None:
        """The first month of its span it owes a report for ('YYYY-MM'; None: not 立项)."""
        if self.owed_from is None or self.start_month is None:
            return None
        return max(self.owed_from, self.start_month)


@dataclass(frozen=True, slots=True)
class Milestone:
    id: int
    project_id: int
    position: int
    month: str
    content: str
    done_month: str | None


@dataclass(frozen=True, slots=True)
class Review:
    id: int
    project_id: int
    action: str  # submit | return | approve | pass (预审 passed up)
    round: int
    by_user: int
    reason: str | None
    at: datetime
    stage: str | None = None  # pre (预审) | final (审定) in a staged review


@dataclass(frozen=True, slots=True)
class Dialog:
    user_id: int
    flow: str
    subject_id: int
    step: str
    editing: bool


@dataclass(frozen=True, slots=True)
class Prompt:
    """A question the bot sent in a conversation."""

    chat_id: int
    message_id: int
    flow: str
    subject_id: int
    step: str
    sent_at: str


@dataclass(frozen=True, slots=True)
class Answer:
    """Which message answered which question (`held`: kept aside until the person says)."""

    user_id: int
    message_id: int
    flow: str
    subject_id: int
    step: str
    text: str
    answered_at: str
    held: bool


@dataclass(frozen=True, slots=True)
class Session:
    """A person as an update from them arrives: who they are and where they stand."""

    user_id: int
    replayed: bool  # this update's writes were committed already: it came again
    person: Person | None
    dialog: Dialog | None
    showing: tuple[int, ...] = ()  # questions in their private chat still showing buttons
    # The open conversation's last answer kept, and its last question in their private chat.
    last_answer: Answer | None = None
    last_prompt: Prompt | None = None


@dataclass(frozen=True, slots=True)
class Report:
    """A report's working copy: where it stands, and its answers by column (every column of
    `reports` that storage/reports.py does not list as its own: a question added by a
    migration is among them with nothing else to change). `report["plan"]` reads any one."""

    id: int
    project_id: int
    period: str
    version: int
    editing: bool
    first_submitted_at: datetime | None
    submitted_at: datetime | None
    on_time: bool | None
    answers: Mapping[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.answers.get(column)

    # The answers the report's own rules read (完成度 and its reason, the 问题清单, …).
    @property
    def progress(self) -> str | None:
        return self.answers.get("progress")

    @property
    def milestones_done(self) -> list[int]:
        return self.answers.get("milestones_done") or []

    @property
    def milestones_set(self) -> bool:
        return bool(self.answers.get("milestones_set"))

    @property
    def completion(self) -> int | None:
        return self.answers.get("completion")

    @property
    def completion_reason(self) -> str | None:
        return self.answers.get("completion_reason")

    @property
    def problems(self) -> str | None:
        return self.answers.get("problems")

    @property
    def plan(self) -> str | None:
        return self.answers.get("plan")

    @property
    def files_set(self) -> bool:
        return bool(self.answers.get("files_set"))


@dataclass(frozen=True, slots=True)
class ReportFile:
    id: int
    report_id: int
    position: int
    kind: str  # photo | document
    file_id: str
    file_unique_id: str
    public: bool = False  # 可公开: shown in the 晒 channel's monthly post (photos only)


@dataclass(frozen=True, slots=True)
class ReportVersion:
    """A submitted version: who and when, its files, and its answers by column (as in
    Report: every column of `report_versions` that is not one of these)."""

    report_id: int
    version: int
    files: list[tuple[Any, ...]]  # (kind, file id, 1 if 可公开; older versions: no flag)
    submitted_by: int
    submitted_at: datetime
    on_time: bool
    answers: Mapping[str, Any]

    def __getitem__(self, column: str) -> Any:
        return self.answers.get(column)

    @property
    def progress(self) -> str:
        return self.answers.get("progress") or ""

    @property
    def milestones_done(self) -> list[int]:
        return self.answers.get("milestones_done") or []

    @property
    def completion(self) -> int:
        return self.answers.get("completion") or 0

    @property
    def completion_reason(self) -> str | None:
        return self.answers.get("completion_reason")

    @property
    def problems(self) -> str:
        return self.answers.get("problems") or ""

    @property
    def plan(self) -> str:
        return self.answers.get("plan") or ""


@dataclass(frozen=True, slots=True)
class Notice:
    id: int
    year: int | None
    seq: int | None
    project_id: int
    problem: str
    requirement: str | None
    deadline: str | None
    status: str  # draft | issued | signed | answered | closed
    round: int
    feedback: str | None
    feedback_files: list[list[str]]
    created_by: int
    created_at: datetime
    issued_at: datetime | None
    signed_at: datetime | None
    answered_at: datetime | None
    closed_at: datetime | None


@dataclass(frozen=True, slots=True)
class NoticeEvent:
    notice_id: int
    action: str
    round: int
    by_user: int
    text: str | None
    files: list[list[str]]
    at: datetime


def project_number(year: int | None, seq: int | None) -> str | None:
    """The 立项 number as people write it, e.g. 2027-015 (None before 立项)."""
    return None if year is None or seq is None else f"{year}-{seq:03d}"


class Reader(Protocol):
    """Where a read-only storage function may read: the Database (its read-only connection,
    committed rows only; inside its `transaction()`, that transaction's rows too), or the
    connection a `transaction()` block was given."""

    async def execute_fetchall(
        self, sql: str, parameters: Any = ...
    ) -> Iterable[aiosqlite.Row]: ...


async def one(conn: Reader, sql: str, params: Any = ()) -> aiosqlite.Row | None:
    """Run a read query; return its first row (one trip to the database thread, not three)."""
    rows = await conn.execute_fetchall(sql, params)
    return next(iter(rows), None)

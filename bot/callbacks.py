"""Button payloads (Telegram's callback data): one small typed class per kind of button.

Each class names its prefix and its fields; `pack()` writes `prefix:field:field…` and
`parse(data)` reads it back, or gives None for anything it did not write (a forged,
garbled or foreign payload). The handlers and the scheduler build every button from these
classes, so a format is written down once, in the spirit of aiogram's `CallbackData`.

The formats are the ones buttons carried before these classes existed: messages already
in people's chats keep working after an upgrade.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass, fields
from typing import Annotated, Any, ClassVar, Literal, Self, get_args, get_origin, get_type_hints

from bot.services.months import Month

LIMIT = 64  # bytes: Telegram refuses longer callback data
NONE = "-"  # how an optional field that is None is written


@dataclass(frozen=True, slots=True)
class Wire:
    """The pattern a str (or a narrower int) field's text must match."""

    pattern: str


Id = Annotated[int, Wire(r"\d{1,10}")]
Round = Annotated[int, Wire(r"\d{1,4}")]


@dataclass(frozen=True, slots=True)
class _Codec:
    pattern: str
    read: Callable[[str], Any]
    write: Callable[[Any], str]


def _read_month(text: str) -> Month:
    month = Month(int(text[:4]), int(text[4:]))
    if not 1 <= month.month <= 12:
        raise ValueError(text)
    return month


def _write_month(month: Month) -> str:
    return f"{month.year:04d}{month.month:02d}"


def _codec(hint: Any) -> _Codec:
    """How one field is written and read, from its type annotation."""
    if get_origin(hint) is Annotated:
        base, *extras = get_args(hint)
        wire = next(e for e in extras if isinstance(e, Wire))
        if base is int:
            return _Codec(wire.pattern, int, str)
        if base is str:
            return _Codec(wire.pattern, str, str)
        raise TypeError(f"no codec for {hint!r}")
    args = get_args(hint)
    if type(None) in args:  # X | None, written NONE when None
        inner = _codec(next(a for a in args if a is not type(None)))
        return _Codec(
            f"{inner.pattern}|{re.escape(NONE)}",
            lambda text: None if text == NONE else inner.read(text),
            lambda value: NONE if value is None else inner.write(value),
        )
    if get_origin(hint) is Literal:
        return _Codec("|".join(re.escape(str(a)) for a in args), str, str)
    if hint is int:
        return _Codec(r"\d{1,10}", int, str)
    if hint is Month:
        return _Codec(r"\d{6}", _read_month, _write_month)
    raise TypeError(f"no codec for {hint!r}")


Layout = tuple[re.Pattern[str], tuple[tuple[str, _Codec], ...]]
_layouts: dict[type[CallbackData], Layout] = {}


def _layout(cls: type[CallbackData]) -> Layout:
    """The class's fields with their codecs, and the one pattern a whole payload must match."""
    if cls not in _layouts:
        hints = get_type_hints(cls, include_extras=True)
        codecs = tuple((f.name, _codec(hints[f.name])) for f in fields(cls))
        groups = "".join(f":({codec.pattern})" for _, codec in codecs)
        _layouts[cls] = re.compile(re.escape(cls.prefix) + groups, re.ASCII), codecs
    return _layouts[cls]


@dataclass(frozen=True, slots=True)
class CallbackData:
    """Base of every payload class (each a frozen dataclass): `prefix:field:field…`."""

    prefix: ClassVar[str]

    @classmethod
    def route(cls) -> re.Pattern[str]:
        """The pattern a CallbackQueryHandler routes on: the prefix only, so that a garbled
        payload still reaches its handler, which answers it with the stale-button alert."""
        return re.compile(f"^{re.escape(cls.prefix)}:")

    def write(self) -> str:
        """The payload as text, unchecked (pack checks it)."""
        _, codecs = _layout(type(self))
        return ":".join([self.prefix, *(codec.write(getattr(self, n)) for n, codec in codecs)])

    @classmethod
    def read(cls, data: str) -> Self:
        """The payload from its text; ValueError for anything else."""
        pattern, codecs = _layout(cls)
        match = pattern.fullmatch(data)
        if match is None:
            raise ValueError(data)
        texts = match.groups()
        return cls(**{n: codec.read(t) for (n, codec), t in zip(codecs, texts, strict=True)})

    def pack(self) -> str:
        """The callback data for a button; ValueError if it is over Telegram's 64 bytes or
        would not parse back to this payload (a field outside its format)."""
        data = self.write()
        if len(data.encode()) > LIMIT:
            raise ValueError(f"callback data over {LIMIT} bytes: {data!r}")
        if type(self).parse(data) != self:
            raise ValueError(f"{self!r} does not fit its format: {data!r}")
        return data

    @classmethod
    def parse(cls, data: str) -> Self | None:
        """The payload a button carried, or None if this class did not write it."""
        if len(data.encode()) > LIMIT:
            return None
        try:
            return cls.read(data)
        except ValueError:
            return None


# -- 单月报告 (handlers/report.py, scheduler reminders) -------------------------------------------

ReportAction = Literal[
    "edit_submitted", "back", "cancel", "toggle", "next", "pct", "none", "clear", "edit",
    "field", "preview", "submit", "public",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ReportStep(CallbackData):
    """A button of an open report: `p:<report>:<step or ->:<action>:<arg>`."""

    prefix = "p"
    report_id: Id
    step: Annotated[str, Wire(r"[a-z_]{1,18}|-")]  # "-": a button not tied to a step
    action: ReportAction
    arg: Annotated[str, Wire(r"[a-z0-9_]{0,20}")] = ""


@dataclass(frozen=True, slots=True)
class ReportPick(CallbackData):
    """填写月报 for a project, for a named month or the current one.

    Written `p:0:-:pick:<project>[_YYYYMM]`: inside the report's own format, as reminders
    already sent carry it."""

    prefix = "p"
    HEAD: ClassVar[str] = "p:0:-:pick:"
    SHAPE: ClassVar[re.Pattern[str]] = re.compile(r"p:0:-:pick:(\d{1,10})(?:_(\d{6}))?", re.ASCII)
    project_id: int
    period: Month | None = None

    def write(self) -> str:
        month = "" if self.period is None else "_" + _write_month(self.period)
        return f"{self.HEAD}{self.project_id}{month}"

    @classmethod
    def read(cls, data: str) -> Self:
        match = cls.SHAPE.fullmatch(data)
        if match is None:
            raise ValueError(data)
        return cls(int(match[1]), None if match[2] is None else _read_month(match[2]))


# -- 申报 and 审批立项 (handlers/declare.py, handlers/review.py) ---------------------------------

DeclareAction = Literal[
    "new", "kind", "back", "cancel", "submit", "edit", "field", "preview", "discard", "resume",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class DeclareStep(CallbackData):
    """A button of the declaration: `d:<project or 0>:<step or ->:<action>:<arg>`."""

    prefix = "d"
    project_id: Id
    step: Annotated[str, Wire(r"[a-z]{1,12}|-")]  # "-": a button not tied to a step
    action: DeclareAction
    arg: Annotated[str, Wire(r"[a-z0-9]{0,12}")] = ""


@dataclass(frozen=True, slots=True)
class ProjectReview(CallbackData):
    """Under an application, `r:<project>:<round>:<action>`: 立项 (a) or 退回修改 (r) at 审定
    (or in one stage); at 预审, 通过 (p, up to 审定) or 退回修改 (b)."""

    prefix = "r"
    project_id: Id
    round: Annotated[int, Wire(r"\d{1,5}")]
    action: Literal["a", "r", "p", "b"]


@dataclass(frozen=True, slots=True)
class ReviewCheck(CallbackData):
    """A 四看 toggle under an application: `rk:<project>:<round>:<stage f|p>:<check 0-3>`."""

    prefix = "rk"
    project_id: Id
    round: Annotated[int, Wire(r"\d{1,5}")]
    stage: Literal["f", "p"]
    check: Annotated[int, Wire(r"[0-3]")]


# -- lists and digests (handlers/projects.py, handlers/digest.py, scheduler) ----------------------


@dataclass(frozen=True, slots=True)
class ProjectsPage(CallbackData):
    """‹ 上一页 / 下一页 › of /projects: `l:<page>:<status or ->:<org or ->`."""

    prefix = "l"
    page: Annotated[int, Wire(r"\d{1,5}")]
    status: Annotated[str, Wire(r"[a-z]{1,10}")] | None
    org_id: Id | None


@dataclass(frozen=True, slots=True)
class ReportsGroup(CallbackData):
    """A sub-organization's line under /reports, to list its projects to chase (or, with
    no organization, to fold them up again): `rx:<YYYYMM>:<org or ->`."""

    prefix = "rx"
    period: Month
    org_id: Id | None


@dataclass(frozen=True, slots=True)
class DispatchChoice(CallbackData):
    """发布 (s, the former 发送到督导群) or 添加点评 (k) under a 双月调度 summary's draft:
    `g:<YYYYMM>:<s|k|c>`; c, its former 取消, is no longer offered."""

    prefix = "g"
    month: Month
    action: Literal["s", "k", "c"]


# -- 督办单 (handlers/duban.py, scheduler reminders) ----------------------------------------------


@dataclass(frozen=True, slots=True)
class DubanDraft(CallbackData):
    """3天/7天/…, 下发, 取消 while drafting: `b:<notice>:<step>:<action>:<days>`."""

    prefix = "b"
    notice_id: Id
    step: Annotated[str, Wire(r"[a-z]{1,12}")]
    action: Literal["days", "send", "cancel"]
    arg: Annotated[str, Wire(r"\d{0,3}")] = ""


@dataclass(frozen=True, slots=True)
class DubanNotice(CallbackData):
    """签收 or 反馈整改情况 on a notice: `n:<notice>:<sign|ans>:<round>`."""

    prefix = "n"
    notice_id: Id
    action: Literal["sign", "ans"]
    round: Round


DubanAnswerAction = Literal["next", "clear", "keep", "submit", "back", "cancel"]


@dataclass(frozen=True, slots=True)
class DubanAnswer(CallbackData):
    """完成 / 跳过 / 提交 / 上一步 / 取消 while answering: `a:<notice>:<step>:<action>`."""

    prefix = "a"
    notice_id: Id
    step: Annotated[str, Wire(r"[a-z]{1,8}")]
    action: DubanAnswerAction


@dataclass(frozen=True, slots=True)
class DubanReview(CallbackData):
    """办结 (c) or 退回 (r) under a feedback: `v:<notice>:<round>:<c|r>`."""

    prefix = "v"
    notice_id: Id
    round: Round
    action: Literal["c", "r"]


# -- 验收 (handlers/acceptance.py) ----------------------------------------------------------------

ScoreAction = Literal["open", "val", "skip", "back", "cancel", "submit"]


@dataclass(frozen=True, slots=True)
class AcceptScore(CallbackData):
    """A reviewer's button while scoring: `ys:<project>:<step or ->:<action>:<score>`."""

    prefix = "ys"
    project_id: Id
    step: Annotated[str, Wire(r"[a-z]{1,12}|-")]  # "-": 打分 from the list, not a step
    action: ScoreAction
    arg: Annotated[str, Wire(r"\d{0,3}")] = ""


@dataclass(frozen=True, slots=True)
class AcceptConfirm(CallbackData):
    """确认验收 (c) or 取消 (x) under a result of `count` scores: `ya:<project>:<count>:<c|x>`."""

    prefix = "ya"
    project_id: Id
    count: Round
    action: Literal["c", "x"]


# -- 民主评议 (handlers/channel.py, bot/public.py) --------------------------------------------


@dataclass(frozen=True, slots=True)
class VoteBallot(CallbackData):
    """满意 (s) / 基本满意 (b) / 不满意 (u) under a 民主评议 post: `t:<vote>:<project>:<choice>`."""

    prefix = "t"
    vote_id: Id
    project_id: Id
    choice: Literal["s", "b", "u"]


# -- which question a message answers (handlers/dialogs.py) ------------------------------------


@dataclass(frozen=True, slots=True)
class AnswerPick(CallbackData):
    """The question a message kept aside answers (a field name), or "-" not to keep it:
    `w:<message>:<field|->`."""

    prefix = "w"
    message_id: Id
    step: Annotated[str, Wire(r"[a-z_]{1,18}|-")]


# -- 结题 (handlers/closing.py, scheduler reminders) -----------------------------------------

ClosingAction = Literal[
    "open", "back", "cancel", "next", "clear", "edit", "field", "preview", "submit",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class ClosingStep(CallbackData):
    """A button of the closing report: `cs:<report>:<step or ->:<action>:<arg>` (for open:
    the project instead of the report)."""

    prefix = "cs"
    subject_id: Id
    step: Annotated[str, Wire(r"[a-z]{1,16}|-")]
    action: ClosingAction
    arg: Annotated[str, Wire(r"[a-z]{0,16}")] = ""


@dataclass(frozen=True, slots=True)
class ClosingReview(CallbackData):
    """通过结题 (a) or 退回修改 (r) under a closing report: `cr:<report>:<round>:<a|r>`."""

    prefix = "cr"
    closing_id: Id
    round: Round
    action: Literal["a", "r"]


# -- 调整 after 立项 (handlers/adjust.py) ---------------------------------------------------------

AdjustAction = Literal[
    "open", "back", "cancel", "edit", "field", "preview", "submit", "discard",
]  # fmt: skip


@dataclass(frozen=True, slots=True)
class AdjustStep(CallbackData):
    """A button of a request to change the plan: `aj:<request>:<step or ->:<action>:<arg>`
    (for open: the project instead of the request)."""

    prefix = "aj"
    subject_id: Id
    step: Annotated[str, Wire(r"[a-z_]{1,16}|-")]
    action: AdjustAction
    arg: Annotated[str, Wire(r"[a-z_]{0,16}")] = ""


@dataclass(frozen=True, slots=True)
class AdjustReview(CallbackData):
    """同意 (a) or 不同意 (r) under a request to change the plan: `ajr:<request>:<a|r>`."""

    prefix = "ajr"
    change_id: Id
    action: Literal["a", "r"]


# Every payload class: one prefix each, but for the two kinds of report button.
PAYLOADS: tuple[type[CallbackData], ...] = (
    ReportStep, ReportPick, DeclareStep, ProjectReview, ProjectsPage, ReportsGroup,
    DispatchChoice,
    DubanDraft, DubanNotice, DubanAnswer, DubanReview, AcceptScore, AcceptConfirm,
    ClosingStep, ClosingReview, VoteBallot, AnswerPick, ReviewCheck, AdjustStep, AdjustReview,
)  # fmt: skip


# -- 月通报 review (handlers/digest.py) ----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class BulletinDraft(CallbackData):
    """发布 (p), 添加点评 (c) or 调整红旗/蜗牛 (f) under a bulletin's draft:
    `m:<YYYYMM>:<p|c|f>`."""

    prefix = "m"
    period: Month
    action: Literal["p", "c", "f"]

"""Button payloads: each class packs and parses its own format and refuses anything else."""

from __future__ import annotations

import pytest

from bot.callbacks import (
    LIMIT,
    PAYLOADS,
    AcceptConfirm,
    AcceptScore,
    AdjustReview,
    AdjustStep,
    AnswerPick,
    CallbackData,
    ClosingReview,
    ClosingStep,
    DeclareStep,
    DispatchChoice,
    DubanAnswer,
    DubanDraft,
    DubanNotice,
    DubanReview,
    ProjectReview,
    ProjectsPage,
    ReportPick,
    ReportsGroup,
    ReportStep,
    ReviewCheck,
    VoteBallot,
)
from bot.services.months import Month
from bot.texts import Texts
from tests.conftest import ADMIN_ID
from tests.standin.dialogue import Bench

# Each payload with the text it is written as: these pin the wire format, which buttons
# already sent in people's chats carry and which must keep working after an upgrade.
WIRE: list[tuple[CallbackData, str]] = [
    (ReportStep(1, "milestones", "toggle", "12"), "p:1:milestones:toggle:12"),
    (ReportStep(7, "-", "edit_submitted"), "p:7:-:edit_submitted:"),
    (ReportStep(3, "preview", "field", "completion_reason"), "p:3:preview:field:completion_reason"),
    (ReportPick(42), "p:0:-:pick:42"),
    (ReportPick(42, Month(2027, 3)), "p:0:-:pick:42_202703"),
    (DeclareStep(0, "-", "new"), "d:0:-:new:"),
    (DeclareStep(5, "kind", "kind", "2"), "d:5:kind:kind:2"),
    (DeclareStep(5, "-", "resume", "3"), "d:5:-:resume:3"),
    (ProjectReview(5, 2, "a"), "r:5:2:a"),
    (ProjectReview(5, 2, "r"), "r:5:2:r"),
    (ProjectsPage(0, None, None), "l:0:-:-"),
    (ProjectsPage(2, "submitted", 31), "l:2:submitted:31"),
    (ProjectsPage(1, "missing", None), "l:1:missing:-"),
    (ReportsGroup(Month(2026, 11), 31), "rx:202611:31"),
    (ReportsGroup(Month(2026, 11), None), "rx:202611:-"),
    (DispatchChoice(Month(2026, 12), "s"), "g:202612:s"),
    (DispatchChoice(Month(2027, 2), "c"), "g:202702:c"),
    (DispatchChoice(Month(2026, 12), "k"), "g:202612:k"),
    (DubanDraft(9, "deadline", "days", "15"), "b:9:deadline:days:15"),
    (DubanDraft(9, "preview", "cancel"), "b:9:preview:cancel:"),
    (DubanNotice(9, "sign", 1), "n:9:sign:1"),
    (DubanNotice(9, "ans", 2), "n:9:ans:2"),
    (DubanAnswer(9, "files", "next"), "a:9:files:next"),
    (DubanReview(9, 2, "c"), "v:9:2:c"),
    (AcceptScore(4, "goal", "val", "85"), "ys:4:goal:val:85"),
    (AcceptScore(4, "-", "open"), "ys:4:-:open:"),
    (AcceptConfirm(4, 3, "c"), "ya:4:3:c"),
    (ClosingStep(6, "overview", "back"), "cs:6:overview:back:"),
    (ClosingStep(6, "preview", "field", "results"), "cs:6:preview:field:results"),
    (ClosingReview(6, 2, "r"), "cr:6:2:r"),
    (ReviewCheck(6, 2, "f", 3), "rk:6:2:f:3"),
    (VoteBallot(3, 12, "b"), "t:3:12:b"),
    (AnswerPick(31, "progress"), "w:31:progress"),
    (AnswerPick(31, "-"), "w:31:-"),
    (AdjustStep(8, "end_month", "back"), "aj:8:end_month:back:"),
    (AdjustStep(8, "preview", "field", "milestones"), "aj:8:preview:field:milestones"),
    (AdjustReview(8, "r"), "ajr:8:r"),
]


def test_every_payload_class_is_pinned() -> None:
    assert {type(payload) for payload, _ in WIRE} == set(PAYLOADS)


@pytest.mark.parametrize(("payload", "data"), WIRE, ids=[data for _, data in WIRE])
def test_pack_writes_the_wire_format_and_parse_reads_it_back(
    payload: CallbackData, data: str
) -> None:
    assert payload.pack() == data
    assert type(payload).parse(data) == payload


@pytest.mark.parametrize(("payload", "data"), WIRE, ids=[data for _, data in WIRE])
def test_a_payload_is_read_by_its_own_class_only(payload: CallbackData, data: str) -> None:
    readers = [cls for cls in PAYLOADS if cls.parse(data) is not None]
    assert readers == [type(payload)]


@pytest.mark.parametrize(
    ("cls", "data"),
    [
        (ReportStep, "p:x"),
        (ReportStep, "p:1:milestones:drop:"),  # no such action
        (ReportStep, "p:1:Milestones:next:"),
        (ReportStep, "p:1:milestones:next:\n"),
        (ReportStep, "p:1:milestones:next:;"),
        (ReportStep, "p:-1:milestones:next:"),
        (ReportStep, "p:12345678901:milestones:next:"),
        (ReportStep, "p:0:-:pick:42"),  # ReportPick's
        (ReportPick, "p:0:-:pick:"),
        (ReportPick, "p:0:-:pick:42_202613"),  # no 13th month
        (ReportPick, "p:0:-:pick:42_202600"),
        (ReportPick, "p:0:-:pick:42_2027"),
        (ReportPick, "p:1:-:pick:42"),
        (DeclareStep, "d:1:kind:kind:X"),
        (DeclareStep, "d:1:problem:drop:"),
        (DeclareStep, "d:1:problem:back"),
        (ProjectReview, "r:abc"),
        (ProjectReview, "r:1:1:x"),
        (ProjectReview, "r:1:1:a:"),
        (ProjectsPage, "l:0:-"),
        (ProjectsPage, "l:123456:-:-"),
        (ProjectsPage, "l:0:SUBMITTED:-"),
        (DispatchChoice, "g:202613:s"),
        (DispatchChoice, "g:2026-12:s"),
        (DispatchChoice, "g:202612:x"),
        (DubanDraft, "b:1:deadline:days:1000"),
        (DubanDraft, "b:1:deadline:burn:"),
        (DubanNotice, "n:x"),
        (DubanNotice, "n:1:read:1"),
        (DubanNotice, "n:1:sign:\u0661"),  # an Arabic-Indic digit: int() would take it
        (DubanAnswer, "a:1:preview:submit:"),
        (DubanReview, "v:1:1:a"),
        (DubanReview, "v:1:1:c" + " " * 60),
    ],
)
def test_forged_or_garbled_data_is_refused(cls: type[CallbackData], data: str) -> None:
    assert cls.parse(data) is None


@pytest.mark.parametrize("cls", PAYLOADS)
def test_oversized_or_empty_data_is_refused(cls: type[CallbackData]) -> None:
    assert cls.parse("") is None
    assert cls.parse(f"{cls.prefix}:" + "1" * LIMIT) is None


def test_pack_refuses_more_than_64_bytes() -> None:
    at_limit = ReportStep(1_234_567, "a" * 18, "edit_submitted", "b" * 20)
    assert len(at_limit.pack().encode()) == LIMIT
    over = ReportStep(12_345_678, "a" * 18, "edit_submitted", "b" * 20)
    with pytest.raises(ValueError, match="64 bytes"):
        over.pack()


def test_parse_refuses_more_than_64_bytes_even_in_the_format() -> None:
    data = "p:1234567890:" + "a" * 18 + ":edit_submitted:" + "b" * 20
    assert len(data.encode()) > LIMIT
    assert ReportStep.parse(data) is None
    assert ReportStep.parse(data.replace("1234567890", "1234567")) is not None


@pytest.mark.parametrize(
    "payload",
    [
        ReportStep(1, "Milestones", "next"),  # a step outside its pattern
        ReportStep(1, "plan", "next", "a:b"),  # an argument that would add a field
        ReportStep(-1, "plan", "next"),
        ProjectReview(1, 1, "x"),  # type: ignore[arg-type]  # a Literal is checked too
        DubanNotice(1, "sign", 12345),
        DispatchChoice(Month(2026, 13), "s"),
        ReportPick(1, Month(2026, 0)),
    ],
)
def test_pack_refuses_what_parse_would_not_read_back(payload: CallbackData) -> None:
    with pytest.raises(ValueError, match="does not fit"):
        payload.pack()


def test_handlers_route_on_the_prefix() -> None:
    assert ReportStep.route().match("p:anything")
    assert ReportStep.route().match(ReportPick(1).pack())
    assert not ReportStep.route().match("pp:1")
    assert not DubanNotice.route().match("p:0:-:pick:1")


async def test_every_button_handler_gives_the_one_stale_alert(bench: Bench) -> None:
    admin = bench.user(ADMIN_ID)
    await admin.send("/projects")
    message = admin.last_bot_message()
    alert = Texts().plain("buttons/stale_alert.txt")
    for cls in PAYLOADS:
        await admin.press_data(f"{cls.prefix}:garbled", message)
        answered = bench.api.methods("answerCallbackQuery")[-1].params
        assert (answered.get("text"), answered.get("show_alert")) == (alert, True), cls

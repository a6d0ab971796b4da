"""申报: a secretary declares a 书记项目 one answer at a time; every answer is stored at once.

The conversation's position lives in the `dialogs` table and the answers in the project row,
so a restart, a second device or a pause of days resumes at the first unanswered step.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from bot.services.conversation import (
    PREVIEW,
    Conversation,
    Field,
    Said,
    StepOutcome,
    leave,
    note_answer,
    text_problem,
)
from bot.services.months import Month, examples, find_months, fold
from bot.services.text import clean_line, clean_text
from storage import dialogs, orgs, people, projects
from storage.db import Database
from storage.rows import Dialog, Milestone, Org, Project, ts

FLOW = "declare"
KINDS = ("创新探索型", "典型示范型", "制度推广型")  # seed 003: 小试 / 中试 / 大试
MILESTONE_LIMIT = 100
MAX_MILESTONES = 24
MAX_SPAN = 24  # months; more than NORMAL_SPAN gets a warning, not a refusal
NORMAL_SPAN = 12

# A target counts as quantified when it has a figure: digits, or a Chinese numeral with a unit.
QUANTITY = re.compile(
    r"[0-9０-９]|[一二两三四五六七八九十百千万]+\s*(?:个|项|次|户|人|名|家|所|场|期|条|件|处|"
    r"支|批|座|套|篇|本|份|天|月|年|成|倍|元|亩|公里|小时|%|％)"
)


@dataclass(frozen=True, slots=True)
class DeclareView:
    """Everything needed to show the conversation's current state."""

    project: Project
    org: Org
    milestones: list[Milestone]
    step: str
    editing: bool = False
    this_month: Month | None = None  # set where a question is shown, for its examples

    @property
    def answered(self) -> int:
        return sum(1 for s in STEPS if DECLARATION.answered(self, s))

    @property
    def number(self) -> int:
        return DECLARATION.number(self)

    @property
    def total(self) -> int:
        return DECLARATION.total(self)

    @property
    def example_span(self) -> tuple[Month, Month] | None:
        """起止时间's example: next year, January to December (its start year is allowed)."""
        if self.this_month is None:
            return None
        return Month(self.this_month.year + 1, 1), Month(self.this_month.year + 1, 12)

    @property
    def example_months(self) -> tuple[Month, Month] | None:
        """Two months inside the span, for the 进度安排 prompt's example."""
        start, end = self.project.start_month, self.project.end_month
        return examples(Month.parse(start), Month.parse(end)) if start and end else None


# The application's questions in order; steps, 修改某项 and "第 n/m 步" follow from it.
DECLARATION: Conversation[DeclareView] = Conversation(FLOW, (
    Field("name", "line", lambda v: bool(v.project.name), 40, 2, columns=("name",)),
    Field("kind", "choice", lambda v: bool(v.project.kind), columns=("kind",)),
    Field("problem", "text", lambda v: bool(v.project.problem), 500, 4, columns=("problem",)),
    Field("measures", "text", lambda v: bool(v.project.measures), 1000, 4,
          columns=("measures",)),
    Field("targets", "text", lambda v: bool(v.project.targets), 500, 4, columns=("targets",)),
    Field("span", "span", lambda v: bool(v.project.start_month and v.project.end_month),
          columns=("start_month", "end_month")),
    Field("milestones", "schedule", lambda v: v.project.milestones_set),
))  # fmt: skip
STEPS = DECLARATION.names
LIMITS, MIN_LENGTH = DECLARATION.limits(), DECLARATION.minimums()


Outcome = StepOutcome[DeclareView]


async def _view(db: Database, project_id: int, step: str, editing: bool = False) -> DeclareView:
    project = await projects.get(db, project_id)
    assert project is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    return DeclareView(project, org, await projects.milestones(db, project_id), step, editing)


async def _secretary_org(db: Database, user_id: int) -> Org | None:
    person = await people.get(db, user_id)
    if person is None or person.role != "secretary" or person.org_id is None:
        return None
    return await orgs.by_id(db, person.org_id)


async def current(db: Database, user_id: int) -> Dialog | None:
    """Return the person's open conversation, if any."""
    return await dialogs.get(db, user_id)


async def _move(
    db: Database, user_id: int, project_id: int, step: str, editing: bool, now: datetime
) -> DeclareView:
    await DECLARATION.move(db, user_id, project_id, step, editing, now)
    return await _view(db, project_id, step, editing)


async def open_declaration(
    db: Database, user_id: int, now: datetime, *, max_per_year: int | None = None
) -> Outcome:
    """/new_project: resume a returned project or a draft, or start a new draft (saying at
    once when this year's projects are already at `max_per_year`)."""
    org = await _secretary_org(db, user_id)
    if org is None:
        return Outcome("not_secretary")
    editable = await projects.editable_of_org(db, org.id)
    if editable:
        project = editable[0]
        if project.status == "returned":
            view = await _move(db, user_id, project.id, PREVIEW, False, now)
            history = await projects.reviews(db, project.id)
            reason = next((r.reason for r in reversed(history) if r.action == "return"), "")
            return Outcome("resume_returned", view, {"reason": reason})
        step = DECLARATION.first_unanswered(await _view(db, project.id, PREVIEW))
        return Outcome("resume_draft", await _move(db, user_id, project.id, step, False, now))
    async with db.transaction() as conn:
        project_id = await projects.create_draft(conn, org.id, user_id, ts(now))
        await dialogs.put(conn, user_id, FLOW, project_id, STEPS[0], False, ts(now))
    params: dict[str, Any] = {}
    if max_per_year is not None:
        declared = await projects.count_declared(db, org.id, now.year, project_id)
        if declared >= max_per_year:  # refused at 起止时间 otherwise: say so before step 1
            params = {"year_full": now.year, "limit": max_per_year}
    return Outcome("started", await _view(db, project_id, STEPS[0]), params)


async def resume_returned(
    db: Database, user_id: int, project_id: int, round_: int, now: datetime
) -> Outcome:
    """修改申报 under a return notice: only while that return is the latest word."""
    org = await _secretary_org(db, user_id)
    project = await projects.get(db, project_id)
    if (
        org is None
        or project is None
        or project.org_id != org.id
        or project.status != "returned"
        or project.round != round_
    ):
        return Outcome("stale")
    return await open_declaration(db, user_id, now)


async def _own_dialog(
    db: Database, user_id: int, project_id: int | None = None, step: str | None = None
) -> tuple[Dialog | None, Project | None]:
    """The person's declare dialog and its editable project, if the button still matches."""
    dialog = DECLARATION.own(await dialogs.get(db, user_id), project_id, step)
    if dialog is None:
        return None, None
    project = await projects.get(db, dialog.subject_id)
    org = await _secretary_org(db, user_id)
    if project is None or org is None or project.org_id != org.id:
        # No longer this person's project (their role changed, the draft was deleted):
        # the dialog is kept so 取消 can end it, but nothing can be answered in it.
        return dialog, None
    if project.status not in projects.EDITABLE:
        return dialog, None
    return dialog, project


async def _end_orphan(db: Database, user_id: int, dialog: Dialog | None) -> None:
    """End a dialog whose project cannot be edited by this person any more."""
    if dialog is not None:
        await leave(db, user_id)


async def where_am_i(db: Database, user_id: int) -> Outcome:
    """Return the current step again (after a stale button or an unexpected message)."""
    dialog, project = await _own_dialog(db, user_id)
    if dialog is None or project is None:
        return Outcome("no_dialog")
    return Outcome("ask", await _view(db, project.id, dialog.step, dialog.editing))


def _stored(step: str, text: str) -> str:
    """The answer as kept: a name on one line, normalised; other text as cleaned."""
    return clean_line(text) if step == "name" else text.strip()


def _check_text(step: str, text: str) -> tuple[str, dict[str, Any]] | None:
    if problem := text_problem(_stored(step, text), LIMITS[step], MIN_LENGTH[step]):
        return problem
    value = text.strip()
    if step == "name" and "\n" in value:
        return "one_line", {}
    if step == "targets" and not QUANTITY.search(NOT_QUANTITY.sub(" ", value)):
        return "not_quantified", {}
    return None


SHORT_SPAN = re.compile(
    r"^\s*(\d{4})\s*年\s*(\d{1,2})\s*月?\s*(?:至|到|-|—|–|~|～)\s*(\d{1,2})\s*月\s*$"
)
# A year or a date is not a quantity: "2027年底前完成" is not a measurable target.
NOT_QUANTITY = re.compile(r"\d{4}\s*(?:年|[-./]\s*\d{1,2})|第[一二三四五六七八九十]+")


def parse_span(text: str, now: datetime) -> tuple[str, dict[str, Any], Month | None, Month | None]:
    """Read 起止时间; return (problem or '', params, start, end)."""
    if short := SHORT_SPAN.match(fold(text)):  # ２０２７年１－１２月 too
        year = short.group(1)
        text = f"{year}-{short.group(2)} 至 {year}-{short.group(3)}"
    found = find_months(text)
    if len(found) != 2:
        return "span_format", {}, None, None
    (start, first), (end, last) = found
    this_year = now.year
    years = {"first": this_year - 1, "last": this_year + 2}
    if start is None or end is None:
        if all(1 <= int(match.group(2)) <= 12 for match in (first, last)):
            return "span_year", years, None, None  # a real month of a year out of range
        return "span_format", {}, None, None
    if not (this_year - 1 <= start.year <= this_year + 2):
        return "span_year", years, None, None
    if end < start:
        return "span_order", {}, None, None
    if start.months_to(end) > MAX_SPAN:
        return "span_too_long", {"months": start.months_to(end), "limit": MAX_SPAN}, None, None
    return "", {}, start, end


# A milestone's month written without its year: "3月 召开议事会".
BARE_MONTH = re.compile(r"(\d{1,2})\s*月")


def parse_milestones(
    text: str, start: Month, end: Month
) -> tuple[list[tuple[str, str]], list[tuple[int, str, dict[str, Any]]]]:
    """Read 进度安排, one `月份 内容` a line; return (items, [(line number, problem, params)])."""
    items: list[tuple[str, str]] = []
    problems: list[tuple[int, str, dict[str, Any]]] = []
    lines = [line.strip() for line in text.strip().splitlines()]
    numbered = [(i, line) for i, line in enumerate(lines, start=1) if line]
    if len(numbered) > MAX_MILESTONES:
        return [], [(0, "ms_too_many", {"limit": MAX_MILESTONES, "count": len(numbered)})]
    for number, line in numbered:
        written = line[:30]  # as the person wrote it, for the replies
        bare = BARE_MONTH.match(line)
        if bare and 1 <= int(bare[1]) <= 12:
            # "3月 …": the year is the one that puts that month inside the project.
            fits = [Month(year, int(bare[1])) for year in range(start.year, end.year + 1)]
            fits = [month for month in fits if start <= month <= end]
            if len(fits) > 1:
                choices = [str(month) for month in fits]
                problems.append((number, "ms_year", {"line": written, "choices": choices}))
                continue
            if not fits:
                outside = {"month": bare[0].strip(), "start": str(start), "end": str(end)}
                problems.append((number, "ms_outside", outside))
                continue
            line = f"{fits[0].year}年{line}"
        found = find_months(line)
        if not found or found[0][1].start() != 0:
            problems.append((number, "ms_format", {"line": written}))
            continue
        month, match = found[0]
        content = line[match.end() :].strip(" \t:：,，、-—")
        if month is None:
            problems.append((number, "ms_format", {"line": written}))
        elif not (start <= month <= end):
            problems.append(
                (number, "ms_outside", {"month": str(month), "start": str(start), "end": str(end)})
            )
        elif not content:
            problems.append((number, "ms_empty", {"month": str(month)}))
        elif len(content) > MILESTONE_LIMIT:
            problems.append((number, "ms_too_long", {"limit": MILESTONE_LIMIT}))
        else:
            items.append((str(month), content))
    return items, problems


def _fits(project: Project, step: str, text: str, now: datetime) -> bool:
    """Whether the text would be taken as an answer to `step` (nothing is stored)."""
    if step == "kind":
        return text.strip() in KINDS
    if step in LIMITS:
        return _check_text(step, text) is None
    if step == "span":
        return not parse_span(text, now)[0]
    if step == "milestones" and project.start_month and project.end_month:
        start, end = Month.parse(project.start_month), Month.parse(project.end_month)
        items, problems = parse_milestones(text, start, end)
        return bool(items) and not problems
    return False


async def plausible(db: Database, user_id: int, text: str, now: datetime) -> bool:
    """Whether the text is an answer to the open question too (a repeat that may be meant)."""
    dialog, project = await _own_dialog(db, user_id)
    if dialog is None or project is None:
        return False
    return _fits(project, dialog.step, clean_text(text), now)


async def answer(
    db: Database, user_id: int, text: str, now: datetime, *, max_per_year: int,
    said: Said | None = None,
) -> Outcome:  # fmt: skip
    """Store a typed answer to the current step and move on; or say what is wrong. An
    answer to an earlier question (`said.at`, an edit or a reply) changes it and stays."""
    # Invisible characters out first, so "empty" and the limits see what a reader sees.
    text = clean_text(text)
    dialog, project = await _own_dialog(db, user_id)
    if dialog is None or project is None:
        await _end_orphan(db, user_id, dialog)
        return Outcome("no_dialog")
    step, editing = dialog.step, dialog.editing
    stay = None
    if said is not None and said.at is not None and said.at != step:
        stay, step = step, said.at
    view = await _view(db, project.id, step, editing)
    stamp = ts(now)
    notices: dict[str, Any] = {}
    if step == PREVIEW:
        return Outcome("use_buttons", view)
    if step == "kind":
        value = text.strip()
        if value not in KINDS:
            return Outcome("pick_kind", view)
        async with db.transaction() as conn:
            await projects.set_fields(conn, project.id, {"kind": value}, stamp)
            await conn.run(note_answer, user_id, said, FLOW, project.id, step, now)
    elif step in LIMITS:
        problem = _check_text(step, text)
        if problem:
            return Outcome(problem[0], view, problem[1])
        async with db.transaction() as conn:
            await projects.set_fields(conn, project.id, {step: _stored(step, text)}, stamp)
            await conn.run(note_answer, user_id, said, FLOW, project.id, step, now)
    elif step == "span":
        problem_kind, params, start, end = parse_span(text, now)
        if problem_kind:
            return Outcome(problem_kind, view, params)
        assert start is not None and end is not None
        declared = await projects.count_declared(db, project.org_id, start.year, project.id)
        if declared >= max_per_year:
            return Outcome("limit_reached", view, {"year": start.year, "limit": max_per_year})
        if start.months_to(end) > NORMAL_SPAN:
            notices["long_span"] = start.months_to(end)
        outside = [m for m in view.milestones if not (start <= Month.parse(m.month) <= end)]
        async with db.transaction() as conn:
            await projects.set_fields(
                conn, project.id, {"start_month": str(start), "end_month": str(end)}, stamp
            )
            await conn.run(note_answer, user_id, said, FLOW, project.id, step, now)
            if outside and project.milestones_set:
                # The old schedule no longer fits: ask for it again rather than keep it wrong.
                await projects.clear_milestones(conn, project.id, stamp)
                notices["milestones_outside"] = len(outside)
    elif step == "milestones":
        if not (project.start_month and project.end_month):
            return Outcome("span_first", view)
        start, end = Month.parse(project.start_month), Month.parse(project.end_month)
        items, problems = parse_milestones(text, start, end)
        if problems or not items:
            return Outcome("milestones_invalid", view, {"problems": problems})
        async with db.transaction() as conn:
            await projects.set_milestones(conn, project.id, items, stamp)
            await conn.run(note_answer, user_id, said, FLOW, project.id, step, now)
    following = DECLARATION.after(await _view(db, project.id, step, editing), step)
    if stay is not None:
        following = stay
    if notices.get("milestones_outside"):
        following, editing = "milestones", False
    new_view = await _move(
        db, user_id, project.id, following, editing and following == PREVIEW, now
    )
    kind = "changed" if stay is not None else "saved"
    return Outcome(kind, new_view, {"answered": step, "said": said, **notices})


async def choose_kind(
    db: Database,
    user_id: int,
    project_id: int,
    step: str,
    index: int,
    now: datetime,
    *,
    max_per_year: int,
) -> Outcome:
    """A 项目类型 button was pressed: the same as typing the type, if the button is current."""
    dialog, project = await _own_dialog(db, user_id, project_id, step)
    if dialog is None or project is None or step != "kind" or not 0 <= index < len(KINDS):
        return Outcome("stale")
    return await answer(db, user_id, KINDS[index], now, max_per_year=max_per_year)


async def back(
    db: Database,
    user_id: int,
    now: datetime,
    project_id: int | None = None,
    step: str | None = None,
) -> Outcome:
    """上一步: go to the previous question (from the preview: the last one)."""
    dialog, project = await _own_dialog(db, user_id, project_id, step)
    if dialog is None or project is None:
        return Outcome("stale" if project_id is not None else "no_dialog")
    previous = DECLARATION.before(await _view(db, project.id, dialog.step, dialog.editing))
    if previous is None:
        return Outcome("first_step", await _view(db, project.id, dialog.step))
    return Outcome("ask", await _move(db, user_id, project.id, previous, False, now))


async def cancel(
    db: Database, user_id: int, project_id: int | None = None, step: str | None = None,
    now: datetime | None = None,
) -> Outcome:  # fmt: skip
    """取消: leave the conversation; the draft and every answer stay for later. While one
    item is being changed, 取消 drops that change and gives the preview back."""
    dialog, project = await _own_dialog(db, user_id, project_id, step)
    if dialog is None:
        return Outcome("stale" if project_id is not None else "no_dialog")
    if project is not None and dialog.editing and dialog.step != PREVIEW and now is not None:
        return Outcome("edit_cancelled", await _move(db, user_id, project.id, PREVIEW, False, now))
    await leave(db, user_id)
    if project is None:
        return Outcome("cancelled")
    return Outcome("cancelled", await _view(db, project.id, dialog.step))


async def discard(db: Database, user_id: int, project_id: int, step: str) -> Outcome:
    """放弃草稿: delete a never-submitted draft, then end the conversation.

    Only from the message of the step the person is on: an old 放弃草稿 button must not
    delete answers given since."""
    dialog, project = await _own_dialog(db, user_id, project_id, step)
    if dialog is None or project is None or project.round > 0:
        return Outcome("stale")
    async with db.transaction() as conn:
        await projects.delete_draft(conn, project.id)
        await dialogs.clear(conn, user_id)
    return Outcome("discarded")


async def edit_menu(db: Database, user_id: int, project_id: int, now: datetime) -> Outcome:
    """修改某项: show the fields to choose from (only from the preview)."""
    dialog, project = await _own_dialog(db, user_id, project_id, PREVIEW)
    if dialog is None or project is None:
        return Outcome("stale")
    return Outcome("edit_menu", await _view(db, project.id, PREVIEW))


async def edit_field(
    db: Database, user_id: int, project_id: int, target: str, now: datetime
) -> Outcome:
    """Answer one field again, then come back to the preview."""
    dialog, project = await _own_dialog(db, user_id, project_id, PREVIEW)
    if dialog is None or project is None or target not in STEPS:
        return Outcome("stale")
    return Outcome("ask", await _move(db, user_id, project.id, target, True, now))


async def show_preview(db: Database, user_id: int, project_id: int) -> Outcome:
    """Back from the edit menu to the preview."""
    dialog, project = await _own_dialog(db, user_id, project_id, PREVIEW)
    if dialog is None or project is None:
        return Outcome("stale")
    return Outcome("ask", await _view(db, project.id, PREVIEW))


async def submit(
    db: Database, user_id: int, project_id: int, now: datetime, *, max_per_year: int
) -> Outcome:
    """提交: file the application for review (again, after a return)."""
    dialog, project = await _own_dialog(db, user_id, project_id, PREVIEW)
    if dialog is None or project is None:
        return Outcome("stale")
    missing = DECLARATION.first_unanswered(await _view(db, project.id, PREVIEW))
    if missing != PREVIEW:
        return Outcome("ask", await _move(db, user_id, project.id, missing, False, now))
    assert project.start_month is not None
    year = Month.parse(project.start_month).year
    stamp = ts(now)
    async with db.transaction() as conn:
        declared = await projects.count_declared(conn, project.org_id, year, project.id)
        if declared >= max_per_year and project.round == 0:
            return Outcome(
                "limit_reached",
                await _view(db, project.id, PREVIEW),
                {"year": year, "limit": max_per_year},
            )
        round_ = await projects.mark_submitted(conn, project.id, stamp)
        await projects.record_review(conn, project.id, "submit", round_, user_id, None, stamp)
        await dialogs.clear(conn, user_id)
    view = await _view(db, project.id, PREVIEW)
    return Outcome("submitted", view, {"resubmitted": round_ > 1})

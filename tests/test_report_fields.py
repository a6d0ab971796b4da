"""Adding a question to the monthly report touches its field list, its templates and a
migration, nothing else: storage reads, stores and versions every answer column, and the
ledger's month sheet and the preview follow the field list."""

from __future__ import annotations

import dataclasses
import shutil
from datetime import datetime
from pathlib import Path
from types import SimpleNamespace

from bot.services.conversation import Conversation, Field
from bot.services.ledger import build_ledger, report_columns, words_from
from bot.services.months import Month
from bot.services.reporting import REPORT
from bot.texts import TEMPLATES, Texts
from storage import reports
from storage.rows import ts
from tests.conftest import SHANGHAI
from tests.projects_helpers import seed_project
from tests.standin.dialogue import Bench
from tests.test_digest import read_book
from tests.test_ledger_layout import table

NOW = datetime(2026, 11, 21, 10, 0, tzinfo=SHANGHAI)
# The migration a new question brings: one column in the working copy, one in its versions.
MIGRATION = ("ALTER TABLE reports ADD COLUMN members TEXT",
             "ALTER TABLE report_versions ADD COLUMN members TEXT")  # fmt: skip


def extended_report() -> Conversation:
    """A copy of the report's field list with one more question before the evidence."""
    members = Field("members", "text", lambda v: v.report["members"] is not None, 200, 2,
                    columns=("members",))  # fmt: skip
    return Conversation("report_with_members", (*REPORT.fields[:-1], members, REPORT.fields[-1]))


def extended_templates(tmp_path: Path) -> Texts:
    """A copy of templates/ with the new question's name and prompt."""
    root = tmp_path / "templates"
    shutil.copytree(TEMPLATES, root)
    with (root / "buttons.txt").open("a", encoding="utf-8") as labels:
        labels.write("field_members - 参与党员人数\n")
    (root / "report" / "ask_members.html").write_text(
        "第 {{ v.number }}/{{ v.total }} 步：<b>参与党员人数</b>\n", encoding="utf-8"
    )
    return Texts(root)


async def test_a_question_added_to_a_copy_of_the_field_list_goes_everywhere(
    bench: Bench, tmp_path: Path
) -> None:
    state = bench.app.bot_data
    db, stamp = state.db, ts(NOW)
    async with db.transaction() as conn:
        for sql in MIGRATION:
            await conn.execute(sql)
    report = extended_report()
    pid = await seed_project(db, "WH01", 1001, NOW, span=("2026-01", "2026-12"))
    answers = {"progress": "整治街巷两条", "milestones_done": [], "milestones_set": 1,
               "completion": 40, "problems": "无", "plan": "再整治两条", "members": "12 名",
               "files_set": 1}  # fmt: skip
    async with db.transaction() as conn:
        rid = await reports.create(conn, pid, "2026-10", 1001, stamp)
        await conn.run(reports.set_fields, rid, answers, stamp)
        working = await reports.get(conn, rid)
        assert working is not None and working["members"] == "12 名"
        await reports.add_version(conn, working, [], 1001, stamp, True)
        later = await reports.create(conn, pid, "2026-11", 1001, stamp)
    [version] = await reports.versions(db, rid)
    assert version["members"] == "12 名"
    bundle = await reports.step_bundle(db, later, stamp, report.stored())
    assert bundle is not None and bundle.last is not None and bundle.last["members"] == "12 名"

    texts = extended_templates(tmp_path)
    words = dataclasses.replace(words_from(state.texts),
                                report_fields=report_columns(texts, report))  # fmt: skip
    book = read_book(await build_ledger(db, words, state.calendar, NOW, period=Month(2026, 10)))
    [row] = table(book["月报台账"])
    assert row["参与党员人数"] == "12 名" and row["下月工作计划"] == "再整治两条"
    order = list(row)
    assert order.index("下月工作计划") < order.index("参与党员人数") < order.index("佐证材料(份)")

    # The preview lists the questions asked, in the field list's order.
    view = SimpleNamespace(
        report=working, project=SimpleNamespace(name="街巷党建", number="2026-001"),
        window=SimpleNamespace(due_date="2026-10-26"), last=None, files=[],
        open_milestones=[], ticked=set(),
        asked_fields=[f for f in report.fields if f.name != "milestones"],
    )  # fmt: skip
    preview = texts.html("report/preview.html", v=view, tz=SHANGHAI)
    assert "<b>参与党员人数：</b>\n12 名" in preview
    assert preview.index("下月工作计划") < preview.index("参与党员人数") < preview.index("佐证材料")

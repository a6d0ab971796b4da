"""The one-query read of a report step must equal the per-table reads it replaces."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services.reporting import REPORT
from storage import orgs, projects, reports
from storage.db import Database
from storage.rows import ts
from tests.conftest import load_sample_units
from tests.projects_helpers import seed_project, seed_report

TZ = ZoneInfo("Asia/Shanghai")
NOW = datetime(2026, 6, 21, 10, 0, tzinfo=TZ)


async def _separately(db: Database, report_id: int, now: str) -> reports.StepBundle:
    report = await reports.get(db, report_id)
    assert report is not None
    project = await projects.get(db, report.project_id)
    assert project is not None
    org = await orgs.by_id(db, project.org_id)
    assert org is not None
    earlier = await reports.latest_before(db, project.id, report.period)
    return reports.StepBundle(
        report, project, org, await projects.milestones(db, project.id),
        await reports.files(db, report.id), earlier[1] if earlier else None,
        await reports.reopened(db, project.id, now),
    )  # fmt: skip


async def test_bundle_equals_the_separate_reads(db: Database) -> None:
    await load_sample_units(db, NOW)
    pid = await seed_project(
        db, "WH01", 1001, NOW, milestones=[("2026-06", "建成中心"), ("2026-01", "启动"),
                                             ("2026-12", "全部完成")],
    )  # fmt: skip
    other = await seed_project(db, "WH02", 1002, NOW)  # must not leak into pid's bundle
    await seed_report(db, pid, "2026-03", NOW, completion=30)
    await seed_report(db, pid, "2026-04", NOW, completion=45, problems="<b>缺人</b> & {{ x }}")
    await seed_report(db, other, "2026-05", NOW, completion=90)
    stamp = ts(NOW)
    async with db.transaction() as conn:
        # A second version of April: the bundle must carry the latest one.
        april = await reports.of_period(conn, pid, "2026-04")
        assert april is not None
        await conn.run(reports.set_fields, april.id, {"completion": 48}, stamp)
        april = await reports.get(conn, april.id)
        assert april is not None
        await reports.add_version(conn, april, [], 1001, stamp, False)
        rid = await reports.create(conn, pid, "2026-06", 1001, stamp)
        await conn.run(reports.set_fields, rid, {"progress": "本月进展 😀", "milestones_done": [2]},
                       stamp)  # fmt: skip
        await reports.add_file(conn, rid, "photo", "F2", "U2", stamp)
        await reports.add_file(conn, rid, "document", "F1", "U1", stamp)
        await reports.reopen(conn, pid, "2026-02", 1, stamp, "2026-06-30T00:00:00+00:00")
        await reports.reopen(conn, pid, "2026-01", 1, stamp, "2026-06-01T00:00:00+00:00")
    bundle = await reports.step_bundle(db, rid, stamp, REPORT.stored())
    assert bundle == await _separately(db, rid, stamp)
    # The same read inside a step's write, on the writer's thread.
    assert bundle == await db.write(
        lambda conn: reports.bundle_in(conn, rid, stamp, REPORT.stored())
    )
    assert bundle is not None
    assert bundle.last is not None and bundle.last.completion == 48  # April's 2nd version
    assert [f.file_id for f in bundle.files] == ["F2", "F1"]
    assert bundle.reopened == ["2026-02"]  # January's reopening ended before now
    assert [m.position for m in bundle.milestones] == sorted(m.position for m in bundle.milestones)

    first = await reports.of_period(db, pid, "2026-03")
    assert first is not None
    alone = await reports.step_bundle(db, first.id, stamp, REPORT.stored())
    assert alone == await _separately(db, first.id, stamp)
    assert alone is not None and alone.last is None and alone.files == []
    assert await reports.step_bundle(db, 999_999, stamp, REPORT.stored()) is None


async def test_a_step_s_view_equals_what_was_stored(db: Database) -> None:
    """Steps build the next view from the answer instead of reading the report again."""
    from bot.services import reporting
    from bot.services.calendar import ReportCalendar
    from storage import dialogs

    await load_sample_units(db, NOW)
    pid = await seed_project(db, "WH01", 1001, NOW, milestones=[("2026-05", "建成中心")])
    await seed_report(db, pid, "2026-05", NOW, completion=70)
    cal = ReportCalendar(tz=TZ)
    now = datetime(2026, 6, 22, 10, 0, tzinfo=TZ)
    started = await reporting.open_report(db, cal, await dialogs.session(db, 1001), now)
    assert started.kind == "started" and started.view is not None
    rid = started.view.report.id
    milestone = started.view.open_milestones[0].id
    steps = [
        ("answer", "本月召开议事会两次"),
        ("button", f"milestones:toggle:{milestone}"),
        ("button", "milestones:next:"),
        ("answer", "60"),
        ("answer", "人手不足，需要协调"),
        ("answer", "<b>&</b> {{ x }}"),
        ("answer", "下月继续"),
        ("answer", "跳过"),
    ]
    for kind, arg in steps:
        who = await dialogs.session(db, 1001)
        if kind == "answer":
            outcome = await reporting.answer(db, cal, who, arg, now)
        else:
            step, action, value = arg.split(":")
            outcome = await reporting.button(db, cal, who, rid, step, action, value, now)
        assert outcome.view is not None, outcome.kind
        stored = await reports.get(db, rid)
        assert outcome.view.report == stored, (kind, arg, outcome.kind)
        dialog = await dialogs.get(db, 1001)
        if outcome.kind != "toggled":
            assert dialog is not None and dialog.step == outcome.view.step
    assert outcome.view.report.completion_reason == "人手不足，需要协调"  # 60 < last month's 70
    assert outcome.view.report.milestones_done == [milestone]

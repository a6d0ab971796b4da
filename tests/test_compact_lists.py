"""Compact admin lists that fit a phone: /reports gives the totals and then only the
projects to chase (未报, 逾期, 填写中), a line per sub-organization with a button that lists
it in place; /projects filters by this month's report state, totals first."""

from __future__ import annotations

from datetime import datetime

from bot.callbacks import ReportsGroup
from bot.messages import visible_length
from bot.services import digest
from bot.services.months import Month
from bot.texts import Texts
from handlers.buttons import STALE_ALERT
from storage import orgs, plans, reports
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project, seed_report
from tests.scopes_helpers import add_communities, two_towns
from tests.standin.dialogue import Bench, TgUser

PHONE = 1000  # characters: about two phone screens, the most a collapsed list may take
TELEGRAM = 4096  # one message


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def add_towns(bench: Bench, count: int) -> list[str]:
    """`count` more 街道 under WH (the sample has 14), by 编号."""
    db = bench.app.bot_data.db
    codes = [f"WX{i:02d}" for i in range(1, count + 1)]
    async with db.transaction() as conn:
        stamp = ts(bench.app.bot_data.clock())
        await orgs.upsert_many(conn, [(c, f"新增{c}街道党工委", "党工委") for c in codes], stamp)
        await orgs.set_parents(conn, [(c, "WH") for c in codes], stamp)
    return codes


async def start_draft(bench: Bench, project_id: int, period: str) -> None:
    """A report begun and not submitted (填写中)."""
    async with bench.app.bot_data.db.transaction() as conn:
        await reports.create(conn, project_id, period, 0, ts(at(f"{period}-22 10:00")))


async def a_county(bench: Bench, clock_now: datetime) -> dict[str, list[int]]:
    """Three projects in each of the 14 sample 街道 for October 2026: in WH01–WH04 all on
    time; WH05–WH08 one late each; WH09–WH11 one draft each; the rest not reported."""
    db = bench.app.bot_data.db
    made: dict[str, list[int]] = {}
    for n in range(1, 15):
        code = f"WH{n:02d}"
        made[code] = [
            await seed_project(db, code, None, clock_now, name=f"{code}第{i}个项目")
            for i in range(1, 4)
        ]
        for i, pid in enumerate(made[code]):
            if n <= 4 or (i > 0 and n <= 8):
                await seed_report(db, pid, "2026-10", at("2026-10-24 10:00"))
            elif n <= 8:
                await seed_report(db, pid, "2026-10", at("2026-10-28 10:00"), on_time=False)
            elif n <= 11 and i == 0:
                await start_draft(bench, pid, "2026-10")
    return made


async def test_reports_gives_totals_then_only_what_to_chase(bench: Bench) -> None:
    await a_county(bench, bench.app.bot_data.clock())
    admin = bench.user(ADMIN_ID)
    [message] = await admin.send("/reports 2026-10")
    text = message.text
    assert visible_length(text) <= PHONE, visible_length(text)
    assert "应报 42，已报 24（按时 20，逾期 4），未报 15，填写中 3，免报 0" in text
    # on time: counted, never named
    assert "WH01第1个项目" not in text and "护国街道党工委" not in text
    groups = [line for line in text.splitlines() if "：未报" in line or "：逾期" in line
              or "：填写中" in line]  # fmt: skip
    assert len(groups) == 10  # WH05–WH14, one line each
    # most missing first
    assert groups[0].endswith("：未报 3") and groups[-1].endswith("：逾期 1")
    assert any(line.endswith("：未报 2，填写中 1") for line in groups)
    labels = [label for label, _ in message.buttons]
    assert len(labels) == 10 and all(len(data.encode()) <= 64 for _, data in message.buttons)


async def test_a_group_expands_in_place_and_folds_up(bench: Bench) -> None:
    await a_county(bench, bench.app.bot_data.clock())
    admin = bench.user(ADMIN_ID)
    [message] = await admin.send("/reports 2026-10")
    town = await orgs.by_code(bench.app.bot_data.db, "WH09")
    assert town is not None
    label = next(label for label, _ in message.buttons if label.startswith(town.name))
    assert label == f"{town.name}（3）"
    await admin.press(label)
    [edit] = [c for c in bench.api.methods("editMessageText") if c.chat_id == ADMIN_ID]
    expanded = edit.text
    assert visible_length(expanded) <= TELEGRAM
    assert f"<b>{town.name}</b>：未报 2，填写中 1" in expanded
    assert "✏️ 填写中 " + town.name + " · 2026-" in expanded
    assert expanded.count("❌ 未报 " + town.name) == 2
    # the other groups stay one line each
    assert "WH14第1个项目" not in expanded
    assert f"收起 {town.name}" in [label for label, _ in edit.buttons]
    await admin.press(f"收起 {town.name}")
    folded = bench.api.methods("editMessageText")[-1]
    assert "WH09第1个项目" not in folded.text and f"{town.name}（3）" in [
        label for label, _ in folded.buttons
    ]


async def test_many_sub_organizations_still_fit_a_phone(bench: Bench) -> None:
    codes = await add_towns(bench, 30)
    db, now = bench.app.bot_data.db, bench.app.bot_data.clock()
    for code in codes:
        for i in range(1, 8):
            await seed_project(db, code, None, now, name=f"{code}村级项目{i}号长名称示例")
    [message] = await bench.user(ADMIN_ID).send("/reports 2026-10")
    assert visible_length(message.text) <= PHONE, visible_length(message.text)
    assert "应报 210，已报 0" in message.text
    assert "另有 10 个下属组织共 70 个项目未列出" in message.text
    assert len(message.buttons) == 20
    # a group of seven, expanded: still one message
    await bench.user(ADMIN_ID).press(message.buttons[0][0])
    expanded = bench.api.methods("editMessageText")[-1].text
    assert expanded.count("❌ 未报") == 7 and visible_length(expanded) <= TELEGRAM


async def test_a_large_group_counts_its_communities_and_names_thirty(bench: Bench) -> None:
    """Projects a level down (the communities of 护国) count in their 街道's line; expanded,
    the first thirty are named and the rest counted, the 街道's own first."""
    await add_communities(bench)
    db, now = bench.app.bot_data.db, bench.app.bot_data.clock()
    await seed_project(db, "WH01", None, now, name="护国本级项目")
    for i in range(1, 33):
        await seed_project(
            db, "WH0101" if i <= 20 else "WH0102", None, now, name=f"社区项目{i:02d}"
        )
    await seed_project(db, "WH02", None, now, name="大观本级项目")
    admin = bench.user(ADMIN_ID)
    [message] = await admin.send("/reports 2026-10")
    assert "应报 34，已报 0（按时 0，逾期 0），未报 34，填写中 0，免报 0" in message.text
    assert "护国街道党工委：未报 33" in message.text and "大观街道党工委：未报 1" in message.text
    assert "社区党委" not in message.text
    assert [label for label, _ in message.buttons] == [
        "护国街道党工委（33）",
        "大观街道党工委（1）",
    ]
    await admin.press("护国街道党工委（33）")
    expanded = bench.api.methods("editMessageText")[-1].text
    named = [line.strip() for line in expanded.splitlines() if "❌ 未报" in line]
    assert len(named) == 30 and named[0].startswith("❌ 未报 护国街道党工委 · ")
    assert "❌ 未报 钱局街社区党委 · " in named[1] and "❌ 未报 文庙社区党委 · " in named[-1]
    assert "其余 3 个：/projects 未报 WH01" in expanded
    [listed] = await admin.send("/projects 未报 WH01")
    assert "共 33 个，第 1/4 页" in listed.text and "应报 33，已报 0" in listed.text
    [page] = await admin.press("下一页 ›")
    assert "第 2/4 页" in page.text and "11. 2026-011 社区项目10 — 钱局街社区党委" in page.text


async def test_a_scoped_admin_sees_and_expands_only_their_subtree(bench: Bench) -> None:
    town_a, town_b = await two_towns(bench)
    db, now = bench.app.bot_data.db, bench.app.bot_data.clock()
    await seed_project(db, "WH0101", 1001, now, name="钱局街巷项目")
    await seed_project(db, "WH0201", None, now, name="篆塘河道项目")
    [mine] = await town_a.send("/reports 2026-10")
    assert "钱局街社区党委：未报 1" in mine.text and "篆塘" not in mine.text
    assert "应报 1，已报 0" in mine.text
    theirs = await orgs.by_code(db, "WH0201")
    other_town = await orgs.by_code(db, "WH02")
    assert theirs is not None and other_town is not None
    for org_id in (theirs.id, other_town.id):
        forged = ReportsGroup(Month(2026, 10), org_id).pack()
        replies = await town_a.press_data(forged)
        alert = bench.api.methods("answerCallbackQuery")[-1].params
        assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
        assert replies == [] and "篆塘" not in str(bench.api.methods("editMessageText"))
    # garbled, and a valid one pressed by someone who is no admin
    for who, data in (
        (town_a, "rx:202613:1"),
        (town_a, "rx:x"),
        (bench.user(4001), mine.buttons[0][1]),
    ):
        await who.press_data(data, town_a.last_bot_message())
        alert = bench.api.methods("answerCallbackQuery")[-1].params
        assert (alert["show_alert"], alert["text"]) == (True, Texts().plain(STALE_ALERT))
    assert bench.api.methods("editMessageText") == []
    await town_a.press(mine.buttons[0][0])
    assert "❌ 未报 钱局街社区党委 · 2026-001 钱局街巷项目" in (
        bench.api.methods("editMessageText")[-1].text
    )
    # /projects by report state keeps to the subtree too; a secretary has no such filter
    [listed] = await town_a.send("/projects 未报")
    assert "钱局街巷项目" in listed.text and "篆塘" not in listed.text and "共 1 个" in listed.text
    assert "没有看懂“WH0201”" in (await town_a.send("/projects 未报 WH0201")).text
    assert "没有看懂“WH0101”" in (await town_b.send("/projects 未报 WH0101")).text
    assert "没有看懂“未报”" in (await bench.user(1001).send("/projects 未报")).text


async def test_projects_filters_by_this_months_report(bench: Bench) -> None:
    await a_county(bench, bench.app.bot_data.clock())
    admin: TgUser = bench.user(ADMIN_ID)
    # it is 2026-11-21: November's reports are being collected, nobody has filed one
    [first] = await admin.send("/projects 未报")
    assert "2026 年 11 月月报 · 未报" in first.text and "共 42 个，第 1/5 页" in first.text
    assert "应报 42，已报 0（按时 0，逾期 0），未报 42" in first.text
    assert visible_length(first.text) <= PHONE
    assert first.text.count("❌ 未报") == 10
    [second] = await admin.press("下一页 ›")
    assert "第 2/5 页" in second.text and "11. " in second.text
    [town] = await admin.send("/projects 未报 WH01")
    assert "共 3 个" in town.text and "WH01第3个项目" in town.text and "WH02" not in town.text
    assert "没有已报的项目" in (await admin.send("/projects 已报")).text


async def test_projects_late_and_filed_in_the_month_being_reported(
    bench: Bench, clock: Clock
) -> None:
    await a_county(bench, clock())
    # October's totals while October is the month being reported (before November's opens)
    clock.now = at("2026-10-30 10:00")
    admin = bench.user(ADMIN_ID)
    [late] = await admin.send("/projects 逾期")
    assert "2026 年 10 月月报 · 逾期" in late.text and "共 4 个" in late.text
    assert "应报 42，已报 24（按时 20，逾期 4），未报 15，填写中 3，免报 0" in late.text
    assert late.text.count("⏰ 逾期") == 4
    [filed] = await admin.send("/projects 已报")
    assert "共 24 个，第 1/3 页" in filed.text and "✅ 按时" in filed.text
    [filling] = await admin.send("/projects 填写中")
    assert "共 3 个" in filling.text and filling.text.count("✏️ 填写中") == 3


async def test_help_names_the_compact_lists(bench: Bench) -> None:
    text = (await bench.user(ADMIN_ID).send("/help")).text
    assert "/projects 未报" in text and "点组织名展开名单" in text


async def test_a_past_month_keeps_a_project_terminated_since(bench: Bench, clock: Clock) -> None:
    """WH02 owed June's and October's reports and filed neither; terminated in November, it
    is still 未报 for those months in /reports and /projects, as in their bulletins."""
    state = bench.app.bot_data
    db = state.db
    filed = await seed_project(db, "WH01", 1001, clock(), name="按时项目")
    ended = await seed_project(db, "WH02", 1002, clock(), name="终止项目")
    for month in ("2026-06", "2026-10"):
        await seed_report(db, filed, month, at(f"{month}-21 10:00"), completion=50)
    async with db.transaction() as conn:
        stop = ts(at("2026-11-02 10:00"))
        assert await plans.terminate(conn, ended, "2026-11", ADMIN_ID, "撤并", stop)
    clock.now = at("2026-11-03 10:00")
    admin = bench.user(ADMIN_ID)
    [june] = await admin.send("/reports 2026-06")
    assert "应报 2，已报 1（按时 1，逾期 0），未报 1" in june.text
    bulletin = await digest.bulletin(db, state.calendar, Month(2026, 6), clock())
    assert len(bulletin.lines) == 2
    [missing] = await admin.send("/projects 未报")
    assert "2026 年 10 月月报 · 未报" in missing.text and "终止项目" in missing.text

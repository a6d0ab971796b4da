"""佐证材料 reach the admins who decide: albums (sendMediaGroup, ≤ 10, one kind each) by
file id beside a 督办 feedback, a 结题 report and /history, and /evidence on demand, scoped
like /history."""

from __future__ import annotations

from datetime import datetime

import pytest

from bot.services.evidence import albums
from bot.standin.core import BotApiStandIn, Call
from storage import reports
from storage.rows import ts
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import seed_project
from tests.scopes_helpers import two_towns
from tests.standin.dialogue import Bench, Replies, TgUser, expect_dialogue

SECRETARY, OTHER_SECRETARY = 1001, 1002


def at(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SHANGHAI)


async def seed_report_with_files(
    bench: Bench, project_id: int, period: str, files: list[tuple[str, str]]
) -> None:
    """A submitted report of `period` whose evidence is these (kind, file id)."""
    db = bench.app.bot_data.db
    stamp = ts(at(f"{period}-24 10:00"))
    async with db.transaction() as conn:
        report_id = await reports.create(conn, project_id, period, 0, stamp)
        await conn.run(reports.set_fields, report_id, {
            "progress": f"{period} 的进展", "completion": 50, "problems": "无",
            "plan": "下月计划", "milestones_done": [], "milestones_set": 1, "files_set": 1,
        }, stamp)  # fmt: skip
        for kind, file_id in files:
            await reports.add_file(conn, report_id, kind, file_id, f"u{file_id}", stamp)
        report = await reports.get(conn, report_id)
        assert report is not None
        attached = await reports.files(conn, report_id)
        await reports.add_version(conn, report, attached, SECRETARY, stamp, True)


def media(call: Call) -> list[tuple[str, str]]:
    """(type, file id) of what one send carried: an album's items, or the one file."""
    if call.method == "sendMediaGroup":
        return [(item["type"], item["media"]) for item in call.params["media"]]
    if call.method == "sendPhoto":
        return [("photo", str(call.params.get("photo", "upload")))]
    if call.method == "sendDocument":
        return [("document", str(call.params.get("document", "upload")))]
    return []


def file_sends(replies: list[Call]) -> list[Call]:
    return [c for c in replies if c.method in ("sendMediaGroup", "sendPhoto", "sendDocument")]


PHOTOS = [("photo", f"PH{i:02d}") for i in range(1, 13)]
DOCS = [("document", "DOC1"), ("document", "DOC2")]


@pytest.fixture
async def project(bench: Bench, clock: Clock) -> int:
    """WH01's project 2026-001, its secretary bound; it is 2026-11-21 10:00."""
    return await seed_project(bench.app.bot_data.db, "WH01", SECRETARY, clock())


def test_albums_group_by_kind_ten_at_most() -> None:
    mixed = [PHOTOS[0], DOCS[0], *PHOTOS[1:], DOCS[1], ("photo", "PH01")]
    made = albums(mixed)
    assert [(a.kind, len(a.file_ids), a.first, a.last, a.total) for a in made] == [
        ("photo", 10, 1, 10, 12), ("photo", 2, 11, 12, 12), ("document", 2, 1, 2, 2),
    ]  # fmt: skip
    assert made[0].file_ids[0] == "PH01" and made[1].file_ids == ("PH11", "PH12")
    assert albums([]) == []


async def test_evidence_of_one_month_in_albums(bench: Bench, project: int) -> None:
    await seed_report_with_files(bench, project, "2026-10", [*PHOTOS, *DOCS])
    replies = await bench.user(ADMIN_ID).send("/evidence 2026-001 2026-10")
    assert "月报的佐证材料" in replies[0].text and "照片 12 张、文件 2 份" in replies[0].text
    sends = file_sends(replies)
    assert [c.method for c in sends] == ["sendMediaGroup"] * 3
    assert [media(c) for c in sends] == [
        PHOTOS[:10],
        PHOTOS[10:],
        DOCS,
    ]  # the stand-in refuses mixed kinds and more than 10, as Telegram does
    assert all(c.status == 200 for c in sends)
    captions = [c.text for c in sends]
    assert "“街巷党建项目”（2026-001）2026 年 10 月月报的佐证材料" in captions[0]
    assert "照片第 1 至 10 张，共 12 张" in captions[0]
    assert "照片第 11 至 12 张，共 12 张" in captions[1]
    assert "文件 2 份" in captions[2]
    # the caption is under the first item only
    assert [bool(item.get("caption")) for item in sends[0].params["media"]] == [True] + [False] * 9


async def test_a_single_file_goes_alone_and_months_come_newest_first(
    bench: Bench, project: int
) -> None:
    await seed_report_with_files(bench, project, "2026-09", [("photo", "SEPT")])
    await seed_report_with_files(bench, project, "2026-10", [])
    await seed_report_with_files(bench, project, "2026-11", [("document", "NOV")])
    replies = await bench.user(ADMIN_ID).send("/evidence 2026-001")
    head = replies[0].text
    assert head.index("2026 年 11 月") < head.index("2026 年 9 月")
    assert "2026 年 10 月" not in head  # a month without files is not listed
    assert [(c.method, media(c)) for c in file_sends(replies)] == [
        ("sendDocument", [("document", "NOV")]), ("sendPhoto", [("photo", "SEPT")]),
    ]  # fmt: skip
    assert "2026 年 11 月月报" in file_sends(replies)[0].text


async def test_clear_replies_for_bad_requests(bench: Bench, project: int) -> None:
    await seed_report_with_files(bench, project, "2026-10", [])
    admin = bench.user(ADMIN_ID)
    await expect_dialogue(
        admin,
        [
            ("/evidence", "用法：/evidence 项目编号"),
            ("/evidence 2026-001 十月", "没有看懂期间“十月”"),
            ("/evidence 2026-001 2026-10 多余", "用法：/evidence 项目编号"),
            ("/evidence 2099-001", "找不到已立项的项目“2099-001”"),
            ("/evidence 2026-001 2026-10", "2026 年 10 月的月报没有附佐证材料"),
            ("/evidence 2026-001", "已提交的月报没有附佐证材料"),
        ],
    )
    stranger = await bench.user(4001, "路人").send("/evidence 2026-001")
    assert "只有书记和管理员可以查看佐证材料" in stranger.text
    assert file_sends(stranger) == []


async def test_scoped_like_history(bench: Bench, clock: Clock) -> None:
    town_a, town_b = await two_towns(bench)
    db = bench.app.bot_data.db
    pid = await seed_project(db, "WH0101", SECRETARY, clock())
    await seed_project(db, "WH0201", OTHER_SECRETARY, clock())
    await seed_report_with_files(bench, pid, "2026-10", [("photo", "P1"), ("photo", "P2")])
    # 大观's admin asks for 护国's community's project: as if it did not exist.
    refused = await town_b.send("/evidence 2026-001 2026-10")
    assert "找不到已立项的项目“2026-001”" in refused.text and file_sends(refused) == []
    other = await bench.user(OTHER_SECRETARY).send("/evidence 2026-001")
    assert "找不到已立项的项目" in other.text and file_sends(other) == []
    seen = await town_a.send("/evidence 2026-001 2026-10")
    assert [media(c) for c in file_sends(seen)] == [[("photo", "P1"), ("photo", "P2")]]
    # its own secretary, with one project, may leave the number out
    own = await bench.user(SECRETARY).send("/evidence")
    assert [media(c) for c in file_sends(own)] == [[("photo", "P1"), ("photo", "P2")]]


async def answer_with_files(bench: Bench, secretary: TgUser) -> Replies:
    """Issue a 督办单, and answer it with two photos and a document."""
    admin = bench.user(ADMIN_ID)
    await admin.send("/duban 2026-001 台账未更新 | 补齐3-5月台账 | 7天")
    await admin.press("📤 下发")
    await secretary.press("✅ 签收")
    await secretary.press("📝 反馈整改情况")
    await secretary.send("已补齐 3–5 月台账 3 本")
    await secretary.send_media("photo", file_id="FB1")
    await secretary.send_media("document", file_id="FBDOC")
    await secretary.send_media("photo", file_id="FB2")
    await secretary.press("✅ 完成")
    return await secretary.press("✅ 提交")


async def test_a_feedback_reaches_the_admin_with_its_evidence(bench: Bench, project: int) -> None:
    replies = await answer_with_files(bench, bench.user(SECRETARY, "李娜"))
    to_admin = [c for c in replies if c.chat_id == ADMIN_ID]
    assert [media(c) for c in to_admin] == [
        [("photo", "FB1"), ("photo", "FB2")],
        [("document", "FBDOC")],
        [],
    ]
    assert "督办〔2026〕第1号 第 1 次整改反馈的佐证材料" in to_admin[0].text
    # the decision comes last, so its buttons stay at the bottom of the chat
    assert "收到整改反馈" in to_admin[-1].text and "3 份，见上方" in to_admin[-1].text
    assert [b for b, _ in to_admin[-1].buttons] == ["✅ 办结", "↩️ 退回"]
    shown = await bench.user(ADMIN_ID).send("/duban_show 1")
    assert [media(c) for c in shown][:2] == [
        [("photo", "FB1"), ("photo", "FB2")],
        [("document", "FBDOC")],
    ]
    assert [b for b, _ in shown[-1].buttons] == ["✅ 办结", "↩️ 退回"]


async def test_a_closing_report_reaches_the_admin_with_its_evidence(
    bench: Bench, clock: Clock, project: int
) -> None:
    clock.now = at("2026-12-02 10:00")
    secretary = bench.user(SECRETARY, "李娜")
    await expect_dialogue(
        secretary,
        [
            ("/closing", "第 1/5 步"),
            ("针对老旧小区无物业、停车难等问题立项，计划整治背街小巷 12 条。", "第 2/5 步"),
            ("成立街巷党小组 6 个，12 条街巷全部整治完成，建立长效机制。", "第 3/5 步"),
            ("群众满意率由 72% 提高到 93%，做法已在 3 个社区推广。", "第 4/5 步"),
            ("目标全部完成，长效管护还需完善。", "第 5/5 步"),
        ],
    )
    for name in ("CL1", "CL2"):
        await secretary.send_media("photo", file_id=name)
    await secretary.send_media("document", file_id="CLDOC")
    await secretary.press("✅ 完成")
    replies = await secretary.press("✅ 提交")
    to_admin = [c for c in replies if c.chat_id == ADMIN_ID]
    assert [media(c) for c in to_admin] == [
        [("photo", "CL1"), ("photo", "CL2")],
        [("document", "CLDOC")],
        [],
    ]
    assert "结题报告的佐证材料（第 1 次提交）" in to_admin[0].text
    assert "佐证材料见上方" in to_admin[-1].text
    assert [b for b, _ in to_admin[-1].buttons] == ["✅ 通过结题", "↩️ 退回修改"]


async def test_history_shows_an_admin_the_latest_evidence(bench: Bench, project: int) -> None:
    await seed_report_with_files(bench, project, "2026-09", [("photo", "OLD")])
    await seed_report_with_files(bench, project, "2026-10", [("photo", "N1"), ("photo", "N2")])
    replies = await bench.user(ADMIN_ID).send("/history 2026-001")
    assert "佐证材料 2 份" in replies.text and "/evidence 2026-001 期间" in replies.text
    assert [media(c) for c in file_sends(replies)][-1] == [("photo", "N1"), ("photo", "N2")]
    assert "OLD" not in str([media(c) for c in file_sends(replies)])
    # the secretary reads their history without the files sent again
    own = await bench.user(SECRETARY).send("/history")
    assert all(c.method != "sendMediaGroup" for c in own)


async def test_the_standin_refuses_what_telegram_refuses() -> None:
    api = BotApiStandIn()
    mixed = [{"type": "photo", "media": "A"}, {"type": "document", "media": "B"}]
    status, body = await api.handle("sendMediaGroup", {"chat_id": 5, "media": mixed})
    assert status == 400 and "mixed" in body["description"]
    eleven = [{"type": "photo", "media": str(i)} for i in range(11)]
    status, _ = await api.handle("sendMediaGroup", {"chat_id": 5, "media": eleven})
    assert status == 400
    docs = [{"type": "document", "media": "A"}, {"type": "document", "media": "B"}]
    status, body = await api.handle("sendMediaGroup", {"chat_id": 5, "media": docs})
    assert status == 200 and all("document" in m for m in body["result"])


async def test_evidence_is_in_the_menus_and_help(bench: Bench, project: int) -> None:
    assert "/evidence" in (await bench.user(ADMIN_ID).send("/help")).text
    assert "/evidence" in (await bench.user(SECRETARY).send("/help")).text


def refuse_albums(method: str, params: dict[str, object]) -> tuple[int, dict[str, object]] | None:
    """Telegram refusing a file id (e.g. one another bot uploaded): albums and single files."""
    if method in ("sendMediaGroup", "sendPhoto", "sendDocument"):
        refusal = "Bad Request: wrong file identifier/HTTP URL specified"
        return 400, {"ok": False, "error_code": 400, "description": refusal}
    return None


async def test_a_refused_file_is_said_and_the_decision_still_arrives(
    bench: Bench, project: int
) -> None:
    await seed_report_with_files(bench, project, "2026-10", [("photo", "P1"), ("photo", "P2")])
    bench.api.faults.append(refuse_albums)
    replies = await bench.user(ADMIN_ID).send("/evidence 2026-001 2026-10")
    assert "照片 2 张" in replies[0].text and "有佐证材料没能发出" in replies[-1].text
    # a 反馈 whose files Telegram refuses still reaches the admin with 办结 / 退回
    answered = await answer_with_files(bench, bench.user(SECRETARY, "李娜"))
    to_admin = [c for c in answered if c.chat_id == ADMIN_ID]
    assert [b for b, _ in to_admin[-1].buttons] == ["✅ 办结", "↩️ 退回"]

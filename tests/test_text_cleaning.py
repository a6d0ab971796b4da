"""Invisible and control characters in typed text: stripped before storing, or refused."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

import pytest

from bot.services.text import clean_line, clean_text
from bot.services.units import ImportRejected, import_units, read_units_file
from storage import notices, orgs, projects, reports
from storage.db import Database
from tests.conftest import ADMIN_ID, SHANGHAI, Clock
from tests.projects_helpers import (
    approved_project,
    bound_secretary,
    declare,
    declare_step,
    report_step,
    seed_project,
)
from tests.standin.dialogue import Bench, Press, Replies, TgUser, expect_dialogue

NOW = datetime.fromisoformat("2026-11-21T10:00:00+08:00")

# Every class the bot must not keep, by name: each renders as nothing (or reorders text).
INVISIBLE = {
    "zero-width space": "\u200b",
    "zero-width non-joiner": "\u200c",
    "zero-width joiner": "\u200d",
    "word joiner": "\u2060",
    "byte order mark": "\ufeff",
    "LRE": "\u202a",
    "RLE": "\u202b",
    "PDF": "\u202c",
    "LRO": "\u202d",
    "RLO": "\u202e",
    "LRI": "\u2066",
    "RLI": "\u2067",
    "FSI": "\u2068",
    "PDI": "\u2069",
    "LRM": "\u200e",
    "RLM": "\u200f",
    "arabic letter mark": "\u061c",
    "hangul filler": "\u3164",
    "hangul choseong filler": "\u115f",
    "hangul jungseong filler": "\u1160",
    "halfwidth hangul filler": "\uffa0",
    "NUL": "\x00",
    "BEL": "\x07",
    "ESC": "\x1b",
    "DEL": "\x7f",
    "C1 CSI": "\x9b",
    "lone surrogate": "\ud800",
}
# Line breaks other than \n: one line break each in free text, a space in a name.
BREAKS = {
    "CR": "\r",
    "CRLF": "\r\n",
    "line separator": "\u2028",
    "paragraph separator": "\u2029",
    "vertical tab": "\x0b",
    "form feed": "\x0c",
    "NEL": "\x85",
}


@pytest.mark.parametrize("char", INVISIBLE.values(), ids=INVISIBLE.keys())
def test_invisible_characters_are_dropped(char: str) -> None:
    assert clean_line(f"{char}南强{char}街巷{char}") == "南强街巷"
    assert clean_text(f"{char}第一行{char}\n第二行{char}") == "第一行\n第二行"
    assert clean_line(char * 5) == "" and clean_text(char * 5) == ""


@pytest.mark.parametrize("brk", BREAKS.values(), ids=BREAKS.keys())
def test_line_breaks_become_newline_in_text_and_space_in_a_name(brk: str) -> None:
    assert clean_text(f"第一行{brk}第二行") == "第一行\n第二行"
    assert clean_line(f"南强{brk}街巷") == "南强 街巷"
    assert clean_line(brk * 3) == ""


def test_a_name_is_nfkc_but_keeps_chinese_punctuation() -> None:
    assert clean_line("ＷＨ０１ 党工委（新），好！") == "WH01 党工委（新），好！"
    assert clean_line("南强\u3000\u3000街巷\t\u00a0党建") == "南强 街巷 党建"


def test_free_text_keeps_tabs_full_width_forms_and_emoji() -> None:
    kept = "一、目标：１２条\t（约）👍\n二、措施"
    assert clean_text(kept) == kept


async def test_import_strips_invisible_characters_and_refuses_an_empty_name(
    db: Database, tmp_path: Path
) -> None:
    ok = tmp_path / "ok.csv"
    ok.write_text(
        "编号,名称,上级编号,类型\n"
        "\u200bWH,\u202e五华区\u2066委\u2069组织部\ufeff,,组织部\n"
        'WH01,"护国街道\r\n党工委",W\u200dH,党工委\n',
        encoding="utf-8",
    )
    await import_units(db, read_units_file(ok), NOW)
    wh, wh01 = await orgs.by_code(db, "WH"), await orgs.by_code(db, "WH01")
    assert wh is not None and wh.name == "五华区委组织部"
    assert wh01 is not None and wh01.name == "护国街道 党工委" and wh01.parent_id == wh.id

    blank = tmp_path / "blank.csv"
    blank.write_text("编号,名称,上级编号,类型\nX1,\u3164\u200b\u2060,,党委\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        await import_units(db, read_units_file(blank), NOW)
    assert [(p.row, p.kind, p.column) for p in err.value.problems] == [(2, "empty", "名称")]


# -- through the real conversations -------------------------------------------------------------

EVERY_INVISIBLE = "".join(INVISIBLE.values())


def sprinkle(text: str, chars: str = EVERY_INVISIBLE) -> str:
    """`text` with every character of `chars` before each of its characters."""
    return "".join(chars + char for char in text) + chars


async def say(user: TgUser, clock: Clock, text: str) -> Replies:
    """Send `text` a few seconds after the last message: one person typing, not a flood."""
    clock.now += timedelta(seconds=5)
    return await user.send(text)


async def test_project_name_is_stored_without_invisible_characters(
    bench: Bench, clock: Clock
) -> None:
    secretary = await bound_secretary(bench)
    await secretary.send("/new_project")
    for label, char in {**INVISIBLE, **BREAKS}.items():
        replies = await say(secretary, clock, char * 3)
        assert "不能为空" in replies.text and declare_step("name") in replies.text, label
    for label, brk in BREAKS.items():
        replies = await say(secretary, clock, f"南强街巷{brk}党建项目")
        assert "项目名称请写在一行内" in replies.text, label
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.name is None
    replies = await secretary.send(sprinkle("ＷＨ南强街巷（一期）"))
    assert declare_step("kind") in replies.text
    project = await projects.get(bench.app.bot_data.db, 1)
    assert project is not None and project.name == "WH南强街巷（一期）"
    # a cancel word with a zero-width space is still the cancel word
    assert declare_step("problem") in (await secretary.press("典型示范型")).text
    assert "已退出申报" in (await secretary.send("取消\u200b")).text


async def test_report_answer_is_stored_without_invisible_characters(
    bench: Bench, clock: Clock
) -> None:
    secretary = await approved_project(bench)
    clock.now = datetime(2027, 3, 21, 10, 0, tzinfo=SHANGHAI)
    assert report_step("progress") in (await secretary.send("/report")).text
    for label, char in {**INVISIBLE, **BREAKS}.items():
        replies = await say(secretary, clock, char * 3)
        assert "不能为空" in replies.text and report_step("progress") in replies.text, label
    row = await reports.of_period(bench.app.bot_data.db, 1, "2027-03")
    assert row is None or row.progress is None
    lines = [sprinkle(line) for line in ("完成文林街整治", "召开议事会两次", "第三行", "第四行")]
    replies = await secretary.send(f"{lines[0]}\r\n{lines[1]}\u2028{lines[2]}\x85{lines[3]}")
    assert report_step("milestones") in replies.text
    row = await reports.of_period(bench.app.bot_data.db, 1, "2027-03")
    assert row is not None and row.progress == "完成文林街整治\n召开议事会两次\n第三行\n第四行"


async def test_duban_fields_and_review_reason_are_cleaned(bench: Bench, clock: Clock) -> None:
    await seed_project(bench.app.bot_data.db, "WH01", 1001, clock())
    admin = bench.user(ADMIN_ID)
    blank = "\u200b\u3164\u202e\u2066"
    await expect_dialogue(
        admin,
        [
            (f"/duban 2026-001 {blank}", "用法"),
            ("/duban 2026-001 台账\u202e未更新\u200b", "督办单 · 整改要求"),
            (blank, "不能为空"),
            (f"补齐\u2060台账\r\n逐项说明{blank}", "督办单 · 整改期限"),
        ],
    )
    notice = await notices.get(bench.app.bot_data.db, 1)
    assert notice is not None
    assert (notice.problem, notice.requirement) == ("台账未更新", "补齐台账\n逐项说明")

    secretary = await bound_secretary(bench, "WH02", 1002)
    await declare(secretary)
    await expect_dialogue(
        admin,
        [
            (Press("↩️ 退回修改"), "的理由"),
            (blank, "退回理由不能为空"),
            (f"目标\u200b要写清楚{blank}", "已退回"),
        ],
    )
    [*_, returned] = await projects.reviews(bench.app.bot_data.db, 2)
    assert returned.reason == "目标要写清楚"


@pytest.mark.parametrize(
    "text",
    ["👨\u200d👩\u200d👧 家庭", "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f 旗",
     "5000㎡ 第①批 Ⅲ期 36℃ …", "（新）、《条例》：“三会一课”"],
)  # fmt: skip
def test_names_keep_emoji_sequences_and_symbols_as_written(text: str) -> None:
    """Only full-width letters and digits are folded; emoji keep their joiners and tags."""
    assert clean_line(text) == text


def test_full_width_letters_and_digits_are_folded_and_a_lone_joiner_dropped() -> None:
    assert clean_line("ＡＢＣ１２３\u3000名称") == "ABC123 名称"
    assert clean_line("完\u200d成") == "完成" and clean_line("\u200d\u200d") == ""


@pytest.mark.parametrize(
    ("text", "cleaned"),
    [("名字🙂\u200d", "名字🙂"), ("🙂\u200d张三", "🙂张三"), ("🏴\U000e0067\U000e0067 旗", "🏴 旗"),
     ("\U000e0067张三", "张三")],
)  # fmt: skip
def test_joiners_and_tags_are_kept_only_inside_an_emoji(text: str, cleaned: str) -> None:
    assert clean_line(text) == cleaned

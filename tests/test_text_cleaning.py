"""Invisible and control characters in typed text: stripped before storing, or refused."""

from __future__ import annotations

from datetime import datetime
from pathlib import Path

import pytest

from bot.services.text import clean_line, clean_text
from bot.services.units import ImportRejected, import_units, read_units_file
from storage import orgs
from storage.db import Database

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
    wh, wh01 = await orgs.by_code(db.conn, "WH"), await orgs.by_code(db.conn, "WH01")
    assert wh is not None and wh.name == "五华区委组织部"
    assert wh01 is not None and wh01.name == "护国街道 党工委" and wh01.parent_id == wh.id

    blank = tmp_path / "blank.csv"
    blank.write_text("编号,名称,上级编号,类型\nX1,\u3164\u200b\u2060,,党委\n", encoding="utf-8")
    with pytest.raises(ImportRejected) as err:
        await import_units(db, read_units_file(blank), NOW)
    assert [(p.row, p.kind, p.column) for p in err.value.problems] == [(2, "empty", "名称")]

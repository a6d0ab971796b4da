"""Typed text as it is stored: no invisible or control characters, one kind of line break.

A name made only of zero-width spaces, bidi controls or Hangul fillers looks empty in every
list it appears in, and a bidi override reverses the text after it; both are removed here,
so the usual "empty" and length checks see what a reader would see.
"""

from __future__ import annotations

import re
import unicodedata

# Line breaks other than \n that str.splitlines() and phones produce: one \n each.
LINE_BREAKS = re.compile(r"\r\n|[\r\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029]")
# Letters that render as nothing: Hangul fillers, the braille blank, the Mongolian separator.
BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800\u180e")
# Full-width digits and Latin letters as ASCII, the ideographic space as a space: what a
# name typed on a Chinese keyboard means. Nothing else is folded (㎡, ①, Ⅲ, ℃ and Chinese
# punctuation stay as written).
FULL_WIDTH = {
    **{0xFF10 + i: ord("0") + i for i in range(10)},
    **{0xFF21 + i: ord("A") + i for i in range(26)},
    **{0xFF41 + i: ord("a") + i for i in range(26)},
    0x3000: ord(" "),
}
# Format characters that belong to emoji: the zero-width joiner (👨‍👩‍👧) and tag characters
# (subdivision flags); kept only where they join an emoji.
EMOJI_FORMAT = frozenset(["\u200d", *map(chr, range(0xE0020, 0xE0080))])
TAG_SEQUENCE = re.compile("\U0001f3f4[\U000e0020-\U000e007e]+\U000e007f")
WHITESPACE = re.compile(r"\s+")


def _visible(char: str) -> bool:
    """False for controls (Cc), format characters (Cf: zero-width, bidi, BOM), lone
    surrogates (Cs) and blank letters; True for \\n, \\t and everything else."""
    if char in "\n\t":
        return True
    if char in BLANK_LETTERS:
        return False
    return unicodedata.category(char) not in ("Cc", "Cf", "Cs")


def clean_text(text: str) -> str:
    """Free text: every line break as \\n, invisible and control characters dropped, the
    ends stripped."""
    text = LINE_BREAKS.sub("\n", text)
    flags = {i for match in TAG_SEQUENCE.finditer(text) for i in range(*match.span())}
    kept: list[str] = []
    for index, char in enumerate(text):
        if char == "\u200d":  # kept between two emoji (👨‍👩‍👧), dropped anywhere else
            following = text[index + 1] if index + 1 < len(text) else ""
            if kept and _emoji(kept[-1]) and _emoji(following):
                kept.append(char)
        elif char in EMOJI_FORMAT:  # a tag character: kept inside a flag (🏴 + tags)
            if index in flags:
                kept.append(char)
        elif _visible(char):
            kept.append(char)
    return "".join(kept).strip()


def _emoji(char: str) -> bool:
    """A pictograph or a modifier of one (skin tone, emoji presentation)."""
    return char == "\ufe0f" or (len(char) == 1 and unicodedata.category(char) in ("So", "Sk"))


def clean_line(text: str) -> str:
    """A one-line name: clean_text, full-width digits and letters as ASCII, every run of
    whitespace or line breaks as one space."""
    return WHITESPACE.sub(" ", clean_text(text).translate(FULL_WIDTH)).strip()


# Ways of answering "none" to a question about problems, remarks or more files: a time word,
# a "no" word and what there is none of, in any combination, or a whole phrase. Matched
# against each part of the answer (split at punctuation), after NFKC and lower case, so a
# sentence that merely starts with 无 (无法…, 没有资金) is not taken for "none".
NONE_TIMES = ("", "目前", "暂时", "暂", "当前", "现在", "本月", "本期", "还", "尚")
NONE_WORDS = ("无", "没有", "没", "没什么", "没啥", "暂无", "無", "沒有", "沒", "暫無")
NONE_OF = ("", "问题", "困难", "需求", "意见", "补充", "了", "问题和困难", "困难和问题",
           "问题和需求", "困难和需求", "问题困难", "困难问题", "问题及困难")  # fmt: skip
NONE_PHRASES = frozenset(
    {t + w + o for t in NONE_TIMES for w in NONE_WORDS for o in NONE_OF}
    | {"一切正常", "一切顺利", "暂未发现", "未发现问题", "none", "no", "nil", "n/a",
       "na", "-", "/", "—", "——"}
)  # fmt: skip
NONE_SPLIT = re.compile(r"[\s,.;:!?~。、…]+")


def says_none(text: str) -> bool:
    """Whether the whole answer only says "none" (没问题, 目前暂无, 一切正常。, 無)."""
    plain = unicodedata.normalize("NFKC", clean_text(text)).lower()
    parts = [part for part in NONE_SPLIT.split(plain) if part]
    return bool(parts) and all(part in NONE_PHRASES for part in parts)

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
# Full-width punctuation of Chinese text, which NFKC would turn into ASCII (，→ ,).
CJK_PUNCTUATION = "\uff01-\uff0f\uff1a-\uff20\uff3b-\uff40\uff5b-\uff65"
NOT_CJK_PUNCTUATION = re.compile(f"[^{CJK_PUNCTUATION}]+")
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
    return "".join(char for char in text if _visible(char)).strip()


def clean_line(text: str) -> str:
    """A one-line name: clean_text, NFKC (full-width letters and digits as ASCII, Chinese
    punctuation kept), every run of whitespace or line breaks as one space."""
    text = NOT_CJK_PUNCTUATION.sub(lambda run: unicodedata.normalize("NFKC", run.group()),
                                   clean_text(text))  # fmt: skip
    # NFKC can itself produce a control or format character (rare compatibility forms).
    text = "".join(char for char in text if _visible(char))
    return WHITESPACE.sub(" ", text).strip()

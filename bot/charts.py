"""Charts as PNG, drawn with matplotlib in the export process (bot/exports.py): the
bulletin's per-organization bars, a project's completion against its planned pace, the
双月调度's projects by pace.

Only matplotlib's object API (Figure + the Agg canvas), never pyplot: no global figure
state, no display. Text is set in Noto Sans SC from the pylopdf-fonts-zh-cn package (SIL
Open Font License), so a server without any CJK font draws Chinese, not empty boxes; the
words come from templates/charts/words.txt.
"""

from __future__ import annotations

import io
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from functools import cache

from matplotlib import font_manager, rc_context
from matplotlib.backends.backend_agg import FigureCanvasAgg
from matplotlib.figure import Figure
from matplotlib.ft2font import FT2Font
from matplotlib.text import Text
from pylopdf_fonts_zh_cn import sans_path

from bot.services.digest import PACE_STATES, Bulletin, DispatchSummary, HistoryPoint
from bot.services.quarterly import Comparison
from bot.texts import Texts
from storage.rows import Milestone

MAX_BARS = 25  # sub-organizations drawn one by one; the rest share one bar
NAME = 14  # characters of an organization's name on an axis
COLORS = {"on_time": "#2e7d32", "late": "#f9a825", "missing": "#c62828", "exempt": "#9e9e9e",
          "ahead": "#2e7d32", "on_pace": "#7cb342", "behind": "#f9a825",
          "stalled": "#c62828"}  # fmt: skip
DPI = 120


@cache
def font() -> str:
    """Register the bundled CJK font with matplotlib (once per process); its family name."""
    path = str(sans_path())
    font_manager.fontManager.addfont(path)
    return str(font_manager.FontProperties(fname=path).get_name())


@cache
def _charmap() -> frozenset[int]:
    return frozenset(FT2Font(str(sans_path())).get_charmap())


def missing_glyphs(figure: Figure) -> set[str]:
    """Characters of the figure's text the font cannot draw (they would show as boxes)."""
    found = _charmap()
    return {ch for t in figure.findobj(Text) for ch in t.get_text()
            if not ch.isspace() and ord(ch) not in found}  # fmt: skip


@contextmanager
def _style() -> Iterator[None]:
    with rc_context({"font.family": [font()], "axes.unicode_minus": False,
                     "font.size": 10}):  # fmt: skip
        yield


def png(figure: Figure) -> bytes:
    """The figure as PNG bytes."""
    buffer = io.BytesIO()
    with _style():
        FigureCanvasAgg(figure).print_png(buffer)
    return buffer.getvalue()


def _words(texts: Texts) -> dict[str, str]:
    return dict(texts.menu("charts/words.txt"))


def _short(text: str, size: int = NAME) -> str:
    """A name as a chart shows it: without characters the font lacks (an emoji in a name
    would be an empty box), cut to `size`."""
    found = _charmap()
    text = "".join(ch for ch in text if ord(ch) in found or ch.isspace())
    return text if len(text) <= size else text[: size - 1] + "…"


def bulletin_figure(texts: Texts, b: Bulletin) -> Figure:
    """Per sub-organization of the scope: the shares of its reports on time, late and
    missing as stacked bars (sub-organizations differ in size; the label gives how many
    were due), the most missing on top; past MAX_BARS the rest are one bar."""
    words = _words(texts)
    keys = ("on_time", "late", "missing")
    branches = b.branches
    rows: list[tuple[str, dict[str, int]]] = [
        (_short(br.org.name), {k: br.counts[k] for k in keys}) for br in branches[:MAX_BARS]
    ]
    rest = branches[MAX_BARS:]
    if rest:
        rows.append((words["others"].format(count=len(rest)),
                     {k: sum(br.counts[k] for br in rest) for k in keys}))  # fmt: skip
    rows.reverse()  # barh draws bottom-up: the first row on top
    with _style():
        figure = Figure(figsize=(8, 1.8 + 0.34 * max(len(rows), 1)), dpi=DPI,
                        layout="constrained")  # fmt: skip
        ax = figure.add_subplot()
        positions = range(len(rows))
        due = [sum(counts.values()) or 1 for _, counts in rows]
        left = [0.0] * len(rows)
        for key in keys:
            shares = [100 * counts[key] / d for (_, counts), d in zip(rows, due, strict=True)]
            ax.barh(positions, shares, left=left, color=COLORS[key], label=words[key])
            left = [a + v for a, v in zip(left, shares, strict=True)]
        labels = [words["branch_label"].format(name=name, count=sum(counts.values()))
                  for name, counts in rows]  # fmt: skip
        ax.set_yticks(list(positions), labels)
        ax.set_xlim(0, 100)
        ax.set_xlabel(words["share"])
        scope = b.root.name if b.root else words["bulletin_scope_all"]
        ax.set_title(words["bulletin_title"].format(year=b.period.year, month=b.period.month,
                                                    scope=_short(scope, 20)))  # fmt: skip
        figure.legend(loc="outside lower center", ncols=3, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    return figure


def history_figure(
    texts: Texts, name: str, points: Sequence[HistoryPoint], milestones: Sequence[Milestone],
) -> Figure:  # fmt: skip
    """A project over its whole span: the completion it reported against the straight-line
    planned pace of the plan in force each month, and its milestones (filled when done,
    hollow while open)."""
    words = _words(texts)
    span = len(points)
    index = {str(p.month): i for i, p in enumerate(points)}
    with _style():
        figure = Figure(figsize=(8, 4.2), dpi=DPI, layout="constrained")
        ax = figure.add_subplot()
        # The plan in force each month (after a 调整 the line follows the new plan).
        pace = [p.pace if p.pace is not None else round(100 * (i + 1) / span)
                for i, p in enumerate(points)]  # fmt: skip
        ax.plot(range(span), pace, linestyle="--", color="#757575", label=words["pace"])
        filed = [(i, p.completion) for i, p in enumerate(points) if p.completion is not None]
        if filed:
            ax.plot([i for i, _ in filed], [c for _, c in filed], marker="o", color="#1565c0",
                    label=words["completion"])  # fmt: skip
        done = [m for m in milestones if m.done_month and m.month in index]
        open_ = [m for m in milestones if not m.done_month and m.month in index]
        for group, label, face in ((done, "milestone_done", "#2e7d32"),
                                   (open_, "milestone_open", "white")):  # fmt: skip
            if group:
                ax.scatter([index[m.month] for m in group], [-6] * len(group), marker="D",
                           s=40, facecolors=face, edgecolors="#2e7d32", label=words[label],
                           clip_on=False, zorder=3)  # fmt: skip
        for m in [*done, *open_]:
            ax.annotate(_short(m.content, 6), (index[m.month], -6), xytext=(0, -14),
                        textcoords="offset points", ha="center", fontsize=8,
                        annotation_clip=False)  # fmt: skip
        ticks = [words["year_tick" if i == 0 or p.month.month == 1 else "month_tick"].format(
            year=p.month.year, month=p.month.month) for i, p in enumerate(points)]  # fmt: skip
        ax.set_xticks(list(range(span)), ticks, rotation=45 if span > 12 else 0)
        ax.set_ylim(-12, 105)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel(words["percent"])
        ax.set_title(words["history_title"].format(name=_short(name, 20)))
        ax.legend(loc="upper left", frameon=False, fontsize=8)
        ax.spines[["top", "right"]].set_visible(False)
    return figure


def dispatch_figure(texts: Texts, s: DispatchSummary) -> Figure:
    """双月调度: how many projects are ahead of, near, or behind the planned pace, and how
    many made no progress in two months."""
    words = _words(texts)
    counts = s.by_pace()
    states = list(reversed(PACE_STATES))  # barh draws bottom-up: ahead on top
    first = s.month.plus(-1)
    with _style():
        figure = Figure(figsize=(8, 3.2), dpi=DPI, layout="constrained")
        ax = figure.add_subplot()
        values = [counts[state] for state in states]
        bars = ax.barh(range(len(states)), values, color=[COLORS[state] for state in states])
        ax.bar_label(bars, padding=3)
        ax.set_yticks(list(range(len(states))), [words[state] for state in states])
        ax.set_xlabel(words["projects"])
        ax.set_title(words["dispatch_title"].format(year=first.year, first=first.month,
                                                    second=s.month.month,
                                                    count=sum(values)))  # fmt: skip
        ax.spines[["top", "right"]].set_visible(False)
    return figure


def quarter_figure(texts: Texts, c: Comparison) -> Figure:
    """季度互比: per sub-organization, its report rate and on-time rate over the quarter
    side by side, in the message's order (best on top); past MAX_BARS the rest are left to
    the workbook."""
    words = _words(texts)
    sides = list(reversed(c.sides[:MAX_BARS]))  # barh draws bottom-up
    with _style():
        figure = Figure(figsize=(8, 1.8 + 0.42 * max(len(sides), 1)), dpi=DPI,
                        layout="constrained")  # fmt: skip
        ax = figure.add_subplot()
        height = 0.4
        low = [i - height / 2 for i in range(len(sides))]
        high = [i + height / 2 for i in range(len(sides))]
        ax.barh(high, [s.report_rate for s in sides], height, color=COLORS["on_pace"],
                label=words["report_rate"])  # fmt: skip
        ax.barh(low, [s.on_time_rate for s in sides], height, color=COLORS["on_time"],
                label=words["on_time_rate"])  # fmt: skip
        ax.set_yticks(list(range(len(sides))), [_short(s.org.name) for s in sides])
        ax.set_xlim(0, 100)
        ax.set_xlabel(words["share"])
        scope = c.root.name if c.root else words["bulletin_scope_all"]
        ax.set_title(words["quarter_title"].format(year=c.quarter.year,
                                                   quarter=c.quarter.number,
                                                   scope=_short(scope, 20)))  # fmt: skip
        figure.legend(loc="outside lower center", ncols=2, frameon=False)
        ax.spines[["top", "right"]].set_visible(False)
    return figure


def warm_up_figure(texts: Texts) -> Figure:
    """A small chart in the font, drawn once when a process starts: the font and its glyphs
    are loaded then, not while the first digest is built."""
    words, keys = _words(texts), ("on_time", "late", "missing")
    with _style():
        figure = Figure(figsize=(2, 1), dpi=DPI)
        ax = figure.add_subplot()
        ax.barh([words[key] for key in keys], [3, 2, 1], color=[COLORS[key] for key in keys])
        ax.set_title(words["projects"])
    return figure

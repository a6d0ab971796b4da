"""Benchmark (issue 17), `charts`: the bulletin chart for a scope of many sub-organizations.

    python -m benchmarks.charts [--branches 2000] [--projects 5] [--runs 3]

Builds, in memory, a November bulletin whose scope has `--branches` sub-organizations with
`--projects` projects each (states drawn at random with a fixed seed: 70 % on time, 15 %
late, 15 % missing), then, as the export process does (bot/exports.py), draws its chart
(`bot/charts.py`: per sub-organization stacked bars, the first MAX_BARS drawn, the rest one
bar) and encodes the PNG. No database: the bulletin's own cost is in `benchmarks.digest`.

Figures: `import_s` (matplotlib and the font, once per export process), `first_s` (the
first chart in the process: the font's glyphs are loaded then), `seconds` (median of
`--runs` further charts: branch counts, figure, PNG), `png_bytes`, `rss_mb` (peak resident
set of this process: ru_maxrss). Prints exactly one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import resource
import statistics
import time
from collections.abc import Sequence
from typing import Any

TARGET_S = 1.0  # a chart must not be what makes a 2,000-organization bulletin slow


def bulletin(branches: int, per_branch: int, seed: int = 1) -> Any:
    """A November 2026 bulletin over `branches` sub-organizations (no database)."""
    from zoneinfo import ZoneInfo

    from bot.services.calendar import ReportCalendar
    from bot.services.digest import Bulletin, Line
    from bot.services.months import Month
    from storage.rows import Org
    from storage.summary import ProjectBrief

    rng = random.Random(seed)
    root = Org(1, "A000001", "市委组织部", None, "组织部")
    lines = []
    pid = 0
    for b in range(branches):
        branch = Org(2 + b, f"W{b:06d}", f"第{b + 1}街道党工委", 1, "党委")
        for _ in range(per_branch):
            pid += 1
            state = rng.choices(("on_time", "late", "missing"), (70, 15, 15))[0]
            project = ProjectBrief(pid, branch.id, f"2026-{pid:03d}", f"项目{pid}", "2026-01",
                                   "2026-12")  # fmt: skip
            lines.append(Line(project, branch, state, None, None, 92, branch=branch))
    window = ReportCalendar(tz=ZoneInfo("Asia/Shanghai")).window(Month(2026, 11))
    return Bulletin(Month(2026, 11), window, root, lines, [], [], [], [], 0, 0, [])


def parse_args(argv: Sequence[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks.charts")
    parser.add_argument("--branches", type=int, default=2_000)
    parser.add_argument("--projects", type=int, default=5, help="projects per sub-organization")
    parser.add_argument("--runs", type=int, default=3)
    return parser.parse_args(argv)


def main(argv: Sequence[str] | None = None) -> None:
    args = parse_args(argv)
    t0 = time.perf_counter()
    from bot import charts
    from bot.texts import Texts

    charts.font()
    texts = Texts()
    imported = time.perf_counter() - t0

    def one() -> tuple[float, int]:
        start = time.perf_counter()
        b = bulletin(args.branches, args.projects)
        data = charts.png(charts.bulletin_figure(texts, b))
        return time.perf_counter() - start, len(data)

    first, _ = one()
    runs = [one() for _ in range(args.runs)]
    seconds = statistics.median(s for s, _ in runs)
    figures = {
        "benchmark": "charts",
        "branches": args.branches,
        "projects": args.branches * args.projects,
        "import_s": round(imported, 3),
        "first_s": round(first, 3),
        "seconds": round(seconds, 3),
        "png_bytes": runs[-1][1],
        "rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "target_s": TARGET_S,
        "met": seconds < TARGET_S,
        "python": platform.python_version(),
    }
    print(json.dumps(figures, ensure_ascii=False), flush=True)


if __name__ == "__main__":
    main()

"""Benchmark (issue 16): `import-units` of a generated 1,000,000-row CSV.

    python -m benchmarks.import_units [--rows 1000000] [--workdir DIR]

The CSV (编号, 名称, 上级编号, 类型: one root, 1,000 branches, every other row a leaf under
a branch) is written streaming to a temporary directory, then read and imported into a fresh
database there, as `python -m bot import-units FILE` does. Figures: `seconds` (read plus
import, time.perf_counter), `read_s`, `import_s`; `rss_mb` = peak resident set of the
whole process (resource.getrusage ru_maxrss), `base_rss_mb` the same just before the import.
The loop check's shape: `chain_s` imports a 100,000-deep parent chain into another fresh
database, `chain_loop_s` the same chain closed into a loop (refused, every row flagged).

Prints exactly one JSON line on stdout.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import resource
import sys
import tempfile
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services import units
from storage.db import Database

NOW = datetime(2026, 12, 1, 9, 0, tzinfo=ZoneInfo("Asia/Shanghai"))
TARGET_SECONDS, TARGET_RSS_MB = 30.0, 300.0
BRANCHES = 1_000
CHAIN_ROWS = 100_000


def _rss_mb() -> float:
    # Linux reports ru_maxrss in KiB.
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)


def write_csv(path: Path, rows: int) -> None:
    """One root, BRANCHES branches under it, the rest leaves spread over the branches."""
    with path.open("w", encoding="utf-8", newline="") as f:
        out = csv.writer(f)
        out.writerow(units.COLUMNS)
        out.writerow(["R", "省委", "", "党委"])
        for i in range(1, rows):
            if i <= BRANCHES:
                out.writerow([f"B{i:04d}", f"第{i}党委", "R", "党委"])
            else:
                out.writerow([f"U{i:07d}", f"第{i}党支部", f"B{i % BRANCHES + 1:04d}", "党支部"])


async def measure(path: Path, db_path: Path) -> dict[str, float | int]:
    base = _rss_mb()
    start = time.perf_counter()
    rows = units.read_units_file(path)
    read_done = time.perf_counter()
    db = await Database.open(db_path)
    try:
        result = await units.import_units(db, rows, NOW)
    finally:
        await db.close()
    end = time.perf_counter()
    return {
        "seconds": round(end - start, 2),
        "read_s": round(read_done - start, 2),
        "import_s": round(end - read_done, 2),
        "added": result.added,
        "base_rss_mb": base,
        "rss_mb": _rss_mb(),
    }


def chain(length: int, top_parent: str = "") -> list[units.UnitRow]:
    return [
        units.UnitRow(i + 2, f"C{i}", f"第{i}级", f"C{i - 1}" if i else top_parent, "党委")
        for i in range(length)
    ]


async def timed_import(db_path: Path, rows: Sequence[units.UnitRow]) -> float:
    db = await Database.open(db_path)
    try:
        start = time.perf_counter()
        try:
            await units.import_units(db, rows, NOW)
        except units.ImportRejected:
            pass
        return round(time.perf_counter() - start, 2)
    finally:
        await db.close()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=1_000_000)
    parser.add_argument("--workdir", type=Path, default=None)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        csv_path = Path(tmp) / "units.csv"
        write_csv(csv_path, args.rows)
        figures = asyncio.run(measure(csv_path, Path(tmp) / "bench.db"))
        deep = CHAIN_ROWS
        figures["chain_s"] = asyncio.run(timed_import(Path(tmp) / "chain.db", chain(deep)))
        looped = chain(deep, top_parent=f"C{deep - 1}")
        figures["chain_loop_s"] = asyncio.run(timed_import(Path(tmp) / "loop.db", looped))
    ok = figures["seconds"] < TARGET_SECONDS and figures["rss_mb"] < TARGET_RSS_MB
    print(
        json.dumps(
            {
                "benchmark": "import_units",
                "rows": args.rows,
                **figures,
                "targets": {"seconds": TARGET_SECONDS, "rss_mb": TARGET_RSS_MB},
                "ok": ok,
            }
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())

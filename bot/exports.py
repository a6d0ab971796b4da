"""Digest messages made in the export process (storage/db.py `Database.off_loop`): a
province's bulletin or dispatch summary runs to thousands of lines, which would hold the
event loop while computed and rendered; only the finished text comes back."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bot.services import digest
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage.db import Database


@dataclass(frozen=True)
class Rendered:
    """A digest's HTML, and its one-message summary for when it goes as a file."""

    html: str
    summary: str


@cache
def _texts(root: str) -> Texts:
    """The templates, loaded once per export process."""
    return Texts(Path(root))


async def bulletin(
    view: Database, templates: str, tz: ZoneInfo, cal: ReportCalendar, period: Month,
    now: datetime, root_org_id: int | None, rules: digest.FlagRules,
    published_at: datetime | None,
) -> Rendered:  # fmt: skip
    """The 月通报 of `period` for one scope, rendered (digest/_bulletin.html)."""
    b = await digest.bulletin_from(view, cal, period, now, root_org_id, rules, published_at)
    texts = _texts(templates)
    return Rendered(texts.html("digest/_bulletin.html", b=b, tz=tz),
                    texts.html("digest/bulletin_short.html", b=b))  # fmt: skip


async def dispatch(
    view: Database, templates: str, cal: ReportCalendar, month: Month, now: datetime,
    root_org_id: int | None,
) -> Rendered:  # fmt: skip
    """The 双月调度 summary up to `month` for one scope, rendered (digest/_dispatch.html)."""
    s = await digest.dispatch_summary_from(view, cal, month, now, root_org_id)
    texts = _texts(templates)
    return Rendered(texts.html("digest/_dispatch.html", s=s),
                    texts.html("digest/dispatch_short.html", s=s))  # fmt: skip

"""Digest messages and long lists made in the export process (storage/db.py
`Database.off_loop`): a province's bulletin, dispatch summary or 验收 list covers thousands
of projects, which would hold the event loop while computed, rendered, written to a
workbook and drawn; only the finished message, workbook and chart come back. A
channel's 晒动态 and /voters' workbook likewise."""

from __future__ import annotations

import multiprocessing
import os
import threading
from dataclasses import dataclass
from datetime import datetime
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

from bot import charts, digest_books
from bot.callbacks import AcceptScore
from bot.messages import split_message
from bot.services import acceptance, digest, public, quarterly
from bot.services.calendar import ReportCalendar
from bot.services.months import Month
from bot.texts import Texts
from storage.db import Database
from storage.rows import Milestone, Project


@dataclass(frozen=True)
class Pack:
    """A digest as it goes out: a one-screen message, the full lists as a workbook, and a
    chart when there is one."""

    html: str
    book: bytes
    filename: str
    chart: bytes | None = None


@cache
def _texts(root: str) -> Texts:
    """The templates, loaded once per export process."""
    return Texts(Path(root))


async def warm_up(view: Database, templates: str) -> int:
    """Make the export process ready before the first digest (`python -m bot run` asks for
    it at start): its imports came with this function; the templates are compiled and a
    chart drawn, so the font is loaded. Returns how many templates were compiled."""
    _exit_with_parent()
    texts = _texts(templates)
    compiled = texts.compile_all()
    charts.png(charts.warm_up_figure(texts))
    return compiled


def _exit_with_parent() -> None:
    """End this export process once the bot that started it is gone (killed, say): an
    orphan would hold the bot's output pipes and the database open."""
    parent = multiprocessing.parent_process()
    if parent is None:
        return  # not an export process (an in-memory database's export runs in place)

    def watch() -> None:
        parent.join()  # returns once the bot's process has ended, or at once if it has
        os._exit(0)

    threading.Thread(target=watch, name="parent watch", daemon=True).start()


async def bulletin(
    view: Database, templates: str, tz: ZoneInfo, cal: ReportCalendar, period: Month,
    now: datetime, root_org_id: int | None, rules: digest.FlagRules,
    published_at: datetime | None,
) -> Pack:  # fmt: skip
    """The 月通报 of `period` for one scope: message (digest/bulletin.html) and workbook."""
    b = await digest.bulletin_from(view, cal, period, now, root_org_id, rules, published_at)
    texts = _texts(templates)
    name = texts.plain("digest/book_filename.txt", kind="bulletin", period=period)
    return Pack(texts.html("digest/bulletin.html", b=b), digest_books.bulletin_book(texts, b, tz),
                name, charts.png(charts.bulletin_figure(texts, b)))  # fmt: skip


async def dispatch(
    view: Database, templates: str, cal: ReportCalendar, month: Month, now: datetime,
    root_org_id: int | None,
) -> Pack:  # fmt: skip
    """The 双月调度 summary up to `month` for one scope: message (digest/dispatch.html) and
    workbook."""
    s = await digest.dispatch_summary_from(view, cal, month, now, root_org_id)
    texts = _texts(templates)
    name = texts.plain("digest/book_filename.txt", kind="dispatch", period=month)
    return Pack(texts.html("digest/dispatch.html", s=s), digest_books.dispatch_book(texts, s),
                name, charts.png(charts.dispatch_figure(texts, s)))  # fmt: skip


async def history_chart(
    view: Database, templates: str, name: str, points: list[digest.HistoryPoint],
    milestones: list[Milestone],
) -> bytes:  # fmt: skip
    """/history's chart of a project (charts.history_figure), drawn in the export process."""
    return charts.png(charts.history_figure(_texts(templates), name, points, milestones))


async def quarter(
    view: Database, templates: str, cal: ReportCalendar, which: str, now: datetime,
    root_org_id: int | None,
) -> Pack:  # fmt: skip
    """The 季度互比 of the quarter `which` (2026Q3) for one scope: message
    (digest/quarter.html), workbook and chart."""
    c = await quarterly.comparison_from(view, cal, quarterly.Quarter.parse(which), now,
                                        root_org_id)  # fmt: skip
    texts = _texts(templates)
    name = texts.plain("digest/quarter_filename.txt", quarter=c.quarter)
    return Pack(texts.html("digest/quarter.html", c=c), digest_books.quarter_book(texts, c), name,
                charts.png(charts.quarter_figure(texts, c)))  # fmt: skip


@dataclass(frozen=True)
class Progress:
    """A channel's 晒动态 as it goes out: the text, then albums of (caption, photo ids)."""

    html: str
    albums: list[tuple[str, list[str]]]


async def progress(
    view: Database, templates: str, root_org_id: int | None, period: Month
) -> Progress | None:
    """The 晒动态 of `period` for a channel's scope (public/progress.html, a caption per
    project with photos); None when no project runs that month."""
    lines = await public.progress(view, root_org_id, period)
    if not lines:
        return None
    texts = _texts(templates)
    albums = [(texts.plain("public/photo_caption.txt", line=line), list(line.photos))
              for line in lines if line.photos]  # fmt: skip
    return Progress(texts.html("public/progress.html", period=period, lines=lines), albums)


async def voters(
    view: Database, templates: str, tz: ZoneInfo, project: Project
) -> tuple[str, tuple[str, bytes] | None]:
    """/voters of a project the admin may see: the message (public/voters.html) and, when it
    had a 民主评议, the workbook of every ballot as (file name, bytes)."""
    r = await public.voter_list(view, project)
    texts = _texts(templates)
    html = texts.html("public/voters.html", r=r, tz=tz)
    if not r.windows:
        return html, None
    name = texts.plain("public/voters_filename.txt", r=r)
    return html, (name, digest_books.voters_book(texts, r, tz))


async def acceptance_overview(
    view: Database, templates: str, tz: ZoneInfo, admin_id: int, year: int | None,
    rules: acceptance.Rules,
) -> list[str]:  # fmt: skip
    """/acceptance [年份] for this admin (their scope read here, at the snapshot's moment):
    the message (acceptance/overview.html), split into the parts it is sent as."""
    o = await acceptance.overview(view, admin_id, year, rules)
    return split_message(_texts(templates).html("acceptance/overview.html", tz=tz,
                                                rules=rules, o=o, query=""))  # fmt: skip


async def acceptance_models(
    view: Database, templates: str, tz: ZoneInfo, year: int, rules: acceptance.Rules
) -> list[str]:
    """/models <年份>: the year's ranking and 示范 list (acceptance/models.html), split into
    the parts it is sent as."""
    o = await acceptance.models(view, year, rules)
    return split_message(_texts(templates).html("acceptance/models.html", tz=tz, rules=rules,
                                                o=o, query=""))  # fmt: skip


async def score_list(
    view: Database, templates: str, tz: ZoneInfo, user_id: int, rules: acceptance.Rules
) -> tuple[list[str], list[tuple[str, str]]]:
    """/score without a number: the reviewer's list (acceptance/score_list.html) split into
    the parts it is sent as, and (label, callback data) of the 打分 buttons of the first 20
    projects; the keyboard itself is built on the loop."""
    o = await acceptance.to_score(view, user_id)
    texts = _texts(templates)
    buttons = [(texts.plain("acceptance/score_button.txt", p=p, mine=s),
                AcceptScore(p.id, "-", "open").pack())
               for p, _, s in o.projects[:20]]  # fmt: skip
    html = texts.html("acceptance/score_list.html", tz=tz, rules=rules, o=o)
    return split_message(html), buttons

"""`python -m bot demo`: the real bot against the Bot API stand-in, played in a terminal.

The Application is the one `run` starts, with the same handlers, templates and rules; only
its requests go to the stand-in (bot/standin) in this process, so nothing reaches the
network. The sample organizations and the projects of data/demo.toml are loaded into a
throwaway database; the person at the keyboard plays any role, presses buttons by number,
moves the clock (which runs the planner) and finds files the bot sends in a folder.
"""

from __future__ import annotations

import asyncio
import html
import re
import sys
import threading
import tomllib
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import IO, Any

from bot.app import build_application
from bot.context import BotApplication
from bot.services import invites, units
from bot.settings import Settings
from bot.standin.core import TOKEN, BotApiStandIn, Call
from bot.standin.dialogue import Bench, TgGroup, TgUser
from bot.standin.inprocess import StandInRequest
from bot.texts import Texts
from scheduler.tick import run_tick
from storage import orgs, people, projects, reports
from storage.db import Database
from storage.rows import ts

REPO = Path(__file__).resolve().parent.parent
SAMPLE_UNITS = REPO / "data" / "sample_units.csv"
DEMO_DATA = REPO / "data" / "demo.toml"
ADMIN_ID = 900001
FIRST_SECRETARY_ID = 1001  # the secretaries of data/demo.toml, in order
NEW_SECRETARY_ID = 2001  # secretaries the demo binds by invite when their role is asked for
GROUP_ID = -1001000000000  # minus the organization's position in the file
SHOWN = ("sendMessage", "sendDocument", "sendPhoto", "editMessageText", "sendMediaGroup")
TIME_FORMATS = ("%Y-%m-%d %H:%M", "%Y-%m-%dT%H:%M", "%Y-%m-%d")
CONTINUED = "\\"  # a line ending in it goes on in the next, in the same message
HEADING = "【"  # a scripted run's heading line (templates/demo/year.txt)


class DemoClock:
    """The demo's now: it moves only when the player says `/at`."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now


@dataclass
class Role:
    """Who the player is now: a person in a private chat, or an admin speaking in a group."""

    label: str
    chat_id: int
    user: TgUser
    group: TgGroup | None = None


def plain(text: str) -> str:
    """A message's HTML as a terminal shows it."""
    return html.unescape(re.sub(r"<[^>]+>", "", text))


def months(first: str, last: str) -> list[str]:
    """Every 'YYYY-MM' from `first` to `last`, both included."""
    year, month = map(int, first.split("-"))
    found = []
    while f"{year:04d}-{month:02d}" <= last:
        found.append(f"{year:04d}-{month:02d}")
        year, month = (year + 1, 1) if month == 12 else (year, month + 1)
    return found


async def load_demo_data(db: Database, data: dict[str, Any], settings: Settings) -> None:
    """Import the sample organizations and write data/demo.toml's projects and history."""
    tz = settings.timezone
    start = datetime.fromisoformat(data["start"]).replace(tzinfo=tz)
    await units.import_units(db, units.read_units_file(SAMPLE_UNITS), start)
    for n, item in enumerate(data["projects"]):
        user_id = FIRST_SECRETARY_ID + n
        first, last = item["span"]
        approved = datetime.fromisoformat(f"{first}-01 09:00").replace(tzinfo=tz)
        stamp = ts(approved)
        org = await orgs.by_code(db, item["org"])
        if org is None:
            raise ValueError(f"data/demo.toml: no organization {item['org']}")
        async with db.transaction() as conn:
            await people.bind_secretary(conn, user_id, item["secretary"], None, org.id, stamp)
            project_id = await projects.create_draft(conn, org.id, user_id, stamp)
            fields = {key: item[key] for key in ("name", "kind", "problem", "measures", "targets")}
            await projects.set_fields(
                conn, project_id, {**fields, "start_month": first, "end_month": last}, stamp
            )
            await projects.set_milestones(conn, project_id, [tuple(m) for m in item["milestones"]],
                                          stamp)  # fmt: skip
            round_ = await projects.mark_submitted(conn, project_id, stamp)
            # 立项 on the 1st of its first month, before that month's deadline: owed from it.
            await projects.mark_approved(conn, project_id, round_, int(first[:4]), stamp, first)
        span = months(first, last)
        for period in months(first, min(last, data["reported_to"])):
            if period in item.get("missing", []):
                continue
            await _report(db, item, project_id, user_id, period, span, settings)


async def _report(db: Database, item: dict[str, Any], project_id: int, user_id: int,
                  period: str, span: list[str], settings: Settings) -> None:  # fmt: skip
    """One month's report of a demo project, filed on time or (listed in `late`) after."""
    late = period in item.get("late", [])
    day = settings.report_due_day + 3 if late else settings.report_open_day + 2
    filed = datetime.fromisoformat(f"{period}-{min(day, 28):02d} 10:00")
    stamp = ts(filed.replace(tzinfo=settings.timezone))
    elapsed = span.index(period) + 1
    completion = min(100, round(item.get("pace", 1.0) * 100 * elapsed / len(span)))
    async with db.transaction() as conn:
        due = [m.id for m in await projects.milestones(conn, project_id) if m.month == period]
        ticked = due if item.get("pace", 1.0) >= 1 else []
        report_id = await reports.create(conn, project_id, period, user_id, stamp)
        await conn.run(reports.set_fields, report_id, {
            "progress": item["progress"].format(month=int(period[5:])), "completion": completion,
            "problems": "无", "plan": item["plan"], "milestones_done": ticked,
            "milestones_set": 1, "files_set": 1}, stamp)  # fmt: skip
        report = await reports.get(conn, report_id)
        assert report is not None
        await reports.add_version(conn, report, [], user_id, stamp, not late)
        await reports.set_milestone_done(conn, project_id, ticked, period)


class Demo:
    """The bot, the stand-in, the roles played and what was shown of the bot's messages."""

    def __init__(self, settings: Settings, texts: Texts, folder: Path,
                 say: Callable[[str], None]) -> None:  # fmt: skip
        self.data = tomllib.loads(DEMO_DATA.read_text(encoding="utf-8"))
        start = datetime.fromisoformat(self.data["start"]).replace(tzinfo=settings.timezone)
        self.clock = DemoClock(start)
        self.folder, self.files = folder, folder / "files"
        self.settings = replace(
            settings, token=TOKEN, db_path=folder / "demo.sqlite3", admin_ids=frozenset({ADMIN_ID}),
            bot_username="shuji_demo_bot", tick_seconds=0, rate_limit=False, backup_dir=None,
            webhook_url=None,
        )  # fmt: skip
        self.texts, self.say = texts, say
        self.api = BotApiStandIn(username="shuji_demo_bot")
        self.api.clock = lambda: self.clock().timestamp()
        self.app: BotApplication | None = None
        self.bench: Bench | None = None
        self.role: Role | None = None
        self.shown = 0  # calls up to here were shown or set aside in `unread`
        self.unread: dict[int, list[Call]] = {}
        self.others: list[tuple[str, int]] = []  # the unread counts last shown
        self.names: dict[int, str] = {}  # chat id -> who it is, as the prompt shows it
        self.next_secretary = NEW_SECRETARY_ID
        self.saved = 0
        self.missed = 0  # buttons a /press named that were not there (a script then fails)
        self.pending: list[str] = []  # the lines of a message continued with a backslash

    # -- start and stop ----------------------------------------------------------------------

    async def open(self) -> None:
        """Load the data, start the Application on the stand-in, and play the admin."""
        self.folder.mkdir(parents=True, exist_ok=True)
        db = await Database.open(self.settings.db_path)
        try:
            await load_demo_data(db, self.data, self.settings)
        finally:
            await db.close()
        app = build_application(self.settings, request=StandInRequest(self.api), clock=self.clock,
                                texts=self.texts)  # fmt: skip
        await app.initialize()
        if app.post_init is not None:
            await app.post_init(app)
        await app.start()
        self.app, self.bench = app, Bench(app, self.api)
        for n, item in enumerate(self.data["projects"]):
            org = await orgs.by_code(app.bot_data.db, item["org"])
            label = self.texts.plain("demo/role_secretary.txt", org=org, name=item["secretary"])
            self.names[FIRST_SECRETARY_ID + n] = label
        self.shown = len(self.api.calls)  # the command menus set at start
        self.say(self.texts.plain("demo/welcome.txt", folder=str(self.folder),
                                  now=self.clock(), tz=self.settings.timezone,
                                  projects=self.data["projects"]))  # fmt: skip
        assert self.bench is not None
        await self.enter(self.admin_role())

    async def close(self) -> None:
        """Stop the Application and close the database."""
        if self.app is not None:
            app, self.app = self.app, None
            await app.stop()
            await app.shutdown()
            if app.post_shutdown is not None:
                await app.post_shutdown(app)

    @property
    def prompt(self) -> str:
        label = self.role.label if self.role else ""
        return self.texts.plain("demo/prompt.txt", role=label, now=self.clock(),
                                tz=self.settings.timezone) + " "  # fmt: skip

    # -- what the player types ---------------------------------------------------------------

    async def command(self, line: str) -> bool:
        """Act on one line; False when the player is done. A line ending in a backslash
        goes on in the next one: one message of several lines (进度安排, say)."""
        if line.rstrip().endswith(CONTINUED):
            self.pending.append(line.rstrip()[: -len(CONTINUED)].rstrip())
            return True
        if self.pending:
            text, self.pending = "\n".join([*self.pending, line.strip()]), []
            await self.send(text.strip())
            return True
        words = line.split()
        if not words:
            return True
        if words[0] in ("/quit", "/exit"):
            return False
        if words[0] == "/demo":
            self.say(self.texts.plain("demo/help.txt"))
        elif words[0] == "/as":
            await self.play(words[1:])
        elif words[0] == "/at":
            await self.move_clock(" ".join(words[1:]))
        elif words[0] == "/press":
            await self.press_label(line.strip()[len(words[0]) :].strip())
        elif self.button_number(line) is not None:
            await self.press(int(line.strip()))
        else:
            await self.send(line.strip())
        return True

    async def send(self, text: str) -> None:
        role = self.current()
        if role.group is not None:
            await role.group.send(role.user, text)
        else:
            await role.user.send(text)
        self.show_new()

    def pressable(self) -> dict[str, Any] | None:
        """The latest message in this chat with buttons, the one numbers press."""
        if self.role is None:
            return None
        for (chat_id, _), message in reversed(self.api.messages.items()):
            if chat_id == self.role.chat_id and _buttons(message):
                return message
        return None

    def button_number(self, line: str) -> int | None:
        """A number that names a button of the latest buttoned message, or None (then the
        line is sent as text: a completion of 85, say, when there are 13 buttons)."""
        text = line.strip()
        message = self.pressable()
        if not text.isdigit() or message is None:
            return None
        return int(text) if 1 <= int(text) <= len(_buttons(message)) else None

    async def press(self, number: int) -> None:
        message = self.pressable()
        assert message is not None
        button = _buttons(message)[number - 1]
        if "callback_data" not in button:
            self.say(self.texts.plain("demo/link_button.txt", url=button.get("url", "")))
            return
        await self.current().user.press_data(button["callback_data"], message)
        self.show_new()

    def labelled(self, label: str) -> tuple[dict[str, Any], dict[str, Any]] | None:
        """The newest message in this chat with a button named `label` (or, failing that,
        whose name contains it), and that button."""
        if self.role is None or not label:
            return None
        for (chat_id, _), message in reversed(self.api.messages.items()):
            if chat_id != self.role.chat_id:
                continue
            buttons = [b for b in _buttons(message) if "callback_data" in b]
            found = next((b for b in buttons if b.get("text") == label), None) or next(
                (b for b in buttons if label in str(b.get("text", ""))), None)  # fmt: skip
            if found is not None:
                return message, found
        return None

    async def press_label(self, label: str) -> None:
        """Press a button by its name, as a script does (numbers change when buttons do)."""
        found = self.labelled(label)
        if found is None:
            self.missed += 1
            self.say(self.texts.plain("demo/no_button.txt", label=label))
            return
        message, button = found
        await self.current().user.press_data(button["callback_data"], message)
        self.show_new()

    async def move_clock(self, when: str) -> None:
        """Set the demo's now and run the planner once, as the clock's job would."""
        moment = _parse_time(when)
        if moment is None:
            self.say(self.texts.plain("demo/bad_time.txt", value=when))
            return
        moment = moment.replace(tzinfo=self.settings.timezone)
        if moment < self.clock():
            self.say(self.texts.plain("demo/time_backwards.txt", now=self.clock(),
                                      tz=self.settings.timezone))  # fmt: skip
            return
        self.clock.now = moment
        assert self.app is not None
        result = await run_tick(self.app, moment)
        self.say(self.texts.plain("cli/ticked.txt", r=result, at=f"{moment:%Y-%m-%d %H:%M}"))
        self.show_new()

    # -- roles -------------------------------------------------------------------------------

    def current(self) -> Role:
        assert self.role is not None, "a role is played from the start"
        return self.role

    async def play(self, words: list[str]) -> None:
        """Become the admin, a secretary of an organization, or an admin in its group."""
        kinds = {name: kind for kind, name in self.texts.menu("demo/roles.txt")}
        kind = kinds.get(words[0]) if words else None
        code = words[1] if len(words) > 1 else ""
        role: Role | None = None
        if kind == "admin":
            role = self.admin_role()
        elif kind == "secretary" and code:
            role = await self._secretary(code)
        elif kind == "group" and code:
            role = await self._group(code, self.admin_role().user)
        else:
            self.say(self.texts.plain("demo/bad_role.txt"))
        if role is not None:
            await self.enter(role)

    def admin_role(self) -> Role:
        assert self.bench is not None
        admin = self.bench.user(ADMIN_ID, self.data["admin"])
        return Role(self.texts.plain("demo/role_admin.txt", name=admin.first_name), ADMIN_ID,
                    admin)  # fmt: skip

    async def enter(self, role: Role) -> None:
        """Play `role` from now on; show what the bot sent it meanwhile."""
        self.role = role
        self.names[role.chat_id] = role.label
        self.say(self.texts.plain("demo/now_playing.txt", role=role.label))
        self.show_new()

    async def _secretary(self, code: str) -> Role | None:
        assert self.app is not None and self.bench is not None
        db = self.app.bot_data.db
        org = await orgs.by_code(db, code.upper())
        if org is None:
            self.say(self.texts.plain("demo/unknown_org.txt", code=code))
            return None
        person = await people.secretary_of(db, org.id)
        if person is not None:
            user = self.bench.user(person.user_id, person.full_name)
            label = self.texts.plain("demo/role_secretary.txt", org=org, name=person.full_name)
            return Role(label, person.user_id, user)
        # No secretary yet: one is bound the way people are, with an invite and /start.
        issued = await invites.invite_for(db, org.code, self.clock(),
                                          self.settings.invite_ttl_days, ADMIN_ID)  # fmt: skip
        if issued.outcome != "issued" or issued.invite is None:
            self.say(self.texts.plain("demo/no_secretary_role.txt", org=org))
            return None
        name = self.texts.plain("demo/new_secretary_name.txt", org=org)
        user = self.bench.user(self.next_secretary, name)
        self.next_secretary += 1
        label = self.texts.plain("demo/role_secretary.txt", org=org, name=name)
        self.names[user.id] = label
        self.say(self.texts.plain("demo/binding.txt", org=org, code=issued.invite.invite.code))
        await user.send(f"/start {issued.invite.invite.code}")
        return Role(label, user.id, user)

    async def _group(self, code: str, admin: TgUser) -> Role | None:
        assert self.app is not None and self.bench is not None
        db = self.app.bot_data.db
        org = await orgs.by_code(db, code.upper())
        if org is None:
            self.say(self.texts.plain("demo/unknown_org.txt", code=code))
            return None
        chat_id = GROUP_ID - org.id
        title = self.texts.plain("demo/group_title.txt", org=org)
        group = self.bench.group(chat_id, title)
        label = self.texts.plain("demo/role_group.txt", org=org, title=title)
        if chat_id not in self.names:  # registered the way admins do, by /bind_group
            self.names[chat_id] = label
            self.say(self.texts.plain("demo/binding_group.txt", org=org))
            await group.send(admin, f"/bind_group {org.code}")
        return Role(label, chat_id, admin, group)

    # -- what the bot sent -------------------------------------------------------------------

    def show_new(self) -> None:
        """Print what the bot sent to the chat played now; count what went elsewhere."""
        role = self.current()
        fresh = [c for c in self.api.calls[self.shown :] if c.method in SHOWN and c.status == 200]
        self.shown = len(self.api.calls)
        for call in fresh:
            self.unread.setdefault(call.chat_id or 0, []).append(call)
        mine = self.unread.pop(role.chat_id, [])
        latest = self.pressable()
        for n, call in enumerate(mine):
            numbered = (
                latest is not None
                and n == max((i for i, c in enumerate(mine) if c.buttons), default=-1)
                and [b[0] for b in call.buttons] == [b.get("text") for b in _buttons(latest)]
            )
            self.say(self.render(call, numbered))
        others = [(self.names.get(chat, str(chat)), len(calls))
                  for chat, calls in sorted(self.unread.items())]  # fmt: skip
        if others and others != self.others:  # said again only when it changed
            self.say(self.texts.plain("demo/others.txt", others=others))
        self.others = others

    def render(self, call: Call, numbered: bool) -> str:
        uploads = call.params.get("uploads") or {}
        saved = [self.save(str(name), content) for name, content in uploads.values()]
        media = call.params.get("media") if call.method == "sendMediaGroup" else None
        return self.texts.plain(
            "demo/message.txt",
            text=plain(call.text),
            edited=call.method == "editMessageText",
            rows=_rows(call),
            numbered=numbered,
            saved=saved,
            album=len(media) if isinstance(media, list) else 0,
        )

    def save(self, name: str, content: bytes | IO[bytes]) -> str:
        """Keep a file the bot sent; return where it is."""
        self.files.mkdir(parents=True, exist_ok=True)
        self.saved += 1
        path = self.files / f"{self.saved:02d}-{Path(name or 'file').name}"
        path.write_bytes(content if isinstance(content, bytes) else content.read())
        return str(path)


def _buttons(message: dict[str, Any]) -> list[dict[str, Any]]:
    markup = message.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    return [button for row in rows for button in row]


def _rows(call: Call) -> list[list[tuple[int, str]]]:
    """The call's buttons as rows of (number, label), numbered across rows from 1."""
    markup = call.params.get("reply_markup") or {}
    rows = markup.get("inline_keyboard", []) if isinstance(markup, dict) else []
    numbered, n = [], 0
    for row in rows:
        line = []
        for button in row:
            n += 1
            line.append((n, str(button.get("text", ""))))
        numbered.append(line)
    return numbered


def _parse_time(text: str) -> datetime | None:
    for fmt in TIME_FORMATS:
        try:
            return datetime.strptime(text.strip(), fmt)
        except ValueError:
            continue
    return None


def _read_lines(loop: asyncio.AbstractEventLoop, lines: asyncio.Queue[str | None]) -> None:
    """In a daemon thread (Ctrl-C never waits for it): hand stdin's lines to the loop."""
    for line in sys.stdin:
        loop.call_soon_threadsafe(lines.put_nowait, line)
    loop.call_soon_threadsafe(lines.put_nowait, None)


def script_lines(texts: Texts, name: str) -> list[str]:
    """A scripted run (templates/demo/<name>.txt): the lines a player would type; those
    starting with 【 are headings, printed as they are."""
    return [line for line in texts.plain(f"demo/{name}.txt").splitlines() if line.strip()]


async def play_script(demo: Demo, lines: list[str]) -> bool:
    """Type each line at the prompt, as a player would, showing it; stop at the first
    button the script names that is not there. True when every line was played."""
    for line in lines:
        if line.startswith(HEADING):
            demo.say("\n" + line)
            continue
        demo.say(demo.prompt + line)
        await demo.command(line)
        if demo.missed:
            return False
    return True


async def run_demo(
    settings: Settings, texts: Texts, folder: Path, script: str | None = None
) -> bool:
    """Play until /quit or the end of input; with `script`, play that scripted run instead
    (False: a step of it could not be played)."""

    def say(text: str) -> None:
        print(text, flush=True)

    demo = Demo(settings, texts, folder, say)
    lines: asyncio.Queue[str | None] = asyncio.Queue()
    await demo.open()
    if script is not None:
        try:
            return await play_script(demo, script_lines(texts, script))
        finally:
            await demo.close()
            say(texts.plain("demo/bye.txt", folder=str(folder)))
    try:
        threading.Thread(target=_read_lines, args=(asyncio.get_running_loop(), lines),
                         daemon=True).start()  # fmt: skip
        while True:
            print(demo.prompt, end="", flush=True)
            line = await lines.get()
            if line is None:  # Ctrl-D: end the prompt's line first
                print(flush=True)
                break
            if not await demo.command(line):
                break
    finally:
        await demo.close()
        say(texts.plain("demo/bye.txt", folder=str(folder)))
    return True

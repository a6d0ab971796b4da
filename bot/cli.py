"""The command line: `python -m bot run | migrate | import-units | invites | backup | status …`."""

from __future__ import annotations

import argparse
import asyncio
import logging
import os
import re
import sqlite3
import sys
from collections.abc import Callable, Coroutine, Sequence
from datetime import datetime
from pathlib import Path
from typing import Any, TypeVar

from bot import spreadsheets
from bot.context import system_clock
from bot.logs import redact, setup_logging
from bot.services import invites as invite_service
from bot.services import units
from bot.settings import Settings, SettingsError, load_settings
from bot.texts import Texts
from storage.db import Database, ReadOnlyError, SchemaTooNewError, StorageError

logger = logging.getLogger(__name__)

EXIT_OK, EXIT_FAILED, EXIT_CONFIG = 0, 1, 2


class CliError(Exception):
    """Stop the command with a message rendered from templates/cli/."""

    def __init__(self, template: str, code: int = EXIT_CONFIG, **params: object) -> None:
        super().__init__(template)
        self.template, self.code, self.params = template, code, params


def _say(text: str) -> None:
    print(text, flush=True)


def _db_fault(settings: Settings, exc: Exception) -> CliError:
    """A database that cannot be used (newer, read-only, locked, corrupt) as one line."""
    path = str(settings.db_path)
    if isinstance(exc, SchemaTooNewError):
        return CliError("cli/schema_too_new.txt", path=path, found=exc.found, known=exc.known)
    if isinstance(exc, ReadOnlyError):
        return CliError("cli/db_read_only.txt", path=path, refused=exc.path)
    return CliError("cli/db_error.txt", path=path, error=str(exc))


async def _open_db(settings: Settings, *, migrate: bool = True) -> Database:
    try:
        return await Database.open(settings.db_path, migrate=migrate)
    except (StorageError, sqlite3.Error, OSError) as exc:
        raise _db_fault(settings, exc) from None


T = TypeVar("T")


def _run_db(settings: Settings, work: Coroutine[Any, Any, T]) -> T:
    """Run a command's work; a database fault (locked, read-only, corrupt) becomes a message
    (`tick` opens the database through the application, not through _open_db)."""
    try:
        return asyncio.run(work)
    except (StorageError, sqlite3.Error) as exc:
        raise _db_fault(settings, exc) from None


# -- run ----------------------------------------------------------------------------------------


def cmd_run(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Apply migrations, check the token, then poll Telegram until stopped (Ctrl-C, SIGTERM)."""
    from jinja2 import TemplateError
    from telegram import Update
    from telegram.error import TelegramError

    from bot import runlock
    from bot.app import build_application

    settings.require_token()
    try:
        texts.compile_all()  # a broken template stops the start, with its name, not a traceback
    except (TemplateError, UnicodeDecodeError, OSError) as exc:
        name = getattr(exc, "name", None) or getattr(exc, "filename", None) or ""
        raise SettingsError("cli/bad_template.txt", name=name, error=str(exc)) from None
    asyncio.run(_preflight(settings))
    app = build_application(settings, texts=texts, settle=True)
    _say(texts.plain("cli/run_starting.txt", url=_public_url(settings),
                     webhook=settings.webhook_url or "", route=settings.webhook_route(),
                     listen=f"{settings.webhook_listen}:{settings.webhook_port}"))  # fmt: skip
    asyncio.set_event_loop(asyncio.new_event_loop())
    try:
        # Held while the bot runs: `restore` refuses to write under it (bot/runlock.py).
        with runlock.bot_running(settings.db_path):
            if settings.webhook_url:
                _run_webhook(app, settings)
            else:
                # PTB deletes a webhook set by an earlier webhook run before it polls.
                app.run_polling(allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)
    except runlock.LockHeld:
        raise CliError("cli/restore_in_progress.txt", EXIT_FAILED,
                       path=str(settings.db_path)) from None  # fmt: skip
    except TelegramError as exc:
        raise _api_error(settings, exc) from None
    return EXIT_OK


def _run_webhook(app: Any, settings: Settings) -> None:
    """Serve PTB's webhook server: setWebhook with a secret token, which every request must
    carry (X-Telegram-Bot-Api-Secret-Token; PTB answers 403 to any other)."""
    import secrets

    from telegram import Update

    from bot.logs import hide

    secret = settings.webhook_secret or secrets.token_urlsafe(32)
    hide(secret)
    try:
        app.run_webhook(listen=settings.webhook_listen, port=settings.webhook_port,
                        url_path=settings.webhook_route().lstrip("/"),
                        webhook_url=settings.webhook_url, secret_token=secret,
                        allowed_updates=Update.ALL_TYPES, drop_pending_updates=False)  # fmt: skip
    except OSError as exc:  # the port is taken, or the address is not this machine's
        listen = f"{settings.webhook_listen}:{settings.webhook_port}"
        error = str(exc)
        raise CliError("cli/webhook_listen.txt", EXIT_FAILED, error=error, listen=listen) from None


async def _preflight(settings: Settings) -> None:
    """Migrate the database and ask the Bot API who we are, so start-up faults read clearly.

    Without this, a revoked token or an unreachable server surfaces as a library traceback
    from inside the polling loop before our one-line explanation.
    """
    from telegram import Bot
    from telegram.error import TelegramError

    db = await _open_db(settings)
    await db.close()
    try:
        async with Bot(settings.require_token(), base_url=settings.api_base_url):
            pass
    except TelegramError as exc:
        raise _api_error(settings, exc) from None


def _api_error(settings: Settings, exc: Exception) -> Exception:
    """A refused token or an unreachable Bot API as one line; anything else as it is."""
    from telegram.error import InvalidToken, NetworkError

    if isinstance(exc, InvalidToken):
        return CliError("cli/bad_token.txt")
    if isinstance(exc, NetworkError):
        url = _public_url(settings)
        return CliError("cli/api_unreachable.txt", EXIT_FAILED, url=url, error=str(exc))
    return exc


def _public_url(settings: Settings) -> str:
    """The Bot API base URL as it may be shown: never with the token in it."""
    return redact(settings.api_base_url, settings.token)


# -- tick ---------------------------------------------------------------------------------------


def cmd_tick(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Run the planner once for a given local time (cron, catching up after an outage)."""
    from telegram.error import TelegramError

    from bot.app import build_application, open_resources
    from scheduler.tick import run_tick

    settings.require_token()
    if args.at:
        try:
            at = datetime.fromisoformat(args.at)
            if at.tzinfo is None:
                at = at.replace(tzinfo=settings.timezone)
        except ValueError:
            raise CliError("cli/bad_time.txt", value=args.at) from None
    else:
        at = args.clock()

    async def go() -> object:
        app = build_application(settings)
        try:
            async with app:
                await open_resources(app)
                try:
                    return await run_tick(app, at)
                finally:
                    await app.bot_data.db.close()
        except TelegramError as exc:
            raise _api_error(settings, exc) from None

    result = _run_db(settings, go())
    _say(texts.plain("cli/ticked.txt", r=result, at=at.strftime("%Y-%m-%d %H:%M")))
    return EXIT_FAILED if getattr(result, "failed", 0) else EXIT_OK


# -- ledger, digest -----------------------------------------------------------------------------


def cmd_ledger(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Write the Excel ledger of a year (or one month), streamed to a file beside the output
    and renamed into place when complete."""
    from bot.schedule import schedule_from
    from bot.services.ledger import words_from, write_ledger
    from bot.services.months import FIRST_YEAR, LAST_YEAR, year_in_range
    from bot.services.reporting import parse_period

    period = parse_period(args.period) if args.period else None
    if args.period and period is None:
        raise CliError("cli/bad_period.txt", value=args.period)
    if args.year is not None and not year_in_range(args.year):
        raise CliError("cli/bad_year.txt", value=args.year, first=FIRST_YEAR, last=LAST_YEAR)
    cal = schedule_from(settings).calendar
    now = args.clock()
    year = args.year or (None if period else now.astimezone(settings.timezone).year)
    partial = args.out.with_name(args.out.name + ".part")
    try:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        partial.touch()  # a folder we may not write is reported before any work
    except OSError as exc:
        raise CliError("cli/cannot_write.txt", out=str(args.out), error=str(exc)) from None

    async def go() -> None:
        db = await _open_db(settings)
        try:
            words = words_from(texts, settings.acceptance_weights)
            await write_ledger(db, words, cal, now, partial, year=year,
                               period=period, detail=args.detail)  # fmt: skip
        finally:
            await db.close()

    try:
        _run_db(settings, go())
        partial.replace(args.out)
    except OSError as exc:
        raise CliError("cli/cannot_write.txt", out=str(args.out), error=str(exc)) from None
    finally:
        partial.unlink(missing_ok=True)
    _say(texts.plain("cli/ledger_written.txt", out=str(args.out)))
    return EXIT_OK


def cmd_digest(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Print the monthly bulletin of a period (everything) as the groups get it, as plain
    text; with --out, write its workbook there and its chart beside it (.png)."""
    import html

    from bot import exports
    from bot.schedule import schedule_from
    from bot.services import bulletin_review, digest
    from bot.services.reporting import parse_period

    cal, clock_config = schedule_from(settings)
    now = args.clock()
    period = parse_period(args.period) if args.period else cal.current_period(now)
    if period is None:
        raise CliError("cli/bad_period.txt", value=args.period)
    out: Path | None = args.out
    if out is not None and out.suffix.lower() != ".xlsx":
        raise CliError("cli/digest_bad_out.txt", out=str(out))

    async def go() -> exports.Pack:
        db = await _open_db(settings)
        try:
            # As the clock sends it: late reports counted from the last bulletin's release.
            before = await bulletin_review.published_at(db, cal, clock_config, period.plus(-1))
            return await exports.bulletin(db, str(texts.root), settings.timezone, cal, period,
                                          now, None, digest.FlagRules(settings.flags_max),
                                          before)  # fmt: skip
        finally:
            await db.close()

    pack = _run_db(settings, go())
    _say(html.unescape(re.sub(r"<[^>]+>", "", pack.html)))
    if out is None:
        _say(texts.plain("cli/digest_no_out.txt"))
    else:
        chart = out.with_suffix(".png")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_bytes(pack.book)
            if pack.chart is not None:
                chart.write_bytes(pack.chart)
        except OSError as exc:
            raise CliError("cli/cannot_write.txt", out=str(out), error=str(exc)) from None
        _say(texts.plain("cli/digest_written.txt", out=str(out),
                         chart=str(chart) if pack.chart is not None else ""))  # fmt: skip
    return EXIT_OK


# -- migrate ------------------------------------------------------------------------------------


def cmd_migrate(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Create the database or bring its schema up to date, saying what was applied."""

    async def go() -> tuple[list[str], int]:
        db = await _open_db(settings, migrate=False)
        try:
            return await db.migrate(), await db.version()
        finally:
            await db.close()

    applied, version = _run_db(settings, go())
    _say(
        texts.plain(
            "cli/migrated.txt", path=str(settings.db_path), version=version, applied=applied
        )
    )
    return EXIT_OK


# -- import-units -------------------------------------------------------------------------------


def cmd_import_units(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Load or refresh the organization tree from a CSV/XLSX spreadsheet, all or nothing."""
    clock: Callable[[], datetime] = args.clock

    async def go() -> units.ImportResult:
        rows = units.read_units_file(args.file)
        db = await _open_db(settings)
        try:
            return await units.import_units(db, rows, clock())
        finally:
            await db.close()

    try:
        result = _run_db(settings, go())
    except units.ImportRejected as exc:
        shown = exc.problems[: units.MAX_ERRORS_SHOWN]
        print(
            texts.plain(
                "cli/import_failed.txt",
                file=str(args.file),
                file_problem=exc.file_problem,
                detail=exc.detail,
                problems=shown,
                hidden=len(exc.problems) - len(shown),
                columns=units.COLUMNS,
            ),
            file=sys.stderr,
        )
        return EXIT_FAILED
    _say(texts.plain("cli/imported.txt", file=str(args.file), r=result))
    return EXIT_OK


# -- invites ------------------------------------------------------------------------------------


async def bot_username(settings: Settings) -> str:
    """Ask the Bot API who the bot is; fall back to BOT_USERNAME when it cannot be reached."""
    if settings.token:
        from telegram import Bot
        from telegram.error import TelegramError
        from telegram.request import HTTPXRequest

        bot = Bot(
            settings.token,
            base_url=settings.api_base_url,
            request=HTTPXRequest(connect_timeout=3, read_timeout=5),
        )
        try:
            async with bot:
                if bot.username:
                    return bot.username
        except TelegramError as exc:
            logger.info("getMe failed, using BOT_USERNAME: %s", exc)
    if settings.bot_username:
        return settings.bot_username
    raise CliError("cli/no_username.txt")


INVITE_WIDTHS = (14, 30, 56, 20, 18)  # code, name, link, invite code, expiry


def cmd_invites(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Write an invite link for every organization that has no secretary yet."""
    clock: Callable[[], datetime] = args.clock

    async def go() -> tuple[str, list[invite_service.IssuedInvite]]:
        username = await bot_username(settings)
        db = await _open_db(settings)
        try:
            issued = await invite_service.invites_for_unbound(db, clock(), settings.invite_ttl_days)
        finally:
            await db.close()
        return username, issued

    out: Path | None = args.out
    if out is not None and out.suffix.lower() not in (".xlsx", ".csv"):
        raise CliError("cli/bad_out_suffix.txt", out=str(out))
    username, issued = _run_db(settings, go())
    headings = texts.plain("cli/invites_columns.txt").splitlines()
    rows: list[list[Any]] = [
        [
            item.org.code,
            item.org.name,
            invite_service.deep_link(username, item.invite.code),
            item.invite.code,
            item.invite.expires_at.astimezone(settings.timezone).replace(tzinfo=None),
        ]
        for item in issued
    ]
    if out is None:
        _say("\t".join(headings))
        for row in rows:
            _say("\t".join([*map(str, row[:4]), row[4].strftime("%Y-%m-%d %H:%M")]))
    elif out.suffix.lower() == ".csv":
        out.parent.mkdir(parents=True, exist_ok=True)
        when = [[*r[:4], r[4].strftime("%Y-%m-%d %H:%M")] for r in rows]
        spreadsheets.write_csv(out, [headings, *when])
    else:
        out.parent.mkdir(parents=True, exist_ok=True)
        title = texts.plain("cli/invites_sheet.txt")
        spreadsheets.write_table(out, title, headings, rows, INVITE_WIDTHS)
    if out is not None:
        _say(texts.plain("cli/invites_written.txt", count=len(rows), out=str(out)))
    return EXIT_OK


# -- backup, restore, status -------------------------------------------------------------------


def _existing_db(settings: Settings) -> None:
    """Refuse to go on (and create an empty database) where there is none."""
    if not settings.db_path.exists():
        raise CliError("cli/no_database.txt", EXIT_FAILED, path=str(settings.db_path))


def cmd_backup(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Copy the database with SQLite's online backup API, also while the bot runs."""
    from bot.services import backups
    from storage.db import latest_version

    _existing_db(settings)
    out: Path = args.out
    db_files = {Path(f"{settings.db_path}{suffix}").resolve() for suffix in ("", "-wal", "-shm")}
    if out.resolve() in db_files:  # replacing the live file would lose every later write
        raise CliError("cli/backup_over_db.txt", EXIT_FAILED, out=str(out))

    async def go() -> None:
        db = await _open_db(settings, migrate=False)  # a backup before an upgrade stays old
        try:
            if await db.version() == latest_version():
                await backups.back_up(db, out, args.clock())
            else:  # no table to record it in yet: copy only
                await asyncio.to_thread(backups.copies.copy_database, settings.db_path, out)
        finally:
            await db.close()

    try:
        _run_db(settings, go())
    except OSError as exc:
        raise CliError("cli/cannot_write.txt", EXIT_FAILED, out=str(out), error=str(exc)) from None
    _say(texts.plain("cli/backup_written.txt", out=str(out), mb=out.stat().st_size / 2**20))
    return EXIT_OK


def cmd_restore(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Check a backup (integrity, schema version), then write it over the database, keeping
    the current one beside it; refused while a bot runs on the database."""
    from bot import runlock
    from bot.services import backups
    from storage.db import latest_version

    source: Path = args.file
    if not source.is_file():
        raise CliError("cli/backup_missing.txt", EXIT_FAILED, file=str(source))
    try:
        refused = backups.refusal(source)
    except sqlite3.Error as exc:
        raise CliError("cli/restore_unreadable.txt", EXIT_FAILED, file=str(source),
                       error=str(exc)) from None  # fmt: skip
    if refused is not None:
        raise CliError(refused.reason, EXIT_FAILED, file=str(source), version=refused.version,
                       known=refused.known, problems=refused.problems)  # fmt: skip
    target = settings.db_path
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        with runlock.nobody_running(target):
            kept = backups.restore(source, target, args.clock().astimezone(settings.timezone))
    except runlock.LockHeld:
        raise CliError("cli/restore_running.txt", EXIT_FAILED, path=str(target)) from None
    except (OSError, sqlite3.Error) as exc:
        raise _db_fault(settings, exc) from None
    version = backups.copies.check_backup(target).version
    _say(texts.plain("cli/restored.txt", file=str(source), path=str(target), version=version,
                     known=latest_version(), kept=str(kept) if kept else ""))  # fmt: skip
    return EXIT_OK


def cmd_status(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Print what an operator checks; exit 1 when something needs attention (monitoring)."""
    from bot.services import status

    _existing_db(settings)

    async def go() -> status.Status:
        db = await _open_db(settings, migrate=False)
        try:
            return await status.status(db, args.clock(), settings.tick_seconds)
        finally:
            await db.close()

    found = _run_db(settings, go())
    _say(texts.plain("cli/status.txt", s=found, path=str(settings.db_path),
                     mb=found.db_bytes / 2**20, tz=settings.timezone))  # fmt: skip
    return EXIT_FAILED if found.attention else EXIT_OK


# -- demo ---------------------------------------------------------------------------------------


def cmd_demo(settings: Settings, texts: Texts, args: argparse.Namespace) -> int:
    """Play the real bot in the terminal, against a Bot API stand-in in this process."""
    import tempfile

    from bot.demo import run_demo

    folder = args.dir or Path(tempfile.mkdtemp(prefix="shuji-demo-"))
    if (folder / "demo.sqlite3").exists():
        raise CliError("cli/demo_dir_used.txt", folder=str(folder))
    # Progress lines (migrations applied, templates compiled) would bury the conversation.
    setup_logging("WARNING", None)
    played = asyncio.run(run_demo(settings, texts, folder, "year" if args.year else None))
    return EXIT_OK if played else EXIT_FAILED


# -- entry --------------------------------------------------------------------------------------


def build_parser(texts: Texts) -> argparse.ArgumentParser:
    """Describe the subcommands; their descriptions come from templates/cli/commands.txt."""
    about = dict(texts.menu("cli/commands.txt"))
    parser = argparse.ArgumentParser(prog="python -m bot", description=about["bot"])
    parser.add_argument("--config", metavar="FILE", help=about["--config"])
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)

    def command(name: str, func: Callable[..., int]) -> argparse.ArgumentParser:
        p = sub.add_parser(name, help=about[name], description=about[name])
        p.set_defaults(func=func)
        return p

    command("run", cmd_run)
    command("migrate", cmd_migrate)
    command("import-units", cmd_import_units).add_argument("file", type=Path, metavar="FILE")
    command("invites", cmd_invites).add_argument(
        "--out", type=Path, metavar="FILE", help=about["--out"]
    )
    ledger = command("ledger", cmd_ledger)
    ledger.add_argument("--year", type=int, metavar="YYYY", help=about["--year"])
    ledger.add_argument("--period", metavar="YYYY-MM", help=about["--period"])
    ledger.add_argument("--out", type=Path, metavar="FILE", required=True, help=about["--out"])
    ledger.add_argument("--detail", action="store_true",
                        help=texts.plain("ledger/detail_help.txt"))  # fmt: skip
    digest_cmd = command("digest", cmd_digest)
    digest_cmd.add_argument("--period", metavar="YYYY-MM", help=about["--period"])
    digest_cmd.add_argument("--out", type=Path, metavar="FILE", help=about["digest --out"])
    command("tick", cmd_tick).add_argument("--at", metavar="'YYYY-MM-DD HH:MM'", help=about["--at"])
    command("backup", cmd_backup).add_argument("--out", type=Path, metavar="FILE", required=True,
                                               help=about["backup --out"])  # fmt: skip
    command("restore", cmd_restore).add_argument("file", type=Path, metavar="FILE")
    command("status", cmd_status)
    demo = command("demo", cmd_demo)
    demo.add_argument("--dir", type=Path, metavar="DIR", help=about["--dir"])
    demo.add_argument("--year", action="store_true", help=about["--year demo"])
    return parser


def main(argv: Sequence[str] | None = None, clock: Callable[[], datetime] = system_clock) -> int:
    """Run one subcommand; return the process exit status."""
    texts = Texts()
    args = build_parser(texts).parse_args(argv)
    args.clock = clock
    try:
        settings = load_settings(config_file=args.config)
        setup_logging(settings.log_level, settings.token)
        return int(args.func(settings, texts, args))
    except SettingsError as exc:
        print(texts.plain(exc.template, **exc.params), file=sys.stderr)
        return EXIT_CONFIG
    except CliError as exc:
        token = settings.token if "settings" in locals() else None
        print(redact(texts.plain(exc.template, **exc.params), token), file=sys.stderr)
        return exc.code
    except KeyboardInterrupt:
        return EXIT_FAILED
    except BrokenPipeError:
        # Output piped into `head` and the like: stop quietly, as Unix tools do.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return EXIT_FAILED

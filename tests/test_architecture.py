"""The shape in shared/ARCHITECTURE.md, checked: words in templates, SQL in storage."""

from __future__ import annotations

import ast
import re
import sqlite3
from pathlib import Path

from jinja2 import Environment

from bot.texts import TEMPLATES, Texts
from storage.db import Connection, Database

ROOT = Path(__file__).resolve().parents[1]
CJK = re.compile(r"[\u3000-\u303f\u4e00-\u9fff\uff00-\uffef]")
SQL = re.compile(r"\b(SELECT|INSERT INTO|UPDATE \w+ SET|DELETE FROM|CREATE TABLE)\b")


def python_files(*folders: str) -> list[Path]:
    return [p for folder in folders for p in sorted((ROOT / folder).rglob("*.py"))]


def string_literals(path: Path) -> list[tuple[int, str]]:
    """String constants that are not docstrings."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.FunctionDef | ast.AsyncFunctionDef | ast.ClassDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant)
        and isinstance(node.value, str)
        and id(node) not in docstrings
    ]


def test_handlers_and_app_hold_no_user_visible_chinese() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{line}: {text!r}"
        for p in [
            *python_files("handlers", "scheduler"),
            ROOT / "bot/app.py",
            ROOT / "bot/menus.py",
        ]
        for line, text in string_literals(p)
        if CJK.search(text)
    ]
    assert offenders == []


def test_sql_lives_only_in_storage() -> None:
    offenders = [
        f"{p.relative_to(ROOT)}:{line}"
        for p in python_files("bot", "handlers", "scheduler")
        for line, text in string_literals(p)
        if SQL.search(text)
    ]
    assert offenders == []


def test_services_know_nothing_of_telegram() -> None:
    for path in python_files("bot/services", "storage"):
        tree = ast.parse(path.read_text(encoding="utf-8"))
        for node in ast.walk(tree):
            names = []
            if isinstance(node, ast.Import):
                names = [a.name for a in node.names]
            elif isinstance(node, ast.ImportFrom):
                names = [node.module or ""]
            assert not any(n.split(".")[0] == "telegram" for n in names), path


def test_every_template_parses_and_every_referenced_template_exists() -> None:
    env = Environment(autoescape=True)
    names = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.*"))
    for name in names:
        env.parse((TEMPLATES / name).read_text(encoding="utf-8"))
    referenced = set()
    for path in python_files("bot", "handlers", "scheduler"):
        for _, text in string_literals(path):
            if re.fullmatch(r"[a-z_]+/[a-z_{}.]+\.(html|txt)", text):
                referenced.add(text)
    for name in referenced:
        if "{" not in name:
            assert name in names, name
    # outcome-driven names: each outcome the services can return has its template
    for outcome in (
        "bound",
        "already_bound",
        "is_admin",
        "bound_elsewhere",
        "unknown",
        "used",
        "expired",
        "org_taken",
        "throttled",
    ):
        assert f"start/redeem_{outcome}.html" in names
    for outcome in ("issued", "has_secretary", "not_found", "ambiguous", "no_invite_kind"):
        assert f"admin/invite_{outcome}.html" in names
    for outcome in ("bound", "rebound", "unknown_org"):
        assert f"groups/bind_{outcome}.html" in names


def test_every_template_is_used() -> None:
    """A template no code or template names is a message nobody gets: each must match a
    name written in the code (an f-string's {…} standing for any text; a name passed as a
    prefix, like "admin/invite", standing for its outcomes) or be imported by a template."""
    names = sorted(p.relative_to(TEMPLATES).as_posix() for p in TEMPLATES.rglob("*.*"))
    literal = re.compile(r"""["']([a-z_]+/[a-z_{}.\[\]]+|[a-z_]+\.(?:html|txt))["']""")
    patterns = []
    sources = [*python_files("bot", "handlers", "scheduler", "storage"),
               *(TEMPLATES / name for name in names)]  # fmt: skip
    for path in sources:
        for text in literal.findall(path.read_text(encoding="utf-8")):
            parts = re.split(r"\{[^}]*\}", text)
            if not text.endswith((".html", ".txt")):
                parts.append("")  # a prefix: any outcome of it
            patterns.append(re.compile(".*".join(map(re.escape, parts))))
    unused = [name for name in names if not any(p.fullmatch(name) for p in patterns)]
    assert unused == []


def test_html_templates_escape_what_people_type() -> None:
    text = Texts().html("admin/invite_not_found.html", query="<b>&")
    assert "&lt;b&gt;&amp;" in text


def test_every_declaration_outcome_has_a_template() -> None:
    source = (ROOT / "bot/services/declare.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'Outcome\(\s*"([a-z_]+)"', source))
    kinds |= set(re.findall(r'return Outcome\(problem\[0\]', source)) and {
        "empty", "too_long", "too_short", "one_line", "not_quantified"
    }  # fmt: skip
    kinds |= {"span_format", "span_year", "span_order", "span_too_long", "text_only"}
    assert len(kinds) > 15
    for kind in kinds - {"ask", "edit_menu"}:
        assert (TEMPLATES / "declare" / f"{kind}.html").exists(), kind


def test_every_report_outcome_has_a_template() -> None:
    source = (ROOT / "bot/services/reporting.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'Outcome\(\s*"([a-z_]+)"', source))
    kinds |= {"empty", "too_long", "too_short"}  # from _text_problem
    kinds |= {f"period_{s}" for s in ("not_open", "ended", "closed")}
    kinds |= {f"reopen_{s}" for s in re.findall(r'Reopening\(\s*"([a-z_]+)"', source)}
    assert len(kinds) > 25
    for kind in kinds - {"ask", "edit_menu", "toggled", "stale"}:
        assert (TEMPLATES / "report" / f"{kind}.html").exists(), kind


def test_every_duban_outcome_has_a_template() -> None:
    source = (ROOT / "bot/services/duban.py").read_text(encoding="utf-8")
    kinds = set(re.findall(r'Outcome\(\s*"([a-z_]+)"', source))
    assert len(kinds) > 15
    names = {p.name for p in (TEMPLATES / "duban").iterdir()}
    for kind in kinds - {"ask"}:
        candidates = {f"{kind}.html", f"issue_{kind}.html", f"{kind}_admin.html",
                      f"{kind}_alert.txt"}  # fmt: skip
        assert candidates & names, kind


def imported_modules(path: Path) -> set[str]:
    """Every module a file imports, at its top or inside a function, as dotted names;
    `from a import b` counts as both `a` and `a.b` (b may be a module)."""
    names: set[str] = set()
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Import):
            names |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module)
            names |= {f"{node.module}.{alias.name}" for alias in node.names}
    return names


def imports_of(folders: tuple[str, ...], packages: tuple[str, ...]) -> list[str]:
    """Files under `folders` that import anything of `packages`, with what they import."""
    return [
        f"{path.relative_to(ROOT)}: {name}"
        for path in python_files(*folders)
        for name in sorted(imported_modules(path))
        if name.split(".")[0] in packages
    ]


def test_the_two_ways_in_never_import_each_other() -> None:
    assert imports_of(("scheduler",), ("handlers",)) == []
    assert imports_of(("handlers",), ("scheduler",)) == []


def test_the_ways_in_never_reach_past_bot_into_storage() -> None:
    assert imports_of(("handlers", "scheduler"), ("storage",)) == []


def test_the_core_does_not_import_the_ways_in() -> None:
    # bot/app.py assembles the application, bot/cli.py and bot/demo.py run a tick: they may.
    offenders = [
        line
        for line in imports_of(("bot",), ("handlers", "scheduler"))
        if not line.startswith(("bot/app.py:", "bot/cli.py:", "bot/demo.py:"))
    ]
    assert offenders == []


def cycle_in(graph: dict[str, set[str]]) -> list[str]:
    """One import cycle of `graph` (module -> modules it imports), or [] if there is none."""
    done: set[str] = set()

    def visit(module: str, path: list[str]) -> list[str]:
        if module in path:
            return [*path[path.index(module) :], module]
        if module in done:
            return []
        for imported in sorted(graph.get(module, ())):
            if found := visit(imported, [*path, module]):
                return found
        done.add(module)
        return []

    for module in sorted(graph):
        if found := visit(module, []):
            return found
    return []


def test_handler_modules_import_one_another_without_a_cycle() -> None:
    assert cycle_in({"a": {"b"}, "b": {"c"}, "c": {"a"}}) == ["a", "b", "c", "a"]
    # handlers/__init__.py imports every module to register them: it is not part of the graph.
    paths = [p for p in python_files("handlers") if p.name != "__init__.py"]
    modules = {f"handlers.{p.stem}" for p in paths}
    graph = {f"handlers.{p.stem}": imported_modules(p) & modules for p in paths}
    assert len(graph) > 10 and any(graph.values())
    assert cycle_in(graph) == []


# The writing connection's attribute, and its former public name (`db.conn`).
WRITER_ATTRIBUTES = frozenset({"_writer", "conn"})
# The Database methods in storage/db.py that may touch it: opening and closing it, the two
# ways to write (and migrate, which switches foreign keys around its writes), and the two
# reads, which use it only inside `transaction()` or when there is no reader.
WRITER_METHODS = frozenset(
    {"__init__", "open", "close", "migrate", "write", "transaction", "execute_fetchall", "cursor"}
)


def writer_reaches(source: str, *, in_db_module: bool) -> list[int]:
    """Lines of `source` that name the writing connection where they may not: anywhere for
    `conn`; outside storage/db.py for `_writer`; in storage/db.py outside WRITER_METHODS of
    the Database class."""
    tree = ast.parse(source)
    allowed: set[int] = set()  # ids of the nodes inside the methods that may
    if in_db_module:
        for cls in tree.body:
            if isinstance(cls, ast.ClassDef) and cls.name == "Database":
                for method in cls.body:
                    if getattr(method, "name", None) in WRITER_METHODS:
                        allowed.update(id(node) for node in ast.walk(method))
    return [
        node.lineno
        for node in ast.walk(tree)
        if isinstance(node, ast.Attribute)
        and node.attr in WRITER_ATTRIBUTES
        and (node.attr == "conn" or id(node) not in allowed)
    ]


def test_the_writing_connection_is_reached_only_through_write_and_transaction() -> None:
    """A read outside a write must not run on the writing connection: there it would see
    another person's uncommitted (perhaps rolled-back) writes, and wait behind them.

    The rule, exactly: the writing connection is `Database._writer`. No Python file in the
    repository (product, tests, benchmarks) names an attribute `conn` (its former public
    name, `db.conn`); no file but storage/db.py names `_writer`; in storage/db.py only the
    Database methods in WRITER_METHODS do. Everything else writes through `write(fn)` or
    `transaction()` and reads through the Database (`execute_fetchall`, `read`, `cursor`,
    storage functions given the Database), which goes to the read-only aiosqlite
    connection outside a transaction."""
    assert writer_reaches("rows = await db.conn.execute_fetchall(q)", in_db_module=False) == [1]
    assert writer_reaches("async def f(db):\n    await db._writer.run(g)", in_db_module=False)
    assert writer_reaches(
        "class Database:\n    def peek(self):\n        return self._writer", in_db_module=True
    ) == [3]
    assert (
        writer_reaches(
            "class Database:\n    def write(self, fn):\n        return self._writer.run(fn)",
            in_db_module=True,
        )
        == []
    )
    db_module = ROOT / "storage" / "db.py"
    offenders = [
        f"{path.relative_to(ROOT)}:{line}"
        for path in python_files("bot", "handlers", "scheduler", "storage", "benchmarks", "tests")
        for line in writer_reaches(path.read_text(encoding="utf-8"), in_db_module=path == db_module)
    ]
    assert offenders == []


async def test_a_database_has_no_public_connection(db: Database) -> None:
    """Nor can a public attribute of a Database (or of its snapshot) hold the writing
    connection, or any connection of the thread-owned kind it is: checked on open
    instances, whatever the attribute is called (`reader` is the read-only aiosqlite one)."""
    async with db.snapshot() as view:
        for database in (db, view):
            exposed = [
                name
                for name in dir(database)
                if not name.startswith("_")
                and isinstance(getattr(database, name), Connection | sqlite3.Connection)
            ]
            assert exposed == []

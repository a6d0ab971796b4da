"""Every word a person reads: Jinja2 templates under templates/."""

from __future__ import annotations

from datetime import datetime, tzinfo
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, StrictUndefined

TEMPLATES = Path(__file__).resolve().parent.parent / "templates"


def _localtime(moment: datetime, tz: tzinfo, fmt: str = "%Y-%m-%d %H:%M") -> str:
    """Format an aware moment in the deployment's time zone."""
    return moment.astimezone(tz).strftime(fmt)


def _is_template(name: str) -> bool:
    """A .html or .txt file, not an editor's or a file manager's leftover (.#x.html, ._x)."""
    return name.endswith((".html", ".txt")) and not any(
        part.startswith(".") for part in name.split("/")
    )


def nest_quotes(text: str) -> str:
    """Quotes inside “…” as ‘…’ (a name with quotes of its own, quoted by a template);
    a line break ends any quote left open, so one stray mark cannot turn a message."""
    out, depth = [], 0
    for char in text:
        if char == "\n":
            depth = 0
        elif char == "“":
            char = "“" if depth % 2 == 0 else "‘"
            depth += 1
        elif char == "”" and depth:
            depth -= 1
            char = "”" if depth % 2 == 0 else "’"
        out.append(char)
    return "".join(out)


class Texts:
    """Renders chat messages (HTML, autoescaped) and command-line output (plain text)."""

    def __init__(self, root: Path = TEMPLATES) -> None:
        options: dict[str, Any] = {
            "loader": FileSystemLoader(str(root)),
            "undefined": StrictUndefined,
            "trim_blocks": True,
            "lstrip_blocks": True,
            # Templates change with a release, not while the bot runs: no stat() per message.
            "auto_reload": False,
            # Every template stays compiled in a plain dict: the set is fixed, and Jinja's
            # bounded (LRU) cache reorders a queue of all of them on every lookup.
            "cache_size": -1,
        }
        self._html = Environment(autoescape=True, **options)
        self._plain = Environment(autoescape=False, **options)
        for env in (self._html, self._plain):
            env.filters["localtime"] = _localtime
            env.globals["label"] = self.label  # a button's name, as the buttons show it
        self.root = root
        self._labels: dict[str, str] | None = None

    def html(self, template: str, /, **context: Any) -> str:
        """Render a chat message; user text is escaped for Telegram's HTML parse mode."""
        return nest_quotes(self._html.get_template(template).render(**context).strip())

    def plain(self, template: str, /, **context: Any) -> str:
        """Render text for a terminal or a spreadsheet, without HTML escaping."""
        return self._plain.get_template(template).render(**context).strip()

    def compile_all(self) -> int:
        """Compile every template now (a broken one fails here, not in front of a person;
        nobody waits for a first-use compile); return how many."""
        count = 0
        for name in self._html.list_templates(filter_func=_is_template):
            (self._html if name.endswith(".html") else self._plain).get_template(name)
            count += 1
        return count

    def labels(self) -> dict[str, str]:
        """Button labels by key, from templates/buttons.txt (read once)."""
        if self._labels is None:
            self._labels = dict(self.menu("buttons.txt"))
        return self._labels

    def label(self, key: str) -> str:
        """One button label (templates name buttons as the buttons do)."""
        return self.labels()[key]

    def menu(self, template: str) -> list[tuple[str, str]]:
        """Return (command, description) pairs from a menu file in BotFather's format."""
        pairs = []
        for line in self.plain(template).splitlines():
            if line.strip():
                command, _, description = line.partition(" - ")
                pairs.append((command.strip().lstrip("/"), description.strip()))
        return pairs

"""mkdocs hook: the usage and options of the ``casemix`` commands, read from the app.

A page of the "Command line" section writes ``<!-- casemix-cli: options fit -->`` where the
usage line and the table of options of ``casemix fit`` go, and the overview writes
``<!-- casemix-cli: commands -->`` for the list of commands. The text is the commands' own
``--help`` text at build time, so the pages cannot fall behind the code.
"""

from __future__ import annotations

import html
import re
from typing import Any

import typer

from casemix.cli.main import app

MARKER = re.compile(
    r"<!-- casemix-cli: (?P<what>options|commands)(?: (?P<name>[\w-]+(?: [\w-]+)?))? -->")


def on_page_markdown(markdown: str, page: Any, config: Any, files: Any) -> str:
    """Replace every marker by the generated Markdown."""
    return MARKER.sub(lambda m: _render(m["what"], m["name"]), markdown)


def _render(what: str, name: str | None) -> str:
    group = typer.main.get_command(app)
    if what == "commands":
        return commands_table(group)
    name, _, sub = (name or "").partition(" ")
    if name not in group.commands:
        raise KeyError(f"casemix has no command {name!r} (commands: {sorted(group.commands)})")
    if sub:  # a command of a group such as `casemix geography harmonise`
        return options_table(group.commands[name], sub, prefix=f"casemix {name}")
    if hasattr(group.commands[name], "commands"):  # the group itself: its commands
        return commands_table(group.commands[name], link=False)
    return options_table(group, name)


def commands_table(group: Any, *, link: bool = True) -> str:
    """Every command, linked to its page (``link``), with the first paragraph of its help."""
    rows = [f"| {f'[`{name}`]({name}.md)' if link else f'`{name}`'} | "
            f"{_cell((cmd.help or '').split(chr(10) * 2)[0])} |"
            for name, cmd in group.commands.items()]
    return "\n".join(["| command | what it does |", "| --- | --- |", *rows])


def options_table(group: Any, name: str, prefix: str = "casemix") -> str:
    """The usage line and one row per argument and option of ``casemix NAME`` (``prefix``
    names the group for a command of a sub-group)."""
    command = group.commands[name]
    ctx = group.context_class(command, info_name=name,
                              parent=group.context_class(group, info_name=prefix))
    params = [p for p in command.get_params(ctx) if p.name != "help"]
    usage = " ".join([prefix, name, "[OPTIONS]", *(_argument(p) for p in params
                                                   if _is_argument(p))])
    rows = [f"| `{record[0]}` | {_cell(record[1])} |"
            for record in (p.get_help_record(ctx) for p in params) if record]
    return "\n".join([f"```text\n{usage}\n```", "", "| argument or option | meaning |",
                      "| --- | --- |", *rows])


def _is_argument(param: Any) -> bool:
    return type(param).__name__.endswith("Argument")


def _argument(param: Any) -> str:
    return (param.metavar or param.name.upper()) + ("..." if param.nargs == -1 else "")


def _cell(text: str) -> str:
    """Help text as one Markdown table cell (no HTML, no column breaks)."""
    return html.escape(" ".join(text.split()), quote=False).replace("|", "\\|")

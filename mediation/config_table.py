"""The configuration table of docs/operations.md, rendered from the settings' declaration.

`python -m mediation.config_table` prints it; `--write docs/operations.md` replaces each
block between `<!-- settings-table: PREFIX -->` and `<!-- /settings-table -->` with the
rows of the fields whose names start with PREFIX (`all`: every field, and the variables
read outside the settings). tests/test_settings.py fails when the page differs.
"""

import argparse
import re
import sys
from pathlib import Path

from mediation.config import FIELDS, accepts, description, variable

# Read before the settings exist, or by uvicorn: (variable, default, accepts, meaning).
ELSEWHERE = (
    (
        "MEDIATION_WORKERS",
        "`1`",
        "integer ≥ 1",
        "processes `mediation serve` forks on one port (more than 1 needs Redis)",
    ),
    (
        "MEDIATION_LOG_FORMAT",
        "`json`, or `text` on a terminal",
        "`json` or `text`",
        "log lines as JSON objects or plain text",
    ),
    (
        "FORWARDED_ALLOW_IPS",
        "`127.0.0.1,::1`",
        "list",
        "(uvicorn's) proxies whose `X-Forwarded-For` and `X-Forwarded-Proto` are believed,"
        " IPs or CIDRs ([behind a reverse proxy](#behind-a-reverse-proxy))",
    ),
)
HEADER = "| variable | default | accepts | meaning |\n|---|---|---|---|\n"
BLOCK = re.compile(  # indented as the open marker is (a table in a list item)
    r"^(?P<indent>[ ]*)(?P<open><!-- settings-table: (?P<prefix>\S+) -->\n)"
    r"(?P<body>.*?)^(?P=indent)(?P<close><!-- /settings-table -->)",
    re.DOTALL | re.MULTILINE,
)


def table(prefix: str = "all") -> str:
    """The Markdown table of the fields whose names start with `prefix` (`all`: all)."""
    every = prefix == "all"
    rows = [
        (f"`{variable(spec)}`", _default(spec.default), accepts(spec), description(spec))
        for spec in FIELDS
        if every or spec.name.startswith(prefix)
    ]
    if every:
        rows += [
            (f"`{name}`", default, takes, meaning) for name, default, takes, meaning in ELSEWHERE
        ]
    return HEADER + "".join("| " + " | ".join(map(_cell, row)) + " |\n" for row in rows)


def render(page: str) -> str:
    """`page` with each settings-table block rendered anew."""

    def block(m: re.Match[str]) -> str:
        rows = "".join(m["indent"] + line for line in table(m["prefix"]).splitlines(True))
        return m["indent"] + m["open"] + "\n" + rows + "\n" + m["indent"] + m["close"]

    return BLOCK.sub(block, page)


def _default(value: object) -> str:
    if value in ("", None, ()):
        return "empty"
    if isinstance(value, bool):
        return "on" if value else "off"
    if isinstance(value, tuple):
        return ", ".join(f"`{item}`" for item in value)
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    return f"`{value}`"


def _cell(text: str) -> str:
    return text.replace("|", "\\|")


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m mediation.config_table", description=__doc__)
    parser.add_argument("--write", type=Path, metavar="PAGE", help="rewrite PAGE's blocks")
    parser.add_argument("prefix", nargs="?", default="all", help="only fields starting so")
    args = parser.parse_args()
    if args.write is None:
        sys.stdout.write(table(args.prefix))
        return
    page = args.write.read_text()
    if not BLOCK.search(page):
        parser.exit(1, f"{args.write}: no <!-- settings-table: ... --> block\n")
    args.write.write_text(render(page))


if __name__ == "__main__":
    main()

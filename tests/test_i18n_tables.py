"""The web app's string tables: German and Spanish say everything English says.

The tables (`frontend/i18n/<code>.js`) are read by node when it is installed (the
ES module itself, evaluated), else by a parse of their plain object literal. A
key of `en.js` missing from a translation fails here, with the list of what is
missing: new strings are added to `en.js` first, and this test names the ones
still to translate. So does a key English lacks, a different set of `{placeholders}`,
or a plural object without its `other` form; and an id the code asks `t()` for that
`en.js` lacks (every literal id in `frontend/`, and every dynamic prefix such as
`role.${role}`).
"""

import json
import re
import shutil
import subprocess
from pathlib import Path

import pytest

FRONTEND = Path(__file__).resolve().parent.parent / "frontend"
TABLES = FRONTEND / "i18n"
TRANSLATIONS = ["de", "es"]
PLURAL_FORMS = {"zero", "one", "two", "few", "many", "other"}
PLACEHOLDER = re.compile(r"\{(\w+)\}")

Value = str | dict[str, str]
Table = dict[str, Value]

READ_WITH_NODE = """
const path = process.argv.at(-1);
const table = (await import(path)).default;
process.stdout.write(JSON.stringify(table));
"""


def read_with_node(node: str, path: Path) -> Table:
    done = subprocess.run(
        [node, "--input-type=module", "-e", READ_WITH_NODE, "--", path.as_uri()],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    table: Table = json.loads(done.stdout)
    return table


# The fallback: `'key': 'text',` or `'key': { one: '…', other: '…' },` (a value may
# be on the next line), as the tables are written.
STRING = r"'(?:[^'\\]|\\.)*'|\"(?:[^\"\\]|\\.)*\""
OBJECT = rf"\{{(?:\s*\w+\s*:\s*(?:{STRING})\s*,?)+\s*\}}"
ENTRY = re.compile(rf"^\s*({STRING})\s*:\s*({STRING}|{OBJECT})\s*,?\s*$", re.M)
FORM = re.compile(rf"(\w+)\s*:\s*({STRING})")


def unquote(literal: str) -> str:
    inner = literal[1:-1]
    return re.sub(r"\\(.)", lambda m: m.group(1), inner)


def read_by_parsing(path: Path) -> Table:
    text = path.read_text(encoding="utf-8")
    text = re.sub(r"^\s*//.*$", "", text, flags=re.M)
    body = text[text.index("export default {") + len("export default {") : text.rindex("}")]
    body = re.sub(r":\s*\n\s*", ": ", body)  # a value on the line after its key
    table: Table = {}
    for key, value in ENTRY.findall(body):
        if value.startswith("{"):
            table[unquote(key)] = {form: unquote(v) for form, v in FORM.findall(value)}
        else:
            table[unquote(key)] = unquote(value)
    return table


def read_table(code: str) -> Table:
    path = TABLES / f"{code}.js"
    node = shutil.which("node")
    return read_with_node(node, path) if node else read_by_parsing(path)


@pytest.fixture(scope="module")
def tables() -> dict[str, Table]:
    return {code: read_table(code) for code in ["en", *TRANSLATIONS]}


def placeholders(value: Value) -> set[str]:
    texts = value.values() if isinstance(value, dict) else [value]
    return {name for text in texts for name in PLACEHOLDER.findall(text)}


def test_the_parse_reads_what_node_reads() -> None:
    node = shutil.which("node")
    if node is None:
        pytest.skip("node is not installed: the parse alone reads the tables")
    for code in ["en", *TRANSLATIONS]:
        path = TABLES / f"{code}.js"
        assert read_by_parsing(path) == read_with_node(node, path), code


@pytest.mark.parametrize("code", TRANSLATIONS)
def test_a_translation_has_every_key_of_english_and_no_other(
    tables: dict[str, Table], code: str
) -> None:
    en, other = tables["en"], tables[code]
    missing = [key for key in en if key not in other]
    extra = [key for key in other if key not in en]
    assert not missing, f"{code}.js lacks {len(missing)} key(s) of en.js: {missing}"
    assert not extra, f"{code}.js has key(s) en.js lacks: {extra}"


@pytest.mark.parametrize("code", ["en", *TRANSLATIONS])
def test_placeholders_and_plural_forms_agree(tables: dict[str, Table], code: str) -> None:
    en, table = tables["en"], tables[code]
    wrong = {
        key: (sorted(placeholders(en[key])), sorted(placeholders(value)))
        for key, value in table.items()
        if key in en and placeholders(value) != placeholders(en[key])
    }
    assert not wrong, f"{code}.js: placeholders differ from en.js (en, {code}): {wrong}"
    for key, value in table.items():
        if isinstance(value, dict):
            assert "other" in value, f"{code}.js {key}: a plural object needs `other`"
            assert set(value) <= PLURAL_FORMS, f"{code}.js {key}: {sorted(value)}"
            assert "count" in placeholders(value) or "n" in placeholders(value), key
        else:
            assert isinstance(value, str) and value, f"{code}.js {key}: empty"


def test_each_table_names_its_language(tables: dict[str, Table]) -> None:
    names = {code: table["language.name"] for code, table in tables.items()}
    assert names == {"en": "English", "de": "Deutsch", "es": "Español"}


# Ids the code asks for: t('id'), has('id'), t(cond ? 'a' : 'b'), t(`prefix.${x}`),
# data-i18n="id" (and -label, -placeholder), and [key, 'id'] rows (console/keys.js).
CALL = re.compile(r"\b(?:t|has)\(\s*")
LITERAL_ID = re.compile(r"""['"]([a-zA-Z]+(?:\.[\w:]+)+)['"]""")
TEMPLATE_ID = re.compile(r"`([a-zA-Z]+(?:\.[\w:]+)*\.)\$\{")
HTML_ID = re.compile(r"""data-i18n(?:-label|-placeholder)?=["']([^"']+)["']""")
ROW_ID = re.compile(r"""\[\s*'[^']*'\s*,\s*'([a-z]+\.[\w.:]+)'\s*\]""")


def first_argument(source: str, start: int) -> str:
    """The text of a call's first argument, from `start` (just inside the parenthesis)."""
    depth = 0
    for i in range(start, len(source)):
        char = source[i]
        if char in "([{":
            depth += 1
        elif char in ")]}":
            if depth == 0:
                return source[start:i]
            depth -= 1
        elif char == "," and depth == 0:
            return source[start:i]
    return source[start:]


def used_ids() -> tuple[dict[str, set[str]], dict[str, set[str]]]:
    """Literal ids and dynamic prefixes the code uses, each with the files using it."""
    literal: dict[str, set[str]] = {}
    prefixes: dict[str, set[str]] = {}
    for path in sorted(FRONTEND.rglob("*")):
        if path.suffix not in {".js", ".html"} or TABLES in path.parents:
            continue
        source = path.read_text(encoding="utf-8")
        where = str(path.relative_to(FRONTEND))
        found: set[str] = set(HTML_ID.findall(source)) | set(ROW_ID.findall(source))
        for call in CALL.finditer(source):
            argument = first_argument(source, call.end())
            found |= set(LITERAL_ID.findall(argument))
            for prefix in TEMPLATE_ID.findall(argument):
                prefixes.setdefault(prefix, set()).add(where)
        for key in found:
            literal.setdefault(key, set()).add(where)
    return literal, prefixes


def test_every_id_the_code_uses_is_in_english(tables: dict[str, Table]) -> None:
    en = tables["en"]
    literal, prefixes = used_ids()
    assert len(literal) > 300, "the scan finds the ids the pages use"
    missing = {key: sorted(files) for key, files in literal.items() if key not in en}
    assert not missing, f"ids used in frontend/ but missing from en.js: {missing}"
    dangling = {
        prefix: sorted(files)
        for prefix, files in prefixes.items()
        if not any(key.startswith(prefix) for key in en)
    }
    assert not dangling, f"dynamic ids with no key in en.js: {dangling}"


# The known sets behind the dynamic ids: each value the code may fill in has its key.
KNOWN = {
    "role.": ["client", "freelancer", "moderator", "auditor", "observer", "arbitrator"],
    "state.": [
        *["waiting", "mediating", "resolved", "escalated", "closed"],
        *["mediation_failed", "arbitration"],
    ],
    "party.": ["client", "freelancer"],
    "priority.": ["urgent", "high", "normal", "low"],
    "channel.": ["joint", "caucus:client", "caucus:freelancer", "notes", "room"],
    "event.floor.": ["mute", "unmute", "pause", "resume"],
    "event.caucus.": ["open", "close"],
    "event.response.": ["accept", "reject"],
    "event.overdue.": ["unclaimed", "answer", "reply"],
    "queue.overdue.": ["unclaimed", "answer", "reply"],
    "event.deadlineApplied.": ["accept_proposal", "resolve", "escalate"],
    "event.deadlineEnded.": ["answered", "withdrawn", "lapsed"],
    "deadline.then.": ["accept_proposal", "resolve", "escalate"],
    "fatal.": ["4401", "4403", "4404"],
    "redaction.": ["personal_data", "payment_data", "abuse", "other"],
    "evidence.verdict.": ["satisfied", "not_satisfied"],
    "file.badge.": ["pdf", "png", "jpeg", "gif", "webp", "text", "zip", "docx", "xlsx", "other"],
    "file.type.": ["pdf", "png", "jpeg", "gif", "webp", "text", "zip", "docx", "xlsx"],
}


def test_the_known_sets_behind_dynamic_ids_are_complete(tables: dict[str, Table]) -> None:
    en = tables["en"]
    missing = [prefix + v for prefix, values in KNOWN.items() for v in values]
    assert not [key for key in missing if key not in en]


def test_the_check_fails_on_a_missing_key(tmp_path: Path) -> None:
    """The fallback parse sees a key dropped from a table (the check has teeth)."""
    source = (TABLES / "de.js").read_text(encoding="utf-8")
    broken = tmp_path / "de.js"
    broken.write_text(source.replace("    'composer.send': 'Senden',\n", ""), encoding="utf-8")
    assert "composer.send" in read_by_parsing(TABLES / "de.js")
    assert "composer.send" not in read_by_parsing(broken)

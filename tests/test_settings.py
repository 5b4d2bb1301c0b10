"""The settings from the environment (mediation.config) and their table in docs/operations.md."""

import dataclasses
import os
import re
import subprocess
import sys
from collections.abc import Iterator, Mapping
from pathlib import Path
from typing import Any

import pytest

from mediation import config_table
from mediation.config import FALSE, FIELDS, TRUE, Settings, SettingsError, variable
from rooms.events import TOPICS

OPERATIONS = Path(__file__).resolve().parent.parent / "docs" / "operations.md"
VARIABLES = {spec.name: variable(spec) for spec in FIELDS}


class Recording(Mapping[str, str]):
    """An environment that notes every variable looked up."""

    def __init__(self, values: dict[str, str]) -> None:
        self.given = values
        self.asked: list[str] = []

    def __getitem__(self, key: str) -> str:
        self.asked.append(key)
        return self.given[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self.given)

    def __len__(self) -> int:
        return len(self.given)


def other_value(name: str, default: Any) -> tuple[str, Any]:
    """A valid value for the field that differs from its default: (text, parsed)."""
    if isinstance(default, bool):
        return ("off", False) if default else ("on", True)
    if isinstance(default, int):
        return str(default + 7), default + 7
    if isinstance(default, float):
        return str(default + 1.5), default + 1.5
    if name == "webhook_topics":  # names from a fixed set
        return " room.closed, ,settlement.agreed", ("room.closed", "settlement.agreed")
    if isinstance(default, tuple):
        return " a/b, c ,,d", ("a/b", "c", "d")
    if name in ("data_dir", "key_file"):
        return "/srv/elsewhere", Path("/srv/elsewhere")
    if name in ("calendar_country", "calendar_timezone"):  # checked against what exists
        return ("DE-BY", "DE-BY") if name == "calendar_country" else ("Asia/Tokyo", "Asia/Tokyo")
    if name == "side_acceptance":  # a name from a fixed set
        return "decision_maker", "decision_maker"
    if name == "room_language":  # a BCP 47 primary subtag
        return "de", "de"
    return " some text ", " some text "


def test_no_environment_gives_the_declared_defaults() -> None:
    assert Settings.from_env({}) == Settings()
    assert Settings().first_response_target == 900 and Settings().port == 8000


def test_every_field_is_read_once_by_its_variable_and_read_into_that_field_alone() -> None:
    assert len(set(VARIABLES.values())) == len(VARIABLES)  # no two fields share a variable
    assert VARIABLES["port"] == "PORT"
    assert VARIABLES["master_keys"] == "MEDIATION_MASTER_KEY"
    assert VARIABLES["signing_keys"] == "MEDIATION_SIGNING_KEY"
    assert VARIABLES["retention_days"] == "MEDIATION_RETENTION_DAYS"
    env = Recording({})
    Settings.from_env(env)
    assert sorted(env.asked) == sorted(VARIABLES.values())
    defaults = Settings()
    for name, var in VARIABLES.items():
        text, parsed = other_value(name, getattr(defaults, name))
        assert parsed != getattr(defaults, name)
        read = Settings.from_env({var: text})
        assert read == dataclasses.replace(defaults, **{name: parsed}), var


@pytest.mark.parametrize("text", [*TRUE, *FALSE, "TRUE", " Yes ", "Off"])
@pytest.mark.parametrize("name", ["ws_compression", "gc_tuning"])
def test_switches_take_the_usual_words(name: str, text: str) -> None:
    read = Settings.from_env({VARIABLES[name]: text})
    assert getattr(read, name) is (text.strip().lower() in TRUE)


def test_lists_are_comma_separated_and_may_be_set_empty() -> None:
    read = Settings.from_env(
        {"MEDIATION_ZENDESK_TAGS": "", "MEDIATION_ALLOWED_ORIGINS": "https://a.example, https://b"}
    )
    assert read.zendesk_tags == ()
    assert read.allowed_origins == ("https://a.example", "https://b")


def test_numbers_and_paths_set_empty_keep_their_default_and_text_is_kept_as_given() -> None:
    read = Settings.from_env(
        {
            "PORT": "",
            "MEDIATION_KEY_FILE": "",
            "MEDIATION_GC_TUNING": " ",
            "MEDIATION_ZENDESK_CLAIM_STATUS": "",
            "MEDIATION_ZENDESK_URL": "https://acme.zendesk.com/",
        }
    )
    assert (read.port, read.key_file, read.gc_tuning) == (8000, None, True)
    assert read.zendesk_claim_status == ""  # empty: the ticket's status is left alone
    assert read.zendesk_url == "https://acme.zendesk.com"


@pytest.mark.parametrize(
    ("var", "value", "expected"),
    [
        ("PORT", "abc", "an integer from 1 to 65535"),
        ("PORT", "0", "an integer from 1 to 65535"),
        ("PORT", "65536", "an integer from 1 to 65535"),
        ("MEDIATION_RATE_BURST", "-1", "an integer ≥ 1"),
        ("MEDIATION_RATE_PER_SECOND", "0", "a number > 0"),
        ("MEDIATION_HELLO_TIMEOUT", "soon", "a number > 0"),
        ("MEDIATION_RETENTION_DAYS", "-3", "an integer ≥ 0"),
        ("MEDIATION_GC_TUNING", "maybe", "1/true/yes/on or 0/false/no/off"),
        ("MEDIATION_FILES_TYPES", " , ", "a comma-separated list of at least 1"),
        ("MEDIATION_S3_PART_BYTES", "1024", "an integer ≥ 5242880"),
        (  # a misspelt topic would silently filter out every event
            "MEDIATION_WEBHOOK_TOPICS",
            "room.closed,room.closd",
            "a comma-separated list of " + ", ".join(sorted(TOPICS)),
        ),
        ("MEDIATION_REDIS_PREFIX", "", "a non-empty text"),
    ],
)
def test_a_bad_value_names_its_variable_and_what_it_takes(
    var: str, value: str, expected: str
) -> None:
    with pytest.raises(SettingsError) as refused:
        Settings.from_env({"MEDIATION_HOST": "0.0.0.0", var: value})
    assert str(refused.value) == f"{var}={value!r}: expected {expected}"


def serve_with(**variables: str) -> "subprocess.CompletedProcess[str]":
    """`mediation serve` with only these MEDIATION_ variables (and a data dir it must
    never create: a refused setting stops it before anything is written)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("MEDIATION_")}
    env |= {"MEDIATION_DATA_DIR": "/nonexistent/never-created", **variables}
    return subprocess.run(
        [sys.executable, "-m", "mediation", "serve"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def test_serve_with_a_bad_value_exits_2_with_one_line() -> None:
    done = serve_with(MEDIATION_RATE_BURST="-1")
    assert done.returncode == 2
    assert done.stderr == "mediation: MEDIATION_RATE_BURST='-1': expected an integer ≥ 1\n"
    assert not Path("/nonexistent/never-created").exists()


def test_a_bad_worker_count_exits_2_naming_it() -> None:
    done = serve_with(MEDIATION_WORKERS="many")
    assert done.returncode == 2
    assert "MEDIATION_WORKERS" in done.stderr and "Traceback" not in done.stderr


def test_operations_md_holds_the_generated_tables() -> None:
    page = OPERATIONS.read_text()
    assert config_table.render(page) == page, "run python -m mediation.config_table --write"
    blocks = {m["prefix"]: m["body"] for m in config_table.BLOCK.finditer(page)}
    assert set(blocks) == {"all", "zendesk_"}
    rows = [line for line in blocks["all"].splitlines() if line.startswith("| `")]
    named = [re.match(r"\| `([A-Z0-9_]+)`", row) for row in rows]
    documented = [m.group(1) for m in named if m]
    assert documented == [*VARIABLES.values(), *(e[0] for e in config_table.ELSEWHERE)]
    for line in blocks["all"].strip().splitlines():  # one table: no row falls out of it
        assert line.startswith("|") and len(re.findall(r"(?<!\\)\|", line)) == 5, line


def test_every_field_has_a_description() -> None:
    table = config_table.table()
    assert "|  |" not in table and "| |" not in table

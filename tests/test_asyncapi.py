"""GET /asyncapi.json describes protocol v1, and every example frame in docs/protocol.md
matches exactly one message of its direction in that published document."""

import json
import re
from pathlib import Path
from typing import Any, get_args

import httpx
import jsonschema
import pytest

from mediation.protocol.frames import ClientFrame, ServerFrame
from tests.conftest import RunningServer

SQLITE = pytest.mark.parametrize("backend", ["sqlite"])

PROTOCOL = Path(__file__).resolve().parent.parent / "docs" / "protocol.md"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)
ARROW = re.compile(r"^(?:\w+|\(all three\))\s*(→|←)\s*(\{.*)$")  # `client → {...}`


def _objects(text: str) -> list[dict[str, Any]]:
    """Every JSON object in `text`, one after another (whitespace between them)."""
    decoder, found, at = json.JSONDecoder(), [], 0
    while (at := _skip_space(text, at)) < len(text):
        value, at = decoder.raw_decode(text, at)
        found.append(value)
    return found


def _skip_space(text: str, at: int) -> int:
    while at < len(text) and text[at].isspace():
        at += 1
    return at


def doc_frames() -> list[tuple[str, dict[str, Any]]]:
    """(direction, frame) for every example: ```json blocks (direction by their section,
    5 client frames, 6 server frames) and the example session's `X →` / `X ←` lines."""
    text = PROTOCOL.read_text()
    frames: list[tuple[str, dict[str, Any]]] = []
    for fence in FENCE.finditer(text):
        language, body = fence.group(1), fence.group(2)
        before = text[: fence.start()]
        section = re.findall(r"^## (\d+)\.", before, re.MULTILINE)
        if language == "json":
            objects = _objects(body)
            if objects and "type" not in objects[0]:
                continue  # a fragment of an HTTP body (`"people": [...]`), not a frame
            direction = {"5": "client", "6": "server"}.get(section[-1] if section else "")
            assert direction, f"a frame outside sections 5 and 6: {body[:80]}"
            frames += [(direction, frame) for frame in objects]
        elif not language:
            for line in body.splitlines():
                match = ARROW.match(line.strip())
                if match:
                    direction = "client" if match.group(1) == "→" else "server"
                    frames += [(direction, frame) for frame in _objects(match.group(2))]
    return frames


async def _document(server: RunningServer) -> dict[str, Any]:
    async with httpx.AsyncClient(base_url=server.base_url) as http:
        response = await http.get("/asyncapi.json")
    assert response.status_code == 200
    document: dict[str, Any] = response.json()
    return document


def _validators(document: dict[str, Any], operation: str) -> dict[str, Any]:
    """Message name -> a validator of its payload, resolved within the document itself."""
    channel = document["channels"]["socket"]
    found = {}
    for ref in document["operations"][operation]["messages"]:
        name = ref["$ref"].rsplit("/", 1)[1]
        message_ref = channel["messages"][name]["$ref"]
        message = document["components"]["messages"][message_ref.rsplit("/", 1)[1]]
        schema = {**message["payload"], "components": document["components"]}
        found[name] = jsonschema.Draft202012Validator(schema)
    return found


def test_the_docs_have_examples_of_every_frame() -> None:
    frames = doc_frames()
    assert len(frames) > 60, len(frames)
    client = {frame["type"] for direction, frame in frames if direction == "client"}
    server = {frame["type"] for direction, frame in frames if direction == "server"}
    assert client == tags_of(ClientFrame)  # every frame the server reads has an example
    assert server == tags_of(ServerFrame)  # and every frame it sends


def tags_of(union: Any) -> set[str]:
    """The wire `type` of each frame in a union of msgspec Structs."""
    return {member.__struct_config__.tag for member in get_args(union)}


@SQLITE
async def test_every_example_frame_matches_one_message(server: RunningServer) -> None:
    document = await _document(server)
    assert document["asyncapi"] == "3.0.0"
    assert document["channels"]["socket"]["address"] == "/ws"
    assert "mediation.v1" in json.dumps(document["channels"]["socket"]["bindings"])
    receives = _validators(document, "clientFrames")
    sends = _validators(document, "serverFrames")
    assert document["operations"]["clientFrames"]["action"] == "receive"
    for direction, frame in doc_frames():
        validators = receives if direction == "client" else sends
        matches = [name for name, v in validators.items() if v.is_valid(frame)]
        assert len(matches) == 1, (direction, frame, matches)


@SQLITE
async def test_a_wrong_frame_matches_none(server: RunningServer) -> None:
    sends = _validators(await _document(server), "serverFrames")
    wrong = [
        {"type": "ack", "id": "c-1", "channel": "joint"},  # no seq
        {"type": "ack", "id": "c-1", "channel": "joint", "seq": "2"},  # seq not a number
        {"type": "welcome", "room": {}},
        {"type": "nonsense"},
    ]
    for frame in wrong:
        assert not [name for name, v in sends.items() if v.is_valid(frame)], frame

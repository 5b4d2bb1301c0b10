"""Random and malformed input for the live fuzz run: socket frames and HTTP requests,
drawn from a seeded `random.Random`, so a failing run repeats with its seed.

Nothing here does I/O; tests/test_live_fuzz.py sends what these make.
"""

import json
import random
import string
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

CHANNELS = ("joint", "caucus:client", "caucus:freelancer", "notes", "room", "nope", "")
FRAME_TYPES = (
    "hello",
    "send",
    "history",
    "edit",
    "retract",
    "transition",
    "floor",
    "caucus",
    "transfer",
    "propose",
    "respond",
    "rate",
    "typing",
)
EXTREME_INTEGERS = (-1, -(10**6), 2**31, 2**63, 2**63 + 1, 2**64 - 1, 10**30, -(2**63) - 1)
METHODS = ("GET", "POST", "PUT", "DELETE", "PATCH", "HEAD", "OPTIONS")
QUERY_KEYS = (
    "channel",
    "name",
    "reason",
    "after",
    "limit",
    "tier",
    "moderator",
    "provider",
    "ticket",
    "from",
    "to",
    "format",
    "token",
    "x",
)
HEADERS = (
    "content-type",
    "upload-offset",
    "upload-length",
    "tus-resumable",
    "origin",
    "x-forwarded-for",
    "x-forwarded-proto",
    "range",
    "accept",
)


@dataclass
class Vocabulary:
    """What the fuzzer knows of the server: ids and credentials to build plausible input."""

    rooms: list[str]  # the fuzzer's own rooms (never the well-behaved room)
    tokens: list[str]  # room tokens of those rooms
    api_key: str
    files: list[str] = field(default_factory=list)
    extreme_integers: bool = False  # negative, past int32 and int64: the F2/F11 class of input


def text(rng: random.Random, size: int = 24) -> str:
    """Printable, control, bidi and astral characters; sometimes a lone surrogate escape."""
    alphabet = string.printable + "\x00\x07\x1b\u202e\u2066\ufeff\u00e9\u4e2d\U0001f600"
    return "".join(rng.choice(alphabet) for _ in range(rng.randint(0, size)))


def integer(rng: random.Random, vocab: Vocabulary) -> int:
    if vocab.extreme_integers and rng.random() < 0.5:
        return rng.choice(EXTREME_INTEGERS)
    return rng.choice((0, 1, 2, 3, 50, 200, 201, 5000, 10**6))


def json_value(rng: random.Random, vocab: Vocabulary, depth: int = 0) -> Any:
    kind = rng.randrange(8 if depth < 3 else 5)
    if kind == 0:
        return None
    if kind == 1:
        return rng.random() < 0.5
    if kind == 2:
        return integer(rng, vocab)
    if kind == 3:
        return rng.choice((1.5, -0.0, 1e308, float("1e-300")))
    if kind == 4:
        return text(rng)
    if kind in (5, 6):
        return {text(rng, 8): json_value(rng, vocab, depth + 1) for _ in range(rng.randint(0, 4))}
    return [json_value(rng, vocab, depth + 1) for _ in range(rng.randint(0, 4))]


def valid_frame(rng: random.Random, vocab: Vocabulary) -> dict[str, Any]:
    """A well-formed frame of some type, with plausible values."""
    kind = rng.choice(FRAME_TYPES)
    cid = f"fz-{rng.getrandbits(40):x}"
    channel = rng.choice(CHANNELS[:5])
    frames: dict[str, dict[str, Any]] = {
        "hello": {"token": rng.choice(vocab.tokens), "since": {channel: rng.randint(0, 5)}},
        "send": {"id": cid, "channel": channel, "body": text(rng)},
        "history": {"channel": channel, "before": rng.randint(1, 20), "limit": 10, "id": cid},
        "edit": {"id": cid, "channel": channel, "target": rng.randint(1, 10), "body": "e"},
        "retract": {"id": cid, "channel": channel, "target": rng.randint(1, 10)},
        "transition": {"id": cid, "to": rng.choice(("mediating", "resolved", "closed", "x"))},
        "floor": {"id": cid, "action": "mute", "party": "client", "minutes": 1},
        "caucus": {"id": cid, "party": rng.choice(("client", "freelancer", "x"))},
        "transfer": {"id": cid, "to": "m-2", "brief": "b"},
        "propose": {"id": cid, "amount": "10.50", "currency": "EUR", "counters": 3},
        "respond": {"id": cid, "proposal": rng.randint(1, 10), "answer": "accept"},
        "rate": {"id": cid, "rating": rng.randint(1, 5)},
        "typing": {"channel": channel},
    }
    return {"type": kind, **frames[kind]}


def mutated_frame(rng: random.Random, vocab: Vocabulary) -> dict[str, Any]:
    """A valid frame with one or more fields dropped, retyped or pushed to an extreme;
    half the time, an integer field is given another integer."""
    frame = valid_frame(rng, vocab)
    numbers = [k for k, v in frame.items() if isinstance(v, int) and not isinstance(v, bool)]
    if numbers and rng.random() < 0.5:
        frame[rng.choice(numbers)] = integer(rng, vocab)
        return frame
    for _ in range(rng.randint(1, 3)):
        key = rng.choice([*frame, "extra"])
        how = rng.randrange(6)
        if how == 0 and key != "type":
            frame.pop(key, None)
        elif how == 1:
            frame[key] = integer(rng, vocab)
        elif how == 2:
            frame[key] = "x" * rng.choice((0, 65, 4097, 70_000))
        elif how == 3:
            frame[key] = json_value(rng, vocab)
        elif how == 4:
            frame[key] = None
        else:
            frame[key] = rng.choice(FRAME_TYPES) if key == "type" else text(rng)
    return frame


@dataclass(frozen=True)
class SocketInput:
    """One thing to send on a socket. `fresh`: on a new socket that has not said hello."""

    payload: str | bytes
    label: str
    fresh: bool = False


def socket_input(rng: random.Random, vocab: Vocabulary) -> SocketInput:
    roll = rng.random()
    if roll < 0.10:
        return SocketInput(text(rng, 200), "garbage text")
    if roll < 0.15:
        return SocketInput(rng.randbytes(rng.randint(0, 300)), "binary frame")
    if roll < 0.16:
        size = rng.choice((1024 * 1024 + 1, 2 * 1024 * 1024))
        return SocketInput(json.dumps({"type": "send", "body": "x" * size}), "huge frame")
    if roll < 0.30:
        return SocketInput(json.dumps(json_value(rng, vocab)), "random json")
    if roll < 0.65:
        return SocketInput(json.dumps(mutated_frame(rng, vocab)), "mutated frame")
    if roll < 0.85:
        return SocketInput(json.dumps(valid_frame(rng, vocab)), "valid frame, out of order")
    return SocketInput(json.dumps(valid_frame(rng, vocab)), "before hello", fresh=True)


@dataclass(frozen=True)
class HttpInput:
    method: str
    path: str
    params: dict[str, str]
    headers: dict[str, str]
    body: bytes | None


def path(rng: random.Random, vocab: Vocabulary) -> str:
    room = quote(rng.choice([*vocab.rooms, "r_nope", "", "..", "%00", text(rng, 6)]), safe="")
    file = rng.choice([*vocab.files, "f_nope", "x" * 300]) if vocab.files else "f_nope"
    templates = (
        "/api/rooms",
        f"/api/rooms/{room}",
        f"/api/rooms/{room}/tokens",
        f"/api/rooms/{room}/join",
        f"/api/rooms/{room}/claim",
        f"/api/rooms/{room}/export",
        f"/api/rooms/{room}/legal-hold",
        f"/api/rooms/{room}/macros",
        f"/api/rooms/{room}/files",
        f"/api/rooms/{room}/files/{file}",
        f"/api/rooms/{room}/uploads",
        f"/api/rooms/{room}/uploads/u_{quote(text(rng, 5), safe='')}",
        "/api/staff/tokens",
        "/api/queue",
        "/api/audit-log",
        "/api/reports/rooms",
        f"/api/macros/{rng.choice(('a-macro', 'UPPER', '..', 'x' * 200))}",
        "/api/macros",
        f"/api/{quote(text(rng, 10), safe='/')}",
    )
    return rng.choice(templates)


def query_value(rng: random.Random, vocab: Vocabulary) -> str:
    return rng.choice(
        (
            str(integer(rng, vocab)),
            text(rng, 12),
            "",
            "2026-11-01",
            "2026-13-45T99:00",
            "json",
            "csv",
            "joint",
            "notes",
        )
    )


# Requests an endpoint answers, to bend one query parameter of: (method, path, params).
def known_requests(vocab: Vocabulary) -> list[tuple[str, str, dict[str, str]]]:
    room = vocab.rooms[0]
    return [
        ("GET", "/api/audit-log", {"after": "0", "limit": "10"}),
        ("GET", "/api/queue", {"tier": "1"}),
        ("GET", "/api/queue", {"moderator": "m-9"}),
        ("GET", "/api/reports/rooms", {"from": "2026-01-01", "to": "2027-01-01"}),
        ("GET", "/api/rooms", {"provider": "local", "ticket": "FUZZ-0"}),
        ("GET", f"/api/rooms/{room}/export", {"format": "html"}),
        ("POST", f"/api/rooms/{room}/files", {"channel": "joint", "name": "a.txt"}),
        ("POST", f"/api/rooms/{room}/uploads", {"channel": "joint", "name": "b.txt"}),
    ]


def bent_request(rng: random.Random, vocab: Vocabulary) -> HttpInput:
    """A request some endpoint answers, with the API key, and one query parameter bent."""
    method, where, params = rng.choice(known_requests(vocab))
    params = dict(params)
    key = rng.choice(list(params))
    params[key] = str(integer(rng, vocab)) if rng.random() < 0.6 else query_value(rng, vocab)
    headers = {"authorization": f"Bearer {vocab.api_key}"}
    if where.endswith("/uploads"):
        headers["upload-length"] = str(integer(rng, vocab))
    body = b"plain text" if method == "POST" else None
    return HttpInput(method, where, params, headers, body)


def http_input(rng: random.Random, vocab: Vocabulary) -> HttpInput:
    if rng.random() < 0.3:
        return bent_request(rng, vocab)
    auth = rng.choice(
        (
            None,
            f"Bearer {vocab.api_key}",
            f"Bearer {rng.choice(vocab.tokens)}",
            f"Bearer {text(rng, 40)}",
            "Basic Zm9vOmJhcg==",
            "Bearer",
        )
    )
    headers = {k: text(rng, 10) for k in rng.sample(HEADERS, rng.randint(0, 3))}
    if auth is not None:
        headers["authorization"] = auth
    headers = {k: "".join(c for c in v if " " <= c <= "~").strip() for k, v in headers.items()}
    params = {k: query_value(rng, vocab) for k in rng.sample(QUERY_KEYS, rng.randint(0, 3))}
    roll = rng.random()
    if roll < 0.3:
        body: bytes | None = None
    elif roll < 0.6:
        body = json.dumps(json_value(rng, vocab)).encode()
    elif roll < 0.8:
        body = json.dumps(valid_body(rng, vocab)).encode()
    elif roll < 0.95:
        body = rng.randbytes(rng.randint(1, 2048))
    else:
        body = b"{" * rng.choice((70_000, 200_000))
    return HttpInput(rng.choice(METHODS), path(rng, vocab), params, headers, body)


def valid_body(rng: random.Random, vocab: Vocabulary) -> dict[str, Any]:
    """A body some endpoint accepts, perhaps with one field bent."""
    body: dict[str, Any] = rng.choice(
        (
            {
                "ticket": {"provider": "local", "id": f"FZ-{rng.getrandbits(32)}"},
                "client": "fc",
                "freelancer": "ff",
            },
            {"user": "fc", "role": rng.choice(("client", "auditor", "moderator", "x"))},
            {"user": "m-9", "role": "moderator", "ttl": integer(rng, vocab)},
            {"moderator": "m-9"},
            {"reason": text(rng)},
            {"title": "t", "body": "${client} ${nope}"},
        )
    )
    if rng.random() < 0.5:
        body[rng.choice([*body, "ttl"])] = json_value(rng, vocab)
    return body

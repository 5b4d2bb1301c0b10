"""The bench's bare relay speaks enough of protocol v1 for the bots, and reads the
product's own room tokens: its frame handling, without sockets."""

import json

from bench.bare_relay import Claims, Inbound, Room, claims, token
from bench.bots import decode_frame
from mediation.auth.tokens import TokenIssuer
from rooms.visibility import Role


def seated() -> Room[str]:
    room: Room[str] = Room("r-1")
    for role in ("client", "freelancer", "moderator"):
        room.join(role, Claims("r-1", f"u-{role}", role))
    return room


def test_claims_of_the_product_tokens_and_of_the_bench_ones() -> None:
    product, _ = TokenIssuer(b"k" * 32, ttl=60).mint("r_abc", "u-7", Role.FREELANCER)
    assert claims(product) == Claims("r_abc", "u-7", "freelancer")
    assert claims(token("bench-3", "m-3", "moderator")) == Claims("bench-3", "m-3", "moderator")


def test_welcome_names_the_room_the_person_and_the_readable_channels() -> None:
    room = seated()
    welcome = json.loads(room.join("late", Claims("r-1", "u-2", "client")))
    assert welcome == {
        "type": "welcome",
        "room": {"id": "r-1"},
        "you": {"user": "u-2", "role": "client"},
        "head": {"joint": 0, "caucus:client": 0},
    }
    assert decode_frame(json.dumps(welcome)).type == "welcome"


def test_send_acks_the_sender_and_relays_to_the_channel_readers() -> None:
    room = seated()
    ack, message, recipients = room.send("client", Inbound("send", id="c-1", channel="joint"))
    assert json.loads(ack) == {"type": "ack", "id": "c-1", "channel": "joint", "seq": 1}
    assert recipients == ["freelancer", "moderator"]
    frame = json.loads(message)
    assert frame.pop("ts").endswith("Z")
    assert frame == {
        "type": "message",
        "seq": 1,
        "id": "c-1",
        "channel": "joint",
        "sender": {"user": "u-client", "role": "client"},
        "body": "",
    }
    seen = decode_frame(message)
    assert seen.sender is not None
    assert seen.sender.user == "u-client"  # how a bot tells an echo from a delivery


def test_seq_counts_per_channel_and_caucus_reaches_one_party() -> None:
    room = seated()
    room.send("moderator", Inbound("send", id="m-1", channel="joint"))
    ack, _, recipients = room.send("moderator", Inbound("send", id="m-2", channel="caucus:client"))
    assert json.loads(ack)["seq"] == 1
    assert recipients == ["client"]
    ack, _, _ = room.send("freelancer", Inbound("send", id="f-1", channel="joint"))
    assert json.loads(ack)["seq"] == 2

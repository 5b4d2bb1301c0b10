"""The in-order gate, with records arriving in every order."""

import itertools
from dataclasses import dataclass

from rooms.ordering import InOrder


@dataclass(frozen=True)
class R:
    """A stored message as the gate sees it: its channel and seq; the rest is filler."""

    channel: str
    seq: int
    room_id: str = "r_1"
    client_id: str = ""
    sender_user: str = "c-1"
    sender_role: str = "client"
    body: str = ""
    kind: str = "message"
    ts: str = ""
    origin: str = ""
    duplicate: bool = False


def test_in_order_passes_straight_through() -> None:
    gate = InOrder({"joint": 3})
    assert gate.offer(R("joint", 4)) == [R("joint", 4)]
    assert gate.gaps() == {}


def test_duplicates_and_old_records_are_dropped() -> None:
    gate = InOrder({"joint": 3})
    assert gate.offer(R("joint", 2)) == []
    gate.offer(R("joint", 4))
    assert gate.offer(R("joint", 4)) == []


def test_a_gap_holds_later_records_and_is_named() -> None:
    gate = InOrder({"joint": 1, "notes": 5})
    assert gate.offer(R("joint", 4)) == []
    assert gate.offer(R("notes", 6)) == [R("notes", 6)]
    assert gate.gaps() == {"joint": (1, 3)}
    assert gate.offer(R("joint", 2)) == [R("joint", 2)]
    assert gate.gaps() == {"joint": (2, 3)}
    assert gate.offer(R("joint", 3)) == [R("joint", 3), R("joint", 4)]
    assert gate.gaps() == {}


def test_every_arrival_order_delivers_each_seq_once_in_order() -> None:
    records = [R("joint", s) for s in range(1, 6)]
    for order in itertools.permutations(records + records[:2]):
        gate = InOrder({})
        out = [r for record in order for r in gate.offer(record)]
        assert out == records

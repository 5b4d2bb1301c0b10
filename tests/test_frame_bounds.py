"""Every integer a client sends is bounded in the frame schema (issue 12, F2).

A seq past 2**53 - 1 (the last integer every JSON client holds exactly) is
no seq we could have given out: it is `invalid` at the socket, before it
reaches a room, and the socket carries on. So is a frame nested past the
JSON parser's depth, which used to escape the codec as RecursionError.
"""

from typing import Any

import pytest

from tests.conftest import RunningServer
from tests.peers import Peer
from tests.test_bad_input import exchange, expect_error, heads, parties

HUGE = 2**63
PAST_JS = 2**53  # one past MAX_SEQ


@pytest.mark.parametrize(
    "frame",
    [
        pytest.param({"type": "edit", "channel": "joint", "target": HUGE, "body": "x"}, id="edit"),
        pytest.param(
            {"type": "edit", "channel": "joint", "target": PAST_JS, "body": "x"}, id="edit-2^53"
        ),
        pytest.param({"type": "retract", "channel": "joint", "target": HUGE}, id="retract"),
        pytest.param({"type": "respond", "proposal": HUGE, "answer": "accept"}, id="respond"),
        pytest.param(
            {"type": "propose", "amount": "10.00", "currency": "USD", "counters": HUGE},
            id="propose-counters",
        ),
        pytest.param({"type": "rate", "rating": HUGE}, id="rate"),
        pytest.param({"type": "floor", "action": "pause", "minutes": HUGE}, id="floor"),
    ],
)
async def test_an_integer_out_of_range_is_invalid_and_stores_nothing(
    server: RunningServer, frame: dict[str, Any]
) -> None:
    room, client, freelancer = await parties(server)
    assert await exchange(client, freelancer, "before") == 1
    await client.send_json({**frame, "id": "bad"})
    error = await expect_error(client, "invalid", cid="bad")
    assert "<=" in error["message"], error  # says which bound it broke
    assert await exchange(client, freelancer, "after-1") == 2
    assert await exchange(freelancer, client, "after-2") == 3
    assert await heads(server, room) == {"joint": 3, "room": 2}


async def test_history_before_a_huge_seq_is_invalid(server: RunningServer) -> None:
    _room, client, freelancer = await parties(server)
    await client.send_json({"type": "history", "channel": "joint", "before": HUGE, "id": "h"})
    await expect_error(client, "invalid", cid="h")
    assert await exchange(client, freelancer, "after") == 1


async def test_a_hello_with_a_huge_since_is_invalid_and_a_correct_one_works(
    server: RunningServer,
) -> None:
    room, _client, freelancer = await parties(server)
    moderator = await Peer.connect(server.ws_url)
    token = await server.platform.token(room, "mod-1", "moderator")
    refused = await moderator.hello(token, since={"joint": HUGE})
    assert (refused["type"], refused["code"]) == ("error", "invalid"), refused
    welcome = await moderator.hello(token, since={"joint": 0})
    assert welcome["type"] == "welcome", welcome
    assert await exchange(moderator, freelancer, "after") == 1


async def test_a_frame_nested_past_the_parsers_depth_is_invalid(server: RunningServer) -> None:
    room, client, freelancer = await parties(server)
    deep = "[" * 50_000 + "]" * 50_000  # 100 KB: well under the frame limit
    raw = f'{{"type": "send", "id": "deep", "channel": "joint", "body": "b", "junk": {deep}}}'
    await client.ws.send(raw)
    await expect_error(client, "invalid")
    assert await exchange(client, freelancer, "after-1") == 1
    assert await exchange(freelancer, client, "after-2") == 2
    assert await heads(server, room) == {"joint": 2, "room": 2}

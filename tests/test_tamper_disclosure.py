"""A tampered record's error tells a reader only what it may know (issue 12, F13).

A party paging the history of a tampered room was told the record's
room-wide position ("position 5 (joint #2)"): with its own channels' seqs,
that counts what was said in the channels it does not see. Over the socket
an error now names only the record's channel and seq; the position stays
with operators (the log) and the export, which only auditors and the
platform get.
"""

from typing import Any

import pytest
from sqlalchemy import text

from tests.conftest import RunningServer
from tests.peers import Peer


async def talk(server: RunningServer, room: str) -> tuple[Peer, Peer]:
    """Two joint messages of the client, with the moderator's notes and caucus between."""
    client, _ = await server.peer(room, "c-1", "client")
    moderator, _ = await server.peer(room, "m-1", "moderator")
    sends: list[tuple[Peer, str, str]] = [
        (client, "j1", "joint"),
        (moderator, "n1", "notes"),
        (moderator, "n2", "notes"),
        (moderator, "c1", "caucus:freelancer"),
        (client, "j2", "joint"),
    ]
    for peer, cid, channel in sends:
        await peer.send(cid, channel, f"words of {cid}")
        assert (await peer.next("ack", "error"))["type"] == "ack"
    return client, moderator


async def flip_joint_2(server: RunningServer, room: str) -> int:
    """Flip a bit of joint #2's ciphertext; its room-wide position."""
    async with server.services.db.write() as conn:
        row = (
            await conn.execute(
                text(
                    "select position, sealed from records"
                    " where room_id=:r and channel='joint' and seq=2"
                ),
                {"r": room},
            )
        ).one()
        flipped = row.sealed[:-1] + bytes([row.sealed[-1] ^ 1])
        await conn.execute(
            text("update records set sealed=:s where room_id=:r and position=:p"),
            {"s": flipped, "r": room, "p": row.position},
        )
    position: int = row.position
    return position


async def history_error(peer: Peer) -> dict[str, Any]:
    await peer.send_json({"type": "history", "channel": "joint", "id": "h"})
    error = await peer.next("error", "history")
    assert (error["type"], error["code"], error["id"]) == ("error", "tampered", "h"), error
    return error


@pytest.mark.parametrize("role", ["client", "freelancer", "moderator"])
async def test_history_of_a_tampered_record_names_its_seq_not_its_position(
    server: RunningServer, role: str
) -> None:
    room = await server.platform.open_room("T-tamper-pos")
    client, moderator = await talk(server, room)
    freelancer, _ = await server.peer(room, "f-1", "freelancer")  # in before the tampering
    reader = {"client": client, "freelancer": freelancer, "moderator": moderator}[role]
    await reader.drain()
    position = await flip_joint_2(server, room)
    assert position > 2 + 3  # joined records, j1, the notes and the caucus come first
    error = await history_error(reader)
    assert "joint #2" in error["message"], error
    assert "position" not in error["message"], error
    assert str(position) not in error["message"].replace(room, ""), error


async def test_the_export_still_names_the_position(server: RunningServer) -> None:
    room = await server.platform.open_room("T-tamper-export")
    await talk(server, room)
    position = await flip_joint_2(server, room)
    response = await server.platform.http.get(
        f"/api/rooms/{room}/export", headers=server.platform.auth
    )
    assert response.status_code == 422, response.text
    assert f"position {position}" in response.json()["error"]["message"]

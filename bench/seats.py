"""Who takes part: the rooms and tokens opened over the HTTP API (or minted by
the bench, for the bare relay), the channels each role writes to, and which
server process each socket joins."""

from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

from bench.servers import Server

ROLES = ("client", "freelancer", "moderator")
CHANNELS: dict[str, tuple[str, ...]] = {
    "client": ("joint",),
    "freelancer": ("joint",),
    "moderator": ("joint", "caucus:client", "joint", "caucus:freelancer"),
}
RECIPIENTS = {"joint": 2, "caucus:client": 1, "caucus:freelancer": 1}  # other sockets


@dataclass(frozen=True)
class Seat:
    room: int
    role: str
    user: str
    token: str


def participants(index: int) -> dict[str, str]:
    """Room `index`'s user of each role."""
    return {"client": f"c-{index}", "freelancer": f"f-{index}", "moderator": f"m-{index}"}


def provision_room(server: Server, index: int) -> list[Seat]:
    """One room, and a token for each of its three participants."""
    users = participants(index)
    room = server.post(
        "/api/rooms",
        {
            "ticket": {"provider": "local", "id": f"BENCH-{index}"},
            "client": users["client"],
            "freelancer": users["freelancer"],
        },
    )["id"]
    return [
        Seat(
            index,
            role,
            users[role],
            server.post(f"/api/rooms/{room}/tokens", {"user": users[role], "role": role})["token"],
        )
        for role in ROLES
    ]


def provision(server: Server, rooms: int) -> list[Seat]:
    with ThreadPoolExecutor(8) as pool:
        per_room = pool.map(lambda i: provision_room(server, i), range(rooms))
        return [seat for seats in per_room for seat in seats]


def minted(rooms: int, token: Callable[[str, str, str], str]) -> list[Seat]:
    """Seats without a product server: `token(room, user, role)` makes each token
    (the bare relay's, which checks none)."""
    return [
        Seat(index, role, user, token(f"bench-{index}", user, role))
        for index in range(rooms)
        for role, user in participants(index).items()
    ]


def place(seat: Seat, servers: Sequence[Server]) -> Server:
    """Client on the first process, freelancer on the second, moderator by turns."""
    index = {"client": 0, "freelancer": 1, "moderator": seat.room}[seat.role]
    return servers[index % len(servers)]

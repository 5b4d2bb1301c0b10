"""More people per party: each side of a room (client, freelancer) holds one or more people.

A room opens with one person per side, its `client_user` and `freelancer_user`;
the platform adds and removes more over the API (mediation/http/members.py),
each change a record of its own in the room channel (`member_added`,
`member_removed`, in the server's voice). The workflow keeps each side's
current people in the facts (`sides`, kept in clear next to the room's
`client_user` and `freelancer_user` columns: ids the room row holds in clear
already, never names or addresses), so admission, token minting and the
acceptance of a proposal all read the same truth, decided on the locked row.

A side's people share its role, and so its channels: everything a client
reads, every client of the room reads. Acceptance of a proposal is by the
side: with `any` (the default) any member's `accept` counts for the side;
with `decision_maker` only the side's decision-maker's does (the first member
unless another was added as one; when the decision-maker leaves, the side's
earliest remaining member takes the role).

Pure: no I/O, tested directly (tests/test_members_unit.py).
"""

from collections.abc import Mapping

import msgspec

from rooms import kinds
from rooms.errors import Conflict, Forbidden, RoomError
from rooms.ports import StoredMessage
from rooms.records import MemberBody
from rooms.visibility import PARTIES, ROOM

MEMBER_ADDED = kinds.MEMBER_ADDED
MEMBER_REMOVED = kinds.MEMBER_REMOVED
KINDS = frozenset({MEMBER_ADDED, MEMBER_REMOVED})

ANY = "any"
DECISION_MAKER = "decision_maker"
ACCEPTANCE = (ANY, DECISION_MAKER)


class NotDecisionMaker(RoomError):
    """Under `decision_maker` acceptance, a member who is not the side's decision-maker
    answered `accept`: the answer does not count."""

    code = "not_decision_maker"


class Side(msgspec.Struct):
    """One side's people now, the earliest first, and who decides for it."""

    members: list[str]
    decision_maker: str


def side_of(sides: Mapping[str, Side], parties: Mapping[str, str], role: str) -> Side:
    """The side's people: as the facts keep them, or (never changed) its first member."""
    kept = sides.get(role)
    if kept is not None:
        return kept
    first = parties.get(role, "")
    return Side([first] if first else [], first)


def deciders(sides: Mapping[str, Side], parties: Mapping[str, str]) -> dict[str, str]:
    """role -> the side's decision-maker now: whom a deadline on the side names (its
    mail goes to them), the way `parties` names each side's first member."""
    return {role: side_of(sides, parties, role).decision_maker for role in parties}


def is_member(sides: Mapping[str, Side], parties: Mapping[str, str], role: str, user: str) -> bool:
    return user in side_of(sides, parties, role).members


def admits(
    members: frozenset[tuple[str, str]], firsts: Mapping[str, str], role: str, user: str
) -> bool:
    """Whether `user` is on side `role` now: by `admitted` once that side ever changed,
    else by the room's column (`firsts`: role -> its first member)."""
    if any(kept == role for kept, _ in members):
        return (role, user) in members
    return firsts.get(role) == user


def people(members: frozenset[tuple[str, str]], firsts: Mapping[str, str]) -> list[tuple[str, str]]:
    """(role, user) of every side's people, side by side in `firsts`' order, each side's
    first member first (the welcome's participants)."""
    out: list[tuple[str, str]] = []
    for role, first in firsts.items():
        if not any(kept == role for kept, _ in members):
            out.append((role, first))
            continue
        users = sorted(user for kept, user in members if kept == role)
        out += [(role, user) for user in sorted(users, key=lambda user: user != first)]
    return out


def check_door(role: str) -> None:
    """Nobody writes a membership record over a socket: the API writes it (system_draft)."""
    raise Forbidden(f"a {role} may not change a room's members: the platform does, by its API")


def apply(sides: dict[str, Side], parties: Mapping[str, str], record: StoredMessage) -> MemberBody:
    """Update `sides` by a membership record (checked first, then changed) and return it."""
    if record.sender_role != kinds.SYSTEM_ROLE:
        check_door(record.sender_role)
    if record.channel != ROOM:
        raise RoomError("membership records are kept in the room channel")
    try:
        body = msgspec.json.decode(record.body, type=MemberBody)
    except msgspec.DecodeError as exc:
        raise RoomError(f"malformed event body: {exc}") from None
    if body.side not in PARTIES:
        raise RoomError("a side is the client or the freelancer")
    side = side_of(sides, parties, body.side)
    members = list(side.members)
    if record.kind == MEMBER_ADDED:
        other = next(iter(PARTIES - {body.side}))
        if body.user in side_of(sides, parties, other).members:
            raise Conflict(f"{body.user} is on the {other} side of this room")
        if body.user in members:
            raise Conflict(f"{body.user} is already on the {body.side} side")
        members.append(body.user)
        decider = body.user if body.decision_maker else side.decision_maker
    else:
        if body.user not in members:
            raise Conflict(f"{body.user} is not on the {body.side} side")
        if len(members) == 1:
            raise Conflict(f"the {body.side} side keeps at least one person")
        members.remove(body.user)
        decider = members[0] if side.decision_maker == body.user else side.decision_maker
    sides[body.side] = Side(members, decider)
    return body


def counts(
    acceptance: str, sides: Mapping[str, Side], parties: Mapping[str, str], role: str, user: str
) -> bool:
    """Whether `user`'s acceptance counts as their side's."""
    return acceptance != DECISION_MAKER or side_of(sides, parties, role).decision_maker == user


def require_decider(
    acceptance: str, sides: Mapping[str, Side], parties: Mapping[str, str], role: str, user: str
) -> None:
    if not counts(acceptance, sides, parties, role, user):
        decider = side_of(sides, parties, role).decision_maker
        raise NotDecisionMaker(f"only the {role} side's decision-maker ({decider}) accepts for it")


def sides_of(raw: object) -> dict[str, Side]:
    """The sides as the facts in clear hold them (a room row's `workflow["sides"]`)."""
    return msgspec.convert(raw or {}, dict[str, Side])


def admitted(raw: object) -> frozenset[tuple[str, str]]:
    """(role, user) of every current side member from the facts in clear (a room row's
    `workflow["sides"]`), for admission; empty when no side ever changed (then the room's
    `client_user` and `freelancer_user` decide)."""
    sides = sides_of(raw)
    return frozenset((role, user) for role, side in sides.items() for user in side.members)


def reflect(
    now: frozenset[tuple[str, str]], firsts: Mapping[str, str], record: StoredMessage
) -> frozenset[tuple[str, str]]:
    """Admission after a stored membership record (a live room's copy of `admitted`)."""
    body = msgspec.json.decode(record.body, type=MemberBody)
    base = set(now)
    kept = {role for role, _ in now}
    base.update((role, user) for role, user in firsts.items() if role not in kept)
    if record.kind == MEMBER_ADDED:
        base.add((body.side, body.user))
    else:
        base.discard((body.side, body.user))
    return frozenset(base)

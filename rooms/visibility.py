"""Roles, channels, and the one table of who may read and write where.

Every visibility decision in the system (fan-out, replay, history, export)
asks this module; nothing else hard-codes a channel rule.
"""

from enum import StrEnum


class Role(StrEnum):
    CLIENT = "client"
    FREELANCER = "freelancer"
    MODERATOR = "moderator"
    AUDITOR = "auditor"
    ARBITRATOR = "arbitrator"  # reads the joint record once a failed mediation goes to arbitration
    OBSERVER = "observer"  # a trainee or team lead: reads what a moderator reads, writes nothing


PARTIES = frozenset({Role.CLIENT, Role.FREELANCER})
STAFF = frozenset({Role.MODERATOR, Role.AUDITOR})

JOINT = "joint"
CAUCUS_CLIENT = "caucus:client"
CAUCUS_FREELANCER = "caucus:freelancer"
NOTES = "notes"
ROOM = "room"  # the room's own events (joins, state changes): everyone reads, the server writes
CHANNELS = (JOINT, CAUCUS_CLIENT, CAUCUS_FREELANCER, NOTES, ROOM)

_READ: dict[Role, tuple[str, ...]] = {
    Role.CLIENT: (JOINT, CAUCUS_CLIENT, ROOM),
    Role.FREELANCER: (JOINT, CAUCUS_FREELANCER, ROOM),
    Role.MODERATOR: CHANNELS,
    Role.AUDITOR: CHANNELS,
    # What both parties said to each other, and the room's events (files included: a file
    # is a record of its channel). Caucuses and the moderator's notes stay confidential, as
    # in a mediation that goes on to arbitration.
    Role.ARBITRATOR: (JOINT, ROOM),
    Role.OBSERVER: CHANNELS,  # notes and both caucuses included, as its moderator sees them
}
_WRITE: dict[Role, tuple[str, ...]] = {
    Role.CLIENT: (JOINT, CAUCUS_CLIENT),
    Role.FREELANCER: (JOINT, CAUCUS_FREELANCER),
    Role.MODERATOR: (JOINT, CAUCUS_CLIENT, CAUCUS_FREELANCER, NOTES),
    Role.AUDITOR: (),  # auditors observe; they never speak in a room
    Role.ARBITRATOR: (),  # writes nothing but its decision (rooms.door, rooms.arbitration)
    Role.OBSERVER: (),  # every write is refused (forbidden); it does not even type
}


def readable(role: Role) -> tuple[str, ...]:
    """The channels `role` may see, in a stable order."""
    return _READ[role]


def can_read(role: Role, channel: str) -> bool:
    return channel in _READ[role]


def can_write(role: Role, channel: str) -> bool:
    return channel in _WRITE[role]


def caucus_of(party: str) -> str:
    """The private channel between the moderator and `party`."""
    return f"caucus:{party}"


# Readers the parties are never told of (no presence, no `joined` record): an auditor
# reading for a purpose, an observer shadowing the moderator.
SILENT = frozenset({Role.AUDITOR, Role.OBSERVER})


def sees_presence_of(viewer: Role, subject: Role) -> bool:
    """Parties are not told when an auditor or an observer is reading along; staff see
    observers (a moderator knows who shadows them), only staff see auditors."""
    if subject is Role.OBSERVER:
        return viewer in STAFF or viewer is Role.OBSERVER
    return subject is not Role.AUDITOR or viewer in STAFF

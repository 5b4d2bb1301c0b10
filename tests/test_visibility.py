"""The one table of channel rules, spelled out so a change to it is a visible decision."""

import pytest

from rooms.visibility import CHANNELS, Role, can_read, can_write, sees_presence_of

R, W = "r", "w"
TABLE = {  # role: {channel: rights}; only the server writes the room channel
    Role.CLIENT: {
        "joint": R + W,
        "caucus:client": R + W,
        "caucus:freelancer": "",
        "notes": "",
        "room": R,
    },
    Role.FREELANCER: {
        "joint": R + W,
        "caucus:client": "",
        "caucus:freelancer": R + W,
        "notes": "",
        "room": R,
    },
    Role.MODERATOR: {
        "joint": R + W,
        "caucus:client": R + W,
        "caucus:freelancer": R + W,
        "notes": R + W,
        "room": R,
    },
    Role.AUDITOR: {c: R for c in CHANNELS},
    # the arbitrator reads what the parties said to each other, never a caucus or the notes;
    # its one write, the decision, is its own kind (rooms.arbitration), not a channel right
    Role.ARBITRATOR: {
        "joint": R,
        "caucus:client": "",
        "caucus:freelancer": "",
        "notes": "",
        "room": R,
    },
    # an observer (trainee, team lead) reads what a moderator reads and writes nothing
    Role.OBSERVER: {c: R for c in CHANNELS},
}


def test_the_table_names_every_channel() -> None:
    assert all(set(rights) == set(CHANNELS) for rights in TABLE.values())


@pytest.mark.parametrize("role", list(Role))
@pytest.mark.parametrize("channel", CHANNELS)
def test_rights(role: Role, channel: str) -> None:
    assert can_read(role, channel) == (R in TABLE[role][channel])
    assert can_write(role, channel) == (W in TABLE[role][channel])


def test_unknown_channels_are_neither_readable_nor_writable() -> None:
    assert not any(can_read(r, "caucus:moderator") or can_write(r, "") for r in Role)


def test_only_staff_see_auditors() -> None:
    assert not sees_presence_of(Role.CLIENT, Role.AUDITOR)
    assert not sees_presence_of(Role.FREELANCER, Role.AUDITOR)
    assert sees_presence_of(Role.MODERATOR, Role.AUDITOR)
    assert sees_presence_of(Role.CLIENT, Role.MODERATOR)
    assert not sees_presence_of(Role.ARBITRATOR, Role.AUDITOR)
    assert sees_presence_of(Role.CLIENT, Role.ARBITRATOR)


def test_observers_are_seen_by_staff_and_each_other_never_by_parties() -> None:
    for viewer in (Role.CLIENT, Role.FREELANCER, Role.ARBITRATOR):
        assert not sees_presence_of(viewer, Role.OBSERVER)
    for viewer in (Role.MODERATOR, Role.AUDITOR, Role.OBSERVER):
        assert sees_presence_of(viewer, Role.OBSERVER)
    assert not sees_presence_of(Role.OBSERVER, Role.AUDITOR)  # an audit stays the staff's
    assert sees_presence_of(Role.OBSERVER, Role.MODERATOR)

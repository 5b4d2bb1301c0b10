"""Floor control: a moderator mutes one party for a while, or pauses the room to cool down.

The state lives in the workflow's facts on the room row, moved by each
`floor` record inside its commit, so a process taking a room live (or
checking a file upload for a room nobody is in) reads it in one row. Live
rooms then apply the records they deliver, so every process agrees. It only
ever stops parties: moderators always speak.
"""

from datetime import UTC, datetime, timedelta

import msgspec

from rooms import records
from rooms.errors import Forbidden
from rooms.kinds import FLOOR
from rooms.records import FloorBody
from rooms.visibility import PARTIES, Role

ACTIONS = ("mute", "unmute", "pause", "resume")
MAX_MINUTES = 24 * 60


def floor_body(action: str, party: str | None, minutes: int, reason: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"floor action is one of {', '.join(ACTIONS)}")
    if action in ("mute", "unmute") and party not in PARTIES:
        raise ValueError("mute and unmute name a party: client or freelancer")
    until = datetime.now(UTC) + timedelta(minutes=max(1, min(minutes, MAX_MINUTES)))
    return records.encode(FloorBody(action, party, until.isoformat(), reason))


class Hold(msgspec.Struct):
    until: str  # ISO 8601
    reason: str


class Floor(msgspec.Struct, omit_defaults=True):
    muted: dict[str, Hold] = {}  # party -> until when, and why
    paused: Hold | None = None

    def apply(self, body: str) -> None:
        change = records.body_of(FLOOR, body)
        assert isinstance(change, FloorBody)
        hold = Hold(change.until, change.reason)
        action, party = change.action, change.party
        if action == "mute" and party is not None:
            self.muted[party] = hold
        elif action == "unmute" and party is not None:
            self.muted.pop(party, None)
        elif action == "pause":
            self.paused = hold
        else:
            self.paused = None

    def check(self, role: Role) -> None:
        """Raise Forbidden, saying why and until when, if `role` may not speak now."""
        if role not in PARTIES or (self.paused is None and not self.muted):
            return  # the common case, on every send: nothing to look at
        now = datetime.now(UTC)
        for hold, what in (
            (self.paused, "the room is paused"),
            (self.muted.get(role), f"the {role} is muted"),
        ):
            if hold is None:
                continue
            until = datetime.fromisoformat(hold.until)
            if now < until:
                reason = f": {hold.reason}" if hold.reason else ""
                raise Forbidden(f"{what} until {until:%H:%M} UTC{reason}")

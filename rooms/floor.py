"""Floor control: a moderator mutes one party for a while, or pauses the room to cool down.

The state is derived from `floor` records as they are delivered (so every
process agrees), and only ever stops parties: moderators always speak.
"""

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

from rooms.errors import Forbidden
from rooms.visibility import PARTIES, Role

ACTIONS = ("mute", "unmute", "pause", "resume")
MAX_MINUTES = 24 * 60


def floor_body(action: str, party: str | None, minutes: int, reason: str) -> str:
    if action not in ACTIONS:
        raise ValueError(f"floor action is one of {', '.join(ACTIONS)}")
    if action in ("mute", "unmute") and party not in PARTIES:
        raise ValueError("mute and unmute name a party: client or freelancer")
    until = datetime.now(UTC) + timedelta(minutes=max(1, min(minutes, MAX_MINUTES)))
    return json.dumps(
        {"action": action, "party": party, "until": until.isoformat(), "reason": reason},
        separators=(",", ":"),
    )


@dataclass
class Floor:
    muted: dict[str, tuple[datetime, str]] = field(default_factory=dict)  # role -> until, why
    paused: tuple[datetime, str] | None = None

    def apply(self, body: str) -> None:
        change = json.loads(body)
        until = datetime.fromisoformat(change["until"])
        action, party, reason = change["action"], change["party"], change["reason"]
        if action == "mute":
            self.muted[party] = (until, reason)
        elif action == "unmute":
            self.muted.pop(party, None)
        elif action == "pause":
            self.paused = (until, reason)
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
            if hold is not None and now < hold[0]:
                reason = f": {hold[1]}" if hold[1] else ""
                raise Forbidden(f"{what} until {hold[0]:%H:%M} UTC{reason}")

"""A lead moderator and co-moderators: who holds a room, who helps, and the hand-over.

The lead is the workflow's `Facts.moderator` (set by the claim, moved by a transfer):
the one accountable in the queue. Co-moderators (`Facts.comoderators`) write as any
moderator does (notes, caucuses, joint, proposals, floor, deadlines, state moves: the
server never bound a moderator's writes to the lead, and a co-moderator keeps it so);
what is the lead's alone is the team: only the lead adds or removes a co-moderator, with
a `comoderator` record in the room channel (everyone sees who moderates). A transfer
(`handoff` with a moderator) to a co-moderator swaps the two: the co-moderator leads,
the old lead stays on as a co-moderator. An escalation hands the room to the next tier:
the team goes with the lead.

Pure: the door's part and the commit's, tested directly (tests/test_observers_unit.py).
"""

from rooms import records
from rooms.errors import Conflict, Forbidden, RoomError
from rooms.records import CoModeratorBody
from rooms.visibility import ROOM, Role

MAX_COMODERATORS = 4  # besides the lead


def check_door(role: Role, channel: str) -> None:
    """At the door: a moderator's record, in the room channel (the lead is the commit's
    to check, on the locked row)."""
    if role is not Role.MODERATOR:
        raise Forbidden("only the lead moderator adds or removes co-moderators")
    if channel != ROOM:
        raise RoomError("co-moderators are added and removed in the room channel")


def body(moderator: str, added: bool) -> str:
    return records.encode(CoModeratorBody(moderator, added))


def change(lead: str | None, team: list[str], sender: str, change: CoModeratorBody) -> None:
    """Apply the lead's `change` to `team` (the co-moderators), or raise without
    touching it: Forbidden unless `sender` leads, Conflict for a change that is no change."""
    if lead is None:
        raise Conflict("the room has no lead moderator: claim it first")
    if sender != lead:
        raise Forbidden(f"only the lead moderator ({lead}) adds or removes co-moderators")
    who = change.moderator
    if not who.strip():
        raise RoomError("name the co-moderator")
    if who == lead:
        raise RoomError("the lead moderator is not their own co-moderator")
    if change.added:
        if who in team:
            raise Conflict(f"{who} is a co-moderator already")
        if len(team) >= MAX_COMODERATORS:
            raise Conflict(f"a room has at most {MAX_COMODERATORS} co-moderators")
        team.append(who)
    elif who in team:
        team.remove(who)
    else:
        raise Conflict(f"{who} is not a co-moderator of this room")


def handed_over(lead: str | None, team: list[str], to: str) -> None:
    """A transfer to `to`: a co-moderator who takes the lead swaps places with the lead."""
    if to in team:
        team.remove(to)
        if lead is not None and lead != to:
            team.append(lead)

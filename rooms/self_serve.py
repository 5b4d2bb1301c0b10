"""Self-serve negotiation: the parties settle while their room waits for a moderator.

A room in `waiting` (no moderator yet) or `escalated` (waiting for a higher tier)
takes proposals, counters and answers from the client and the freelancer in the
joint channel, under the same rules as a mediated negotiation (rooms.workflow:
one open offer, counters name it, expiry, a party's own proposal counts as its
acceptance). A moderator's proposal still needs a claimed room (`mediating`).
When both parties accept the open offer, the server writes the same resolution
it writes in mediation (`settled:<seq>`, a system `state` record to `resolved`),
so the signed settlement document is the same (transcripts.settlement_artifact).
That move (waiting/escalated -> resolved) is the server's only: a moderator's
`transition` never makes it (rooms.lifecycle.BY_SERVER).

While the parties negotiate, the room stays in the queue (marked `negotiating`)
and its `unclaimed` clock keeps running; a moderator who claims it steps into the
negotiation: the open offer stays on the table. No SLA policy deadline is set on a
proposal made outside mediation (nobody would watch it); one made after the claim
gets it as usual. A room is *self-served* when it was resolved without a moderator
ever claiming it (reports, and `self_served: true` on its events).

Pure: no I/O, tested directly (tests/test_self_serve_unit.py).
"""

from rooms import kinds
from rooms.errors import Conflict, Forbidden
from rooms.lifecycle import State
from rooms.ports import StoredMessage
from rooms.records import StateBody
from rooms.visibility import PARTIES

# The states in which the parties negotiate by themselves (nobody mediates the room).
NEGOTIABLE = frozenset({State.WAITING, State.ESCALATED})


def check_proposal(state: str, role: str) -> None:
    """Conflict unless a `role` may propose in a room in `state`."""
    if state == State.MEDIATING or (state in NEGOTIABLE and role in PARTIES):
        return
    if state in NEGOTIABLE:
        raise Conflict(f"a moderator proposes once the room is claimed; this one is {state}")
    raise Conflict(f"proposals need a room in mediation or waiting for it; this one is {state}")


def check_response(state: str) -> None:
    """Conflict unless the parties may answer a proposal in a room in `state`."""
    if state != State.MEDIATING and state not in NEGOTIABLE:
        raise Conflict(
            f"responses to proposals need a room in mediation or waiting for it; "
            f"this one is {state}"
        )


def check_move(state: str, body: StateBody, record: StoredMessage) -> None:
    """Forbidden unless this `state` record may resolve a room that nobody mediates: only
    the server's resolution of a settlement both parties accepted."""
    if state not in NEGOTIABLE or body.to != State.RESOLVED:
        return
    if record.sender_role != kinds.SYSTEM_ROLE or body.proposal is None:
        raise Forbidden(f"a room {state} is resolved only by the parties' settlement")


def negotiating(state: str, offer_open: bool) -> bool:
    """Whether the parties negotiate by themselves now: an offer is open in a room waiting
    for a moderator (a party's, or in an escalated room one a moderator made before)."""
    return state in NEGOTIABLE and offer_open


def self_served(resolved_at: str | None, claimed_at: str | None) -> bool:
    """Resolved (closed since, perhaps) without a moderator ever claiming the room: only
    the parties' settlement resolves a room that was never claimed."""
    return resolved_at is not None and claimed_at is None

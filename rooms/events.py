"""What the outside world hears of a room: events the workflow's rules raise.

A rule that sees a record change something the host platform, the ticketing
system or an away party cares about raises an `Event` on the room. The store
turns each into outbox rows in the same commit (one per destination that
wants it), so an event exists exactly when its record does. Events carry ids,
states and terms, never what anybody wrote (docs/webhooks.md lists them).
"""

from dataclasses import dataclass, field
from typing import Any, Literal, get_args

from rooms import kinds

ROOM_CREATED = "room.created"
ROOM_CLAIMED = "room.claimed"
ROOM_ESCALATED = "room.escalated"
PROPOSAL_MADE = "proposal.made"
SETTLEMENT_AGREED = "settlement.agreed"
ROOM_RESOLVED = "room.resolved"
ROOM_CLOSED = "room.closed"
PARTY_WAITING = "party.waiting"
MEDIATION_FAILED = "mediation.failed"
ARBITRATION_REQUESTED = "arbitration.requested"
ARBITRATION_DECIDED = "arbitration.decided"
DEADLINE_SET = "deadline.set"
DEADLINE_WARNING = "deadline.warning"
DEADLINE_APPLIED = "deadline.applied"
DEADLINE_ENDED = "deadline.ended"
EVIDENCE_REQUESTED = "evidence.requested"
EVIDENCE_SUBMITTED = "evidence.submitted"
EVIDENCE_REVIEWED = "evidence.reviewed"
MESSAGE_REDACTED = "message.redacted"
MEMBER_ADDED = "member.added"  # a person joined a side (rooms.members)
MEMBER_REMOVED = "member.removed"  # a person left a side

# Every topic, as a type: a setting that names topics is checked against it.
Topic = Literal[
    "room.created",
    "room.claimed",
    "room.escalated",
    "proposal.made",
    "settlement.agreed",
    "room.resolved",
    "room.closed",
    "party.waiting",
    "mediation.failed",
    "arbitration.requested",
    "arbitration.decided",
    "deadline.set",
    "deadline.warning",
    "deadline.applied",
    "deadline.ended",
    "evidence.requested",
    "evidence.submitted",
    "evidence.reviewed",
    "message.redacted",
    "member.added",
    "member.removed",
]
TOPICS: tuple[str, ...] = get_args(Topic)

# The kinds of record whose rules may raise an event (rooms.workflow): a commit holding
# none of them wrote no outbox row.
RAISED_BY = frozenset(
    {
        kinds.STATE,
        kinds.PROPOSAL,
        kinds.RESPONSE,
        kinds.DEADLINE,
        kinds.DEADLINE_ENDED,
        kinds.DEADLINE_WARNING,
        kinds.DEADLINE_APPLIED,
        kinds.DECISION,
        kinds.FILE,
        kinds.EVIDENCE_REQUEST,
        kinds.EVIDENCE_REVIEW,
        kinds.REDACTION,
        kinds.MEMBER_ADDED,
        kinds.MEMBER_REMOVED,
    }
)


@dataclass(frozen=True, slots=True)
class Event:
    topic: str
    data: dict[str, Any] = field(default_factory=dict)

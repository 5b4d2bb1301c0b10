"""Per-room figures for support leads: response clocks, outcome and satisfaction.

Everything comes from the workflow facts kept on each room's row (terms and
ratings sealed under the room's data key), except CSAT comments, which are
party words and so live encrypted in the transcript: they are read from
their records. A shredded room says so (`shredded`) and shows its clocks
only: its terms, ratings and comments went with its key.
"""

import csv
import io
from datetime import datetime
from typing import Any

import msgspec

from rooms import arbitration, clocks, evidence, self_serve
from rooms.clocks import ANSWER, REPLY, UNCLAIMED
from rooms.records import CsatBody
from rooms.visibility import PARTIES, caucus_of
from rooms.workflow import Facts, Workflow
from transcripts.errors import TranscriptError
from transcripts.store import TranscriptStore
from transcripts.store_types import RoomRow

COLUMNS = (
    "room",
    "ticket_provider",
    "ticket_id",
    "state",
    "shredded",
    "priority",
    "tier",
    "moderator",
    "opened_at",
    "claimed_at",
    "first_response_at",
    "first_response_seconds",
    "resolved_at",
    "resolution_seconds",
    "longest_wait_client_seconds",
    "longest_wait_freelancer_seconds",
    "breaches_unclaimed",
    "breaches_answer",
    "breaches_reply",
    "overdue_now",
    "settlement_amount",
    "settlement_currency",
    "settlement_milestone",
    "csat_client",
    "csat_freelancer",
    "csat_client_comment",
    "csat_freelancer_comment",
    "arbitration",
    "arbitration_party",
    "deadlines_set",
    "deadlines_applied",
    "deadlines_answered",
    "evidence_requests",
    "evidence_open",
    "evidence_late",
    "evidence_not_satisfied",
    "redactions",
    "self_served",
    "language",
    "skills",
)


def _elapsed(start: str, end: str | None) -> float | None:
    return None if not start or end is None else round(clocks.seconds_between(start, end), 3)


async def room_report(store: TranscriptStore, workflow: Workflow, room: RoomRow) -> dict[str, Any]:
    facts = workflow.load(room.state, room.workflow or {}).facts
    kept, settled = facts.clocks, facts.settlement
    opened = kept.opened_at or room.created_at.isoformat()
    row: dict[str, Any] = {
        "room": room.id,
        "ticket_provider": room.ticket_provider,
        "ticket_id": room.ticket_id,
        "state": room.state,
        "shredded": room.shredded,
        "priority": room.priority,
        "tier": room.tier,
        "moderator": room.moderator,
        "opened_at": opened,
        "claimed_at": kept.claimed_at,
        "first_response_at": kept.first_response_at,
        "first_response_seconds": _elapsed(opened, kept.first_response_at),
        "resolved_at": kept.resolved_at,
        "resolution_seconds": _elapsed(opened, kept.resolved_at),
        "overdue_now": " ".join(a.key for a in clocks.overdue(kept, room.state)),
        "settlement_amount": settled.amount if settled else None,
        "settlement_currency": settled.currency if settled else None,
        "settlement_milestone": settled.milestone if settled else None,
        "arbitration": arbitration.status(room.state, facts.arbitration),
        "arbitration_party": facts.arbitration.party if facts.arbitration else None,
        **evidence.summary(facts.evidence),
        "redactions": facts.redactions,  # messages whose text a moderator removed
        # resolved by the parties' own settlement, no moderator ever claimed it
        "self_served": self_serve.self_served(kept.resolved_at, kept.claimed_at),
        "language": room.language,  # what the queue routed it by (rooms.routing)
        "skills": " ".join(room.skills),
    }
    for what in ("set", "applied", "answered"):  # deadlines with a default outcome
        row[f"deadlines_{what}"] = facts.deadline_counts.get(what, 0)
    for clock in (UNCLAIMED, ANSWER, REPLY):
        row[f"breaches_{clock}"] = kept.breaches.get(clock, 0)
    for party in sorted(PARTIES):
        row[f"longest_wait_{party}_seconds"] = kept.longest_wait.get(party)
        rating = facts.csat.get(party)
        row[f"csat_{party}"] = rating.rating if rating else None
        row[f"csat_{party}_comment"] = await _comment(store, room.id, facts, party)
    return row


async def _comment(store: TranscriptStore, room_id: str, facts: Facts, party: str) -> str | None:
    rating = facts.csat.get(party)
    if rating is None:
        return None
    try:
        [record] = await store.read(room_id, caucus_of(party), rating.seq - 1, rating.seq, 1)
    except (TranscriptError, ValueError):  # shredded under retention, or never there
        return None
    return msgspec.json.decode(record.body, type=CsatBody).comment


async def rooms_report(
    store: TranscriptStore, workflow: Workflow, start: datetime, end: datetime, limit: int
) -> list[dict[str, Any]]:
    rooms = await store.rooms_between(start, end, limit)
    return [await room_report(store, workflow, room) for room in rooms]


def by_language(rows: list[dict[str, Any]]) -> dict[str, dict[str, int]]:
    """Per language, its rooms: how many, resolved, escalated past tier 1, breaches."""
    out: dict[str, dict[str, int]] = {}
    for row in rows:
        tally = out.setdefault(
            row["language"], {"rooms": 0, "resolved": 0, "escalated": 0, "breaches": 0}
        )
        tally["rooms"] += 1
        tally["resolved"] += row["resolved_at"] is not None
        tally["escalated"] += row["tier"] > 1
        tally["breaches"] += sum(row[f"breaches_{c}"] for c in (UNCLAIMED, ANSWER, REPLY))
    return dict(sorted(out.items()))


def as_csv(rows: list[dict[str, Any]]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, COLUMNS, lineterminator="\r\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()

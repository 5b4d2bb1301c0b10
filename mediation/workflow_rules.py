"""The mediation workflow (rooms.workflow) in the shape the transcript store applies.

The store knows nothing of proposals or clocks; it hands each record to
these rules inside its commit and writes back the columns they return.
"""

from collections.abc import Sequence
from typing import Any

from rooms.errors import RoomError
from rooms.ports import Draft
from rooms.workflow import Room, Workflow
from transcripts.errors import Refused
from transcripts.store_types import Record


class StoreRules:
    def __init__(self, workflow: Workflow) -> None:
        self.workflow = workflow

    def load(self, state: str, workflow: dict[str, Any]) -> "RuledRoom":
        return RuledRoom(self.workflow, self.workflow.load(state, workflow))

    def opened(self, state: str, ts: str) -> "RuledRoom":
        return RuledRoom(self.workflow, self.workflow.opened(state, ts))


class RuledRoom:
    def __init__(self, workflow: Workflow, room: Room) -> None:
        self._workflow = workflow
        self._room = room

    @property
    def state(self) -> str:
        return self._room.state

    def apply(self, record: Record) -> Sequence[Draft]:
        try:
            follow_ups = self._workflow.apply(self._room, record)
        except RoomError as exc:
            raise Refused(exc.code, str(exc)) from None
        return [f.draft(record.room_id) for f in follow_ups]

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        queue = self._workflow.queue_fields(self._room)
        clear, sealed = self._workflow.dump(self._room)
        return sealed, {
            "workflow": clear,
            "moderator": queue.moderator,
            "tier": queue.tier,
            "waiting_since": queue.waiting_since,
            "due_at": queue.due_at,
        }

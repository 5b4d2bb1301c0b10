"""The mediation workflow (rooms.workflow) in the shape the transcript store applies.

The store knows nothing of proposals or clocks; it hands each record to
these rules inside its commit and writes back the columns they return, and
the outbox rows for the events the rules raised (one per destination that
wants each event, `mediation.outbox.routes`).
"""

from collections.abc import Mapping, Sequence
from typing import Any

import msgspec

from mediation.outbox.routes import Routes
from rooms import events
from rooms.errors import RoomError
from rooms.events import Event
from rooms.ports import Draft
from rooms.workflow import Room, Workflow
from transcripts.errors import Refused
from transcripts.store_types import Effect, Record, RoomRow


class StoreRules:
    def __init__(self, workflow: Workflow, routes: Routes | None = None) -> None:
        self.workflow = workflow
        self.routes = routes or Routes()

    def load(
        self,
        state: str,
        workflow: dict[str, Any],
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
    ) -> "RuledRoom":
        room = self.workflow.load(state, workflow, priority, parties)
        return RuledRoom(self, room, provider)

    def opened(
        self,
        state: str,
        ts: str,
        provider: str,
        priority: str = "normal",
        parties: Mapping[str, str] | None = None,
        *,
        calendar: str | None = None,
        acceptance: str | None = None,
    ) -> "RuledRoom":
        room = self.workflow.opened(
            state, ts, priority, parties, calendar=calendar, acceptance=acceptance
        )
        return RuledRoom(self, room, provider)

    def created(self, room: RoomRow) -> Sequence[Effect]:
        data: dict[str, Any] = {"client": room.client_user, "freelancer": room.freelancer_user}
        data |= {"priority": room.priority, "state": room.state, "position": 0}
        data["at"] = room.created_at.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        event = Event(events.ROOM_CREATED, data)
        return self.effects(room.id, room.ticket_provider, f"{room.id}.0", event)

    def effects(self, room_id: str, provider: str, at: str, event: Event) -> list[Effect]:
        """One outbox row per destination that wants `event`; `at` names the record that
        raised it (the event id is the same for every destination)."""
        return [
            Effect(destination, room_id, event.topic, f"{at}.{event.topic}", event.data)
            for destination in self.routes.of(event.topic, provider)
        ]


class RuledRoom:
    def __init__(self, rules: StoreRules, room: Room, provider: str) -> None:
        self._rules = rules
        self._room = room
        self._provider = provider
        self._answered: bytes | None = None  # the facts as `columns` last saw them

    def changed(self) -> bool:
        # ~1 us to encode the facts in C, where the columns cost ~20 us of Python
        return self._answered != msgspec.json.encode(self._room.facts)

    @property
    def state(self) -> str:
        return self._room.state

    def apply(self, record: Record) -> Sequence[Draft]:
        try:
            follow_ups = self._rules.workflow.apply(self._room, record)
        except RoomError as exc:
            self._room.raised.clear()
            raise Refused(exc.code, str(exc)) from None
        return [f.draft(record.room_id) for f in follow_ups]

    def effects(self, record: Record) -> Sequence[Effect]:
        raised = self._room.raised
        if not raised:  # every message: nothing raised, nothing allocated
            return ()
        self._room.raised = []
        if not self._rules.routes:
            return ()
        out: list[Effect] = []
        for event in raised:
            data = {**event.data, "state": self._room.state, "position": record.position}
            data["at"] = record.ts
            at = f"{record.room_id}.{record.position}"
            out += self._rules.effects(record.room_id, self._provider, at, Event(event.topic, data))
        return out

    def columns(self) -> tuple[dict[str, Any], dict[str, Any]]:
        self._answered = msgspec.json.encode(self._room.facts)
        workflow = self._rules.workflow
        queue = workflow.queue_fields(self._room)
        clear, sealed = workflow.dump(self._room)
        return sealed, {
            "workflow": clear,
            "moderator": queue.moderator,
            "tier": queue.tier,
            "waiting_since": queue.waiting_since,
            "due_at": queue.due_at,
        }

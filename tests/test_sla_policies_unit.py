"""SLA policies without a server: each room's clocks run on its priority's targets
(rooms.workflow with `targets_for`, mediation.sla.policies.Policies as the lookup), and
a changed policy moves the next due time of the clocks already running."""

from datetime import UTC, datetime, timedelta

import msgspec
import pytest

from mediation.http.sla import PutPolicy
from mediation.sla.policies import MAX_TARGET, Policies, Policy
from rooms.clocks import ANSWER, REPLY, UNCLAIMED, Alarm, Targets
from rooms.kinds import MESSAGE, OVERDUE, SYSTEM_ROLE, SYSTEM_USER
from rooms.lifecycle import State
from rooms.ports import Draft
from rooms.visibility import JOINT, ROOM, Role
from rooms.workflow import Room, Workflow, alarm_record, state_body
from tests.records import T0, at, numbered

DEFAULTS = Targets(first_response=900, answer=1800, reply=86400)
URGENT = Targets(first_response=60, answer=120, reply=600)


def after(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def policies(**rows: Targets) -> Policies:
    kept = Policies(DEFAULTS)
    kept.rows = {p: Policy(p, t, "api-key", datetime.now(UTC)) for p, t in rows.items()}
    return kept


def write(
    workflow: Workflow,
    room: Room,
    who: tuple[str, str],
    kind: str,
    channel: str,
    body: str,
    seconds: float,
) -> None:
    user, role = who
    draft = Draft("r-1", channel, user, role, f"c{seconds}", body, "", kind)
    assert workflow.apply(room, numbered(draft, 1, at(seconds))) == []


MODERATOR = ("m-1", Role.MODERATOR)
CLIENT = ("c-1", Role.CLIENT)


def claimed(workflow: Workflow, priority: str) -> Room:
    room = workflow.opened(State.WAITING, at(0), priority)
    write(workflow, room, MODERATOR, "state", ROOM, state_body(State.MEDIATING, "mine"), 10)
    return room


def test_an_urgent_room_falls_due_by_its_policy_while_a_normal_room_waits_on_the_default() -> None:
    workflow = Workflow(DEFAULTS, policies(urgent=URGENT).targets_for)
    urgent = workflow.opened(State.WAITING, at(0), "urgent")
    normal = workflow.opened(State.WAITING, at(0), "normal")
    assert workflow.queue_fields(urgent).due_at == after(60)
    assert workflow.queue_fields(normal).due_at == after(900)
    assert workflow.due(urgent, after(59)) == []
    assert workflow.due(urgent, after(60)) == [Alarm(UNCLAIMED, None, at(0))]
    assert workflow.due(normal, after(61)) == []
    assert workflow.due(normal, after(900)) == [Alarm(UNCLAIMED, None, at(0))]


def test_the_answer_and_reply_clocks_run_on_the_rooms_priority_too() -> None:
    workflow = Workflow(DEFAULTS, policies(urgent=URGENT).targets_for)
    room = claimed(workflow, "urgent")
    write(workflow, room, CLIENT, MESSAGE, JOINT, "hello?", 100)
    assert workflow.queue_fields(room).due_at == after(100 + URGENT.answer)
    assert workflow.due(room, after(220)) == [Alarm(ANSWER, "client", at(100))]
    write(workflow, room, MODERATOR, MESSAGE, JOINT, "here", 200)
    assert workflow.queue_fields(room).due_at == after(200 + URGENT.reply)
    due = workflow.due(room, after(800))
    assert due == [Alarm(REPLY, "client", at(200)), Alarm(REPLY, "freelancer", at(200))]


def test_the_room_row_reloaded_keeps_its_priority_s_targets() -> None:
    workflow = Workflow(DEFAULTS, policies(urgent=URGENT).targets_for)
    clear, _sealed = workflow.dump(workflow.opened(State.WAITING, at(0), "urgent"))
    assert workflow.queue_fields(workflow.load(State.WAITING, clear, "urgent")).due_at == after(60)
    assert workflow.queue_fields(workflow.load(State.WAITING, clear)).due_at == after(900)


def test_a_priority_without_a_policy_and_an_unknown_one_get_the_defaults() -> None:
    kept = policies(high=URGENT)
    assert kept.targets_for("high") == URGENT
    assert kept.targets_for("low") == DEFAULTS
    assert kept.targets_for("whatever") == DEFAULTS
    assert kept.effective() == {
        "urgent": DEFAULTS,
        "high": URGENT,
        "normal": DEFAULTS,
        "low": DEFAULTS,
    }


def test_a_workflow_without_policies_times_every_priority_alike() -> None:
    workflow = Workflow(URGENT)
    for priority in ("urgent", "low"):
        room = workflow.opened(State.WAITING, at(0), priority)
        assert workflow.queue_fields(room).due_at == after(60)


def test_a_shorter_policy_moves_the_running_clock_s_due_time_earlier_and_it_fires_once() -> None:
    kept = policies()
    workflow = Workflow(DEFAULTS, kept.targets_for)
    room = workflow.opened(State.WAITING, at(0), "normal")
    assert workflow.queue_fields(room).due_at == after(900)
    kept.rows = policies(normal=URGENT).rows  # the cache refreshed: same episode, new target
    assert workflow.queue_fields(room).due_at == after(60)
    (alarm,) = workflow.due(room, after(100))
    fired = alarm_record(alarm)
    draft = Draft(
        "r-1", fired.channel, SYSTEM_USER, SYSTEM_ROLE, fired.client_id, fired.body, "", OVERDUE
    )
    workflow.apply(room, numbered(draft, 1, at(100)))
    assert workflow.due(room, after(10_000)) == []
    assert workflow.queue_fields(room).due_at is None  # fired for this episode: nothing next


def test_a_longer_policy_leaves_nothing_due_at_the_old_time_and_names_the_new_one() -> None:
    """What the scheduler finds in a row written under the shorter target: nothing due,
    and the due time it writes back instead."""
    kept = policies(urgent=URGENT)
    workflow = Workflow(DEFAULTS, kept.targets_for)
    room = workflow.opened(State.WAITING, at(0), "urgent")
    written = workflow.queue_fields(room).due_at
    kept.rows = {}
    assert written == after(60)
    assert workflow.due(room, after(61)) == []
    assert workflow.queue_fields(room).due_at == after(900)


@pytest.mark.parametrize(
    "body",
    [
        {"first_response": 0, "answer": 60, "reply": 60},
        {"first_response": -5, "answer": 60, "reply": 60},
        {"first_response": 60, "answer": MAX_TARGET + 1, "reply": 60},
        {"first_response": 60, "answer": 60},
        {"first_response": 60, "answer": 60, "reply": "soon"},
        {"first_response": 60, "answer": 60, "reply": 60, "business_hours": True},
    ],
)
def test_a_policy_takes_three_positive_bounded_targets_and_nothing_else(body: object) -> None:
    with pytest.raises(msgspec.ValidationError):
        msgspec.json.decode(msgspec.json.encode(body), type=PutPolicy)


def test_a_policy_at_the_bounds_is_taken() -> None:
    body = {"first_response": 0.5, "answer": MAX_TARGET, "reply": 1}
    assert msgspec.json.decode(msgspec.json.encode(body), type=PutPolicy) == PutPolicy(
        0.5, MAX_TARGET, 1
    )

"""Deadlines with a default outcome (rooms.deadlines, rooms.business_days), without a
server: business-day arithmetic, the door, and every rule in the workflow: set, answer
in time, withdraw, lapse, warn once, enforce once (a second enforcement is refused)."""

from datetime import UTC, date, datetime, timedelta

import msgspec
import pytest

from mediation.config import DEFAULT_CALENDAR, Settings, SettingsError
from mediation.outbox.notice_text import deadline_notice
from rooms import clocks, door, events
from rooms.business_days import add_business_days, calendar_of, is_business_day
from rooms.clocks import Targets
from rooms.deadlines import deadline_body, due_time, withdrawal_body
from rooms.door import KnownRoom, Write
from rooms.errors import Forbidden, RoomError
from rooms.floor import Floor
from rooms.kinds import (
    DEADLINE,
    DEADLINE_APPLIED,
    DEADLINE_ENDED,
    DEADLINE_WARNING,
    PROPOSAL,
    STATE,
    SYSTEM_ROLE,
    SYSTEM_USER,
)
from rooms.lifecycle import State
from rooms.ports import Draft, Member
from rooms.records import (
    DeadlineBody,
    DeadlineCancelledBody,
    DeadlineNoticeBody,
    StateBody,
    Terms,
    body_of,
)
from rooms.settlement import proposal_body, response_body, terms
from rooms.visibility import CAUCUS_CLIENT, CAUCUS_FREELANCER, JOINT, ROOM, Role
from rooms.workflow import Workflow
from tests.records import T0, Record, at
from tests.test_workflow_unit import CLIENT, FREELANCER, MODERATOR, Mediation

HOUR = 3600.0
WARN = 24 * HOUR  # the Workflow's default warning lead
DEAL = terms("900.00", "EUR", "the freelancer keeps the deposit")


# -- business days ------------------------------------------------------------------


def test_business_days_skip_a_weekend() -> None:
    friday = datetime(2026, 3, 13, 15, 30, tzinfo=UTC)
    assert add_business_days(friday, 1, "US") == datetime(2026, 3, 16, 15, 30, tzinfo=UTC)
    assert add_business_days(friday, 3, "US") == datetime(2026, 3, 18, 15, 30, tzinfo=UTC)
    saturday = friday + timedelta(days=1)  # a weekend start counts from the next working day
    assert add_business_days(saturday, 1, "US") == datetime(2026, 3, 16, 15, 30, tzinfo=UTC)


def test_business_days_skip_a_weekend_and_a_holiday() -> None:
    # Wednesday 25 Nov 2026; Thanksgiving is Thursday 26th, a federal holiday
    wednesday = datetime(2026, 11, 25, 10, 0, tzinfo=UTC)
    assert not is_business_day(datetime(2026, 11, 26).date(), "US")
    # US federal: Friday 27th is a business day -> Fri, then Mon 30th
    assert add_business_days(wednesday, 2, "US") == datetime(2026, 11, 30, 10, 0, tzinfo=UTC)
    # California also keeps the day after Thanksgiving: Mon 30th, then Tue 1 Dec
    assert add_business_days(wednesday, 2, "US-CA") == datetime(2026, 12, 1, 10, 0, tzinfo=UTC)
    # Germany works on Thanksgiving
    assert add_business_days(wednesday, 2, "DE") == datetime(2026, 11, 27, 10, 0, tzinfo=UTC)


def test_business_days_are_counted_in_the_time_zone() -> None:
    # Friday 23:30 in New York is already Saturday in UTC: counted from the local Friday
    friday_night = datetime(2026, 3, 14, 3, 30, tzinfo=UTC)  # Fri 13th 23:30 EDT
    due = add_business_days(friday_night, 1, "US", "America/New_York")
    assert due == datetime(2026, 3, 17, 3, 30, tzinfo=UTC)  # Mon 16th 23:30 EDT
    assert add_business_days(friday_night, 1, "US") == datetime(2026, 3, 16, 3, 30, tzinfo=UTC)


@pytest.mark.parametrize(
    ("days", "calendar", "tz"), [(0, "US", "UTC"), (1, "XX", "UTC"), (1, "US", "Mars/Base")]
)
def test_business_days_refuse_what_they_cannot_count(days: int, calendar: str, tz: str) -> None:
    with pytest.raises(RoomError):
        add_business_days(T0, days, calendar, tz)


def test_a_due_time_is_an_aware_moment_or_business_days_never_both() -> None:
    assert due_time(T0, "2025-03-02T10:00:00+01:00", None, "US", "UTC") == datetime(
        2025, 3, 2, 9, 0, tzinfo=UTC
    )
    # T0 is Saturday 1 March 2025: one business day is Monday 3rd
    assert due_time(T0, None, 1, "US", "UTC") == datetime(2025, 3, 3, 9, 0, tzinfo=UTC)
    for at_, days in (("2025-03-02T10:00:00", None), (None, None), ("2025-03-02T10:00Z", 1)):
        with pytest.raises(RoomError):
            due_time(T0, at_, days, "US", "UTC")


# -- the door ----------------------------------------------------------------------


@pytest.mark.parametrize("kind", [DEADLINE, DEADLINE_ENDED])
@pytest.mark.parametrize("who", [CLIENT, FREELANCER, Member("a-1", Role.AUDITOR)])
def test_only_a_moderator_sets_or_withdraws_a_deadline(kind: str, who: Member) -> None:
    known = KnownRoom("r_1", State.MEDIATING, Floor())
    with pytest.raises(Forbidden):
        door.draft(known, who, Write(kind, ROOM, "c-1", "{}"))
    assert door.draft(known, MODERATOR, Write(kind, ROOM, "c-1", "{}")).kind == kind


# -- the rules -----------------------------------------------------------------------


def mediating() -> Mediation:
    m = Mediation()
    m.move(MODERATOR, State.MEDIATING)
    return m


def due(seconds: float) -> datetime:
    return T0 + timedelta(seconds=seconds)


def set_deadline(
    m: Mediation,
    party: Member,
    outcome: str,
    lasts: float = 48 * HOUR,
    proposal: int | None = None,
    agreed: Terms | None = None,
    seconds: float = 0,
) -> Record:
    body = deadline_body(party.role, party.user, due(seconds + lasts), outcome, "answer please")
    if proposal is not None or agreed is not None:
        body = deadline_body(
            party.role, party.user, due(seconds + lasts), outcome, "", proposal, agreed
        )
    records = m.write(MODERATOR, DEADLINE, ROOM, body, seconds)
    assert records[0].kind == DEADLINE
    return records[0]


def system(m: Mediation, kind: str, body: str, client_id: str) -> Draft:
    return Draft("r_unit", ROOM, SYSTEM_USER, SYSTEM_ROLE, client_id, body, "", kind)


def run_scheduler(m: Mediation, seconds: float) -> list[Record]:
    """What the clock scheduler writes at `seconds`, as it writes it."""
    kept: list[Record] = []
    for step in m.workflow.deadlines_due(m.room, due(seconds)):
        kept += m.commit(step.draft("r_unit"), seconds)
    return kept


def test_a_deadline_is_kept_in_clear_without_words_and_feeds_the_due_column() -> None:
    m = mediating()
    record = set_deadline(m, FREELANCER, "resolve", agreed=DEAL)
    _, clear, sealed = m.facts()
    assert clear["deadlines"][str(record.seq)]["due_at"] == at(48 * HOUR)
    assert "deadline_details" not in clear and "900.00" not in str(clear)
    assert FREELANCER.user not in str(clear)  # parties are in the clear facts by role only
    assert sealed["deadline_details"][str(record.seq)] == {
        "user": FREELANCER.user,
        "terms": msgspec.to_builtins(DEAL),
    }
    # the scheduler looks first when the warning is due, 24 h before
    assert m.workflow.queue_fields(m.room).due_at == due(48 * HOUR - WARN)
    assert [e.topic for e in m.room.raised][-1] == events.DEADLINE_SET


def test_setting_a_deadline_is_refused_when_it_cannot_hold() -> None:
    m = Mediation()
    body = deadline_body("client", "c-1", due(HOUR), "escalate")
    m.refused("conflict", MODERATOR, DEADLINE, ROOM, body)  # not in mediation yet
    m.move(MODERATOR, State.MEDIATING)
    past = deadline_body("client", "c-1", due(-1), "escalate")
    m.refused("invalid", MODERATOR, DEADLINE, ROOM, past)
    no_terms = deadline_body("client", "c-1", due(HOUR), "resolve")
    m.refused("invalid", MODERATOR, DEADLINE, ROOM, no_terms)
    no_proposal = deadline_body("client", "c-1", due(HOUR), "accept_proposal", "", 7)
    m.refused("superseded", MODERATOR, DEADLINE, ROOM, no_proposal)
    set_deadline(m, CLIENT, "escalate")
    m.refused("conflict", MODERATOR, DEADLINE, ROOM, body)  # one open deadline per party


def test_a_deadline_on_a_proposal_must_be_the_other_partys_and_before_it_expires() -> None:
    m = mediating()
    offer = m.propose(CLIENT, lasts=10 * HOUR)
    own = deadline_body("client", "c-1", due(HOUR), "accept_proposal", "", offer.seq)
    m.refused("forbidden", MODERATOR, DEADLINE, ROOM, own)
    late = deadline_body("freelancer", "f-1", due(11 * HOUR), "accept_proposal", "", offer.seq)
    m.refused("invalid", MODERATOR, DEADLINE, ROOM, late)
    set_deadline(m, FREELANCER, "accept_proposal", 9 * HOUR, offer.seq)


def test_the_default_outcome_accepts_the_proposal_once_and_settles() -> None:
    m = mediating()
    offer = m.propose(CLIENT, lasts=10 * HOUR)
    deadline = set_deadline(m, FREELANCER, "accept_proposal", 2 * HOUR, offer.seq)
    # within the 24 h lead from the start: the first look warns, once
    assert [r.kind for r in run_scheduler(m, HOUR - 1)] == [DEADLINE_WARNING]
    assert m.room.facts.deadlines[str(deadline.seq)].warned
    assert run_scheduler(m, HOUR) == []  # warned once only
    kept = run_scheduler(m, 2 * HOUR)
    assert [r.kind for r in kept] == [DEADLINE_APPLIED, STATE]
    notice = body_of(DEADLINE_APPLIED, kept[0].body)
    assert isinstance(notice, DeadlineNoticeBody) and notice.deadline == deadline.seq
    resolution = body_of(STATE, kept[1].body)
    assert isinstance(resolution, StateBody)
    assert (resolution.to, resolution.terms, resolution.proposal) == (
        State.RESOLVED,
        offer_terms(m, offer.seq),
        offer.seq,
    )
    assert kept[1].client_id == f"settled:{offer.seq}"  # the same as a settlement by answer
    assert m.room.state == State.RESOLVED and m.room.facts.deadlines == {}
    topics = [e.topic for e in m.room.raised]
    assert events.DEADLINE_APPLIED in topics and events.SETTLEMENT_AGREED in topics
    agreed = next(e for e in m.room.raised if e.topic == events.SETTLEMENT_AGREED)
    accepted = [(a["role"], a["user"]) for a in agreed.data["accepted"]]
    assert accepted == [("client", CLIENT.user), ("freelancer", FREELANCER.user)]


def offer_terms(m: Mediation, seq: int) -> Terms:
    assert m.room.facts.settlement is not None
    return m.room.facts.settlement


def test_a_second_enforcement_and_a_late_warning_are_refused() -> None:
    m = mediating()
    deadline = set_deadline(m, CLIENT, "escalate", 2 * HOUR)
    notice = msgspec.json.encode(
        DeadlineNoticeBody(deadline.seq, "client", at(2 * HOUR), "escalate")
    ).decode()
    early = system(m, DEADLINE_APPLIED, notice, "deadline-applied:1")
    m.refused_draft("conflict", early, HOUR)  # not due yet
    kept = m.commit(system(m, DEADLINE_APPLIED, notice, "deadline-applied:1"), 2 * HOUR)
    assert [r.kind for r in kept] == [DEADLINE_APPLIED, STATE]
    assert m.room.state == State.ESCALATED
    again = system(m, DEADLINE_APPLIED, notice, "deadline-applied:1-b")
    m.refused_draft("conflict", again, 2 * HOUR)  # the deadline is no longer open
    warning = system(m, DEADLINE_WARNING, notice, "deadline-warning:1")
    m.refused_draft("conflict", warning, 2 * HOUR)
    assert run_scheduler(m, 3 * HOUR) == []


def test_only_the_server_enforces() -> None:
    m = mediating()
    deadline = set_deadline(m, CLIENT, "escalate", HOUR)
    notice = msgspec.json.encode(
        DeadlineNoticeBody(deadline.seq, "client", at(HOUR), "escalate")
    ).decode()
    m.refused("forbidden", MODERATOR, DEADLINE_APPLIED, ROOM, notice, 2 * HOUR)


def test_resolve_applies_the_deadlines_own_terms() -> None:
    m = mediating()
    set_deadline(m, FREELANCER, "resolve", HOUR, agreed=DEAL)
    kept = run_scheduler(m, HOUR)
    assert [r.kind for r in kept] == [DEADLINE_APPLIED, STATE]
    assert m.room.state == State.RESOLVED and m.room.facts.settlement == DEAL
    assert m.room.facts.deadline_details == {}


def test_a_party_answering_one_second_before_the_deadline_cancels_it() -> None:
    m = mediating()
    offer = m.propose(CLIENT, lasts=10 * HOUR)
    deadline = set_deadline(m, FREELANCER, "accept_proposal", 2 * HOUR, offer.seq)
    kept = m.respond(FREELANCER, offer.seq, "reject", 2 * HOUR - 1)
    assert [r.kind for r in kept] == ["response", DEADLINE_ENDED]
    cancelled = body_of(DEADLINE_ENDED, kept[1].body)
    assert cancelled == DeadlineCancelledBody(deadline.seq, "answered")
    assert kept[1].sender_role == SYSTEM_ROLE
    assert run_scheduler(m, 2 * HOUR) == []  # nothing left to enforce
    assert m.room.state == State.MEDIATING


def test_an_answer_at_the_deadline_is_too_late_and_one_acceptance_does_not_settle() -> None:
    m = mediating()
    offer = m.propose(MODERATOR, lasts=10 * HOUR)  # both parties have to accept it
    set_deadline(m, FREELANCER, "accept_proposal", 2 * HOUR, offer.seq)
    late = m.draft(FREELANCER, "response", JOINT, response_body(offer.seq, "accept"))
    m.refused_draft("expired", late, 2 * HOUR)
    assert [r.kind for r in run_scheduler(m, 2 * HOUR)] == [DEADLINE_APPLIED]
    assert m.room.facts.offer is not None and m.room.facts.offer.accepted == ["freelancer"]
    assert m.room.state == State.MEDIATING


def test_a_message_answers_an_escalation_deadline_in_joint_or_its_own_caucus_only() -> None:
    m = mediating()
    set_deadline(m, CLIENT, "escalate", HOUR)
    assert len(m.write(FREELANCER, "message", JOINT, "not the client", 10)) == 1
    assert len(m.write(MODERATOR, "message", CAUCUS_FREELANCER, "staff", 20)) == 1
    kept = m.write(CLIENT, "message", CAUCUS_CLIENT, "here I am", 30)
    assert [r.kind for r in kept] == ["message", DEADLINE_ENDED]
    assert m.room.facts.deadlines == {}


def test_a_moderator_withdraws_and_a_state_change_lapses() -> None:
    m = mediating()
    first = set_deadline(m, CLIENT, "escalate", HOUR)
    kept = m.write(MODERATOR, DEADLINE_ENDED, ROOM, withdrawal_body(first.seq, "oops"))
    assert body_of(DEADLINE_ENDED, kept[0].body) == DeadlineCancelledBody(
        first.seq, "withdrawn", "oops"
    )
    m.refused("conflict", MODERATOR, DEADLINE_ENDED, ROOM, withdrawal_body(first.seq))
    lapsing = set_deadline(m, FREELANCER, "escalate", HOUR)
    kept = m.move(MODERATOR, State.ESCALATED)
    assert [r.kind for r in kept] == [STATE, DEADLINE_ENDED]
    lapsed = body_of(DEADLINE_ENDED, kept[1].body)
    assert isinstance(lapsed, DeadlineCancelledBody)
    assert (lapsed.deadline, lapsed.cause) == (lapsing.seq, "lapsed")


def test_a_countered_proposal_lapses_its_deadline() -> None:
    m = mediating()
    offer = m.propose(CLIENT, lasts=10 * HOUR)
    set_deadline(m, FREELANCER, "accept_proposal", 2 * HOUR, offer.seq)
    counter = proposal_body(terms("150.00", "USD"), due(10 * HOUR), offer.seq)
    kept = m.write(MODERATOR, PROPOSAL, JOINT, counter, 10)
    assert [r.kind for r in kept] == [PROPOSAL, DEADLINE_ENDED]
    lapsed = body_of(DEADLINE_ENDED, kept[1].body)
    assert isinstance(lapsed, DeadlineCancelledBody) and lapsed.cause == "lapsed"
    assert m.room.facts.deadlines == {}


def test_a_moderator_cannot_fake_an_answer() -> None:
    m = mediating()
    deadline = set_deadline(m, CLIENT, "escalate", HOUR)
    fake = msgspec.json.encode(DeadlineCancelledBody(deadline.seq, "answered")).decode()
    m.refused("invalid", MODERATOR, DEADLINE_ENDED, ROOM, fake)
    with pytest.raises(RoomError):
        deadline_body("auditor", "a-1", due(HOUR), "escalate")


@pytest.mark.parametrize(
    ("variable", "value"),
    [("MEDIATION_CALENDAR_COUNTRY", "XX"), ("MEDIATION_CALENDAR_TIMEZONE", "Mars/Base")],
)
def test_a_calendar_that_cannot_be_counted_in_stops_the_start(variable: str, value: str) -> None:
    with pytest.raises(SettingsError, match=r"calendar|time zone"):
        Settings.from_env({variable: value})


def test_the_default_calendar_can_be_counted_in() -> None:
    """The default is not checked at each start (its table would load every country's
    holidays into the server): here instead."""
    assert Settings().calendar_country == DEFAULT_CALENDAR
    assert calendar_of(DEFAULT_CALENDAR) == ("US", None)
    assert not is_business_day(date(2026, 7, 3), DEFAULT_CALENDAR)  # July 4th, observed


@pytest.mark.parametrize("locale", ["en", "fr", "es", "de", "pt-BR"])
@pytest.mark.parametrize("outcome", ["accept_proposal", "resolve", "escalate"])
def test_the_warning_mail_says_when_and_what_then_in_the_partys_language(
    locale: str, outcome: str
) -> None:
    text = deadline_notice(
        locale=locale,
        name="Bruno <Roy>",
        due_at="2026-11-26T09:00:00.000Z",
        outcome=outcome,
        link="https://m.example/#signin=abc",
    )
    assert "2026-11-26 09:00" in text.plain and "2026-11-26 09:00" in text.html
    assert "https://m.example/#signin=abc" in text.plain
    assert "Bruno &lt;Roy&gt;" in text.html and "<Roy>" not in text.html
    assert "accept_proposal" not in text.plain and "{" not in text.plain  # words, not codes
    if locale == "pt-BR":
        assert text.subject == "Your answer is due soon in your mediation"


# -- the deadline an SLA policy sets on a proposal -----------------------------------


def policy_mediation(days: int | None = 2) -> Mediation:
    """A room in mediation whose priority's policy gives `days` business days to answer
    the other party's proposal (US holidays, UTC)."""
    m = Mediation()
    policy = Targets(600, 1800, 3600, proposal_answer_days=days)
    m.workflow = Workflow(policy, calendar=("US", "UTC"))
    m.room = m.workflow.opened(State.WAITING, at(0), parties=PARTY_USERS)
    m.move(MODERATOR, State.MEDIATING)
    return m


PARTY_USERS = {"client": CLIENT.user, "freelancer": FREELANCER.user}


def test_a_party_proposal_sets_the_policy_deadline_on_the_other_party() -> None:
    m = policy_mediation()
    kept = m.write(CLIENT, PROPOSAL, JOINT, proposal_body(DEAL, due(30 * 24 * HOUR)))
    assert [(r.kind, r.sender_role) for r in kept] == [(PROPOSAL, "client"), (DEADLINE, "system")]
    body = body_of(DEADLINE, kept[1].body)
    assert isinstance(body, DeadlineBody)
    expected = add_business_days(T0, 2, "US")
    assert (body.party, body.user, body.outcome) == ("freelancer", "f-1", "accept_proposal")
    assert (body.proposal, body.business_days, body.calendar) == (kept[0].seq, 2, "US")
    assert clocks.parse(body.due_at) == expected
    assert kept[1].client_id == f"policy-deadline:{kept[0].seq}"
    # unanswered, it applies like a moderator's: the proposal stands as accepted, settled
    applied = run_scheduler(m, (expected - T0).total_seconds())
    assert [r.kind for r in applied] == [DEADLINE_APPLIED, STATE]
    assert m.room.state == State.RESOLVED


def test_a_counter_proposal_answers_the_policy_deadline_and_sets_one_on_the_proposer() -> None:
    m = policy_mediation()
    first = m.write(CLIENT, PROPOSAL, JOINT, proposal_body(DEAL, due(30 * 24 * HOUR)))[0]
    counter = proposal_body(terms("500.00", "EUR"), due(30 * 24 * HOUR), first.seq)
    kept = m.write(FREELANCER, PROPOSAL, JOINT, counter, HOUR)
    assert [r.kind for r in kept] == [PROPOSAL, DEADLINE_ENDED, DEADLINE]
    ended = body_of(DEADLINE_ENDED, kept[1].body)
    assert isinstance(ended, DeadlineCancelledBody) and ended.cause == "answered"
    now_on = body_of(DEADLINE, kept[2].body)
    assert isinstance(now_on, DeadlineBody)
    assert (now_on.party, now_on.proposal) == ("client", kept[0].seq)
    assert [d.party for d in m.room.facts.deadlines.values()] == ["client"]


@pytest.mark.parametrize("case", ["no policy", "a moderator's proposal", "expires first"])
def test_no_policy_deadline_when_it_cannot_or_need_not_hold(case: str) -> None:
    m = policy_mediation(None if case == "no policy" else 2)
    who = MODERATOR if case == "a moderator's proposal" else CLIENT
    lasts = HOUR if case == "expires first" else 30 * 24 * HOUR
    kept = m.write(who, PROPOSAL, JOINT, proposal_body(DEAL, due(lasts)))
    assert [r.kind for r in kept] == [PROPOSAL]
    assert m.room.facts.deadlines == {}


def test_a_moderator_deadline_on_the_other_party_keeps_the_policy_from_setting_one() -> None:
    m = policy_mediation()
    set_deadline(m, FREELANCER, "escalate", 10 * HOUR)
    kept = m.write(CLIENT, PROPOSAL, JOINT, proposal_body(DEAL, due(30 * 24 * HOUR)))
    assert [r.kind for r in kept] == [PROPOSAL]


def test_a_room_s_own_calendar_counts_its_policy_deadlines() -> None:
    """Thursday 27 Nov 2025 is Thanksgiving in the US, a working day in Germany."""
    wednesday = (datetime(2025, 11, 26, 9, 0, tzinfo=UTC) - T0).total_seconds()
    dues = {}
    for calendar in (None, "DE"):
        m = policy_mediation(1)
        m.room.facts.calendar = calendar  # as `opened(..., calendar=)` keeps it
        offer = proposal_body(DEAL, due(wednesday + 30 * 24 * HOUR))
        kept = m.write(CLIENT, PROPOSAL, JOINT, offer, wednesday)
        body = body_of(DEADLINE, kept[-1].body)
        assert isinstance(body, DeadlineBody)
        dues[calendar] = (body.due_at, body.calendar)
    assert dues == {
        None: ("2025-11-28T09:00:00.000Z", "US"),  # the deployment's: Friday
        "DE": ("2025-11-27T09:00:00.000Z", "DE"),
    }


def test_the_calendar_a_room_opened_with_is_kept_in_clear_and_reloaded() -> None:
    workflow = Workflow()
    room = workflow.opened(State.WAITING, at(0), calendar="DE-BY")
    clear, sealed = workflow.dump(room)
    assert clear["calendar"] == "DE-BY" and "calendar" not in sealed
    assert workflow.load(State.WAITING, clear | sealed).facts.calendar == "DE-BY"

"""The settlement document, built and checked without a server: its bytes are fixed by the
records and the key; any byte changed, another key, or a transcript that says otherwise
fails verification."""

import base64
import hashlib

import msgspec
import pytest

from rooms import records
from rooms.records import (
    DeadlineBody,
    DeadlineNoticeBody,
    ProposalBody,
    ResponseBody,
    StateBody,
    Terms,
)
from transcripts import bundle, chain
from transcripts.record_line import RecordLine
from transcripts.settlement_artifact import (
    FORMAT,
    Broken,
    NotSettled,
    canonical,
    check,
    settlement_of,
    sign,
)
from transcripts.settlement_verify import verify_settlement, verify_with_bundle
from transcripts.signing import SigningKeys

ROOM = "r_unit"
TICKET = ("zendesk", "48213")
PARTIES = {"client": "u-1", "freelancer": "u-2"}
TERMS = Terms("250.00", "EUR", 'Refund "the logo" — résumé\nline two', "m-2")
KEYS = SigningKeys({"s-1": bytes(range(32))}, "s-1")
OTHER_KEYS = SigningKeys({"s-1": bytes(range(1, 33))}, "s-1")

# (channel, seq, kind, user, role, ts, body): a room from its first word to the settlement
ROWS = [
    ("joint", 1, "message", "u-1", "client", "2026-11-23T03:00:00.000Z", "hello"),
    (
        "joint",
        2,
        "proposal",
        "m-7",
        "moderator",
        "2026-11-23T03:05:31.870Z",
        records.encode(ProposalBody(TERMS, "2026-11-25T03:05:31.870Z")),
    ),
    ("joint", 3, "message", "u-2", "freelancer", "2026-11-23T03:06:00.000Z", "thinking"),
    (
        "joint",
        4,
        "response",
        "u-2",
        "freelancer",
        "2026-11-23T03:10:00.000Z",
        records.encode(ResponseBody(2, "accept")),
    ),
    (
        "joint",
        5,
        "response",
        "u-1",
        "client",
        "2026-11-23T03:20:02.311Z",
        records.encode(ResponseBody(2, "accept")),
    ),
    (
        "room",
        1,
        "state",
        "mediation",
        "system",
        "2026-11-23T03:20:02.311Z",
        records.encode(StateBody("resolved", "settled", TERMS, 2)),
    ),
]


def chained(rows: list[tuple[str, int, str, str, str, str, str]]) -> list[RecordLine]:
    out, prev = [], chain.GENESIS
    for position, (channel, seq, kind, user, role, ts, body) in enumerate(rows, start=1):
        head = chain.header(ROOM, position, channel, seq, kind, user, role, f"c{position}", ts)
        prev = chain.link(prev, head, body.encode())
        out.append(RecordLine(position, channel, seq, kind, user, role, ts, body, prev.hex()))
    return out


LINKS = chained(ROWS)
SEGMENT = LINKS[1:]  # from the proposal to the resolution


def bundle_of(links: list[RecordLine], keys: SigningKeys = KEYS) -> list[bytes]:
    """A signed transcript bundle of `links`, as the export writes one."""
    header = {
        "type": "header",
        "format": bundle.FORMAT,
        "room": {
            "id": ROOM,
            "ticket": {"provider": TICKET[0], "id": TICKET[1]},
            "state": "resolved",
            "created_at": "2026-11-23T02:40:00+00:00",
            "participants": [{"user": u, "role": r} for r, u in PARTIES.items()],
            "shredded": False,
        },
        "files": [],
        "exported_at": "2026-11-24T00:00:00.000+00:00",
    }
    lines = [bundle.line(header)]
    for link in links:
        record = {
            "type": "record",
            "position": link.position,
            "channel": link.channel,
            "seq": link.seq,
            "kind": link.kind,
            "sender": {"user": link.sender_user, "role": link.sender_role},
            "client_id": f"c{link.position}",
            "ts": link.ts,
            "body": link.body,
            "hash": link.hash,
        }
        lines.append(bundle.line(record))
    digest = hashlib.sha256(b"".join(lines)).hexdigest()
    core = bundle.footer_core(len(links), links[-1].hash, digest, keys.active)
    _, signature = keys.sign(bundle.signed_payload(core))
    return [*lines, bundle.line({**core, "signature": base64.b64encode(signature).decode()})]


def document() -> bytes:
    return sign(settlement_of(ROOM, TICKET, PARTIES, SEGMENT), KEYS)


def test_the_document_is_canonical_json_and_says_what_the_records_say() -> None:
    data = document()
    assert data == canonical(msgspec.json.decode(data))  # sorted keys, no whitespace
    doc = msgspec.json.decode(data)
    assert doc["format"] == FORMAT and doc["room"] == ROOM
    assert doc["ticket"] == {"provider": "zendesk", "id": "48213"}
    assert doc["parties"] == [
        {"role": "client", "user": "u-1"},
        {"role": "freelancer", "user": "u-2"},
    ]
    assert doc["terms"] == {
        "amount": "250.00",
        "currency": "EUR",
        "text": TERMS.text,
        "milestone": "m-2",
    }
    assert doc["proposal"] == {
        "position": 2,
        "channel": "joint",
        "seq": 2,
        "by": {"role": "moderator", "user": "m-7"},
        "ts": "2026-11-23T03:05:31.870Z",
        "hash": LINKS[1].hash,
    }
    assert [(a["role"], a["position"], a["hash"]) for a in doc["acceptances"]] == [
        ("freelancer", 4, LINKS[3].hash),
        ("client", 5, LINKS[4].hash),
    ]
    assert doc["resolution"] == {"position": 6, "ts": ROWS[5][5], "hash": LINKS[5].hash}
    assert doc["chain_head"] == {"position": 6, "hash": LINKS[5].hash}
    assert doc["issued_at"] == ROWS[5][5] and doc["key_id"] == "s-1"


def test_the_same_records_and_key_give_the_same_bytes_and_another_key_others() -> None:
    assert document() == document()
    other = sign(settlement_of(ROOM, TICKET, PARTIES, SEGMENT), OTHER_KEYS)
    assert other != document()


def test_a_party_proposal_counts_as_its_own_acceptance() -> None:
    rows = [ROWS[0], (*ROWS[1][:3], "u-2", "freelancer", *ROWS[1][5:]), ROWS[4], ROWS[5]]
    doc = settlement_of(ROOM, TICKET, PARTIES, chained(rows)[1:])
    assert [(a["role"], a["position"]) for a in doc["acceptances"]] == [
        ("freelancer", 2),
        ("client", 3),
    ]


def test_without_both_acceptances_or_a_resolution_there_is_no_settlement() -> None:
    with pytest.raises(NotSettled, match="both parties"):
        settlement_of(ROOM, TICKET, PARTIES, SEGMENT[:2] + SEGMENT[3:])
    with pytest.raises(NotSettled, match="not resolved by a settlement"):
        settlement_of(ROOM, TICKET, PARTIES, SEGMENT[:-1])
    with pytest.raises(NotSettled, match="both parties"):  # an acceptance by somebody else
        settlement_of(ROOM, TICKET, {**PARTIES, "client": "u-9"}, SEGMENT)


def test_an_intact_document_verifies() -> None:
    assert check(document(), KEYS.public())["terms"]["text"] == TERMS.text
    verdict = verify_settlement(document(), KEYS.public()["s-1"])
    assert verdict.ok, verdict.reason
    assert "250.00 EUR (proposal #2), signed by key s-1" in verdict.reason


def test_every_single_byte_changed_fails_verification() -> None:
    data, key = document(), KEYS.public()["s-1"]
    for index in range(len(data)):
        for replacement in {data[index] ^ 0x01, data[index] ^ 0x20, ord("0"), ord(" ")}:
            if replacement == data[index]:
                continue
            changed = data[:index] + bytes([replacement]) + data[index + 1 :]
            assert not verify_settlement(changed, key).ok, (index, changed[index : index + 1])


def test_bytes_added_or_removed_anywhere_fail_verification() -> None:
    data, key = document(), KEYS.public()["s-1"]
    assert not verify_settlement(data + b"\n", key).ok
    assert not verify_settlement(b" " + data, key).ok
    for index in range(len(data)):
        assert not verify_settlement(data[:index] + data[index + 1 :], key).ok, index


def test_another_key_fails_and_names_the_key() -> None:
    verdict = verify_settlement(document(), OTHER_KEYS.public()["s-1"])
    assert not verdict.ok
    assert "does not verify with the public key of 's-1'" in verdict.reason
    with pytest.raises(Broken, match="no public key"):
        check(document(), {"s-2": OTHER_KEYS.public()["s-1"]})


def test_a_re_signed_document_with_changed_terms_fails_against_the_bundle() -> None:
    doc = msgspec.json.decode(document())
    doc["terms"]["amount"] = "2500.00"
    del doc["key_id"], doc["signature"]
    forged = sign(doc, KEYS)  # our own key: the signature alone cannot tell
    assert verify_settlement(forged, KEYS.public()["s-1"]).ok
    verdict = verify_with_bundle(forged, bundle_of(LINKS), KEYS.public()["s-1"])
    assert not verdict.ok
    assert verdict.reason == "settlement against the bundle: terms differ from the transcript"


def test_the_document_matches_its_own_bundle_and_fails_against_others() -> None:
    key = KEYS.public()["s-1"]
    verdict = verify_with_bundle(document(), bundle_of(LINKS), key)
    assert verdict.ok, verdict.reason
    assert "matches the transcript (intact: 6 records" in verdict.reason
    # a longer transcript (the room went on) still holds the same records
    longer = chained([*ROWS, ("room", 2, "state", "m-7", "moderator", "2026-11-24T00:00Z", "{}")])
    assert verify_with_bundle(document(), bundle_of(longer), key).ok
    # another room's words before the proposal: every hash after them differs
    other = chained([("joint", 1, "message", "u-1", "client", ROWS[0][5], "HELLO"), *ROWS[1:]])
    verdict = verify_with_bundle(document(), bundle_of(other), key)
    assert not verdict.ok
    assert "acceptances, chain_head, proposal, resolution differ" in verdict.reason
    # a bundle whose record was altered fails as a bundle
    lines = bundle_of(LINKS)
    lines[3] = lines[3].replace(b"thinking", b"Thinking")
    verdict = verify_with_bundle(document(), lines, key)
    assert not verdict.ok and verdict.reason.startswith("bundle: line 4")
    # a bundle without the resolution (exported before it) does not hold the settlement
    verdict = verify_with_bundle(document(), bundle_of(LINKS[:5]), key)
    assert not verdict.ok and "not resolved by a settlement" in verdict.reason


def _deadline_rows(
    moderator_role: str = "moderator",
) -> list[tuple[str, int, str, str, str, str, str]]:
    """The client lets an accept_proposal deadline on proposal #2 pass: the server's
    `deadline_applied` is its acceptance, by default."""
    set_ = DeadlineBody("client", "u-1", "2026-11-23T04:00:00.000Z", "accept_proposal", proposal=2)
    applied = DeadlineNoticeBody(1, "client", "2026-11-23T04:00:00.000Z", "accept_proposal")
    return [
        *ROWS[:4],
        (
            "room",
            1,
            "deadline",
            "m-7",
            moderator_role,
            "2026-11-23T03:11:00.000Z",
            records.encode(set_),
        ),
        (
            "room",
            2,
            "deadline_applied",
            "mediation",
            "system",
            "2026-11-23T04:00:01.000Z",
            records.encode(applied),
        ),
        ("room", 3, "state", "mediation", "system", "2026-11-23T04:00:01.000Z", ROWS[5][6]),
    ]


def test_a_deadline_applied_by_default_is_the_party_s_acceptance_and_says_so() -> None:
    links = chained(_deadline_rows())
    doc = settlement_of(ROOM, TICKET, PARTIES, links[1:])
    client = [a for a in doc["acceptances"] if a["role"] == "client"]
    assert client == [
        {
            "role": "client",
            "user": "u-1",  # the party the deadline named, not the server that applied it
            "at": "2026-11-23T04:00:01.000Z",
            "position": 6,
            "hash": links[5].hash,
            "by_default": {"position": 5, "hash": links[4].hash},
        }
    ]
    data = sign(doc, KEYS)
    verdict = verify_with_bundle(data, bundle_of(links), KEYS.public()["s-1"])
    assert verdict.ok, verdict.reason


def test_a_deadline_not_set_by_a_moderator_or_the_server_accepts_nothing() -> None:
    with pytest.raises(NotSettled, match="both parties"):
        settlement_of(ROOM, TICKET, PARTIES, chained(_deadline_rows("client"))[1:])

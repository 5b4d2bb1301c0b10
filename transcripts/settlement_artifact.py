"""The settlement as a signed artifact: one canonical JSON document, Ed25519-signed.

When both parties accept a proposal, the room's transcript holds the proposal,
the acceptances, and the resolution the server wrote right after the last of
them. This module turns those records (a *segment* of the chain: from the
proposal to the resolution, in position order) into the settlement document,
signs it, and checks a signed one. It does no I/O: the server builds it from
the stored records (transcripts.settlement_reads), `mediation verify` from a
bundle's lines (transcripts.settlement_verify), with the same function.

Canonical form: the JSON text of RFC 8785 (JCS). For these documents (ASCII
keys, integer numbers only) that is exactly `msgspec.json.encode(obj,
order="sorted")`: keys sorted at every level, no whitespace, UTF-8, strings
escaped only where JSON requires it (`\\"`, `\\\\`, `\\b \\f \\n \\r \\t`,
other controls as lowercase `\\u00xx`). The signature is Ed25519 over the
canonical form of the document without its `signature` field; the file is the
canonical form of the whole document, nothing before or after it. Everything
in it comes from the records, `issued_at` included (the resolution's time), so
it is byte-identical whenever it is built with the same signing key.
docs/transcripts.md ("The settlement") is the specification.
"""

import base64
import binascii
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import msgspec
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from rooms import kinds
from rooms.deadlines import ACCEPT_PROPOSAL
from rooms.lifecycle import State
from rooms.records import (
    BadBody,
    DeadlineBody,
    DeadlineNoticeBody,
    ProposalBody,
    ResponseBody,
    StateBody,
    Terms,
    body_of,
)
from rooms.visibility import JOINT, PARTIES, ROOM, Role
from transcripts.record_line import RecordLine
from transcripts.signing import SigningKeys

FORMAT = "mediation.settlement/1"
# who sets a deadline that accepts by default: a moderator, or the server by the room's policy
SETTERS = frozenset({Role.MODERATOR, kinds.SYSTEM_ROLE})


class NotSettled(Exception):
    """The records do not show a settlement both parties accepted."""


class Broken(Exception):
    """A settlement document that does not verify; the message says why."""


def canonical(document: Mapping[str, Any]) -> bytes:
    return msgspec.json.encode(document, order="sorted")


def _terms(t: Terms) -> dict[str, Any]:
    return {"amount": t.amount, "currency": t.currency, "text": t.text, "milestone": t.milestone}


def _decoded(link: RecordLine, shape: type[Any]) -> Any:
    try:
        body = body_of(link.kind, link.body)
    except BadBody:
        return None
    return body if isinstance(body, shape) else None


@dataclass(frozen=True, slots=True)
class _Acceptance:
    """A party's acceptance of the proposal: its own proposal, its `response`, or (by
    default) the server's `deadline_applied` of an accept_proposal deadline it let pass."""

    role: str
    user: str
    link: RecordLine
    deadline: RecordLine | None = None  # accepted by default: the deadline that said so

    def entry(self) -> dict[str, Any]:
        link = self.link
        entry: dict[str, Any] = {"role": self.role, "user": self.user, "at": link.ts}
        entry |= {"position": link.position, "hash": link.hash}
        if self.deadline is not None:
            entry["by_default"] = {"position": self.deadline.position, "hash": self.deadline.hash}
        return entry


def _acceptances(proposal: RecordLine, between: Sequence[RecordLine]) -> list[_Acceptance]:
    """Who accepted `proposal` in the records `between` it and the resolution."""
    accepted = [_Acceptance(proposal.sender_role, proposal.sender_user, proposal)]
    if proposal.sender_role not in PARTIES:
        accepted = []
    deadlines: dict[int, tuple[RecordLine, DeadlineBody]] = {}
    for link in between:
        if link.kind == kinds.RESPONSE and link.channel == JOINT and link.sender_role in PARTIES:
            answer = _decoded(link, ResponseBody)
            if answer is not None and (answer.proposal, answer.answer) == (proposal.seq, "accept"):
                accepted.append(_Acceptance(link.sender_role, link.sender_user, link))
        elif link.kind == kinds.DEADLINE and link.channel == ROOM and link.sender_role in SETTERS:
            set_ = _decoded(link, DeadlineBody)
            if set_ is not None and (set_.outcome, set_.proposal) == (
                ACCEPT_PROPOSAL,
                proposal.seq,
            ):
                deadlines[link.seq] = (link, set_)
        elif link.kind == kinds.DEADLINE_APPLIED and link.sender_role == kinds.SYSTEM_ROLE:
            applied = _decoded(link, DeadlineNoticeBody)
            named = deadlines.get(applied.deadline) if applied is not None else None
            if named is not None and link.channel == ROOM:
                accepted.append(_Acceptance(named[1].party, named[1].user, link, named[0]))
    # A side accepts once; with several people on it, its last acceptance is the one that
    # counted (a proposal by a member who does not decide, then its decision-maker's yes).
    last = {a.role: a for a in accepted}
    return [a for a in accepted if last[a.role] is a]


def settlement_of(
    room: str,
    ticket: tuple[str, str],
    parties: Mapping[str, str],
    segment: Sequence[RecordLine],
    sides: Mapping[str, Collection[str]] | None = None,
) -> dict[str, Any]:
    """The settlement the records show, unsigned and without a key id: `segment` runs
    from the accepted proposal to the resolution that follows the last acceptance;
    `parties` maps "client" and "freelancer" to the room's users (each side's first);
    `sides` to every person each side had (rooms.members; default: its first alone):
    any of them may have accepted for the side."""
    people = sides or {role: (user,) for role, user in parties.items()}
    if not segment:
        raise NotSettled("no records")
    proposal, resolution = segment[0], segment[-1]
    resolved = _decoded(resolution, StateBody)
    if (
        resolution.kind != kinds.STATE
        or resolution.channel != ROOM
        or resolution.sender_role != kinds.SYSTEM_ROLE
        or resolved is None
        or resolved.to != State.RESOLVED
        or resolved.terms is None
        or resolved.proposal is None
    ):
        raise NotSettled("the room was not resolved by a settlement")
    offered = _decoded(proposal, ProposalBody)
    if (
        proposal.kind != kinds.PROPOSAL
        or proposal.channel != JOINT
        or proposal.seq != resolved.proposal
        or offered is None
    ):
        raise NotSettled(f"the records do not start at proposal #{resolved.proposal}")
    if offered.terms != resolved.terms:
        raise NotSettled("the resolution's terms are not the proposal's")
    accepted = _acceptances(proposal, segment[1:-1])
    if sorted(a.role for a in accepted) != sorted(PARTIES) or any(
        a.user not in people.get(a.role, ()) for a in accepted
    ):
        raise NotSettled(f"proposal #{proposal.seq} was not accepted by both parties")
    return {
        "format": FORMAT,
        "room": room,
        "ticket": {"provider": ticket[0], "id": ticket[1]},
        "parties": [
            {"role": role, "user": parties[role]} for role in (Role.CLIENT, Role.FREELANCER)
        ],
        "terms": _terms(offered.terms),
        "proposal": {
            "position": proposal.position,
            "channel": proposal.channel,
            "seq": proposal.seq,
            "by": {"role": proposal.sender_role, "user": proposal.sender_user},
            "ts": proposal.ts,
            "hash": proposal.hash,
        },
        "acceptances": [a.entry() for a in accepted],
        "resolution": {
            "position": resolution.position,
            "ts": resolution.ts,
            "hash": resolution.hash,
        },
        # The chain's head once the settlement was recorded: the resolution's link, which
        # commits to every record before it.
        "chain_head": {"position": resolution.position, "hash": resolution.hash},
        "issued_at": resolution.ts,
    }


def sign(settlement: Mapping[str, Any], signing: SigningKeys) -> bytes:
    """The signed document's bytes: the canonical form with `key_id` and `signature`."""
    unsigned = {**settlement, "key_id": signing.active}
    key_id, signature = signing.sign(canonical(unsigned))
    assert key_id == unsigned["key_id"]
    return canonical({**unsigned, "signature": base64.b64encode(signature).decode()})


def check(
    data: bytes, public_keys: Ed25519PublicKey | Mapping[str, Ed25519PublicKey]
) -> dict[str, Any]:
    """The document in `data`, once it is exactly canonical and its signature verifies
    (Broken otherwise): with the one key given, or the one of the id it names."""
    try:
        document = msgspec.json.decode(data)
    except msgspec.DecodeError:
        raise Broken("not JSON") from None
    if not isinstance(document, dict) or document.get("format") != FORMAT:
        raise Broken(f"not a {FORMAT} document")
    if canonical(document) != data:
        raise Broken("not in canonical form (changed, reformatted or with bytes around it)")
    signature, key_id = document.pop("signature", None), document.get("key_id")
    if not isinstance(signature, str) or not isinstance(key_id, str):
        raise Broken("no signature or key id")
    try:
        raw = base64.b64decode(signature, validate=True)
    except (binascii.Error, ValueError):
        raise Broken("the signature is not base64") from None
    if base64.b64encode(raw).decode() != signature:
        raise Broken("the signature is not in canonical base64")
    key = public_keys if isinstance(public_keys, Ed25519PublicKey) else public_keys.get(key_id)
    if key is None:
        raise Broken(f"no public key for signing key {key_id!r}")
    try:
        key.verify(raw, canonical(document))
    except InvalidSignature:
        raise Broken(f"the signature does not verify with the public key of {key_id!r}") from None
    return document

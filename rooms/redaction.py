"""Redaction: a moderator removes a message's text, and the transcript still verifies.

A `redaction` record, written by a moderator in the message's own channel (so
exactly the people who could read the text see the notice), names the message
by its seq and gives a reason from `REASONS` (a code, never free text: a typed
reason could repeat the very card number it removes). In the commit that stores
it, the message's ciphertext and those of all its edits (their bodies carry
text too) are destroyed and each record keeps only the SHA-256 of its body, so
its link in the hash chain, and every export made before, still verify
(docs/transcripts.md, "Redactions"). Retractions carry no text and stay; files
have their own deletion (`file_deleted`). A redacted message is not edited or
retracted again (the store refuses it, `conflict`).

The rule (`complete`) is pure: the store says what it found of the target
(`Found`), and the rule refuses or returns the body to store, its `edits` filled
in by the server. Tested directly (tests/test_redaction_unit.py).
"""

from dataclasses import dataclass

from rooms import kinds, records
from rooms.errors import Conflict, Forbidden, RoomError
from rooms.records import RedactionBody
from rooms.visibility import Role

# Why a text was removed: shown translated to everyone who reads the channel, sent
# as is to webhooks.
REASONS = ("personal_data", "payment_data", "abuse", "other")


@dataclass(frozen=True, slots=True)
class Found:
    """What the store holds of a redaction's target, in the redaction's channel."""

    kind: str
    redacted: bool  # its text is already gone
    edits: tuple[int, ...] = ()  # the seqs of the edits of it


@dataclass(frozen=True, slots=True)
class Removed:
    """How a redacted record reads back: who removed its text, when, and why."""

    by: str
    role: str
    at: str
    reason: str


def body(target: int, reason: str) -> str:
    """A moderator's redaction as sent: the server adds the edits in the commit."""
    return records.encode(RedactionBody(target, _reason(reason)))


def parse(text: str) -> RedactionBody:
    try:
        parsed = records.body_of(kinds.REDACTION, text)
    except records.BadBody as exc:
        raise RoomError(f"malformed redaction: {exc}") from None
    assert isinstance(parsed, RedactionBody)
    return parsed


def complete(role: str, channel: str, text: str, found: Found | None) -> RedactionBody:
    """The redaction to store, or RoomError: only a moderator, only a message that exists
    in `channel` and still has its text; its edits go with it."""
    if role != Role.MODERATOR:
        raise Forbidden("only a moderator removes a message's text")
    asked = parse(text)
    _reason(asked.reason)
    if found is None or found.kind != kinds.MESSAGE:
        raise RoomError(f"no message #{asked.target} in {channel} to redact")
    if found.redacted:
        raise Conflict(f"message #{asked.target} in {channel} was already removed")
    return RedactionBody(asked.target, asked.reason, sorted(found.edits))


def removed(by: str, role: str, at: str, text: str) -> Removed:
    """The notice a redaction record gives the records it names."""
    return Removed(by, role, at, parse(text).reason)


def named(text: str) -> list[int]:
    """The seqs a redaction's body names: its target and the target's edits."""
    redaction = parse(text)
    return [redaction.target, *redaction.edits]


def _reason(reason: str) -> str:
    if reason not in REASONS:
        raise RoomError(f"a redaction's reason is one of {', '.join(REASONS)}")
    return reason


class Coverage:
    """The rule of a bundle's redactions: a record without its body (but with its body's
    SHA-256) must be named by a later `redaction` record of its channel (a message as
    its target, an edit in its edits), and a redaction names only such records."""

    def __init__(self) -> None:
        self._bodiless: dict[tuple[str, int], tuple[str, int]] = {}  # -> kind, position
        self._named: set[tuple[str, int]] = set()
        self.redactions = 0

    def bodiless(self, channel: str, seq: int, kind: str, position: int) -> None:
        self._bodiless[(channel, seq)] = (kind, position)

    def redaction(self, channel: str, body: str) -> None:
        """ValueError unless every record it names came before it, without its body."""
        try:
            parsed = parse(body)
        except RoomError as exc:
            raise ValueError(str(exc)) from None
        self.redactions += 1
        wanted = [(parsed.target, kinds.MESSAGE)] + [(seq, kinds.EDIT) for seq in parsed.edits]
        for seq, kind in wanted:
            found = self._bodiless.get((channel, seq))
            if found is None or found[0] != kind:
                raise ValueError(f"it names {channel} #{seq}, which is no {kind} without body")
            self._named.add((channel, seq))

    def finish(self) -> None:
        """ValueError naming a bodiless record that no redaction names."""
        for key, (_kind, position) in self._bodiless.items():
            if key not in self._named:
                raise ValueError(
                    f"record at position {position} ({key[0]} #{key[1]}) has no body "
                    "and no redaction names it"
                )

"""The authorization matrix: who may do what, where, as ONE table.

Rows are actions (over the socket or HTTP) in a scope: the principal's `own`
room (the room its token names) or an `other` room (one it holds nothing
in); actions that name no room have one row (`any`). Columns are principals
(`PRINCIPALS`, in order). Each cell is the outcome the product promises:
allowed, or the stable error code (with the HTTP status, or the socket close
code for a refused `hello`). tests/test_authorization_matrix.py asserts
every cell against a real server.

Sources: docs/protocol.md (§3, §5, §7, §12, §13), docs/http.md,
docs/transcripts.md, rooms/visibility.py and rooms/workflow.py.
"""

from dataclasses import dataclass
from enum import Enum, StrEnum


class Principal(StrEnum):
    """Who acts, and with what credential.

    client, freelancer: a room token of their room. moderator, auditor: a room
    token of the room (the auditor's with a purpose) and a staff token, used for
    the staff endpoints (queue, claim, join). stranger: another room's party (a
    valid client token of a third room). expired, revoked: a client's room
    token and a moderator's staff token, expired or revoked. none: no
    credential. platform: the API key. arbitrator: a room token of the room in the
    arbitrator's role (it has no staff token). observer: a room token in the observer's
    role, and a staff token of its own (queue, claim, join). client_2: a room token of the
    client side's second member (added over the API, rooms.members).
    """

    CLIENT = "client"
    FREELANCER = "freelancer"
    MODERATOR = "moderator"
    AUDITOR = "auditor"
    STRANGER = "stranger"
    EXPIRED = "expired"
    REVOKED = "revoked"
    NONE = "none"
    PLATFORM = "platform"
    ARBITRATOR = "arbitrator"
    OBSERVER = "observer"  # a room token in the observer's role, and a staff token
    CLIENT_2 = "client_2"  # the client side's second member


PRINCIPALS = tuple(Principal)


class Scope(StrEnum):
    OWN = "own"  # the room the principal's token names
    OTHER = "other"  # a room it holds nothing in
    ANY = "any"  # the action names no room


class Transport(Enum):
    SOCKET = "socket"
    HTTP = "http"


class Setup(Enum):
    """What the target room must be like; rooms that an allowed action changes for
    everyone after it (its state, its floor) are made afresh for each cell."""

    SHARED = "shared"  # the module's rooms: mediating, seeded with a message and two files
    WAITING = "waiting"  # a fresh room nobody claimed yet
    MEDIATING = "mediating"  # a fresh claimed room
    PROPOSED = "proposed"  # a fresh claimed room with the freelancer's open proposal
    FAILED = "failed"  # a fresh room whose mediation the moderator failed (the window runs)
    ARBITRATION = "arbitration"  # a fresh failed room the client opted in to arbitration
    SPOKEN = "spoken"  # a fresh claimed room with the client's message in joint


@dataclass(frozen=True)
class Action:
    name: str
    transport: Transport
    setup: Setup = Setup.SHARED
    channel: str = ""  # send, history: the channel; download: the file's channel


S, H = Transport.SOCKET, Transport.HTTP
CHANNELS = ("joint", "caucus:client", "caucus:freelancer", "notes", "room")

HELLO = Action("hello", S)
SEND = {c: Action(f"send:{c}", S, channel=c) for c in CHANNELS}
HISTORY = {c: Action(f"history:{c}", S, channel=c) for c in CHANNELS}
EDIT = Action("edit", S)  # of the client's message in joint
TRANSITION = Action("transition", S, Setup.MEDIATING)  # mediating -> escalated
PROPOSE = Action("propose", S)
RESPOND = Action("respond", S, Setup.PROPOSED)  # accept the freelancer's proposal
FLOOR = Action("floor", S, Setup.MEDIATING)  # mute the client
EXPORT = Action("export", H)
UPLOAD = Action("upload", H)  # to joint
DOWNLOAD = {c: Action(f"download:{c}", H, channel=c) for c in ("joint", "caucus:client")}
DELETE = Action("delete", H)  # a file the client just uploaded to joint
CLAIM = Action("claim", H, Setup.WAITING)
JOIN = Action("join", H)  # POST /api/rooms/{id}/join: a room token for a staff member
QUEUE = Action("queue", H)  # names no room
REPORTS = Action("reports", H)  # names no room
OPT_IN = Action("opt_in", S, Setup.FAILED)  # a party asks for arbitration
DECIDE = Action("decide", S, Setup.ARBITRATION)  # the arbitrator's decision
REDACT = Action("redact", S, Setup.SPOKEN)  # remove the text of the client's message
CO_MODERATOR = Action("co_moderator", S, Setup.MEDIATING)  # name m-2 a co-moderator
REVIEW_INBOX = Action("review_inbox", H)  # GET /api/review/inbox: names no room
REVIEW_REPORT = Action("review_report", H)  # GET /api/reports/reviews: names no room
MEMBERS = Action("members", H)  # POST /api/rooms/{id}/members: add a person to a side
# a proposal in a room nobody claimed: the parties negotiate by themselves (rooms.self_serve)
PROPOSE_WAITING = Action("propose_waiting", S, Setup.WAITING)
PROFILE = Action("profile", H)  # GET /api/moderators/{the moderator}: names no room
PROFILE_PUT = Action("profile_put", H)  # PUT /api/moderators/{the moderator}


@dataclass(frozen=True)
class Outcome:
    """`code` None: allowed. Else the stable error code, with the HTTP `status` or, for a
    refused `hello`, the socket's `close` code."""

    code: str | None = None
    status: int | None = None  # HTTP: the status, success included
    close: int | None = None  # socket: the close code that follows the error

    @property
    def allowed(self) -> bool:
        return self.code is None

    def __str__(self) -> str:
        detail = self.status or self.close or ""
        return f"{self.code or 'allowed'}{f' {detail}' if detail else ''}"


# socket outcomes
OK = Outcome()
FORBIDDEN = Outcome("forbidden")
UNAUTHORIZED = Outcome("unauthorized", close=4401)  # the hello fails: no action is possible
# HTTP outcomes
H200, H201 = Outcome(status=200), Outcome(status=201)
H400 = Outcome("invalid", 400)
H401 = Outcome("unauthorized", 401)
H403 = Outcome("forbidden", 403)
H404 = Outcome("not_found", 404)  # a file in a channel the caller cannot read does not exist

Row = tuple[Outcome, ...]
U = UNAUTHORIZED
F = FORBIDDEN
CONFLICT = Outcome("conflict")  # allowed to its role, not in the room's state

# Columns: client, freelancer, moderator, auditor, stranger, expired, revoked, none, platform
# (then the arbitrator's and the observer's, kept apart below).
TABLE: dict[tuple[Action, Scope], Row] = {
    # -- the socket: every action needs a hello; a refused hello closes with 4401 -----
    (HELLO, Scope.OWN): (OK, OK, OK, OK, U, U, U, U, U),
    (SEND["joint"], Scope.OWN): (OK, OK, OK, F, U, U, U, U, U),
    (SEND["caucus:client"], Scope.OWN): (OK, F, OK, F, U, U, U, U, U),
    (SEND["caucus:freelancer"], Scope.OWN): (F, OK, OK, F, U, U, U, U, U),
    (SEND["notes"], Scope.OWN): (F, F, OK, F, U, U, U, U, U),
    (SEND["room"], Scope.OWN): (F, F, F, F, U, U, U, U, U),
    (HISTORY["joint"], Scope.OWN): (OK, OK, OK, OK, U, U, U, U, U),
    (HISTORY["caucus:client"], Scope.OWN): (OK, F, OK, OK, U, U, U, U, U),
    (HISTORY["caucus:freelancer"], Scope.OWN): (F, OK, OK, OK, U, U, U, U, U),
    (HISTORY["notes"], Scope.OWN): (F, F, OK, OK, U, U, U, U, U),
    (HISTORY["room"], Scope.OWN): (OK, OK, OK, OK, U, U, U, U, U),
    (EDIT, Scope.OWN): (OK, F, F, F, U, U, U, U, U),  # only its sender edits a message
    (TRANSITION, Scope.OWN): (F, F, OK, F, U, U, U, U, U),
    (PROPOSE, Scope.OWN): (OK, OK, OK, F, U, U, U, U, U),
    (RESPOND, Scope.OWN): (OK, F, F, F, U, U, U, U, U),  # never one's own proposal
    (FLOOR, Scope.OWN): (F, F, OK, F, U, U, U, U, U),
    (REDACT, Scope.OWN): (F, F, OK, F, U, U, U, U, U),  # a moderator only, any message
    # -- HTTP, with the room token (parties, stranger) or the staff token (staff) ----
    (EXPORT, Scope.OWN): (H403, H403, H403, H200, H403, H401, H401, H401, H200),
    (UPLOAD, Scope.OWN): (H201, H201, H201, H403, H403, H401, H401, H401, H401),
    (DOWNLOAD["joint"], Scope.OWN): (H200, H200, H200, H200, H403, H401, H401, H401, H401),
    (DOWNLOAD["caucus:client"], Scope.OWN): (
        H200,
        H404,
        H200,
        H200,
        H403,
        H401,
        H401,
        H401,
        H401,
    ),
    (DELETE, Scope.OWN): (H200, H403, H200, H403, H403, H401, H401, H401, H401),
    (CLAIM, Scope.OWN): (H401, H401, H200, H403, H401, H401, H401, H401, H200),
    (JOIN, Scope.OWN): (H401, H401, H201, H201, H401, H401, H401, H401, H400),
    (QUEUE, Scope.ANY): (H401, H401, H200, H403, H401, H401, H401, H401, H200),
    (REPORTS, Scope.ANY): (H401, H401, H401, H401, H401, H401, H401, H401, H200),
    (OPT_IN, Scope.OWN): (OK, OK, F, F, U, U, U, U, U),
    (DECIDE, Scope.OWN): (F, F, F, F, U, U, U, U, U),
    # the lead moderator (the matrix's moderator claimed every room) names co-moderators
    (CO_MODERATOR, Scope.OWN): (F, F, OK, F, U, U, U, U, U),
    (REVIEW_INBOX, Scope.ANY): (H401, H401, H200, H403, H401, H401, H401, H401, H200),
    (REVIEW_REPORT, Scope.ANY): (H401, H401, H401, H401, H401, H401, H401, H401, H200),
    # a moderator proposes once the room is claimed (conflict: not yet)
    (PROPOSE_WAITING, Scope.OWN): (OK, OK, CONFLICT, F, U, U, U, U, U),
    # a moderator reads their own routing profile; only the API key sets one
    (PROFILE, Scope.ANY): (H401, H401, H200, H403, H401, H401, H401, H401, H200),
    (PROFILE_PUT, Scope.ANY): (H401, H401, H401, H401, H401, H401, H401, H401, H200),
}

# The arbitrator's column (its room token): it reads joint and room, files of those
# channels included, and writes nothing but its decision. Kept apart so each row above
# stays as it was; every row must have its cell here.
ARBITRATOR: dict[Action, Outcome] = {
    HELLO: OK,
    **{action: F for action in SEND.values()},
    HISTORY["joint"]: OK,
    HISTORY["caucus:client"]: F,
    HISTORY["caucus:freelancer"]: F,
    HISTORY["notes"]: F,
    HISTORY["room"]: OK,
    EDIT: F,
    TRANSITION: F,
    PROPOSE: F,
    RESPOND: F,
    FLOOR: F,
    EXPORT: H403,
    UPLOAD: H403,
    DOWNLOAD["joint"]: H200,
    DOWNLOAD["caucus:client"]: H404,
    DELETE: H403,
    CLAIM: H401,
    JOIN: H401,
    QUEUE: H401,
    REPORTS: H401,
    OPT_IN: F,
    DECIDE: OK,
    REDACT: F,  # only a moderator redacts
    CO_MODERATOR: F,
    REVIEW_INBOX: H401,  # peer review is for staff tokens
    REVIEW_REPORT: H401,
    PROPOSE_WAITING: F,
    PROFILE: H401,
    PROFILE_PUT: H401,
}
for (_action, _scope), _row in list(TABLE.items()):
    TABLE[_action, _scope] = (*_row, ARBITRATOR[_action])

# Adding people to a side: the platform, or the room's own moderator (a staff token);
# room tokens are no credential for it (401), an auditor's staff token is refused (403).
# Columns as in TABLE, the arbitrator's last.
TABLE[MEMBERS, Scope.OWN] = (H401, H401, H201, H403, H401, H401, H401, H401, H201, H401)

# The observer's column (a room token in the observer's role; its staff token for the
# queue, claim and join): it reads every channel a moderator reads, files included, and
# every write is refused. Its staff token reads the queue and joins rooms, never claims.
OBSERVER: dict[Action, Outcome] = {
    HELLO: OK,
    **{action: F for action in SEND.values()},
    **{action: OK for action in HISTORY.values()},
    EDIT: F,
    TRANSITION: F,
    PROPOSE: F,
    RESPOND: F,
    FLOOR: F,
    EXPORT: H403,  # an export is the auditor's, with a purpose
    UPLOAD: H403,
    DOWNLOAD["joint"]: H200,
    DOWNLOAD["caucus:client"]: H200,
    DELETE: H403,
    CLAIM: H403,
    JOIN: H201,
    QUEUE: H200,
    REPORTS: H401,
    OPT_IN: F,
    DECIDE: F,
    REDACT: F,
    CO_MODERATOR: F,
    REVIEW_INBOX: H403,  # peer review is for moderators
    REVIEW_REPORT: H401,
    MEMBERS: H403,  # its staff token is not the room's moderator's
    PROPOSE_WAITING: F,
    PROFILE: H403,  # a moderator's own profile; the observer's staff token is not one
    PROFILE_PUT: H401,
}
for (_action, _scope), _row in list(TABLE.items()):
    TABLE[_action, _scope] = (*_row, OBSERVER[_action])

# The client side's second member's column: she shares the client's role, so she reads and
# writes what the client does; what is the first client's own (the message she edits, the
# file she deletes) is not hers. Kept apart so each row above stays as it was.
SECOND_CLIENT: dict[Action, Outcome] = {
    action: row[0] for (action, scope), row in TABLE.items() if scope is not Scope.ANY
} | {
    EDIT: F,  # only its sender edits a message
    DELETE: H403,  # only its uploader (or a moderator) deletes a file
    MEMBERS: H401,
    REVIEW_INBOX: H401,  # peer review is for staff tokens
    REVIEW_REPORT: H401,
    PROFILE: H401,
    PROFILE_PUT: H401,
    QUEUE: H401,
    REPORTS: H401,
}
for (_action, _scope), _row in list(TABLE.items()):
    TABLE[_action, _scope] = (*_row, SECOND_CLIENT[_action])

# In a room it holds nothing in, a room token opens nothing: the socket refuses the hello
# (its `room` names another room than the token's) and HTTP says 403. Staff tokens and the
# API key are not bound to a room, so they fare as in their own.
_OTHER_HTTP: dict[Action, Row] = {
    EXPORT: (H403, H403, H403, H403, H403, H401, H401, H401, H200, H403, H403),
    UPLOAD: (H403, H403, H403, H403, H403, H401, H401, H401, H401, H403, H403),
    DOWNLOAD["joint"]: (H403, H403, H403, H403, H403, H401, H401, H401, H401, H403, H403),
    DOWNLOAD["caucus:client"]: (H403,) * 5 + (H401,) * 4 + (H403, H403),
    DELETE: (H403, H403, H403, H403, H403, H401, H401, H401, H401, H403, H403),
    CLAIM: TABLE[CLAIM, Scope.OWN],
    JOIN: TABLE[JOIN, Scope.OWN],
    MEMBERS: TABLE[MEMBERS, Scope.OWN],  # the moderator of the shared rooms is the same
}
for _action, _row in list(_OTHER_HTTP.items()):  # a second client fares as the client
    if len(_row) < len(PRINCIPALS):
        _OTHER_HTTP[_action] = (*_row, _row[0])
for (_action, _scope), _row in list(TABLE.items()):
    if _scope is Scope.OWN:
        TABLE[_action, Scope.OTHER] = (
            (U,) * len(PRINCIPALS) if _action.transport is S else _OTHER_HTTP[_action]
        )


@dataclass(frozen=True)
class Cell:
    principal: Principal
    action: Action
    scope: Scope
    expected: Outcome

    @property
    def id(self) -> str:
        return f"{self.action.name}-{self.scope}-{self.principal}"


def cells() -> list[Cell]:
    """Every cell of the table, one per principal, action and scope."""
    return [
        Cell(principal, action, scope, outcome)
        for (action, scope), row in TABLE.items()
        for principal, outcome in zip(PRINCIPALS, row, strict=True)
    ]

"""The kinds of record a room's transcript holds, and who writes them.

A message is what people say; every other kind is an event with a JSON
body (docs/protocol.md lists each one's fields).
"""

MESSAGE = "message"
JOINED = "joined"  # someone's first join (room channel)
EDIT = "edit"
RETRACT = "retract"
STATE = "state"  # the lifecycle moved (room channel)
FLOOR = "floor"  # a mute or a pause (room channel)
CAUCUS = "caucus"  # a private session opened or closed (room channel: content never)
HANDOFF = "handoff"  # transfer or escalation brief (notes)
PROPOSAL = "proposal"  # settlement terms (joint)
RESPONSE = "response"  # accept or reject of a proposal (joint)
CSAT = "csat"  # a party's rating once resolved (its caucus)
OVERDUE = "overdue"  # a response clock passed its target (notes: the moderator is nudged)
REMINDER = "reminder"  # a party has not replied in time (its caucus)
FILE = "file"  # a file in the evidence locker (its channel)
FILE_DELETED = "file_deleted"  # its blob destroyed; the record stays (its channel)
# Arbitration, once a mediation failed (rooms/arbitration.py), all in the room channel:
ARBITRATION_WINDOW = "opt_in_window"  # the server: until when the parties may opt in
ARBITRATION_OPT_IN = "opt_in"  # a party asks for arbitration
DECISION = "decision"  # the arbitrator's decision, with terms: the room resolves with it
# Deadlines with a default outcome (room channel; rooms/deadlines.py)
DEADLINE = "deadline"  # a moderator asks a party to answer by a time, or an outcome applies
DEADLINE_ENDED = "deadline_ended"  # answered in time, withdrawn, or lapsed
DEADLINE_WARNING = "deadline_warning"  # the server: the deadline falls due soon
DEADLINE_APPLIED = "deadline_applied"  # the server: it fell due; its outcome follows
EVIDENCE_REQUEST = "evidence_request"  # a moderator asks a party for an item by a date
EVIDENCE_REVIEW = "evidence_review"  # a moderator marks a request satisfied or not
REDACTION = "redaction"  # a moderator removed a message's text (the message's channel)
# More people per party (rooms/members.py), room channel, the server's voice:
MEMBER_ADDED = "member_added"  # a person joined a side (over the API)
MEMBER_REMOVED = "member_removed"  # a person left a side: their tokens are revoked

COMODERATOR = "comoderator"  # the lead moderator adds or removes a co-moderator (room channel)

MODERATOR_ACTIONS = frozenset({STATE, FLOOR, CAUCUS, HANDOFF, DEADLINE, DEADLINE_ENDED, REDACTION})

# The server's own voice: settlement resolutions, alarms. Never a token's role.
SYSTEM_USER = "mediation"
SYSTEM_ROLE = "system"

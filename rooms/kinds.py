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
REDACTION = "redaction"  # a moderator removed a message's text (the message's channel)

MODERATOR_ACTIONS = frozenset({STATE, FLOOR, CAUCUS, HANDOFF, REDACTION})

# The server's own voice: settlement resolutions, alarms. Never a token's role.
SYSTEM_USER = "mediation"
SYSTEM_ROLE = "system"

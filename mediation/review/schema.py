"""The peer review tables: scorecards (versioned), the week's assignments, the reviews.

A review is the reviewer's words about a colleague's work, not a party's: it is
kept in clear, as plainly as the access log keeps its entries, and it lives
outside every room's transcript (shredding a room leaves its reviews; the
review names the room only by id).
"""

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    ForeignKey,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from transcripts.schema import UTCDateTime, metadata

scorecards = Table(
    "scorecards",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),  # the version
    Column("criteria", JSON, nullable=False),  # [{key, label, description, weight}]
    Column("created_by", String(128), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("active", Boolean, nullable=False),  # the newest version only
)

review_assignments = Table(
    "review_assignments",
    metadata,
    Column("id", Integer, primary_key=True, autoincrement=True),
    Column("week", String(8), nullable=False),  # ISO week: 2026-W49
    Column("reviewer", String(128), nullable=False),
    Column("room_id", String(40), nullable=False),
    Column("moderator", String(128), nullable=False),  # the moderator reviewed
    Column("assigned_at", UTCDateTime, nullable=False),
    Column("completed_at", UTCDateTime, nullable=True),
    UniqueConstraint("week", "reviewer", "room_id"),  # two processes assign once
)

reviews = Table(
    "reviews",
    metadata,
    Column("assignment_id", ForeignKey("review_assignments.id"), primary_key=True),  # once
    Column("scorecard_id", ForeignKey("scorecards.id"), nullable=False),
    Column("scores", JSON, nullable=False),  # {criterion key: 1..5}
    Column("comment", Text, nullable=False),
    Column("submitted_at", UTCDateTime, nullable=False),
)

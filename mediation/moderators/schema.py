"""The moderator profile table: one row per moderator who has a profile."""

from sqlalchemy import JSON, Column, Integer, String, Table

from transcripts.schema import UTCDateTime, metadata

moderators = Table(
    "moderators",
    metadata,
    Column("user", String(128), primary_key=True),  # the staff token's user
    Column("languages", JSON, nullable=False),  # BCP 47 primary subtags: ["de", "en"]
    Column("skills", JSON, nullable=False),  # lowercase tags: ["payments"]
    Column("tier", Integer, nullable=False),  # the highest tier they handle
    Column("updated_by", String(128), nullable=False),  # "api-key"
    Column("updated_at", UTCDateTime, nullable=False),
)

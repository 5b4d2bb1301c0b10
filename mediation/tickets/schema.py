"""The built-in `local` provider's tickets, beside the transcript tables."""

from sqlalchemy import Column, String, Table

from transcripts.schema import UTCDateTime, metadata

tickets = Table(
    "tickets",
    metadata,
    Column("provider", String(32), primary_key=True),
    Column("external_id", String(128), primary_key=True),
    Column("subject", String(512), nullable=False, server_default=""),
    Column("status", String(32), nullable=False, server_default="open"),
    Column("created_at", UTCDateTime, nullable=False),
)

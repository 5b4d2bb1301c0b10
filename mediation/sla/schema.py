"""The SLA policy table: one row per ticket priority that has its own targets."""

from sqlalchemy import Column, Float, String, Table

from transcripts.schema import UTCDateTime, metadata

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", String(16), primary_key=True),  # urgent | high | normal | low
    # seconds before each clock's alarm fires (rooms.clocks.Targets)
    Column("first_response", Float, nullable=False),
    Column("answer", Float, nullable=False),
    Column("reply", Float, nullable=False),
    Column("updated_by", String(128), nullable=False),  # "api-key" or the staff user
    Column("updated_at", UTCDateTime, nullable=False),
)

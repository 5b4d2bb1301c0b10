"""The SLA policy table: one row per ticket priority that has its own targets."""

from sqlalchemy import Column, Float, Integer, String, Table

from transcripts.schema import UTCDateTime, metadata

sla_policies = Table(
    "sla_policies",
    metadata,
    Column("priority", String(16), primary_key=True),  # urgent | high | normal | low
    # seconds before each clock's alarm fires (rooms.clocks.Targets)
    Column("first_response", Float, nullable=False),
    Column("answer", Float, nullable=False),
    Column("reply", Float, nullable=False),
    # business days to answer the other party's proposal, else it stands as accepted
    Column("proposal_answer_days", Integer, nullable=True),
    Column("updated_by", String(128), nullable=False),  # "api-key" or the staff user
    Column("updated_at", UTCDateTime, nullable=False),
)

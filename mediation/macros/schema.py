"""Saved replies moderators insert into a conversation."""

from sqlalchemy import Column, String, Table, Text

from transcripts.schema import UTCDateTime, metadata

macros = Table(
    "macros",
    metadata,
    Column("name", String(64), primary_key=True),  # what moderators pick it by, e.g. "welcome"
    Column("title", String(200), nullable=False),
    Column("body", Text, nullable=False),  # with {placeholders}: see mediation.macros.render
    Column("updated_by", String(128), nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
)

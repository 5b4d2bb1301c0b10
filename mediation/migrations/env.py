"""Alembic environment: always run with a connection handed in by `mediation.migrate`."""

from alembic import context

import mediation.macros.schema
import mediation.moderators.schema
import mediation.review.schema
import mediation.sla.schema
import mediation.tickets.schema  # noqa: F401  (registers its tables on the metadata)
from transcripts.schema import metadata

connection = context.config.attributes["connection"]
context.configure(
    connection=connection,
    target_metadata=metadata,
    render_as_batch=connection.dialect.name == "sqlite",  # SQLite alters by copying tables
)
with context.begin_transaction():
    context.run_migrations()

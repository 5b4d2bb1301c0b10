"""sealed workflow facts: party words and amounts under the room's data key

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-24 09:00:00.000000

The facts that are not sorted or filtered on (offer, settlement, ratings,
floor, caucus) move from the clear `workflow` JSON into `sealed_facts`,
sealed under each room's data key: the migration needs the keyring, which
`mediation migrate` and the server's own start hand it. A shredded room's
facts cannot be sealed any more: they are dropped, as its key was.
"""

from typing import Any, Sequence, Union

import sqlalchemy as sa
from alembic import context, op

from transcripts.envelope import RoomCipher
from transcripts.key_encryption_keys import Keyring
from transcripts.sealed_facts import open_facts, seal_facts

# revision identifiers, used by Alembic.
revision: str = "0007"
down_revision: Union[str, Sequence[str], None] = "0006"
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None

CLEAR = ("moderator", "tier", "clocks")  # rooms.workflow.CLEAR_FACTS at this revision

rooms = sa.table(
    "rooms",
    sa.column("id", sa.String),
    sa.column("kek_id", sa.String),
    sa.column("wrapped_key", sa.LargeBinary),
    sa.column("workflow", sa.JSON),
    sa.column("sealed_facts", sa.LargeBinary),
)


def _cipher(row: Any) -> RoomCipher:
    keyring: Keyring | None = context.config.attributes.get("keyring")
    if keyring is None:
        raise RuntimeError(
            "sealing the workflow facts needs the room keys: run `mediation migrate` "
            "with the server's key settings"
        )
    return RoomCipher(row.id, keyring.unwrap(row.id, row.kek_id, row.wrapped_key))


def _rows() -> list[Any]:
    query = sa.select(
        rooms.c.id, rooms.c.kek_id, rooms.c.wrapped_key, rooms.c.workflow, rooms.c.sealed_facts
    )
    return list(op.get_bind().execute(query).all())


def _write(room_id: str, workflow: dict[str, Any], sealed: bytes | None) -> None:
    op.get_bind().execute(
        sa.update(rooms).where(rooms.c.id == room_id).values(workflow=workflow, sealed_facts=sealed)
    )


def upgrade() -> None:
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.add_column(sa.Column("sealed_facts", sa.LargeBinary(), nullable=True))
    for row in _rows():
        clear = dict(row.workflow or {})
        private = {name: clear.pop(name) for name in list(clear) if name not in CLEAR}
        if not private:
            continue
        shredded = row.wrapped_key is None
        _write(row.id, clear, None if shredded else seal_facts(_cipher(row), private))


def downgrade() -> None:
    for row in _rows():
        if row.sealed_facts is not None and row.wrapped_key is not None:
            _write(
                row.id, {**(row.workflow or {}), **open_facts(_cipher(row), row.sealed_facts)}, None
            )
    with op.batch_alter_table("rooms", schema=None) as batch_op:
        batch_op.drop_column("sealed_facts")

"""members: more people per party, each side's additions and removals

Revision ID: 0014
Revises: 0013
Create Date: 2026-12-01 06:45:00.000000

Written to match transcripts.schema.members (issue 17, more people per party). A
room's client_user and freelancer_user stay the first member of each side: they
have no row here unless they were removed (rooms.members).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0014'
down_revision: Union[str, Sequence[str], None] = '0013'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('members',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('room_id', sa.String(length=40), nullable=False),
    sa.Column('user', sa.String(length=128), nullable=False),
    sa.Column('side', sa.String(length=16), nullable=False),
    sa.Column('decision_maker', sa.Boolean(), nullable=False),
    sa.Column('added_at', sa.Float(), nullable=False),
    sa.Column('added_by', sa.String(length=128), nullable=False),
    sa.Column('removed_at', sa.Float(), nullable=True),
    sa.Column('removed_by', sa.String(length=128), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_members'))
    )
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_members_room_id'), ['room_id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('members', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_members_room_id'))

    op.drop_table('members')

"""outbox: every outbound effect, written in the commit that caused it; rooms' sealed contacts; presence; sign-in links

Revision ID: 0009
Revises: 0008
Create Date: 2026-12-01 03:10:00.000000

Written to match transcripts.schema.outbox (issue 14).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0009'
down_revision: Union[str, Sequence[str], None] = '0008'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('outbox',
    sa.Column('id', sa.BigInteger().with_variant(sa.Integer(), 'sqlite'), autoincrement=True, nullable=False),
    sa.Column('destination', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.String(length=40), nullable=False),
    sa.Column('topic', sa.String(length=64), nullable=False),
    sa.Column('event_id', sa.String(length=160), nullable=False),
    sa.Column('data', sa.Text(), nullable=False),
    sa.Column('status', sa.String(length=8), nullable=False),
    sa.Column('attempts', sa.Integer(), server_default='0', nullable=False),
    sa.Column('uncertain', sa.Boolean(), server_default=sa.false(), nullable=False),
    sa.Column('created_at', sa.Float(), nullable=False),
    sa.Column('next_attempt_at', sa.Float(), nullable=False),
    sa.Column('lease_until', sa.Float(), nullable=True),
    sa.Column('finished_at', sa.Float(), nullable=True),
    sa.Column('last_error', sa.String(length=512), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_outbox')),
    sa.UniqueConstraint('destination', 'event_id', name=op.f('uq_outbox_destination_event_id'))
    )
    op.create_table('presence',
    sa.Column('room_id', sa.String(length=40), nullable=False),
    sa.Column('user', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('seen_at', sa.Float(), nullable=False),
    sa.Column('seen_position', sa.BigInteger(), nullable=False),
    sa.Column('notified_at', sa.Float(), nullable=True),
    sa.Column('notified_position', sa.BigInteger(), server_default='0', nullable=False),
    sa.PrimaryKeyConstraint('room_id', 'user', name=op.f('pk_presence'))
    )
    with op.batch_alter_table('presence', schema=None) as batch_op:
        batch_op.create_index('ix_presence_seen_at', ['seen_at'], unique=False)
    op.create_table('sign_ins',
    sa.Column('code_hash', sa.String(length=64), nullable=False),
    sa.Column('room_id', sa.String(length=40), nullable=False),
    sa.Column('user', sa.String(length=128), nullable=False),
    sa.Column('role', sa.String(length=16), nullable=False),
    sa.Column('expires_at', sa.Float(), nullable=False),
    sa.Column('used_at', sa.Float(), nullable=True),
    sa.PrimaryKeyConstraint('code_hash', name=op.f('pk_sign_ins'))
    )
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_sign_ins_expires_at'), ['expires_at'], unique=False)
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('sealed_contacts', sa.LargeBinary(), nullable=True))
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.create_index('ix_outbox_due', ['status', 'next_attempt_at'], unique=False)
        batch_op.create_index('ix_outbox_lane', ['destination', 'room_id', 'status', 'id'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('outbox', schema=None) as batch_op:
        batch_op.drop_index('ix_outbox_lane')
        batch_op.drop_index('ix_outbox_due')

    op.drop_table('outbox')
    with op.batch_alter_table('sign_ins', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_sign_ins_expires_at'))
    op.drop_table('sign_ins')
    with op.batch_alter_table('presence', schema=None) as batch_op:
        batch_op.drop_index('ix_presence_seen_at')
    op.drop_table('presence')
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_column('sealed_contacts')

"""routing: rooms carry a language and skills; moderators have profiles

Revision ID: 0015
Revises: 0014
Create Date: 2026-12-01 06:40:00.000000

Written to match transcripts.schema.rooms (language, skills, ix_rooms_language) and
mediation.moderators.schema.moderators (issue 17, routing by language and skill).
Existing rooms take language "en" and no skills.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0015'
down_revision: Union[str, Sequence[str], None] = '0014'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('moderators',
    sa.Column('user', sa.String(length=128), nullable=False),
    sa.Column('languages', sa.JSON(), nullable=False),
    sa.Column('skills', sa.JSON(), nullable=False),
    sa.Column('tier', sa.Integer(), nullable=False),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('user', name=op.f('pk_moderators'))
    )
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.add_column(sa.Column('language', sa.String(length=8), server_default='en', nullable=False))
        batch_op.add_column(sa.Column('skills', sa.JSON(), server_default='[]', nullable=False))
        batch_op.create_index('ix_rooms_language', ['state', 'language'], unique=False)


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('rooms', schema=None) as batch_op:
        batch_op.drop_index('ix_rooms_language')
        batch_op.drop_column('skills')
        batch_op.drop_column('language')
    op.drop_table('moderators')

"""sla_policies: the response clocks' targets per ticket priority

Revision ID: 0010
Revises: 0009
Create Date: 2026-12-01 06:00:00.000000

Written to match mediation.sla.schema.sla_policies (issue 16). Empty at first:
a priority without a row keeps the deployment's three target settings, so an
existing deployment's clocks run exactly as before.
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0010'
down_revision: Union[str, Sequence[str], None] = '0009'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('sla_policies',
    sa.Column('priority', sa.String(length=16), nullable=False),
    sa.Column('first_response', sa.Float(), nullable=False),
    sa.Column('answer', sa.Float(), nullable=False),
    sa.Column('reply', sa.Float(), nullable=False),
    sa.Column('proposal_answer_days', sa.Integer(), nullable=True),
    sa.Column('updated_by', sa.String(length=128), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('priority', name=op.f('pk_sla_policies'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('sla_policies')

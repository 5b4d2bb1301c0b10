"""redaction: a record's text removed by a moderator keeps its body's SHA-256

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-01 05:50:00.000000

Written to match transcripts.schema.records (issue 16, redaction).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0012'
down_revision: Union[str, Sequence[str], None] = '0011'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.add_column(sa.Column('body_sha256', sa.LargeBinary(length=32), nullable=True))
        batch_op.add_column(sa.Column('redacted_by', sa.BigInteger(), nullable=True))


def downgrade() -> None:
    """Downgrade schema."""
    with op.batch_alter_table('records', schema=None) as batch_op:
        batch_op.drop_column('redacted_by')
        batch_op.drop_column('body_sha256')

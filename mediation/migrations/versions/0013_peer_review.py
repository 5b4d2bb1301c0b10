"""peer review: scorecards, weekly review assignments, reviews

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-01 06:40:00.000000

Written to match mediation.review.schema (issue 17). Empty at first: no
scorecard row means the built-in default scorecard (mediation.review.store).
"""
from typing import Sequence, Union

from alembic import op
import sqlalchemy as sa


# revision identifiers, used by Alembic.
revision: str = '0013'
down_revision: Union[str, Sequence[str], None] = '0012'
branch_labels: Union[str, Sequence[str], None] = None
depends_on: Union[str, Sequence[str], None] = None


def upgrade() -> None:
    """Upgrade schema."""
    op.create_table('scorecards',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('criteria', sa.JSON(), nullable=False),
    sa.Column('created_by', sa.String(length=128), nullable=False),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('active', sa.Boolean(), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scorecards'))
    )
    op.create_table('review_assignments',
    sa.Column('id', sa.Integer(), autoincrement=True, nullable=False),
    sa.Column('week', sa.String(length=8), nullable=False),
    sa.Column('reviewer', sa.String(length=128), nullable=False),
    sa.Column('room_id', sa.String(length=40), nullable=False),
    sa.Column('moderator', sa.String(length=128), nullable=False),
    sa.Column('assigned_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('completed_at', sa.DateTime(timezone=True), nullable=True),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_review_assignments')),
    sa.UniqueConstraint('week', 'reviewer', 'room_id', name=op.f('uq_review_assignments_week_reviewer_room_id'))
    )
    op.create_table('reviews',
    sa.Column('assignment_id', sa.Integer(), nullable=False),
    sa.Column('scorecard_id', sa.Integer(), nullable=False),
    sa.Column('scores', sa.JSON(), nullable=False),
    sa.Column('comment', sa.Text(), nullable=False),
    sa.Column('submitted_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['assignment_id'], ['review_assignments.id'], name=op.f('fk_reviews_assignment_id_review_assignments')),
    sa.ForeignKeyConstraint(['scorecard_id'], ['scorecards.id'], name=op.f('fk_reviews_scorecard_id_scorecards')),
    sa.PrimaryKeyConstraint('assignment_id', name=op.f('pk_reviews'))
    )


def downgrade() -> None:
    """Downgrade schema."""
    op.drop_table('reviews')
    op.drop_table('review_assignments')
    op.drop_table('scorecards')

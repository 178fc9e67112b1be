"""periodic tasks: each pass of a loop that every replica runs is taken by one of them

Revision ID: 0017
Revises: 0016
Create Date: 2026-11-29 01:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0017'
down_revision = '0016'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'periodic_tasks',
        sa.Column('name', sa.String(length=60), nullable=False),
        sa.Column('due_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('taken_by', sa.String(length=100), nullable=True),
        sa.Column('taken_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('name', name=op.f('pk_periodic_tasks')),
    )


def downgrade() -> None:
    op.drop_table('periodic_tasks')

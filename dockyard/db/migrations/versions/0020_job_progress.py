"""job progress: a long job (a bulk tag delete) says how far it is, for the UI to show

Revision ID: 0020
Revises: 0019
Create Date: 2026-11-29 04:20:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0020'
down_revision = '0019'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.add_column(sa.Column('progress_done', sa.Integer(), nullable=True))
        batch.add_column(sa.Column('progress_total', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('jobs') as batch:
        batch.drop_column('progress_total')
        batch.drop_column('progress_done')

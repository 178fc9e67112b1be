"""blobs can be marked unavailable (corrupt or missing bytes found by dockyard check)

Revision ID: 0005
Revises: 0004
Create Date: 2026-11-28 14:40:00
"""

import sqlalchemy as sa
from alembic import op


revision = '0005'
down_revision = '0004'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.add_column(sa.Column('unavailable', sa.String(length=16), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('blobs', schema=None) as batch_op:
        batch_op.drop_column('unavailable')

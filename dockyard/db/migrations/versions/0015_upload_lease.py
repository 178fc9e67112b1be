"""upload sessions carry a lease: one writer at a time across processes (S3 storage)

Revision ID: 0015
Revises: 0013
Create Date: 2026-12-05 10:00:00

0014 is another branch's; when both are merged, this one revises 0014 instead.
"""

import sqlalchemy as sa
from alembic import op


revision = '0015'
down_revision = '0013'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.add_column(sa.Column('lease_holder', sa.String(length=36), nullable=True))
        batch_op.add_column(
            sa.Column('lease_until', sa.DateTime(timezone=True), nullable=True)
        )


def downgrade() -> None:
    with op.batch_alter_table('uploads', schema=None) as batch_op:
        batch_op.drop_column('lease_until')
        batch_op.drop_column('lease_holder')

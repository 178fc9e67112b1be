"""audit entries name the credential kind and id

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-28 14:45:00.000000
"""

import sqlalchemy as sa
from alembic import op


revision = '0004'
down_revision = '0003'
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.add_column(sa.Column('credential_kind', sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column('credential_id', sa.Integer(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table('audit_events', schema=None) as batch_op:
        batch_op.drop_column('credential_id')
        batch_op.drop_column('credential_kind')

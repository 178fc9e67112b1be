"""signing keys in the database: every replica signs and verifies with the same keys

Revision ID: 0016
Revises: 0015
Create Date: 2026-12-06 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0016'
down_revision = '0015'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'signing_keys',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('purpose', sa.String(length=16), nullable=False),
        sa.Column('generation', sa.Integer(), nullable=False),
        sa.Column('kid', sa.String(length=64), nullable=False),
        sa.Column('secret', sa.Text(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('retired_at', sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_signing_keys')),
        sa.UniqueConstraint(
            'purpose', 'generation', name=op.f('uq_signing_keys_purpose_generation')
        ),
        sa.UniqueConstraint('purpose', 'kid', name=op.f('uq_signing_keys_purpose_kid')),
    )


def downgrade() -> None:
    op.drop_table('signing_keys')

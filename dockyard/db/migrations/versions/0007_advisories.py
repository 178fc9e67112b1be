"""advisories (OSV records), their affected ranges, and the import log

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-28 15:30:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0007'
down_revision = '0006'
branch_labels = None
depends_on = None

ADVISORY_ID = sa.String(128).with_variant(sa.String(128, collation='C'), 'postgresql')
NAME = sa.String(255).with_variant(sa.String(255, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'advisories',
        sa.Column('id', ADVISORY_ID, nullable=False),
        sa.Column('modified', sa.DateTime(timezone=True), nullable=False),
        sa.Column('published', sa.DateTime(timezone=True), nullable=True),
        sa.Column('withdrawn', sa.DateTime(timezone=True), nullable=True),
        sa.Column('summary', sa.Text(), nullable=False),
        sa.Column('aliases', sa.JSON(), nullable=False),
        sa.Column('severity', sa.String(length=10), nullable=False),
        sa.Column('cvss_score', sa.Float(), nullable=True),
        sa.Column('imported_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_advisories'),
    )
    op.create_table(
        'advisory_ranges',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('advisory_id', ADVISORY_ID, nullable=False),
        sa.Column('ecosystem', sa.String(length=64), nullable=False),
        sa.Column('package', NAME, nullable=False),
        sa.Column('range_type', sa.String(length=16), nullable=False),
        sa.Column('events', sa.JSON(), nullable=False),
        sa.Column('versions', sa.JSON(), nullable=False),
        sa.ForeignKeyConstraint(
            ['advisory_id'], ['advisories.id'],
            name='fk_advisory_ranges_advisory_id_advisories', ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name='pk_advisory_ranges'),
    )
    op.create_index('ix_advisory_ranges_advisory_id', 'advisory_ranges', ['advisory_id'])
    op.create_index(
        'ix_advisory_ranges_ecosystem_package', 'advisory_ranges', ['ecosystem', 'package']
    )
    op.create_table(
        'advisory_imports',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('added', sa.Integer(), nullable=False),
        sa.Column('updated', sa.Integer(), nullable=False),
        sa.Column('withdrawn', sa.Integer(), nullable=False),
        sa.Column('unchanged', sa.Integer(), nullable=False),
        sa.Column('skipped', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('id', name='pk_advisory_imports'),
    )
    op.create_index('ix_advisory_imports_finished_at', 'advisory_imports', ['finished_at'])


def downgrade() -> None:
    op.drop_index('ix_advisory_imports_finished_at', table_name='advisory_imports')
    op.drop_table('advisory_imports')
    op.drop_index('ix_advisory_ranges_ecosystem_package', table_name='advisory_ranges')
    op.drop_index('ix_advisory_ranges_advisory_id', table_name='advisory_ranges')
    op.drop_table('advisory_ranges')
    op.drop_table('advisories')

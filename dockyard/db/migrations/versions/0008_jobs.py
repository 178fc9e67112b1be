"""job queue and scan results

Revision ID: 0008
Revises: 0007
Create Date: 2026-11-28 15:11:38.913978
"""

import sqlalchemy as sa
from alembic import op

revision = '0008'
down_revision = '0007'
branch_labels = None
depends_on = None

def upgrade() -> None:

    op.create_table('jobs',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('kind', sa.String(length=40), nullable=False),
    sa.Column('payload', sa.Text(), nullable=False),
    sa.Column('state', sa.String(length=10), nullable=False),
    sa.Column('attempts', sa.Integer(), nullable=False),
    sa.Column('max_attempts', sa.Integer(), nullable=False),
    sa.Column('run_after', sa.DateTime(timezone=True), nullable=False),
    sa.Column('lease_expires_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('leased_by', sa.String(length=100), nullable=True),
    sa.Column('last_error', sa.Text(), nullable=True),
    sa.Column('dedupe_key', sa.String(length=300), nullable=True),
    sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_jobs')),
    sa.UniqueConstraint('dedupe_key', name=op.f('uq_jobs_dedupe_key'))
    )
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.create_index('ix_jobs_claim', ['state', 'run_after'], unique=False)

    op.create_table('scans',
    sa.Column('digest', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('status', sa.String(length=12), nullable=False),
    sa.Column('reason', sa.Text(), nullable=True),
    sa.Column('scanned_at', sa.DateTime(timezone=True), nullable=True),
    sa.Column('os_id', sa.String(length=100), nullable=True),
    sa.Column('os_version', sa.String(length=100), nullable=True),
    sa.Column('os_pretty_name', sa.String(length=255), nullable=True),
    sa.Column('unsupported', sa.Text(), nullable=True),
    sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
    sa.PrimaryKeyConstraint('digest', name=op.f('pk_scans'))
    )
    op.create_table('scan_findings',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('advisory_id', sa.String(length=200), nullable=False),
    sa.Column('aliases', sa.Text(), nullable=False),
    sa.Column('summary', sa.Text(), nullable=False),
    sa.Column('severity', sa.String(length=10), nullable=False),
    sa.Column('cvss_score', sa.Float(), nullable=True),
    sa.Column('fixed_version', sa.String(length=255), nullable=True),
    sa.Column('package_name', sa.String(length=500), nullable=False),
    sa.Column('package_version', sa.String(length=255), nullable=False),
    sa.Column('ecosystem', sa.String(length=100), nullable=False),
    sa.Column('purl_type', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=500), nullable=True),
    sa.Column('source_name', sa.String(length=500), nullable=True),
    sa.Column('source_version', sa.String(length=255), nullable=True),
    sa.Column('layer_digest', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('arch', sa.String(length=40), nullable=True),
    sa.Column('first_seen_at', sa.DateTime(timezone=True), nullable=False),
    sa.ForeignKeyConstraint(['digest'], ['scans.digest'], name=op.f('fk_scan_findings_digest_scans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_findings'))
    )
    with op.batch_alter_table('scan_findings', schema=None) as batch_op:
        batch_op.create_index('ix_scan_findings_digest_severity', ['digest', 'severity'], unique=False)

    op.create_table('scan_packages',
    sa.Column('id', sa.Integer(), nullable=False),
    sa.Column('digest', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('name', sa.String(length=500), nullable=False),
    sa.Column('version', sa.String(length=255), nullable=False),
    sa.Column('ecosystem', sa.String(length=100), nullable=False),
    sa.Column('purl_type', sa.String(length=40), nullable=False),
    sa.Column('namespace', sa.String(length=500), nullable=True),
    sa.Column('source_name', sa.String(length=500), nullable=True),
    sa.Column('source_version', sa.String(length=255), nullable=True),
    sa.Column('layer_digest', sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql'), nullable=False),
    sa.Column('path', sa.Text(), nullable=False),
    sa.Column('arch', sa.String(length=40), nullable=True),
    sa.ForeignKeyConstraint(['digest'], ['scans.digest'], name=op.f('fk_scan_packages_digest_scans'), ondelete='CASCADE'),
    sa.PrimaryKeyConstraint('id', name=op.f('pk_scan_packages'))
    )
    with op.batch_alter_table('scan_packages', schema=None) as batch_op:
        batch_op.create_index(batch_op.f('ix_scan_packages_digest'), ['digest'], unique=False)

def downgrade() -> None:

    with op.batch_alter_table('scan_packages', schema=None) as batch_op:
        batch_op.drop_index(batch_op.f('ix_scan_packages_digest'))

    op.drop_table('scan_packages')
    with op.batch_alter_table('scan_findings', schema=None) as batch_op:
        batch_op.drop_index('ix_scan_findings_digest_severity')

    op.drop_table('scan_findings')
    op.drop_table('scans')
    with op.batch_alter_table('jobs', schema=None) as batch_op:
        batch_op.drop_index('ix_jobs_claim')

    op.drop_table('jobs')


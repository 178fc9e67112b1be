"""cleanup policies and their runs

Revision ID: 0011
Revises: 0010
Create Date: 2026-11-29 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'cleanup_policies',
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('enabled', sa.Boolean(), nullable=False),
        sa.Column('cadence', sa.String(length=10), nullable=False),
        sa.Column('keep_n', sa.Integer(), nullable=True),
        sa.Column('older_than', sa.String(length=10), nullable=True),
        sa.Column('name_regex', sa.String(length=255), nullable=True),
        sa.Column('name_regex_keep', sa.String(length=255), nullable=True),
        sa.Column('repository_regex', sa.String(length=255), nullable=True),
        sa.Column('next_run_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('updated_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('updated_by', sa.String(length=255), nullable=False),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'],
            name=op.f('fk_cleanup_policies_project_id_projects'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('project_id', name=op.f('pk_cleanup_policies')),
    )
    with op.batch_alter_table('cleanup_policies', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_cleanup_policies_next_run_at'), ['next_run_at'], unique=False
        )
    op.create_table(
        'cleanup_runs',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('trigger', sa.String(length=10), nullable=False),
        sa.Column('actor', sa.String(length=255), nullable=False),
        sa.Column('status', sa.String(length=10), nullable=False),
        sa.Column('started_at', sa.DateTime(timezone=True), nullable=False),
        sa.Column('finished_at', sa.DateTime(timezone=True), nullable=True),
        sa.Column('tags_deleted', sa.Integer(), nullable=False),
        sa.Column('tags_skipped', sa.Integer(), nullable=False),
        sa.Column('bytes_freed', sa.BigInteger(), nullable=False),
        sa.Column('errors', sa.Text(), nullable=False),
        sa.Column('report', sa.Text(), nullable=True),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'],
            name=op.f('fk_cleanup_runs_project_id_projects'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_cleanup_runs')),
    )
    with op.batch_alter_table('cleanup_runs', schema=None) as batch_op:
        batch_op.create_index('ix_cleanup_runs_project', ['project_id', 'id'], unique=False)


def downgrade() -> None:
    op.drop_table('cleanup_runs')
    op.drop_table('cleanup_policies')

"""tag protection rules: protected and immutable tags per project

Revision ID: 0013
Revises: 0012
Create Date: 2026-12-03 10:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0013'
down_revision = '0012'
branch_labels = None
depends_on = None

PATTERN = sa.String(length=100).with_variant(sa.String(length=100, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'tag_protection_rules',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('tag_name_pattern', PATTERN, nullable=False),
        sa.Column('minimum_access_level_for_push', sa.String(length=20), nullable=True),
        sa.Column('minimum_access_level_for_delete', sa.String(length=20), nullable=True),
        sa.Column('immutable', sa.Boolean(), nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['project_id'], ['projects.id'],
            name=op.f('fk_tag_protection_rules_project_id_projects'), ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_tag_protection_rules')),
        sa.UniqueConstraint(
            'project_id', 'immutable', 'tag_name_pattern',
            name=op.f('uq_tag_protection_rules_project_id_immutable_tag_name_pattern'),
        ),
    )
    with op.batch_alter_table('tag_protection_rules', schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f('ix_tag_protection_rules_project_id'), ['project_id'], unique=False
        )


def downgrade() -> None:
    op.drop_table('tag_protection_rules')

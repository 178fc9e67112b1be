"""oidc trusts: projects accept CI ID tokens from chosen issuers for a role

Revision ID: 0019
Revises: 0018
Create Date: 2026-11-29 02:00:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0019'
down_revision = '0018'
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        'oidc_trusts',
        sa.Column('id', sa.Integer(), nullable=False),
        sa.Column('project_id', sa.Integer(), nullable=False),
        sa.Column('issuer', sa.String(length=255), nullable=False),
        sa.Column('audience', sa.String(length=255), nullable=False),
        sa.Column('claims', sa.Text(), nullable=False),
        sa.Column('role', sa.String(length=20), nullable=False),
        sa.Column('created_by', sa.String(length=255), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ['project_id'],
            ['projects.id'],
            name=op.f('fk_oidc_trusts_project_id_projects'),
            ondelete='CASCADE',
        ),
        sa.PrimaryKeyConstraint('id', name=op.f('pk_oidc_trusts')),
        sqlite_autoincrement=True,  # a deleted trust's id never comes back
    )
    op.create_index(op.f('ix_oidc_trusts_project_id'), 'oidc_trusts', ['project_id'])
    op.create_index(op.f('ix_oidc_trusts_issuer'), 'oidc_trusts', ['issuer'])


def downgrade() -> None:
    op.drop_index(op.f('ix_oidc_trusts_issuer'), table_name='oidc_trusts')
    op.drop_index(op.f('ix_oidc_trusts_project_id'), table_name='oidc_trusts')
    op.drop_table('oidc_trusts')

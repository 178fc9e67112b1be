"""garbage collection review queues and storage tombstones

Revision ID: 0010
Revises: 0009
Create Date: 2026-11-28 17:40:00
"""

import sqlalchemy as sa
from alembic import op

revision = '0010'
down_revision = '0009'
branch_labels = None
depends_on = None

DIGEST = sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql')


def _review(name: str, per_repository: bool) -> None:
    columns = [sa.Column('repository_id', sa.Integer(), nullable=False)] if per_repository else []
    keys = ['repository_id', 'digest'] if per_repository else ['digest']
    op.create_table(
        name,
        *columns,
        sa.Column('digest', DIGEST, nullable=False),
        sa.Column('review_after', sa.DateTime(timezone=True), nullable=False),
        sa.Column('event', sa.String(length=20), nullable=False),
        sa.PrimaryKeyConstraint(*keys, name=op.f(f'pk_{name}')),
    )
    with op.batch_alter_table(name, schema=None) as batch_op:
        batch_op.create_index(f'ix_{name}_due', ['review_after'], unique=False)


def upgrade() -> None:
    _review('gc_manifest_reviews', True)
    _review('gc_link_reviews', True)
    _review('gc_blob_reviews', False)
    with op.batch_alter_table('repository_blobs', schema=None) as batch_op:
        batch_op.create_index('ix_repository_blobs_digest', ['digest'], unique=False)
    op.create_table(
        'gc_storage_deletes',
        sa.Column('digest', DIGEST, nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('created_at', sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint('digest', name=op.f('pk_gc_storage_deletes')),
    )


def downgrade() -> None:
    with op.batch_alter_table('repository_blobs', schema=None) as batch_op:
        batch_op.drop_index('ix_repository_blobs_digest')
    for name in ('gc_storage_deletes', 'gc_blob_reviews', 'gc_link_reviews', 'gc_manifest_reviews'):
        op.drop_table(name)

"""storage usage per repository, project and namespace, and storage limits

Revision ID: 0012
Revises: 0011
Create Date: 2026-12-02 10:00:00

The counters start from what the database already holds: every repository's blob links
and manifests, counted once per digest in the repository, in the project that owns it
(the longest project path among the name and the two paths above it) and in every
namespace above that project. The rule is written out here, not imported, so this
migration keeps doing what it did when the code that counts later changes.
"""

from collections import defaultdict

import sqlalchemy as sa
from alembic import op

revision = '0012'
down_revision = '0011'
branch_labels = None
depends_on = None

DIGEST = sa.String(length=200).with_variant(sa.String(length=200, collation='C'), 'postgresql')


def upgrade() -> None:
    op.create_table(
        'storage_usage',
        sa.Column('scope_kind', sa.String(length=1), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('used_bytes', sa.BigInteger(), nullable=False),
        sa.Column('limit_bytes', sa.BigInteger(), nullable=True),
        sa.PrimaryKeyConstraint('scope_kind', 'scope_id', name=op.f('pk_storage_usage')),
    )
    with op.batch_alter_table('storage_usage', schema=None) as batch_op:
        batch_op.create_index('ix_storage_usage_limited', ['limit_bytes'], unique=False)
    op.create_table(
        'usage_refs',
        sa.Column('scope_kind', sa.String(length=1), nullable=False),
        sa.Column('scope_id', sa.Integer(), nullable=False),
        sa.Column('digest', DIGEST, nullable=False),
        sa.Column('size', sa.BigInteger(), nullable=False),
        sa.Column('refs', sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint('scope_kind', 'scope_id', 'digest', name=op.f('pk_usage_refs')),
    )
    _count_what_exists(op.get_bind())


def _scopes(name, projects, namespaces):
    """The project and namespace scopes a repository counts in (none without a project)."""
    parts = name.split('/')
    candidates = ['/'.join(parts[:k]) for k in (len(parts), len(parts) - 1, len(parts) - 2) if k >= 2]
    owners = sorted((c for c in candidates if c in projects), key=len, reverse=True)
    if not owners:
        return []
    pieces = owners[0].split('/')
    above = ['/'.join(pieces[:i]) for i in range(1, len(pieces))]
    return [('p', projects[owners[0]])] + [('n', namespaces[p]) for p in above if p in namespaces]


def _count_what_exists(conn) -> None:
    projects = {path: pid for pid, path in conn.execute(sa.text('SELECT id, path FROM projects'))}
    namespaces = {
        path: nid for nid, path in conn.execute(sa.text('SELECT id, path FROM namespaces'))
    }
    holdings = defaultdict(list)  # repository id -> [(digest, size)], one per link or manifest
    for rid, digest, size in conn.execute(
        sa.text(
            'SELECT l.repository_id, b.digest, b.size FROM repository_blobs l '
            'JOIN blobs b ON b.digest = l.digest'
        )
    ):
        holdings[rid].append((digest, size))
    for rid, digest, size in conn.execute(
        sa.text('SELECT repository_id, digest, size FROM manifests')
    ):
        holdings[rid].append((digest, size))
    refs = {}  # (kind, id, digest) -> [size, refs]
    for rid, name in conn.execute(sa.text('SELECT id, name FROM repositories')):
        for scope in [('r', rid)] + _scopes(name, projects, namespaces):
            for digest, size in holdings.get(rid, ()):
                refs.setdefault((*scope, digest), [size, 0])[1] += 1
    used = defaultdict(int)
    for (kind, sid, _digest), (size, _count) in refs.items():
        used[(kind, sid)] += size
    rows = [
        {'scope_kind': k, 'scope_id': i, 'digest': d, 'size': s, 'refs': n}
        for (k, i, d), (s, n) in refs.items()
    ]
    table = sa.table(
        'usage_refs', *(sa.column(c) for c in ('scope_kind', 'scope_id', 'digest', 'size', 'refs'))
    )
    for start in range(0, len(rows), 5000):
        conn.execute(table.insert(), rows[start : start + 5000])
    counters = sa.table(
        'storage_usage', *(sa.column(c) for c in ('scope_kind', 'scope_id', 'used_bytes'))
    )
    if used:
        conn.execute(
            counters.insert(),
            [{'scope_kind': k, 'scope_id': i, 'used_bytes': b} for (k, i), b in used.items()],
        )


def downgrade() -> None:
    op.drop_table('usage_refs')
    with op.batch_alter_table('storage_usage', schema=None) as batch_op:
        batch_op.drop_index('ix_storage_usage_limited')
    op.drop_table('storage_usage')

"""Alembic environment: runs on the engine Dockyard hands over (or the URL in -x url=)."""

from alembic import context
from sqlalchemy import create_engine, text

from dockyard.db.engine import normalise_url
from dockyard.db.models import Base

config = context.config
engine = config.attributes.get("engine")
if engine is None:
    engine = create_engine(normalise_url(context.get_x_argument(as_dictionary=True)["url"]))

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=Base.metadata,
        render_as_batch=connection.dialect.name == "sqlite",
    )
    with context.begin_transaction():
        if connection.dialect.name == "postgresql":
            # Replicas starting together take turns: the second reads the version table
            # only after the first committed, and finds nothing left to do.
            connection.execute(text("SELECT pg_advisory_xact_lock(727001)"))
        context.run_migrations()
    connection.commit()

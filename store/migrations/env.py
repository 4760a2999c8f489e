"""Alembic environment: runs on the connection handed in by store.db.upgrade."""

from alembic import context

from store.models import Base

target_metadata = Base.metadata
connection = context.config.attributes.get("connection")
if connection is None:  # `alembic` run by hand: use DATABASE_URL
    from store.db import make_engine
    from store.settings import Settings

    with make_engine(Settings().database_url).begin() as connection:
        context.configure(connection=connection, target_metadata=target_metadata)
        with context.begin_transaction():
            context.run_migrations()
else:
    context.configure(connection=connection, target_metadata=target_metadata)
    with context.begin_transaction():
        context.run_migrations()

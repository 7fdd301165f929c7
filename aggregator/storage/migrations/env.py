"""Alembic environment: always run with the engine handed over by storage.db."""

from __future__ import annotations

from alembic import context

from aggregator.storage.schema import metadata

engine = context.config.attributes["engine"]
with engine.begin() as connection:
    if engine.dialect.name == "sqlite":
        # pysqlite runs DDL outside any transaction until one is begun explicitly: without
        # this, a process killed during its first upgrade left some tables and no revision,
        # an archive every later command refused as "not grandrounds'". With it, the whole
        # upgrade commits or none of it does.
        connection.exec_driver_sql("BEGIN IMMEDIATE")
    context.configure(connection=connection, target_metadata=metadata,
                      render_as_batch=engine.dialect.name == "sqlite")
    with context.begin_transaction():
        context.run_migrations()

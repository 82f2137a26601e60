"""Alembic environment: runs on the engine handed over in `config.attributes`."""

from __future__ import annotations

from alembic import context
from sqlalchemy import Engine

from autoliq.adapters.sql.schema import metadata

engine = context.config.attributes["engine"]
assert isinstance(engine, Engine)

with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        transaction_per_migration=True,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

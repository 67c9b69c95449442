"""Alembic environment: always online, on the engine the caller hands over."""

from __future__ import annotations

from alembic import context

from pilothouse.workspace.migrations.env_support import include_name
from pilothouse.workspace.schema import metadata

engine = context.config.attributes["engine"]


with engine.connect() as connection:
    context.configure(
        connection=connection,
        target_metadata=metadata,
        render_as_batch=connection.dialect.name == "sqlite",
        compare_type=True,
        include_name=include_name,
    )
    with context.begin_transaction():
        context.run_migrations()
    connection.commit()

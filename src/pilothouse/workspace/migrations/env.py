"""Alembic environment: always online, on the engine the caller hands over."""

from __future__ import annotations

from alembic import context

from pilothouse.workspace.schema import FTS_TABLE, metadata

engine = context.config.attributes["engine"]


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """FTS5 tables (and their shadow tables) are created by hand, not from metadata."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))


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

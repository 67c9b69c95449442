"""What Alembic compares: everything in the metadata, not the hand-made FTS tables."""

from __future__ import annotations

from pilothouse.workspace.schema import FTS_TABLE


def include_name(name: str | None, type_: str, _parent: object) -> bool:
    """FTS5 tables (and their shadow tables) are created by hand, not from metadata."""
    return not (type_ == "table" and name is not None and name.startswith(FTS_TABLE))

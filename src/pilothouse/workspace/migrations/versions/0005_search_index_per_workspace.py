"""search: one external-content FTS5 table per workspace

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-03 08:30:00

SQLite only. ``chunks_fts`` held every workspace's chunks with the workspace as an
unindexed column, so each search read the content of every matching row to filter
it. Each workspace now gets ``chunks_fts_<workspace id>``, filled from ``chunks``;
the text is no longer copied into the index. PostgreSQL has no FTS table.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

from pilothouse.workspace.schema import FTS_COLUMNS, FTS_TABLE, fts_table

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    workspaces = conn.execute(sa.text("SELECT DISTINCT workspace_id FROM chunks")).scalars()
    for workspace_id in list(workspaces):
        table = fts_table(workspace_id)
        conn.execute(sa.text(f"CREATE VIRTUAL TABLE {table} USING fts5({FTS_COLUMNS})"))
        conn.execute(
            sa.text(
                f"INSERT INTO {table} (rowid, text) "
                "SELECT id, text FROM chunks WHERE workspace_id = :ws ORDER BY id"
            ),
            {"ws": workspace_id},
        )
    conn.execute(sa.text(f"DROP TABLE IF EXISTS {FTS_TABLE}"))


def downgrade() -> None:
    conn = op.get_bind()
    if conn.dialect.name != "sqlite":
        return
    tables = conn.execute(
        sa.text(
            "SELECT name FROM sqlite_master WHERE type = 'table' "
            "AND sql LIKE 'CREATE VIRTUAL TABLE%' AND name LIKE :prefix ESCAPE '!'"
        ),
        {"prefix": FTS_TABLE.replace("_", "!_") + "!_%"},
    ).scalars()
    for table in list(tables):
        conn.execute(sa.text(f'DROP TABLE "{table}"'))
    conn.execute(
        sa.text(
            f"CREATE VIRTUAL TABLE {FTS_TABLE} USING fts5("
            "text, workspace_id UNINDEXED, tokenize = 'porter unicode61')"
        )
    )
    conn.execute(
        sa.text(
            f"INSERT INTO {FTS_TABLE} (rowid, text, workspace_id) "
            "SELECT id, text, workspace_id FROM chunks ORDER BY id"
        )
    )

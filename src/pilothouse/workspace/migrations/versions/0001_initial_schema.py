"""Initial schema: principals, workspaces, files and versions, locks, events, audit.

Revision ID: 0001
Revises:
Create Date: 2026-11-24
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

import pilothouse.workspace.schema

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:

    op.create_table(
        "audit",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("principal_kind", sa.String(length=8), nullable=False),
        sa.Column("agent_name", sa.String(length=128), nullable=True),
        sa.Column("api_key_id", sa.String(length=64), nullable=True),
        sa.Column("interface", sa.String(length=16), nullable=False),
        sa.Column("action", sa.String(length=64), nullable=False),
        sa.Column("target", sa.Text(), nullable=False),
        sa.Column("before_version", sa.Integer(), nullable=True),
        sa.Column("after_version", sa.Integer(), nullable=True),
        sa.Column("request_id", sa.String(length=128), nullable=True),
        sa.Column("details", sa.Text(), nullable=False),
        sa.Column("prev_hash", sa.String(length=64), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_audit")),
        sa.UniqueConstraint("chain", "seq", name=op.f("uq_audit_chain_seq")),
    )
    op.create_table(
        "audit_heads",
        sa.Column("chain", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("hash", sa.String(length=64), nullable=False),
        sa.PrimaryKeyConstraint("chain", name=op.f("pk_audit_heads")),
    )
    op.create_table(
        "installation",
        sa.Column("key", sa.String(length=64), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("key", name=op.f("pk_installation")),
    )
    op.create_table(
        "principals",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=8), nullable=False),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("site_admin", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("disabled_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_principals")),
        sa.UniqueConstraint("name", name=op.f("uq_principals_name")),
    )
    op.create_table(
        "workspaces",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("name", sa.String(length=64), nullable=False),
        sa.Column("description", sa.Text(), server_default="", nullable=False),
        sa.Column("owner_id", sa.String(length=64), nullable=False),
        sa.Column("quota_bytes", sa.BigInteger(), nullable=False),
        sa.Column("used_bytes", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("intelligence", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("event_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("fencing_seq", sa.BigInteger(), server_default=sa.text("0"), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("archived_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["owner_id"], ["principals.id"], name=op.f("fk_workspaces_owner_id_principals")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_workspaces")),
        sa.UniqueConstraint("name", name=op.f("uq_workspaces_name")),
    )
    op.create_table(
        "api_keys",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=True),
        sa.Column("name", sa.String(length=128), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("scopes", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("expires_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.Column("revoked_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.Column("last_used_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_api_keys_principal_id_principals")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_api_keys_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_api_keys")),
        sa.UniqueConstraint("digest", name=op.f("uq_api_keys_digest")),
    )
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_api_keys_principal_id"), ["principal_id"], unique=False
        )

    op.create_table(
        "events",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("seq", sa.BigInteger(), nullable=False),
        sa.Column("type", sa.String(length=64), nullable=False),
        sa.Column(
            "path",
            sa.String(length=4096).with_variant(
                sa.String(length=4096, collation="C"), "postgresql"
            ),
            nullable=True,
        ),
        sa.Column("actor_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=128), nullable=True),
        sa.Column("at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_events_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "seq", name=op.f("pk_events")),
    )
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.create_index("ix_events_workspace_at", ["workspace_id", "at"], unique=False)
        batch_op.create_index("ix_events_workspace_type", ["workspace_id", "type"], unique=False)

    op.create_table(
        "files",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column(
            "path",
            sa.String(length=4096).with_variant(
                sa.String(length=4096, collation="C"), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("updated_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("deleted_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.Column("deleted_by", sa.String(length=64), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_files_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_files")),
    )
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.create_index("ix_files_workspace_path", ["workspace_id", "path"], unique=False)
        batch_op.create_index(
            "uq_files_live_path",
            ["workspace_id", "path"],
            unique=True,
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )

    op.create_table(
        "locks",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column(
            "path",
            sa.String(length=4096).with_variant(
                sa.String(length=4096, collation="C"), "postgresql"
            ),
            nullable=False,
        ),
        sa.Column("scope", sa.String(length=8), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("fencing_token", sa.BigInteger(), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=128), nullable=True),
        sa.Column("enforce", sa.Boolean(), nullable=False),
        sa.Column("acquired_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("expires_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_locks_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_locks")),
    )
    with op.batch_alter_table("locks", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_locks_workspace_id"), ["workspace_id"], unique=False)

    op.create_table(
        "members",
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("principal_id", sa.String(length=64), nullable=False),
        sa.Column("role", sa.String(length=8), nullable=False),
        sa.Column("added_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.ForeignKeyConstraint(
            ["principal_id"], ["principals.id"], name=op.f("fk_members_principal_id_principals")
        ),
        sa.ForeignKeyConstraint(
            ["workspace_id"], ["workspaces.id"], name=op.f("fk_members_workspace_id_workspaces")
        ),
        sa.PrimaryKeyConstraint("workspace_id", "principal_id", name=op.f("pk_members")),
    )
    op.create_table(
        "ownership_transfers",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("workspace_id", sa.String(length=64), nullable=False),
        sa.Column("digest", sa.String(length=64), nullable=False),
        sa.Column("created_by", sa.String(length=64), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("expires_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("claimed_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.Column("claimed_by", sa.String(length=64), nullable=True),
        sa.Column("cancelled_at", pilothouse.workspace.schema.UTCDateTime(), nullable=True),
        sa.ForeignKeyConstraint(
            ["workspace_id"],
            ["workspaces.id"],
            name=op.f("fk_ownership_transfers_workspace_id_workspaces"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_ownership_transfers")),
        sa.UniqueConstraint("digest", name=op.f("uq_ownership_transfers_digest")),
    )
    with op.batch_alter_table("ownership_transfers", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_ownership_transfers_workspace_id"), ["workspace_id"], unique=False
        )

    op.create_table(
        "file_metadata",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("key", sa.String(length=128), nullable=False),
        sa.Column("value", sa.Text(), nullable=False),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_file_metadata_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "key", name=op.f("pk_file_metadata")),
    )
    op.create_table(
        "file_versions",
        sa.Column("file_id", sa.String(length=64), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("sha256", sa.String(length=64), nullable=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("created_at", pilothouse.workspace.schema.UTCDateTime(), nullable=False),
        sa.Column("author_id", sa.String(length=64), nullable=False),
        sa.Column("agent_name", sa.String(length=128), nullable=True),
        sa.Column("note", sa.String(length=256), nullable=True),
        sa.ForeignKeyConstraint(
            ["file_id"],
            ["files.id"],
            name=op.f("fk_file_versions_file_id_files"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("file_id", "version", name=op.f("pk_file_versions")),
    )
    with op.batch_alter_table("file_versions", schema=None) as batch_op:
        batch_op.create_index(batch_op.f("ix_file_versions_sha256"), ["sha256"], unique=False)


def downgrade() -> None:

    with op.batch_alter_table("file_versions", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_file_versions_sha256"))

    op.drop_table("file_versions")
    op.drop_table("file_metadata")
    with op.batch_alter_table("ownership_transfers", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_ownership_transfers_workspace_id"))

    op.drop_table("ownership_transfers")
    op.drop_table("members")
    with op.batch_alter_table("locks", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_locks_workspace_id"))

    op.drop_table("locks")
    with op.batch_alter_table("files", schema=None) as batch_op:
        batch_op.drop_index(
            "uq_files_live_path",
            sqlite_where=sa.text("deleted_at IS NULL"),
            postgresql_where=sa.text("deleted_at IS NULL"),
        )
        batch_op.drop_index("ix_files_workspace_path")

    op.drop_table("files")
    with op.batch_alter_table("events", schema=None) as batch_op:
        batch_op.drop_index("ix_events_workspace_type")
        batch_op.drop_index("ix_events_workspace_at")

    op.drop_table("events")
    with op.batch_alter_table("api_keys", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_api_keys_principal_id"))

    op.drop_table("api_keys")
    op.drop_table("workspaces")
    op.drop_table("principals")
    op.drop_table("installation")
    op.drop_table("audit_heads")
    op.drop_table("audit")

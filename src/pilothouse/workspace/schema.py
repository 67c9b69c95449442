"""The relational schema, written once for SQLite and PostgreSQL.

SQLAlchemy Core tables, no ORM: the service issues explicit statements, so what
runs is what you read. Portability rules kept here:

- timestamps go through :class:`UTCDateTime` (naive UTC at rest, aware UTC in
  Python), which both engines round-trip to the microsecond;
- paths use binary collation (``"C"`` on PostgreSQL, SQLite's default) so range
  scans and ordering follow code points, as :mod:`pilothouse.workspace.paths` assumes;
- per-workspace counters (event cursor, fencing token) live on the workspace row:
  incrementing them inside a transaction serialises writers of that workspace on
  PostgreSQL, and SQLite serialises all writers anyway (``BEGIN IMMEDIATE``);
- "one live file per path" is a partial unique index, which both engines support.

The schema is owned by Alembic migrations (``migrations/versions``); a test checks
that the migrations produce exactly these tables.
"""

from __future__ import annotations

import hashlib
import re
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Dialect,
    ForeignKey,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    TypeDecorator,
    UniqueConstraint,
    text,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(table_name)s_%(column_0_N_name)s",
        "uq": "uq_%(table_name)s_%(column_0_N_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)


class UTCDateTime(TypeDecorator[datetime]):
    """Aware UTC datetimes in Python, naive UTC in the database."""

    impl = DateTime
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to a UTC column")
        return value.astimezone(UTC).replace(tzinfo=None)

    def process_result_value(self, value: Any, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        assert isinstance(value, datetime)
        return value.replace(tzinfo=UTC)


def PathString() -> String:  # noqa: N802 - reads as a type in table definitions
    """A path column compared by code point on every engine."""
    return String(4096).with_variant(String(4096, collation="C"), "postgresql")


Id = String(64)

installation = Table(
    "installation",
    metadata,
    Column("key", String(64), primary_key=True),
    Column("value", Text, nullable=False),
)

principals = Table(
    "principals",
    metadata,
    Column("id", Id, primary_key=True),
    Column("kind", String(8), nullable=False),  # user | agent
    Column("name", String(128), nullable=False, unique=True),
    Column("site_admin", Boolean, nullable=False, server_default=text("false")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("disabled_at", UTCDateTime),
)

workspaces = Table(
    "workspaces",
    metadata,
    Column("id", Id, primary_key=True),
    Column("name", String(64), nullable=False, unique=True),
    Column("description", Text, nullable=False, server_default=""),
    Column("owner_id", Id, ForeignKey("principals.id"), nullable=False),
    Column("quota_bytes", BigInteger, nullable=False),
    Column("used_bytes", BigInteger, nullable=False, server_default=text("0")),
    Column("intelligence", Boolean, nullable=False, server_default=text("true")),
    Column("event_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("fencing_seq", BigInteger, nullable=False, server_default=text("0")),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("archived_at", UTCDateTime),
)

members = Table(
    "members",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
    Column("principal_id", Id, ForeignKey("principals.id"), primary_key=True),
    Column("role", String(8), nullable=False),
    Column("added_at", UTCDateTime, nullable=False),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", Id, primary_key=True),
    Column("principal_id", Id, ForeignKey("principals.id"), nullable=False, index=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id")),
    Column("name", String(128), nullable=False),
    Column("digest", String(64), nullable=False, unique=True),
    Column("scopes", String(64), nullable=False),
    Column("created_by", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime),
    Column("revoked_at", UTCDateTime),
    Column("last_used_at", UTCDateTime),
)

transfers = Table(
    "ownership_transfers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("digest", String(64), nullable=False, unique=True),
    Column("created_by", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
    Column("claimed_at", UTCDateTime),
    Column("claimed_by", Id),
    Column("cancelled_at", UTCDateTime),
)

files = Table(
    "files",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("path", PathString(), nullable=False),
    Column("version", Integer, nullable=False),
    Column("size", BigInteger, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
    Column("deleted_by", Id),
    Index(
        "uq_files_live_path",
        "workspace_id",
        "path",
        unique=True,
        sqlite_where=text("deleted_at IS NULL"),
        postgresql_where=text("deleted_at IS NULL"),
    ),
    Index("ix_files_workspace_path", "workspace_id", "path"),
)

file_versions = Table(
    "file_versions",
    metadata,
    Column("file_id", Id, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("sha256", String(64), nullable=False, index=True),
    Column("size", BigInteger, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("author_id", Id, nullable=False),
    Column("agent_name", String(128)),
    Column("note", String(256)),
)

file_metadata = Table(
    "file_metadata",
    metadata,
    Column("file_id", Id, ForeignKey("files.id", ondelete="CASCADE"), primary_key=True),
    Column("key", String(128), primary_key=True),
    Column("value", Text, nullable=False),
)

locks = Table(
    "locks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("path", PathString(), nullable=False),
    Column("scope", String(8), nullable=False),  # file | tree
    Column("digest", String(64), nullable=False),
    Column("fencing_token", BigInteger, nullable=False),
    Column("holder_id", Id, nullable=False),
    Column("agent_name", String(128)),
    Column("enforce", Boolean, nullable=False),
    Column("acquired_at", UTCDateTime, nullable=False),
    Column("expires_at", UTCDateTime, nullable=False),
)

events = Table(
    "events",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
    Column("seq", BigInteger, primary_key=True),
    Column("type", String(64), nullable=False),
    Column("path", PathString()),
    Column("actor_id", Id, nullable=False),
    Column("agent_name", String(128)),
    Column("at", UTCDateTime, nullable=False),
    Column("data", Text, nullable=False),
    Index("ix_events_workspace_type", "workspace_id", "type"),
    Index("ix_events_workspace_at", "workspace_id", "at"),
)

audit_heads = Table(
    "audit_heads",
    metadata,
    Column("chain", Id, primary_key=True),
    Column("seq", BigInteger, nullable=False),
    Column("hash", String(64), nullable=False),
)

audit = Table(
    "audit",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("chain", Id, nullable=False),
    Column("seq", BigInteger, nullable=False),
    Column("at", UTCDateTime, nullable=False),
    Column("principal_id", Id, nullable=False),
    Column("principal_kind", String(8), nullable=False),
    Column("agent_name", String(128)),
    Column("api_key_id", Id),
    Column("interface", String(16), nullable=False),
    Column("action", String(64), nullable=False),
    Column("target", Text, nullable=False),
    Column("before_version", Integer),
    Column("after_version", Integer),
    Column("request_id", String(128)),
    Column("details", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    UniqueConstraint("chain", "seq"),
)

webhooks = Table(
    "webhooks",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),
    Column("event_types", Text, nullable=False),  # JSON list; empty = every type
    Column("path_glob", Text),
    Column("active", Boolean, nullable=False),
    Column("secret", String(128), nullable=False),  # needed in clear to sign deliveries
    Column("created_by", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("updated_at", UTCDateTime, nullable=False),
    Column("deleted_at", UTCDateTime),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", Id, primary_key=True),  # X-Pilothouse-Delivery, reused on retry
    Column("webhook_id", Id, ForeignKey("webhooks.id"), nullable=False, index=True),
    Column("workspace_id", Id, nullable=False),
    Column("event_cursor", BigInteger, nullable=False),
    Column("event_type", String(64), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(12), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_until", UTCDateTime),
    Column("last_status_code", Integer),
    Column("last_error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
)

imports = Table(
    "imports",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, index=True),
    Column("url", Text, nullable=False),  # as given (share links are rewritten on fetch)
    Column("path", PathString(), nullable=False),
    Column("status", String(12), nullable=False),  # queued | running | succeeded | failed
    Column("bytes_done", BigInteger, nullable=False, server_default=text("0")),
    Column("bytes_total", BigInteger),
    Column("version", Integer),
    Column("error", Text),
    Column("error_code", String(32)),
    Column("created_by", Id, nullable=False),
    Column("interface", String(16), nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
)

index_queue = Table(
    "index_queue",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("workspace_id", Id, nullable=False, index=True),
    Column("file_id", Id, nullable=False),
    Column("version", Integer, nullable=False),
    Column("sha256", String(64)),
    Column("op", String(8), nullable=False),  # index | drop
    Column("enqueued_at", UTCDateTime, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("lease_until", UTCDateTime),
    Column("last_error", Text),
)

chunks = Table(
    "chunks",
    metadata,
    Column(
        "id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True
    ),
    Column("workspace_id", Id, nullable=False),
    Column("file_id", Id, nullable=False),
    Column("version", Integer, nullable=False),
    Column("kind", String(16), nullable=False),
    Column("ordinal", Integer, nullable=False),
    Column("line_start", Integer, nullable=False),
    Column("line_end", Integer, nullable=False),
    Column("text", Text, nullable=False),
    Column("meta", Text, nullable=False),
    Column("model", String(128)),
    Column("vector", LargeBinary),
    Column("created_at", UTCDateTime, nullable=False),
    Index("ix_chunks_file", "file_id", "version"),
    Index("ix_chunks_workspace", "workspace_id", "id"),
)

FTS_TABLE = "chunks_fts"
"""SQLite only: the prefix of the FTS5 tables, made by hand rather than from metadata.

Migration 0003 made one table of that name for every workspace; since 0005 each
workspace has its own (:func:`fts_table`), created when its first chunk is indexed.
"""

FTS_COLUMNS = "text, tokenize = 'porter unicode61', content = 'chunks', content_rowid = 'id'"
"""An external-content FTS5 table over ``chunks.text``: the words are indexed, the text
is kept once (in ``chunks``), and a row is removed with FTS5's ``'delete'`` command
given the text it was indexed with."""


def fts_table(workspace_id: str) -> str:
    """The FTS5 table of one workspace: ``chunks_fts_ws_…`` (a digest for other ids).

    Never one of the shadow-table names FTS5 gives ``chunks_fts`` itself
    (``chunks_fts_data``, ``_idx``, ``_content``, ``_docsize``, ``_config``).
    """
    if re.fullmatch(r"ws_[a-z0-9_]{1,61}", workspace_id):
        return f"{FTS_TABLE}_{workspace_id}"
    return f"{FTS_TABLE}_h{hashlib.sha256(workspace_id.encode()).hexdigest()[:32]}"


# -- pipeline (issue 5): repositories, the trigger inbox, runs and the job queue --------

repositories = Table(
    "repositories",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False, unique=True),
    Column("url", Text, nullable=False),
    Column("branch", String(255), nullable=False),
    Column("webhook_secret", String(128), nullable=False),  # needed to verify signatures
    Column("token", Text),  # for https remotes and the GitHub API; never returned
    Column("full_name", String(255)),  # owner/name on GitHub, when known
    Column("created_by", Id, nullable=False),
    Column("created_at", UTCDateTime, nullable=False),
)

triggers = Table(
    "triggers",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("kind", String(32), nullable=False),  # github.push | github.pull_request | manual …
    Column("dedup_key", String(255), nullable=False, unique=True),  # delivery id, slot, …
    Column("payload", Text, nullable=False),  # JSON
    Column("status", String(12), nullable=False),  # pending | done | failed | ignored
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("error", Text),
    Column("created_at", UTCDateTime, nullable=False),
    Column("processed_at", UTCDateTime),
    Column("lease_until", UTCDateTime),
    Index("ix_triggers_pending", "status", "created_at"),
)

runs = Table(
    "runs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("pipeline", String(128), nullable=False),
    Column("trigger_id", Id, nullable=False),
    Column("trigger_kind", String(32), nullable=False),
    Column("revision", String(64)),
    Column("status", String(12), nullable=False),  # running | succeeded | failed | cancelled
    Column("created_at", UTCDateTime, nullable=False),
    Column("finished_at", UTCDateTime),
    Index("ix_runs_workspace", "workspace_id", "created_at"),
)

jobs = Table(
    "jobs",
    metadata,
    Column("id", Id, primary_key=True),
    Column("workspace_id", Id, ForeignKey("workspaces.id"), nullable=False),
    Column("run_id", Id, ForeignKey("runs.id"), nullable=False, index=True),
    Column("pipeline", String(128), nullable=False),
    Column("stage", String(64), nullable=False),
    Column("idempotency_key", String(255), nullable=False, unique=True),
    Column("context", Text, nullable=False),  # JSON: trigger event, changed files, …
    Column("revision", String(64)),
    # awaiting_approval | queued | running | succeeded | failed | timed_out | cancelled
    Column("status", String(20), nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("max_attempts", Integer, nullable=False),
    Column("timeout_seconds", Integer),
    Column("next_attempt_at", UTCDateTime, nullable=False),
    Column("lease_owner", String(64)),
    Column("lease_until", UTCDateTime),
    Column("created_at", UTCDateTime, nullable=False),
    Column("started_at", UTCDateTime),
    Column("finished_at", UTCDateTime),
    Column("summary", Text),
    Column("error", Text),
    Column("cancel_requested", Boolean, nullable=False, server_default=text("false")),
    Index("ix_jobs_ready", "status", "next_attempt_at"),
    Index("ix_jobs_stage", "workspace_id", "stage", "created_at"),
)

pipeline_agents = Table(
    "pipeline_agents",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
    Column("stage", String(64), primary_key=True),
    Column("principal_id", Id, nullable=False),
)

pipeline_cursors = Table(
    "pipeline_cursors",
    metadata,
    Column("workspace_id", Id, ForeignKey("workspaces.id"), primary_key=True),
    Column("event_cursor", BigInteger, nullable=False),
)

"""Engines and migrations.

SQLite is the embedded default and gets the settings a multi-process store needs:
WAL (readers never block the writer), ``synchronous=NORMAL`` (durable at every
checkpoint, no fsync per commit), foreign keys, a busy timeout, and — the
important one — ``BEGIN IMMEDIATE`` for transactions that will write. With
SQLite's default deferred transactions two processes can both read, then both try
to upgrade to a write lock, and one fails with "database is locked" instead of
waiting; taking the write lock up front turns that into an orderly queue. Reads
keep ``BEGIN DEFERRED`` and run beside the writer on their WAL snapshot.

The write intent travels as the execution option ``pilothouse_write``, set by
:func:`begin_write`.

PostgreSQL needs none of this: its writers serialise on the workspace row they
update (see :mod:`pilothouse.workspace.schema`).
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from alembic import command
from alembic.config import Config
from sqlalchemy import Connection, Engine, create_engine, event
from sqlalchemy.pool import NullPool

from pilothouse.core.settings import Settings

MIGRATIONS = Path(__file__).with_name("migrations")
WRITE = "pilothouse_write"


def make_engine(settings: Settings) -> Engine:
    """An engine for ``settings.database_url`` with the SQLite behaviour above."""
    url = settings.database_url
    if not url.startswith("sqlite"):
        return create_engine(url, pool_pre_ping=True, future=True)
    if url.startswith("sqlite:///") and ":memory:" not in url:
        Path(url.removeprefix("sqlite:///")).parent.mkdir(parents=True, exist_ok=True)
    engine = create_engine(
        url,
        poolclass=NullPool if ":memory:" in url else None,
        pool_reset_on_return=None,  # every transaction ends in COMMIT or ROLLBACK already
    )
    busy_ms = int(settings.database.busy_timeout_seconds * 1000)

    @event.listens_for(engine, "connect")
    def _configure(dbapi_connection: sqlite3.Connection, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we issue BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute(f"PRAGMA busy_timeout = {busy_ms}")
        cursor.execute("PRAGMA journal_mode = WAL")
        cursor.execute("PRAGMA synchronous = NORMAL")
        cursor.execute("PRAGMA foreign_keys = ON")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _begin(conn: Connection) -> None:
        mode = "IMMEDIATE" if conn.get_execution_options().get(WRITE) else "DEFERRED"
        conn.exec_driver_sql(f"BEGIN {mode}")

    return engine


@contextmanager
def begin_write(engine: Engine) -> Iterator[Connection]:
    """A transaction that intends to write: commits on success, rolls back on error."""
    with engine.connect() as conn:
        conn.execution_options(**{WRITE: True})
        with conn.begin():
            yield conn


@contextmanager
def begin_read(engine: Engine) -> Iterator[Connection]:
    """A read-only transaction on one consistent snapshot."""
    with engine.connect() as conn, conn.begin():
        yield conn


def alembic_config(engine: Engine) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    config.attributes["engine"] = engine
    return config


def migrate(engine: Engine) -> None:
    """Bring the schema to the newest migration; idempotent."""
    command.upgrade(alembic_config(engine), "head")

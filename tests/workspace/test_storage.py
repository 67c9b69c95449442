"""Migrations match the schema; the same core runs on PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import pytest
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import text

from pilothouse.core.settings import Settings
from pilothouse.workspace import database
from pilothouse.workspace.errors import LockHeld, VersionConflict
from pilothouse.workspace.migrations.env_support import include_name
from pilothouse.workspace.schema import metadata
from pilothouse.workspace.service import WorkspaceService


def test_migrations_produce_exactly_the_schema_and_are_idempotent(tmp_path: Path):
    engine = database.make_engine(Settings(home=tmp_path))
    database.migrate(engine)
    database.migrate(engine)
    with engine.connect() as conn:
        context = MigrationContext.configure(
            conn, opts={"compare_type": True, "include_name": include_name}
        )
        assert compare_metadata(context, metadata) == []
    engine.dispose()


def test_blobs_are_deduplicated_and_garbage_collected(tmp_path: Path):
    service = WorkspaceService(Settings(home=tmp_path, intelligence={"embedder": "none"}))
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    service.write_file(me, "ws", "/a", b"same")
    service.write_file(me, "ws", "/b", b"same")
    blobs = [p for p in (tmp_path / "blobs").rglob("*") if p.is_file() and p.parent.name != "tmp"]
    assert len(blobs) == 1
    service.delete_file(me, "ws", "/a")
    service.purge_file(me, "ws", "/a")
    assert service.collect_garbage(grace_seconds=0) == 0  # /b still references it
    service.delete_file(me, "ws", "/b")
    service.purge_file(me, "ws", "/b")
    assert service.collect_garbage(grace_seconds=0) == 1
    service.close()


@pytest.mark.postgres
def test_the_core_runs_on_postgresql(pg_service: WorkspaceService):
    me = pg_service.local_actor()
    ws = pg_service.create_workspace(me, "gitops-prod")
    pg_service.write_file(me, ws.name, "/status/validated.json", b'{"status":"ok"}')
    pg_service.write_file(me, ws.name, "/status/validated.json", b"2", if_version=1)
    with pytest.raises(VersionConflict):
        pg_service.write_file(me, ws.name, "/status/validated.json", b"3", if_version=1)
    for path in ["/b/x", "/a", "/b/y", "/c"]:
        pg_service.write_file(me, ws.name, path, b"")
    top = pg_service.list_files(me, ws.name, "/")
    assert [e.path for e in top.entries] == ["/a", "/b/", "/c", "/status/"]
    grant = pg_service.acquire_lock(me, ws.name, "/status/", scope="tree")
    with pytest.raises(LockHeld):
        pg_service.acquire_lock(me, ws.name, "/status/deployed.json")
    pg_service.release_lock(me, ws.name, grant.lock_id, grant.token)
    again = pg_service.acquire_lock(me, ws.name, "/status/deployed.json")
    assert again.fencing_token > grant.fencing_token
    assert [e.type for e in pg_service.list_events(me, ws.name, types=["lock.*"])] == [
        "lock.acquired",
        "lock.released",
        "lock.acquired",
    ]
    assert pg_service.verify_audit(me, ws.name).ok
    pg_service.write_file(me, ws.name, "/reports/cert.md", b"# Incident\nThe certificate expired\n")
    pg_service.index_pending()
    hits = pg_service.search(me, ws.name, "certificates expiring", mode="lexical").hits
    assert [(h.path, h.line_start, h.line_end) for h in hits] == [("/reports/cert.md", 1, 2)]


def test_search_index_migrates_to_one_table_per_workspace_and_back(tmp_path: Path):
    service = WorkspaceService(Settings(home=tmp_path), embedder=None)
    service.initialize("alice")
    me = service.local_actor()
    for name in ("blue", "green"):
        service.create_workspace(me, name)
        service.write_file(
            me, name, "/notes.md", f"# {name}\nthe canary was rolled back\n".encode()
        )
    service.index_pending()
    config = database.alembic_config(service.engine)

    command.downgrade(config, "0004")
    with service.engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM chunks_fts WHERE chunks_fts MATCH 'canary'"))
        assert rows.scalar_one() == 2
        assert not conn.execute(
            text("SELECT name FROM sqlite_master WHERE name LIKE 'chunks_fts_ws%'")
        ).all()

    command.upgrade(config, "head")
    with service.engine.connect() as conn:
        assert not conn.execute(
            text("SELECT name FROM sqlite_master WHERE name = 'chunks_fts'")
        ).all()
    for name in ("blue", "green"):
        hits = service.search(me, name, "rolled back canary", mode="lexical").hits
        assert [(h.path, h.snippet.splitlines()[0]) for h in hits] == [("/notes.md", f"# {name}")]
    service.close()

"""The inbox and the job queue refuse duplicates without errors, on both databases."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pilothouse.pipeline import store
from pilothouse.workspace import database
from pilothouse.workspace.service import WorkspaceService
from tests.workspace.conftest import clock, pg_service, service, settings  # noqa: F401

NOW = datetime(2026, 12, 1, tzinfo=UTC)


@pytest.fixture(params=["sqlite", pytest.param("postgresql", marks=pytest.mark.postgres)])
def engine_service(request: pytest.FixtureRequest) -> WorkspaceService:
    name = "service" if request.param == "sqlite" else "pg_service"
    found: WorkspaceService = request.getfixturevalue(name)
    return found


def test_a_taken_dedup_key_or_idempotency_key_queues_nothing(engine_service: WorkspaceService):
    me = engine_service.local_actor()
    ws = engine_service.create_workspace(me, "ws").id
    with database.begin_write(engine_service.engine) as conn:
        first, duplicate = store.submit_trigger(
            conn, ws, kind="manual", dedup_key="k", payload={}, now=NOW
        )
        assert duplicate is False
    with database.begin_write(engine_service.engine) as conn:
        again, duplicate = store.submit_trigger(
            conn, ws, kind="manual", dedup_key="k", payload={"x": 1}, now=NOW
        )
        assert (again, duplicate) == (first, True)
        run = store.create_run(
            conn, ws, pipeline="p", trigger_id=first, trigger_kind="manual", revision=None, now=NOW
        )
        job = dict(
            workspace_id=ws,
            run_id=run,
            pipeline="p",
            stage="s",
            idempotency_key=f"{first}:s",
            context={},
            revision=None,
            max_attempts=1,
            timeout_seconds=60,
            now=NOW,
        )
        assert store.enqueue_job(conn, **job) is not None  # type: ignore[arg-type]
        assert store.enqueue_job(conn, **job) is None  # type: ignore[arg-type]
    with database.begin_read(engine_service.engine) as conn:
        assert [j.stage for j in store.list_runs(conn, ws)[0].jobs] == ["s"]
        assert store.get_trigger(conn, ws, first)["run_ids"] == [run]  # type: ignore[index]

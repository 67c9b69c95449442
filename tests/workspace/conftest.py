"""A service on a temporary home with a clock that moves only when told to."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text

from pilothouse.core.clock import ManualClock
from pilothouse.core.settings import Settings
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.service import WorkspaceService

PG_ADMIN = "postgresql+psycopg://postgres@127.0.0.1:5432/postgres"
PG_TEST = "postgresql+psycopg://postgres@127.0.0.1:5432/pilothouse_test"


@pytest.fixture
def clock() -> ManualClock:
    return ManualClock()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        workspace={"default_quota_bytes": 10_000, "max_file_bytes": 1_000},
        intelligence={"embedder": "none"},
    )


@pytest.fixture
def service(settings: Settings, clock: ManualClock) -> Iterator[WorkspaceService]:
    opened = WorkspaceService(settings, clock=clock)
    opened.initialize("alice")
    yield opened
    opened.close()


@pytest.fixture
def alice(service: WorkspaceService) -> Actor:
    return service.local_actor()


@pytest.fixture
def ws(service: WorkspaceService, alice: Actor) -> Workspace:
    return service.create_workspace(alice, "gitops-prod")


def _postgres_or_skip() -> None:
    try:
        engine = create_engine(PG_ADMIN, isolation_level="AUTOCOMMIT")
        with engine.connect() as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = 'pilothouse_test'")
            ).first()
            if not exists:
                conn.execute(text("CREATE DATABASE pilothouse_test"))
        engine.dispose()
    except Exception as e:  # noqa: BLE001 - any connection failure means "no server here"
        reason = f"PostgreSQL on 127.0.0.1:5432 is not reachable ({type(e).__name__})"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the PostgreSQL tests")
        pytest.skip(reason)


@pytest.fixture
def pg_service(tmp_path: Path, clock: ManualClock) -> Iterator[WorkspaceService]:
    """The same service on a fresh PostgreSQL schema."""
    _postgres_or_skip()
    engine = create_engine(PG_TEST)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
    engine.dispose()
    opened = WorkspaceService(
        Settings(
            home=tmp_path / "pg", database={"url": PG_TEST}, intelligence={"embedder": "none"}
        ),
        clock=clock,
    )
    opened.initialize("alice")
    yield opened
    opened.close()

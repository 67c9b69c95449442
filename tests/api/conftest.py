"""A real server on loopback for every API test.

The socket is bound before uvicorn starts, so the port is known and connections
queue in the backlog until the server accepts them: no readiness polling.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import httpx
import pytest
import uvicorn

from pilothouse.api import background
from pilothouse.api.app import create_app
from pilothouse.core.clock import ManualClock
from pilothouse.core.settings import Settings
from pilothouse.workspace.service import WorkspaceService


@dataclass
class Live:
    url: str
    service: WorkspaceService
    admin_key: str
    clock: ManualClock

    def client(self, key: str | None = None, **kwargs: object) -> httpx.Client:
        headers = {"Authorization": f"Bearer {key or self.admin_key}"} if key != "" else {}
        return httpx.Client(base_url=self.url, headers=headers, timeout=10, **kwargs)  # type: ignore[arg-type]


def serve(app: object) -> Iterator[str]:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(app, log_level="warning", lifespan="on")  # type: ignore[arg-type]
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        sock.close()


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(
        home=tmp_path / "home",
        workspace={"max_file_bytes": 8 * 1024 * 1024},
        server={"max_json_body_bytes": 64 * 1024},
    )


@pytest.fixture
def live(settings: Settings) -> Iterator[Live]:
    clock = ManualClock(datetime.now(UTC))
    service = WorkspaceService(settings, clock=clock)
    _, key = service.initialize("alice")
    try:
        for url in serve(create_app(service)):
            yield Live(url, service, key.key, clock)
    finally:
        service.close()


@pytest.fixture
def live_with_workers(tmp_path: Path) -> Iterator[Live]:
    """A server that also runs its workers (webhooks, imports) and may reach loopback."""
    settings = Settings(
        home=tmp_path / "dispatching",
        server={"allow_private_webhook_targets": True},
        webhooks={"poll_seconds": 0.2, "timeout_seconds": 5},
        workspace={"max_file_bytes": 1024 * 1024},
    )
    clock = ManualClock(datetime.now(UTC))
    service = WorkspaceService(settings, clock=clock)
    _, key = service.initialize("alice")
    extensions = (background.webhook_dispatcher, background.importer)
    try:
        for url in serve(create_app(service, extensions=extensions)):
            yield Live(url, service, key.key, clock)
    finally:
        service.close()


@pytest.fixture
def api(live: Live) -> Iterator[httpx.Client]:
    with live.client() as client:
        assert client.post("/api/v1/workspaces", json={"name": "gitops-prod"}).status_code == 201
        yield client

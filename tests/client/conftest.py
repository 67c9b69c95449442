"""One contract, two implementations: every test here runs in-process and over HTTP.

``workspace`` is parametrised over ``local`` (:class:`LocalWorkspace` on the
service) and ``remote`` (:class:`Client` against a real uvicorn server on loopback
serving ``create_app`` on the *same* service). A behaviour that differs between
the two fails one of the pair.

``reference`` is always the in-process view of that service; comparing a remote
answer with it checks that the client decodes exactly what the service returned.

The server's socket is bound before uvicorn starts, so its port is known and
connections queue in the backlog until it accepts them: no readiness polling. It is
started only for ``remote`` tests.
"""

from __future__ import annotations

import socket
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import uvicorn

from pilothouse.api.app import create_app
from pilothouse.client import Client
from pilothouse.core.settings import Settings
from pilothouse.workspace.events import Handler, InProcessEventBus, Subscription
from pilothouse.workspace.protocol import LocalWorkspace, Workspace
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

WS = "gitops-prod"
SHUTDOWN_SECONDS = 10


class ObservedBus(InProcessEventBus):
    """The real in-process bus that also says when someone starts waiting on it.

    Waiting calls (``wait_events``, an acquire with ``wait_seconds``) subscribe before
    they first look, so a test that acts once ``subscribed`` is set exercises the
    wake-up path without sleeping, and cannot act too early.
    """

    def __init__(self) -> None:
        super().__init__()
        self.subscribed = threading.Event()

    def subscribe(self, handler: Handler) -> Subscription:
        subscription = super().subscribe(handler)
        self.subscribed.set()
        return subscription


@dataclass(frozen=True)
class Home:
    service: WorkspaceService
    bus: ObservedBus
    admin_key: str


@pytest.fixture
def home(tmp_path: Path) -> Iterator[Home]:
    bus = ObservedBus()
    service = WorkspaceService(Settings(home=tmp_path), bus=bus)
    _, created_key = service.initialize("alice")
    try:
        yield Home(service, bus, created_key.key)
    finally:
        service.close()


@pytest.fixture
def server(home: Home) -> Iterator[str]:
    """The base URL of a uvicorn server for ``home``'s service."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Accepted connections inherit this; asyncio does not set it on sockets it is handed,
    # and without it every response waits ~40 ms for a delayed ACK (Nagle).
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    port = sock.getsockname()[1]
    config = uvicorn.Config(create_app(home.service), log_level="warning", lifespan="on")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_SECONDS)
        sock.close()
        assert not thread.is_alive(), "uvicorn did not shut down"


@pytest.fixture(params=["local", "remote"])
def side(request: pytest.FixtureRequest) -> str:
    side: str = request.param
    return side


@pytest.fixture
def connect(
    side: str, home: Home, request: pytest.FixtureRequest
) -> Iterator[Callable[[str], Workspace]]:
    """Open the workspace as the holder of an API key, on this test's side."""
    clients: list[Client] = []

    def local(key: str) -> Workspace:
        return LocalWorkspace(home.service, home.service.authenticate(key, Interface.CLI))

    def remote(key: str) -> Workspace:
        client = Client(request.getfixturevalue("server"), key, timeout=10)
        clients.append(client)
        return client

    try:
        yield local if side == "local" else remote
    finally:
        for client in clients:
            client.close()


@pytest.fixture
def workspace(side: str, home: Home, connect: Callable[[str], Workspace]) -> Workspace:
    """The site admin ``alice``: the CLI's local actor, or a client with her init key."""
    if side == "local":
        return LocalWorkspace(home.service, home.service.local_actor())
    return connect(home.admin_key)


@pytest.fixture
def reference(home: Home) -> Workspace:
    """Always in-process, as ``alice``: what the service itself answers."""
    return LocalWorkspace(home.service, home.service.local_actor())


@pytest.fixture
def prod(workspace: Workspace) -> str:
    """A fresh workspace owned by ``alice``; its name."""
    workspace.create_workspace(WS, description="production GitOps state")
    return WS

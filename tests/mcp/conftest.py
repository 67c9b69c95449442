"""MCP tests talk to the server through the official SDK client.

Most go through the in-memory transport (``Client(server)``); the transports are
exercised over stdio (a real subprocess) and HTTP (uvicorn on a loopback port
bound before the server starts, so no readiness polling is needed). Helpers are
fixtures, since tests must not import from this module.
"""

from __future__ import annotations

import json
import socket
import threading
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import anyio
import pytest
import uvicorn
from mcp.client import Client
from mcp.server.mcpserver import MCPServer
from mcp_types import CallToolResult

from pilothouse.core.settings import Settings
from pilothouse.mcp import build_server, fixed_resolver
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

Payload = dict[str, Any]
Call = Callable[..., Awaitable[Payload]]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture
def home(tmp_path: Path) -> Path:
    return tmp_path / "home"


@pytest.fixture
def service(home: Path) -> Iterator[WorkspaceService]:
    service = WorkspaceService(Settings(home=home))
    service.initialize("alice")
    try:
        yield service
    finally:
        service.close()


@pytest.fixture
def alice(service: WorkspaceService) -> Actor:
    return service.local_actor()


@pytest.fixture
def workspace(service: WorkspaceService, alice: Actor) -> Workspace:
    return service.create_workspace(alice, "gitops-prod")


@pytest.fixture
def validator_key(service: WorkspaceService, alice: Actor, workspace: Workspace) -> str:
    """A read-scoped key of the agent ``validator``, a member of gitops-prod."""
    service.create_agent(alice, workspace.name, "validator", role="member")
    return service.create_api_key(alice, workspace.name, "validator", scope="read").key


@pytest.fixture
def validator(service: WorkspaceService, validator_key: str) -> Actor:
    return service.authenticate(validator_key, Interface.MCP)


@pytest.fixture
def server(service: WorkspaceService, alice: Actor, workspace: Workspace) -> MCPServer:
    return build_server(service, fixed_resolver(alice))


@pytest.fixture
def payload_of() -> Callable[[CallToolResult], Payload]:
    """The JSON object of a result, checked to be the same as text and as structured content."""

    def decode(result: CallToolResult) -> Payload:
        assert len(result.content) == 1
        block = result.content[0]
        assert block.type == "text"
        data: Payload = json.loads(block.text)
        assert data == result.structured_content
        assert result.is_error == ("error" in data)
        return data

    return decode


@pytest.fixture
def caller(payload_of: Callable[[CallToolResult], Payload]) -> Callable[[Client], Call]:
    """``caller(client)`` gives ``await call(tool, action, **arguments) -> payload``."""

    def bind(client: Client) -> Call:
        async def call(tool: str, action: str, **arguments: Any) -> Payload:
            with anyio.fail_after(10):
                result = await client.call_tool(tool, {"action": action, **arguments})
            return payload_of(result)

        return call

    return bind


@pytest.fixture
async def client(server: MCPServer) -> AsyncIterator[Client]:
    async with Client(server) as connected:
        yield connected


@pytest.fixture
def call(client: Client, caller: Callable[[Client], Call]) -> Call:
    """Calls as alice, the site admin, through the in-memory transport."""
    return caller(client)


@pytest.fixture
def serve() -> Callable[[Any], Any]:
    """``with serve(asgi_app) as base_url:`` runs uvicorn on a loopback port in a thread."""

    @contextmanager
    def running(app: Any) -> Iterator[str]:
        sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind(("127.0.0.1", 0))
        sock.listen(128)
        port = sock.getsockname()[1]
        config = uvicorn.Config(app, log_level="warning", lifespan="on")
        server = uvicorn.Server(config)
        thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True
            thread.join(timeout=10)
            sock.close()

    return running

from __future__ import annotations

from collections.abc import Callable
from contextlib import AbstractContextManager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client
from mcp_types import CallToolResult
from starlette.applications import Starlette

from pilothouse.core.settings import ServerSettings
from pilothouse.mcp import (
    bearer_resolver,
    build_server,
    http_routes,
    mount,
    sse_app,
    standalone_app,
    streamable_http_app,
    transport_security,
)
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Serve = Callable[[Any], AbstractContextManager[str]]
Payload = dict[str, Any]
WS = "gitops-prod"
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-06-18",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "0"},
    },
}
MCP_HEADERS = {"Accept": "application/json, text/event-stream"}


@pytest.fixture
def admin_key(service: WorkspaceService, alice: Actor, workspace: Workspace) -> str:
    return service.create_api_key(alice, workspace.name, alice.principal.id, scope="admin").key


@pytest.fixture
def http_app(service: WorkspaceService, workspace: Workspace) -> Starlette:
    return standalone_app(build_server(service, bearer_resolver(service)))


def _authorised(key: str | None) -> httpx2.AsyncClient:
    headers = {"Authorization": f"Bearer {key}"} if key else {}
    return httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(10))


async def _write_and_read(
    client: Client, payload_of: Callable[[CallToolResult], Payload]
) -> tuple[Payload, Payload]:
    text = '{"status": "succeeded"}'
    with anyio.fail_after(10):
        written = await client.call_tool(
            "file", {"action": "write", "workspace": WS, "path": "/s.json", "content": text}
        )
        read = await client.call_tool(
            "file", {"action": "read", "workspace": WS, "path": "/s.json"}
        )
    return payload_of(written), payload_of(read)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_streamable_http_serves_tool_calls_for_a_bearer_key(
    mode: str,
    serve: Serve,
    http_app: Starlette,
    admin_key: str,
    service: WorkspaceService,
    alice: Actor,
    payload_of: Callable[[CallToolResult], Payload],
) -> None:
    with serve(http_app) as url:
        async with _authorised(admin_key) as http:
            transport = streamable_http_client(f"{url}/mcp", http_client=http)
            async with Client(transport, mode=mode) as client:
                with anyio.fail_after(10):
                    tools = (await client.list_tools()).tools
                written, read = await _write_and_read(client, payload_of)
    assert len(tools) == 15
    assert written["version"] == 1
    assert read["content"] == '{"status": "succeeded"}'
    [entry] = service.list_audit(alice, WS, action="file.write")
    assert entry.interface == "mcp"
    assert entry.api_key_id is not None


async def test_http_tool_calls_without_a_valid_key_are_unauthenticated(
    serve: Serve, http_app: Starlette, payload_of: Callable[[CallToolResult], Payload]
) -> None:
    with serve(http_app) as url:
        for key in (None, "phk_not-a-real-key"):
            async with _authorised(key) as http:
                transport = streamable_http_client(f"{url}/mcp", http_client=http)
                async with Client(transport, mode="legacy") as client:
                    with anyio.fail_after(10):
                        result = await client.call_tool(
                            "file", {"action": "read", "workspace": WS, "path": "/a"}
                        )
            assert payload_of(result)["error"]["code"] == "unauthenticated"


async def test_sse_serves_tool_calls_for_a_bearer_key(
    serve: Serve,
    http_app: Starlette,
    admin_key: str,
    payload_of: Callable[[CallToolResult], Payload],
) -> None:
    with serve(http_app) as url:
        transport = sse_client(f"{url}/sse", headers={"Authorization": f"Bearer {admin_key}"})
        async with Client(transport, mode="legacy") as client:
            written, read = await _write_and_read(client, payload_of)
    assert written["version"] == 1
    assert read["content"] == '{"status": "succeeded"}'


async def test_an_sse_session_only_accepts_the_key_that_opened_it(
    serve: Serve,
    http_app: Starlette,
    admin_key: str,
    validator_key: str,
) -> None:
    with serve(http_app) as url, anyio.fail_after(10):
        async with (
            httpx.AsyncClient(base_url=url, timeout=10) as http,
            http.stream("GET", "/sse", headers={"Authorization": f"Bearer {admin_key}"}) as stream,
        ):
            assert stream.status_code == 200
            endpoint = ""
            lines = stream.aiter_lines()  # kept referenced: a finalised iterator closes the stream
            async for line in lines:
                if line.startswith("data: "):
                    endpoint = line.removeprefix("data: ")
                    break
            assert endpoint.startswith("/sse/messages/?session_id=")
            other = await http.post(
                endpoint, json=INITIALIZE, headers={"Authorization": f"Bearer {validator_key}"}
            )
            same = await http.post(
                endpoint, json=INITIALIZE, headers={"Authorization": f"Bearer {admin_key}"}
            )
    assert other.status_code == 404
    assert same.status_code == 202


async def test_mcp_answers_503_until_the_parent_lifespan_runs_it(
    service: WorkspaceService,
) -> None:
    parent = Starlette()
    running = mount(parent, build_server(service, bearer_resolver(service)))
    transport = httpx.ASGITransport(app=parent)
    async with httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8700") as http:
        with anyio.fail_after(10):
            before = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            async with running:
                during = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
    assert before.status_code == 503
    assert during.status_code == 200
    assert "pilothouse" in during.text


async def test_loopback_hosts_on_any_port_pass_and_foreign_hosts_are_refused(
    service: WorkspaceService,
) -> None:
    server = build_server(service, bearer_resolver(service))
    streamable = streamable_http_app(server)
    app = Starlette(routes=http_routes(streamable, sse_app(server)))
    statuses: dict[str, int] = {}
    async with streamable.lifespan():
        for base in ("http://127.0.0.1:41234", "http://localhost:9", "http://evil.example"):
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=base) as http:
                with anyio.fail_after(10):
                    response = await http.post("/mcp", json=INITIALIZE, headers=MCP_HEADERS)
            statuses[base] = response.status_code
    assert statuses == {
        "http://127.0.0.1:41234": 200,
        "http://localhost:9": 200,
        "http://evil.example": 421,
    }


def test_transport_security_allows_the_public_url_and_a_named_bind_host() -> None:
    settings = ServerSettings(host="10.0.0.5", public_url="https://pilothouse.example.com")
    security = transport_security(settings)
    assert security.enable_dns_rebinding_protection is True
    assert {"127.0.0.1:*", "pilothouse.example.com", "10.0.0.5:*"} <= set(security.allowed_hosts)
    assert "https://pilothouse.example.com" in security.allowed_origins


def test_transport_security_is_off_on_every_interface_without_a_known_name() -> None:
    security = transport_security(ServerSettings(host="0.0.0.0"))
    assert security.enable_dns_rebinding_protection is False
    named = transport_security(ServerSettings(host="0.0.0.0"), allowed_hosts=["ph.internal"])
    assert named.enable_dns_rebinding_protection is True
    assert "ph.internal:*" in named.allowed_hosts

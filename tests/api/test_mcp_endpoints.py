"""The MCP endpoints of the real server: /mcp and /sse behind the same front door."""

from __future__ import annotations

import json
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp.client import Client
from mcp.client.sse import sse_client
from mcp.client.streamable_http import streamable_http_client

pytestmark = pytest.mark.anyio


def _payload(result: Any) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(result.content[0].text)
    return data


async def _round_trip(client: Client) -> tuple[list[str], dict[str, Any], dict[str, Any]]:
    with anyio.fail_after(15):
        tools = [t.name for t in (await client.list_tools()).tools]
        text = '{"status": "succeeded", "findings": []}'
        await client.call_tool(
            "file",
            {"action": "write", "workspace": "gitops-prod", "path": "/s.json", "content": text},
        )
        read = _payload(
            await client.call_tool(
                "file", {"action": "read", "workspace": "gitops-prod", "path": "/s.json"}
            )
        )
        await client.call_tool(
            "lock",
            {"action": "acquire", "workspace": "gitops-prod", "path": "/status/", "scope": "tree"},
        )
        held = await client.call_tool(
            "lock",
            {"action": "acquire", "workspace": "gitops-prod", "path": "/status/x"},
        )
    return tools, read, {"is_error": held.is_error, **_payload(held)}


async def test_streamable_http_on_the_server_serves_tools_with_a_bearer_key(
    live: Any, api: httpx.Client
):
    headers = {"Authorization": f"Bearer {live.admin_key}"}
    async with httpx2.AsyncClient(headers=headers, timeout=httpx2.Timeout(15)) as http:
        transport = streamable_http_client(f"{live.url}/mcp", http_client=http)
        async with Client(transport, mode="legacy") as client:
            tools, read, held = await _round_trip(client)
    assert {"workspace", "file", "lock", "event", "audit"} <= set(tools)
    assert read["content"] == '{"status": "succeeded", "findings": []}'
    assert held["is_error"] and held["error"]["code"] == "lock_held"
    assert "expires_at" in held["error"]["details"]
    entry = api.get("/api/v1/workspaces/gitops-prod/audit", params={"action": "file.write"})
    assert entry.json()[-1]["interface"] == "mcp"
    metrics = api.get("/metrics").text
    assert 'pilothouse_mcp_tool_calls_total{action="acquire",outcome="lock_held",tool="lock"}' in (
        metrics
    )


async def test_legacy_sse_on_the_server_serves_the_same_tools(live: Any, api: httpx.Client):
    headers = {"Authorization": f"Bearer {live.admin_key}"}
    async with Client(sse_client(f"{live.url}/sse", headers=headers)) as client:
        tools, read, held = await _round_trip(client)
    assert "file" in tools and read["version"] == 1
    assert held["error"]["code"] == "lock_held"


def test_mcp_endpoints_refuse_requests_without_a_valid_key(live: Any):
    with httpx.Client(base_url=live.url, timeout=10) as anonymous:
        for path in ("/mcp", "/sse"):
            response = anonymous.post(path, json={"jsonrpc": "2.0", "id": 1, "method": "ping"})
            assert response.status_code == 401
            assert response.json()["error"]["code"] == "unauthenticated"
        bad = anonymous.get("/sse", headers={"Authorization": "Bearer phk_nope"})
        assert bad.status_code == 401

"""``python -m pilothouse.mcp`` as a real subprocess, through the SDK's stdio client."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp.client import Client
from mcp.client.stdio import StdioServerParameters
from mcp_types import CallToolResult

from pilothouse.mcp.__main__ import main
from pilothouse.workspace.models import Workspace

Payload = dict[str, Any]
WS = "gitops-prod"
ROOT = Path(__file__).resolve().parents[2]
INSPECTOR = Path(
    os.environ.get("PILOTHOUSE_MCP_INSPECTOR", ROOT / "tools/node/node_modules/.bin/mcp-inspector")
)


def _stdio(home: Path, *args: str, api_key: str | None = None) -> StdioServerParameters:
    env = {"PILOTHOUSE_HOME": str(home)}
    if api_key:
        env["PILOTHOUSE_API_KEY"] = api_key
    return StdioServerParameters(
        command=sys.executable, args=["-m", "pilothouse.mcp", *args], env=env
    )


@pytest.mark.anyio
async def test_stdio_serves_the_home_as_the_local_user(
    home: Path, workspace: Workspace, payload_of: Callable[[CallToolResult], Payload]
) -> None:
    text = '{"status": "succeeded"}'
    with anyio.fail_after(20):
        async with Client(_stdio(home, "--workspace", WS)) as client:
            tools = [t.name for t in (await client.list_tools()).tools]
            written = await client.call_tool(
                "file", {"action": "write", "path": "/status/validated.json", "content": text}
            )
            read = await client.call_tool(
                "file", {"action": "read", "path": "/status/validated.json"}
            )
    assert "file" in tools
    assert payload_of(written)["version"] == 1
    assert payload_of(read)["content"] == text


@pytest.mark.anyio
async def test_stdio_acts_as_the_principal_of_the_api_key(
    home: Path, validator_key: str, payload_of: Callable[[CallToolResult], Payload]
) -> None:
    with anyio.fail_after(20):
        async with Client(_stdio(home, api_key=validator_key)) as client:
            members = await client.call_tool("member", {"action": "list", "workspace": WS})
            written = await client.call_tool(
                "file", {"action": "write", "workspace": WS, "path": "/a", "content": "x"}
            )
    assert {m["name"] for m in payload_of(members)["members"]} == {"alice", "validator"}
    assert payload_of(written)["error"]["code"] == "forbidden"


def test_the_entry_point_refuses_a_missing_home_or_a_bad_key(
    tmp_path: Path,
    home: Path,
    workspace: Workspace,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    assert main(["--home", str(tmp_path / "nowhere")]) == 2
    assert "no Pilothouse home" in capsys.readouterr().err
    monkeypatch.setenv("PILOTHOUSE_API_KEY", "phk_bogus")
    assert main(["--home", str(home)]) == 2
    assert "unauthenticated" in capsys.readouterr().err


def test_the_inspector_cli_writes_and_reads_json_text_with_key_value_arguments(
    home: Path, workspace: Workspace
) -> None:
    if not INSPECTOR.exists():
        reason = "MCP Inspector not installed (make node-tools needs npm)"
        if os.environ.get("CI") == "true":
            pytest.fail(f"{reason}; CI must run the independent MCP client")
        pytest.skip(reason)
    pilothouse = Path(sys.executable).with_name("pilothouse")

    def inspect(*tool_args: str) -> Payload:
        command = [str(INSPECTOR), "--cli", str(pilothouse), "mcp"]
        command += ["--workspace", WS, "--method", "tools/call", "--tool-name", "file"]
        for arg in tool_args:
            command += ["--tool-arg", arg]
        env = {**os.environ, "PILOTHOUSE_HOME": str(home)}
        env.pop("PILOTHOUSE_API_KEY", None)
        done = subprocess.run(
            command, env=env, capture_output=True, text=True, timeout=60, check=False
        )
        assert done.returncode == 0, done.stderr
        result: Payload = json.loads(done.stdout)
        assert result["isError"] is False, result
        structured: Payload = result["structuredContent"]
        return structured

    text = '{"status": "succeeded"}'
    written = inspect("action=write", "path=/status/v.json", f"content={text}", "if_version=0")
    read = inspect("action=read", "path=/status/v.json", "as_base64=false", "version=1")
    assert written["version"] == 1
    assert read["content"] == text

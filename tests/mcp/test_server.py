from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import anyio.lowlevel
import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from pilothouse.mcp import Registry, build_server, fixed_resolver
from pilothouse.mcp.registry import Call as HandlerCall
from pilothouse.mcp.wire import Arguments
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Payload = dict[str, Any]
Call = Callable[..., Awaitable[Payload]]
WS = "gitops-prod"
TOOLS = [
    "workspace",
    "file",
    "lock",
    "event",
    "audit",
    "member",
    "apikey",
    "ownership",
    "webhook",
    "import",
    "download",
    "search",
    "repo",
    "pipeline",
    "validate",
]


async def test_every_tool_is_listed_with_truthful_annotations(client: Client) -> None:
    with anyio.fail_after(10):
        listed = {t.name: t for t in (await client.list_tools()).tools}
    assert list(listed) == TOOLS
    for name in ("event", "audit"):
        hints = listed[name].annotations
        assert hints is not None
        assert hints.read_only_hint is True
        assert hints.destructive_hint is False
    for name in ("import", "download", "search"):
        hints = listed[name].annotations
        assert hints is not None
        assert hints.read_only_hint is False
        assert hints.destructive_hint is False
    destructive = ("workspace", "file", "lock", "member", "apikey", "ownership", "webhook")
    for name in (*destructive, "repo", "pipeline"):
        hints = listed[name].annotations
        assert hints is not None
        assert hints.read_only_hint is False
        assert hints.destructive_hint is True
    schema = listed["file"].input_schema
    assert schema["required"] == ["action"]
    assert "describe" in schema["properties"]["action"]["enum"]
    assert schema["properties"]["content"] == {
        "type": "string",
        "description": "The complete new content as text, stored byte for byte. (for write)",
    }


async def test_input_schemas_use_one_plain_json_type_per_argument(client: Client) -> None:
    with anyio.fail_after(10):
        tools = (await client.list_tools()).tools
    for listed in tools:
        for name, prop in listed.input_schema["properties"].items():
            assert "anyOf" not in prop, (listed.name, name)
            assert prop["type"] in {"string", "integer", "number", "boolean", "array", "object"}


async def test_legacy_handshake_clients_get_the_same_tools(server: MCPServer) -> None:
    with anyio.fail_after(10):
        async with Client(server, mode="legacy") as legacy:
            tools = [t.name for t in (await legacy.list_tools()).tools]
            result = await legacy.call_tool("workspace", {"action": "details", "workspace": WS})
    assert tools == TOOLS
    assert result.is_error is False
    assert result.structured_content is not None
    assert result.structured_content["name"] == WS


async def test_describe_returns_each_action_with_its_json_schema(call: Call) -> None:
    described = await call("file", "describe")
    actions = {a["action"]: a for a in described["actions"]}
    assert set(actions) == {
        "read", "write", "stat", "list", "delete", "trash", "restore", "purge", "move",
        "copy", "versions", "restore_version", "metadata_get", "metadata_set",
    }  # fmt: skip
    write = actions["write"]
    assert write["read_only"] is False
    assert write["destructive"] is True
    assert write["arguments"]["required"] == ["workspace", "path"]
    assert write["arguments"]["additionalProperties"] is False
    assert set(write["arguments"]["properties"]) >= {"content", "content_base64", "if_version"}
    assert actions["read"]["read_only"] is True


async def test_json_looking_text_is_stored_and_read_back_byte_for_byte(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    text = '{"status": "succeeded"}'
    written = await call("file", "write", workspace=WS, path="/status/validated.json", content=text)
    digest = hashlib.sha256(text.encode()).hexdigest()
    assert written["version"] == 1
    assert written["size"] == len(text.encode())
    assert written["sha256"] == digest
    read = await call("file", "read", workspace=WS, path="/status/validated.json")
    assert read["content"] == text
    assert read["encoding"] == "utf-8"
    assert read["sha256"] == digest
    assert service.read_file(alice, WS, "/status/validated.json").content == text.encode()


async def test_text_that_is_json_in_other_shapes_stays_text(call: Call) -> None:
    for text in ("[1, 2]", "null", "42", '"quoted"', "true", "", "ünïcødé ✓\n"):
        await call("file", "write", workspace=WS, path="/t.txt", content=text)
        read = await call("file", "read", workspace=WS, path="/t.txt")
        assert read["content"] == text


async def test_binary_content_round_trips_through_base64(call: Call) -> None:
    data = bytes(range(256))
    encoded = base64.b64encode(data).decode()
    written = await call("file", "write", workspace=WS, path="/bin/blob", content_base64=encoded)
    assert written["sha256"] == hashlib.sha256(data).hexdigest()
    read = await call("file", "read", workspace=WS, path="/bin/blob")
    assert "content" not in read
    assert read["encoding"] == "base64"
    assert read["content_base64"] == encoded


async def test_text_can_be_read_as_base64_on_request(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a.txt", content="hi")
    read = await call("file", "read", workspace=WS, path="/a.txt", as_base64=True)
    assert read["content_base64"] == "aGk="


async def test_unknown_action_is_invalid_argument_listing_the_valid_actions(call: Call) -> None:
    reply = await call("lock", "steal", workspace=WS)
    error = reply["error"]
    assert error["code"] == "invalid_argument"
    assert "steal" in error["message"]
    assert error["details"]["valid_actions"] == [
        "acquire", "heartbeat", "release", "status", "list", "break", "describe",
    ]  # fmt: skip


async def test_a_call_without_an_action_is_invalid_argument(client: Client) -> None:
    with anyio.fail_after(10):
        result = await client.call_tool("file", {"workspace": WS})
    assert result.is_error is True
    assert result.structured_content is not None
    assert result.structured_content["error"]["code"] == "invalid_argument"
    assert "describe" in result.structured_content["error"]["details"]["valid_actions"]


async def test_missing_and_mistyped_and_unknown_arguments_are_named(call: Call) -> None:
    reply = await call("file", "write", workspace=WS, content=7, colour="blue")
    error = reply["error"]
    assert error["code"] == "invalid_argument"
    problems = {e["argument"]: e["problem"] for e in error["details"]["errors"]}
    assert set(problems) == {"path", "content", "colour"}
    assert problems["colour"] == "not an argument of this action"
    assert "write" in error["details"]["valid_actions"]
    assert "Traceback" not in error["message"]


async def test_write_needs_exactly_one_kind_of_content(call: Call) -> None:
    both = await call("file", "write", workspace=WS, path="/a", content="x", content_base64="eA==")
    neither = await call("file", "write", workspace=WS, path="/a")
    bad = await call("file", "write", workspace=WS, path="/a", content_base64="not base64!")
    for reply in (both, neither, bad):
        assert reply["error"]["code"] == "invalid_argument"


async def test_numbers_booleans_and_lists_may_be_sent_as_text(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/d/a.txt", content="one")
    second = await call(
        "file", "write", workspace=WS, path="/d/a.txt", content="two", if_version="1"
    )
    assert second["version"] == 2
    listing = await call("file", "list", workspace=WS, prefix="/", recursive="true", limit="10")
    assert [e["path"] for e in listing["entries"]] == ["/d/a.txt"]
    events = await call("event", "list", workspace=WS, types="file.written,lock.*")
    assert {e["type"] for e in events["events"]} == {"file.written"}
    meta = await call("file", "metadata_set", workspace=WS, path="/d/a.txt", set='{"k": "v"}')
    assert meta["metadata"] == {"k": "v"}


async def test_workspace_argument_accepts_the_workspace_id(
    call: Call, workspace: Workspace
) -> None:
    await call("file", "write", workspace=workspace.id, path="/a", content="by id")
    read = await call("file", "read", workspace=WS, path="/a")
    assert read["content"] == "by id"


async def test_default_workspace_fills_an_omitted_workspace(
    service: WorkspaceService, alice: Actor, workspace: Workspace, caller: Callable[[Client], Call]
) -> None:
    server = build_server(service, fixed_resolver(alice), default_workspace=WS)
    async with Client(server) as client:
        call = caller(client)
        await call("file", "write", path="/a", content="default")
        assert (await call("file", "read", path="/a"))["content"] == "default"


async def test_missing_file_is_not_found(call: Call) -> None:
    reply = await call("file", "read", workspace=WS, path="/nope")
    assert reply["error"]["code"] == "not_found"


async def test_unknown_workspace_is_not_found(call: Call) -> None:
    reply = await call("file", "stat", workspace="staging", path="/a")
    assert reply["error"]["code"] == "not_found"


async def test_path_escaping_the_root_is_invalid_path(call: Call) -> None:
    reply = await call("file", "write", workspace=WS, path="/a/../../etc/passwd", content="x")
    assert reply["error"]["code"] == "invalid_path"


async def test_stale_if_version_is_version_conflict(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="1")
    await call("file", "write", workspace=WS, path="/a", content="2")
    reply = await call("file", "write", workspace=WS, path="/a", content="3", if_version=1)
    assert reply["error"]["code"] == "version_conflict"


async def test_a_read_scoped_key_may_read_but_not_write(
    service: WorkspaceService,
    alice: Actor,
    validator: Actor,
    caller: Callable[[Client], Call],
) -> None:
    service.write_file(alice, WS, "/status/validated.json", b'{"ok": true}')
    async with Client(build_server(service, fixed_resolver(validator))) as client:
        call = caller(client)
        read = await call("file", "read", workspace=WS, path="/status/validated.json")
        assert read["content"] == '{"ok": true}'
        reply = await call("file", "write", workspace=WS, path="/status/x", content="x")
        assert reply["error"]["code"] == "forbidden"
        assert reply["error"]["details"]["scope"] == "read"


async def test_calls_are_audited_as_coming_through_mcp(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    await call("file", "write", workspace=WS, path="/a", content="x")
    entries = service.list_audit(alice, WS, action="file.write")
    assert [e.interface for e in entries] == ["mcp"]


async def test_a_bug_in_a_handler_is_an_internal_error_without_its_details(
    service: WorkspaceService, alice: Actor, caller: Callable[[Client], Call]
) -> None:
    registry = Registry()
    broken = registry.tool("broken", title="Broken", description="Always fails.")

    @broken.action("explode", Arguments, read_only=True)
    def explode(_call: HandlerCall, _args: Arguments) -> Payload:
        """Raise something unexpected."""
        raise RuntimeError("secret internals /etc/shadow")

    async with Client(build_server(service, fixed_resolver(alice), registry=registry)) as client:
        reply = await caller(client)("broken", "explode")
    assert reply["error"]["code"] == "internal"
    assert "secret" not in str(reply)
    assert "Traceback" not in str(reply)


async def test_actions_registered_elsewhere_are_served_with_async_handlers(
    service: WorkspaceService, alice: Actor, caller: Callable[[Client], Call]
) -> None:
    registry = Registry()
    registry.tool("echo", title="Echo", description="Says things back.")

    class Said(Arguments):
        text: str

    async def say(call: HandlerCall, args: Said) -> Payload:
        """Say it back, with who asked."""
        await anyio.lowlevel.checkpoint()
        return {"text": args.text, "by": call.actor.principal.name, "via": call.actor.interface}

    registry.register("echo", "say", Said, say, read_only=True)
    async with Client(build_server(service, fixed_resolver(alice), registry=registry)) as client:
        with anyio.fail_after(10):
            listed = (await client.list_tools()).tools
        reply = await caller(client)("echo", "say", text="hi")
    assert [t.name for t in listed] == ["echo"]
    assert reply == {"text": "hi", "by": "alice", "via": "mcp"}


async def test_the_observer_is_told_every_outcome(
    service: WorkspaceService, alice: Actor, workspace: Workspace, caller: Callable[[Client], Call]
) -> None:
    seen: list[tuple[str, str, str]] = []
    server = build_server(
        service, fixed_resolver(alice), observe=lambda *outcome: seen.append(outcome)
    )
    async with Client(server) as client:
        call = caller(client)
        await call("file", "write", workspace=WS, path="/a", content="x")
        await call("file", "read", workspace=WS, path="/missing")
        await call("file", "frobnicate")
    assert seen == [
        ("file", "write", "ok"),
        ("file", "read", "not_found"),
        ("file", "unknown", "invalid_argument"),
    ]


async def test_a_waiting_acquire_does_not_block_other_calls(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    held = service.acquire_lock(alice, WS, "/status/", scope="tree")
    granted: list[Payload] = []

    async def wait_for_lock() -> None:
        granted.append(
            await call("lock", "acquire", workspace=WS, path="/status/x", wait_seconds=5)
        )

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(wait_for_lock)
            # While that call waits in its thread, others are served.
            read = await call("file", "list", workspace=WS)
            assert read["entries"] == []
            await call("lock", "release", workspace=WS, lock_id=held.lock_id, token=held.token)
    assert granted[0]["path"] == "/status/x"
    assert granted[0]["fencing_token"] > held.fencing_token

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import pytest

from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[dict[str, Any]]]
WS = "gitops-prod"


async def test_events_are_read_by_cursor_and_filtered(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/status/a", content="x")
    await call("file", "write", workspace=WS, path="/other/b", content="y")
    everything = await call("event", "list", workspace=WS)
    assert everything["cursor"] == everything["events"][-1]["cursor"]
    under = await call("event", "list", workspace=WS, path_prefix="/status/", types=["file.*"])
    assert [e["path"] for e in under["events"]] == ["/status/a"]
    after = await call("event", "list", workspace=WS, after=everything["cursor"])
    assert after == {"events": [], "cursor": everything["cursor"]}


async def test_poll_returns_events_after_the_cursor_as_they_arrive(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    start = (await call("event", "list", workspace=WS))["cursor"]
    polled: list[dict[str, Any]] = []

    async def poll() -> None:
        polled.append(await call("event", "poll", workspace=WS, after=start, types="file.written"))

    with anyio.fail_after(10):
        async with anyio.create_task_group() as tg:
            tg.start_soon(poll)
            await call("file", "write", workspace=WS, path="/status/validated.json", content="{}")
    events = polled[0]["events"]
    assert [e["path"] for e in events] == ["/status/validated.json"]
    assert polled[0]["cursor"] == events[-1]["cursor"]


async def test_poll_without_new_events_returns_empty_when_its_wait_is_over(call: Call) -> None:
    start = (await call("event", "list", workspace=WS))["cursor"]
    reply = await call("event", "poll", workspace=WS, after=start, wait_seconds=0)
    assert reply == {"events": [], "cursor": start}


async def test_poll_waits_at_most_a_minute(call: Call) -> None:
    reply = await call("event", "poll", workspace=WS, wait_seconds=61)
    assert reply["error"]["code"] == "invalid_argument"


async def test_the_audit_trail_lists_entries_and_verifies(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="x")
    entries = await call("audit", "list", workspace=WS, audit_action="file.write")
    assert [(e["action"], e["target"], e["interface"]) for e in entries["entries"]] == [
        ("file.write", "/a", "mcp")
    ]
    verdict = await call("audit", "verify", workspace=WS)
    assert verdict["ok"] is True

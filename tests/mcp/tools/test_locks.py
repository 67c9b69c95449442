from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest
from mcp.client import Client

from pilothouse.mcp import build_server, fixed_resolver
from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[dict[str, Any]]]
WS = "gitops-prod"


async def test_a_conflicting_acquire_is_lock_held_naming_holder_and_expiry(
    call: Call, service: WorkspaceService, alice: Actor, caller: Callable[[Client], Call]
) -> None:
    grant = await call(
        "lock", "acquire", workspace=WS, path="/status/", scope="tree", ttl_seconds=60
    )
    assert set(grant) >= {"lock_id", "token", "fencing_token", "expires_at"}
    service.create_agent(alice, WS, "deployer", role="member")
    key = service.create_api_key(alice, WS, "deployer", scope="write").key
    deployer = service.authenticate(key, alice.interface)
    async with Client(build_server(service, fixed_resolver(deployer))) as client:
        refused = await caller(client)("lock", "acquire", workspace=WS, path="/status/x.json")
    error = refused["error"]
    assert error["code"] == "lock_held"
    assert error["details"]["holder_id"] == alice.principal.id
    assert error["details"]["lock_id"] == grant["lock_id"]
    assert error["details"]["expires_at"] == grant["expires_at"]
    assert "alice" in error["message"]


async def test_a_lease_is_heartbeated_listed_and_released(call: Call) -> None:
    grant = await call("lock", "acquire", workspace=WS, path="/a", ttl_seconds=30)
    beat = await call(
        "lock", "heartbeat", workspace=WS, lock_id=grant["lock_id"], token=grant["token"]
    )
    assert beat["id"] == grant["lock_id"]
    status = await call("lock", "status", workspace=WS, path="/a")
    assert [lk["id"] for lk in status["locks"]] == [grant["lock_id"]]
    listed = await call("lock", "list", workspace=WS)
    assert len(listed["locks"]) == 1
    await call("lock", "release", workspace=WS, lock_id=grant["lock_id"], token=grant["token"])
    assert (await call("lock", "list", workspace=WS))["locks"] == []
    again = await call("lock", "release", workspace=WS, lock_id=grant["lock_id"], token="wrong")
    assert again["error"]["code"] == "lock_not_held"


async def test_an_admin_can_break_a_lease(call: Call) -> None:
    grant = await call("lock", "acquire", workspace=WS, path="/a")
    broken = await call("lock", "break", workspace=WS, lock_id=grant["lock_id"], reason="stuck")
    assert broken["id"] == grant["lock_id"]
    assert (await call("lock", "list", workspace=WS))["locks"] == []


async def test_an_invalid_scope_is_invalid_argument(call: Call) -> None:
    reply = await call("lock", "acquire", workspace=WS, path="/a", scope="forest")
    assert reply["error"]["code"] == "invalid_argument"
    assert reply["error"]["details"]["errors"][0]["argument"] == "scope"

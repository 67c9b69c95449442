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


async def test_members_are_added_changed_and_removed(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    bob = service.create_user(alice, "bob")
    added = await call("member", "add", workspace=WS, principal="bob", role="viewer")
    assert (added["name"], added["role"]) == ("bob", "viewer")
    changed = await call("member", "update_role", workspace=WS, principal=bob.id, role="admin")
    assert changed["role"] == "admin"
    names = {m["name"] for m in (await call("member", "list", workspace=WS))["members"]}
    assert names == {"alice", "bob"}
    removed = await call("member", "remove", workspace=WS, principal="bob")
    assert removed["removed"] is True
    owner = await call("member", "update_role", workspace=WS, principal="bob", role="owner")
    assert owner["error"]["code"] == "invalid_argument"


async def test_api_keys_are_created_once_listed_and_revoked(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    service.create_agent(alice, WS, "tester", role="member")
    created = await call("apikey", "create", workspace=WS, principal="tester", scope="read")
    assert created["key"].startswith("phk_")
    listed = await call("apikey", "list", workspace=WS)
    assert [k["id"] for k in listed["keys"]] == [created["id"]]
    assert "key" not in listed["keys"][0]
    revoked = await call("apikey", "revoke", workspace=WS, key_id=created["id"])
    assert revoked["revoked_at"] is not None


async def test_ownership_is_transferred_by_a_claim_token(
    call: Call, service: WorkspaceService, alice: Actor, caller: Callable[[Client], Call]
) -> None:
    cancelled = await call("ownership", "transfer_create", workspace=WS)
    await call("ownership", "transfer_cancel", workspace=WS, transfer_id=cancelled["id"])
    transfer = await call("ownership", "transfer_create", workspace=WS)
    states = {
        t["id"]: t["state"]
        for t in (await call("ownership", "transfer_list", workspace=WS))["transfers"]
    }
    assert states == {cancelled["id"]: "cancelled", transfer["id"]: "open"}
    carol = service.create_user(alice, "carol")
    service.add_member(alice, WS, carol.id, "viewer")
    carol_actor = Actor(carol, alice.interface)
    async with Client(build_server(service, fixed_resolver(carol_actor))) as client:
        claimed = await caller(client)("ownership", "transfer_claim", token=transfer["token"])
    assert claimed["state"] == "claimed"
    assert service.get_workspace(alice, WS).owner_id == carol.id


async def test_a_read_scoped_key_cannot_manage_members(
    service: WorkspaceService, validator: Actor, caller: Callable[[Client], Call]
) -> None:
    async with Client(build_server(service, fixed_resolver(validator))) as client:
        reply = await caller(client)("member", "add", workspace=WS, principal="alice")
    assert reply["error"]["code"] == "forbidden"

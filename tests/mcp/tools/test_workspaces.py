from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[dict[str, Any]]]


async def test_a_workspace_is_created_listed_updated_and_archived(call: Call) -> None:
    created = await call("workspace", "create", name="staging", description="pre-prod")
    assert (created["name"], created["role"]) == ("staging", "owner")
    names = [w["name"] for w in (await call("workspace", "list"))["workspaces"]]
    assert names == ["gitops-prod", "staging"]
    updated = await call("workspace", "update", workspace=created["id"], description="later")
    assert updated["description"] == "later"
    archived = await call("workspace", "archive", workspace="staging")
    assert archived["archived_at"] is not None
    names = [w["name"] for w in (await call("workspace", "list"))["workspaces"]]
    assert names == ["gitops-prod"]
    everything = await call("workspace", "list", include_archived=True)
    assert len(everything["workspaces"]) == 2
    details = await call("workspace", "details", workspace="staging")
    assert details["archived_at"] == archived["archived_at"]


async def test_a_taken_or_malformed_name_is_refused(call: Call) -> None:
    taken = await call("workspace", "create", name="gitops-prod")
    assert taken["error"]["code"] == "conflict"
    malformed = await call("workspace", "create", name="Not Valid")
    assert malformed["error"]["code"] == "invalid_argument"
    empty = await call("workspace", "update", workspace="gitops-prod")
    assert empty["error"]["code"] == "invalid_argument"

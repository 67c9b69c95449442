from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[dict[str, Any]]]
WS = "gitops-prod"


async def test_stat_list_and_versions_describe_a_file(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/status/a.json", content="1", note="first")
    await call("file", "write", workspace=WS, path="/status/a.json", content="22")
    stat = await call("file", "stat", workspace=WS, path="/status/a.json")
    assert (stat["version"], stat["size"]) == (2, 2)
    listing = await call("file", "list", workspace=WS, prefix="/")
    assert [(e["path"], e["type"]) for e in listing["entries"]] == [("/status/", "directory")]
    assert listing["next_cursor"] is None
    versions = await call("file", "versions", workspace=WS, path="/status/a.json")
    assert [(v["version"], v["note"]) for v in versions["versions"]] == [(2, None), (1, "first")]


async def test_old_versions_can_be_read_and_restored(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="old")
    await call("file", "write", workspace=WS, path="/a", content="new")
    assert (await call("file", "read", workspace=WS, path="/a", version=1))["content"] == "old"
    restored = await call("file", "restore_version", workspace=WS, path="/a", version=1)
    assert restored["version"] == 3
    assert (await call("file", "read", workspace=WS, path="/a"))["content"] == "old"


async def test_delete_goes_to_the_trash_and_can_be_restored_or_purged(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="keep me")
    deleted = await call("file", "delete", workspace=WS, path="/a", if_version=1)
    trash = await call("file", "trash", workspace=WS)
    assert [f["id"] for f in trash["files"]] == [deleted["id"]]
    await call("file", "restore", workspace=WS, path="/a", trash_id=deleted["id"])
    assert (await call("file", "read", workspace=WS, path="/a"))["content"] == "keep me"
    await call("file", "delete", workspace=WS, path="/a")
    purged = await call("file", "purge", workspace=WS, path="/a")
    assert purged == {"path": "/a", "freed_bytes": len("keep me")}
    assert (await call("file", "trash", workspace=WS, path="/a"))["files"] == []


async def test_move_and_copy_keep_content(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="x")
    await call("file", "move", workspace=WS, source="/a", target="/b")
    copied = await call("file", "copy", workspace=WS, source="/b", target="/c")
    assert copied["version"] == 1
    assert (await call("file", "read", workspace=WS, path="/c"))["content"] == "x"
    gone = await call("file", "read", workspace=WS, path="/a")
    assert gone["error"]["code"] == "not_found"
    taken = await call("file", "copy", workspace=WS, source="/b", target="/c")
    assert taken["error"]["code"] == "conflict"


async def test_metadata_is_set_and_removed(call: Call) -> None:
    await call("file", "write", workspace=WS, path="/a", content="x")
    await call("file", "metadata_set", workspace=WS, path="/a", set={"owner": "ci", "tier": "1"})
    updated = await call("file", "metadata_set", workspace=WS, path="/a", remove=["tier"])
    assert updated == {"path": "/a", "metadata": {"owner": "ci"}}
    got = await call("file", "metadata_get", workspace=WS, path="/a")
    assert got["metadata"] == {"owner": "ci"}


async def test_an_enforced_lock_makes_writes_need_its_token(call: Call) -> None:
    grant = await call("lock", "acquire", workspace=WS, path="/status/", scope="tree", enforce=True)
    refused = await call("file", "write", workspace=WS, path="/status/a", content="x")
    assert refused["error"]["code"] == "lock_held"
    allowed = await call(
        "file", "write", workspace=WS, path="/status/a", content="x", lock_token=grant["token"]
    )
    assert allowed["version"] == 1

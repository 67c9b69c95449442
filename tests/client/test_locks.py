"""Leases: conflicts name their holder, tokens fence, enforced locks guard writes."""

from __future__ import annotations

import threading
from typing import Any

import pytest

from pilothouse.workspace.errors import LockHeld, LockNotHeld
from pilothouse.workspace.protocol import Workspace

JOIN_SECONDS = 10


def test_tree_lock_blocks_a_file_lock_inside_and_names_its_holder(workspace: Workspace, prod: str):
    owner = workspace.get_workspace(prod).owner_id
    tree = workspace.acquire_lock(prod, "/deploy", scope="tree", ttl_seconds=60)

    with pytest.raises(LockHeld) as held:
        workspace.acquire_lock(prod, "/deploy/app.yaml")

    assert held.value.details["lock_id"] == tree.lock_id
    assert held.value.details["path"] == "/deploy"
    assert held.value.details["scope"] == "tree"
    assert held.value.details["holder_id"] == owner
    assert held.value.details["expires_at"].startswith(tree.expires_at.strftime("%Y-%m-%dT"))
    assert "alice" in held.value.message


def test_file_lock_blocks_a_tree_lock_above_it(workspace: Workspace, prod: str):
    file = workspace.acquire_lock(prod, "/deploy/app.yaml")

    with pytest.raises(LockHeld) as held:
        workspace.acquire_lock(prod, "/deploy", scope="tree")

    assert held.value.details["lock_id"] == file.lock_id
    assert workspace.acquire_lock(prod, "/deploy/other.yaml").scope == "file"


def test_fencing_tokens_increase_with_every_grant(workspace: Workspace, prod: str):
    grants = [workspace.acquire_lock(prod, f"/shard/{i}") for i in range(3)]
    workspace.release_lock(prod, grants[0].lock_id, grants[0].token)
    again = workspace.acquire_lock(prod, "/shard/0")

    tokens = [g.fencing_token for g in [*grants, again]]
    assert tokens == sorted(tokens)
    assert len(set(tokens)) == 4


def test_heartbeat_extends_a_live_lease(workspace: Workspace, reference: Workspace, prod: str):
    grant = workspace.acquire_lock(prod, "/state.json", ttl_seconds=60)

    extended = workspace.heartbeat_lock(prod, grant.lock_id, grant.token, ttl_seconds=600)

    assert extended.id == grant.lock_id
    assert extended.expires_at > grant.expires_at
    assert workspace.list_locks(prod) == [extended]
    assert reference.list_locks(prod) == [extended]
    with pytest.raises(LockNotHeld):
        workspace.heartbeat_lock(prod, grant.lock_id, "phl_not-the-token")


def test_release_needs_the_lock_token_and_ends_the_lease_once(workspace: Workspace, prod: str):
    grant = workspace.acquire_lock(prod, "/state.json")

    with pytest.raises(LockNotHeld, match="token does not match"):
        workspace.release_lock(prod, grant.lock_id, "phl_not-the-token")
    released = workspace.release_lock(prod, grant.lock_id, grant.token)

    assert (released.id, released.path, released.fencing_token) == (
        grant.lock_id,
        "/state.json",
        grant.fencing_token,
    )
    with pytest.raises(LockNotHeld):
        workspace.release_lock(prod, grant.lock_id, grant.token)
    assert workspace.list_locks(prod) == []


def test_enforced_lock_refuses_changes_without_its_token(workspace: Workspace, prod: str):
    workspace.write_file(prod, "/state.json", b"0")
    grant = workspace.acquire_lock(prod, "/state.json", enforce=True)

    for change in [
        lambda token: workspace.write_file(prod, "/state.json", b"1", lock_token=token),
        lambda token: workspace.set_metadata(prod, "/state.json", {"k": "v"}, lock_token=token),
        lambda token: workspace.restore_version(prod, "/state.json", 1, lock_token=token),
    ]:
        with pytest.raises(LockHeld, match="pass its lock token") as held:
            change(None)
        assert held.value.details["lock_id"] == grant.lock_id
        change(grant.token)
    with pytest.raises(LockHeld):
        workspace.delete_file(prod, "/state.json")
    workspace.delete_file(prod, "/state.json", lock_token=grant.token)


def test_advisory_lock_does_not_block_writes(workspace: Workspace, prod: str):
    workspace.acquire_lock(prod, "/notes.md")

    assert workspace.write_file(prod, "/notes.md", b"still writable").version == 1


def test_lock_status_reports_covering_leases_and_an_admin_can_break_them(
    workspace: Workspace, prod: str
):
    tree = workspace.acquire_lock(prod, "/env", scope="tree")

    assert [lk.id for lk in workspace.lock_status(prod, "/env/prod/values.yaml")] == [tree.lock_id]
    assert workspace.lock_status(prod, "/other.yaml") == []
    broken = workspace.break_lock(prod, tree.lock_id, reason="stuck agent")

    assert broken.id == tree.lock_id
    assert workspace.list_locks(prod) == []
    with pytest.raises(LockNotHeld):
        workspace.release_lock(prod, tree.lock_id, tree.token)


def test_waiting_acquire_is_granted_when_the_holder_releases(
    workspace: Workspace, home: Any, prod: str
):
    held = workspace.acquire_lock(prod, "/deploy.lock")

    def release_once_someone_waits() -> None:
        assert home.bus.subscribed.wait(JOIN_SECONDS)
        workspace.release_lock(prod, held.lock_id, held.token)

    releaser = threading.Thread(target=release_once_someone_waits)
    releaser.start()
    try:
        grant = workspace.acquire_lock(prod, "/deploy.lock", wait_seconds=JOIN_SECONDS)
    finally:
        releaser.join(JOIN_SECONDS)

    assert not releaser.is_alive()
    assert grant.fencing_token > held.fencing_token
    assert [lk.id for lk in workspace.list_locks(prod)] == [grant.lock_id]

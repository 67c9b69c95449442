from __future__ import annotations

import threading
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilothouse.core.clock import ManualClock
from pilothouse.workspace import locks
from pilothouse.workspace.errors import InvalidArgument, LockHeld, LockNotHeld
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.service import WorkspaceService

names = st.sampled_from(["status", "runs", "a", "b", "deploy.lock"])
spans = st.builds(
    lambda parts, scope: locks.Span("/" + "/".join(parts), scope),
    st.lists(names, min_size=1, max_size=3),
    st.sampled_from(["file", "tree"]),
)


@given(spans, spans)
def test_overlap_is_symmetric(a: locks.Span, b: locks.Span):
    assert locks.overlaps(a, b) == locks.overlaps(b, a)


@given(spans, spans)
def test_locks_overlap_exactly_when_one_covers_the_other(a: locks.Span, b: locks.Span):
    expected = (
        a.path == b.path
        or (a.scope == "tree" and b.path.startswith(a.path + "/"))
        or (b.scope == "tree" and a.path.startswith(b.path + "/"))
    )
    assert locks.overlaps(a, b) == expected


def test_tree_and_file_locks_conflict_both_ways_and_siblings_do_not():
    tree = locks.Span("/status", "tree")
    inside = locks.Span("/status/deployed.json", "file")
    assert locks.overlaps(tree, inside) and locks.overlaps(inside, tree)
    assert not locks.overlaps(locks.Span("/status/a", "file"), locks.Span("/status/b", "file"))
    assert not locks.overlaps(locks.Span("/status", "file"), inside)
    assert locks.overlaps(locks.Span("/", "tree"), inside)
    assert not locks.overlaps(tree, locks.Span("/statusx/y", "file"))


def test_tree_lock_on_status_blocks_a_file_lock_inside_and_vice_versa(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    tree = service.acquire_lock(alice, ws.name, "/status/", scope="tree")
    with pytest.raises(LockHeld) as held:
        service.acquire_lock(alice, ws.name, "/status/deployed.json")
    assert held.value.details["lock_id"] == tree.lock_id
    service.release_lock(alice, ws.name, tree.lock_id, tree.token)
    inner = service.acquire_lock(alice, ws.name, "/status/deployed.json")
    with pytest.raises(LockHeld):
        service.acquire_lock(alice, ws.name, "/status", scope="tree")
    assert inner.fencing_token > tree.fencing_token


def test_fencing_tokens_strictly_increase_even_after_refused_acquires(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    seen = []
    for _ in range(5):
        grant = service.acquire_lock(alice, ws.name, "/x")
        seen.append(grant.fencing_token)
        with pytest.raises(LockHeld):
            service.acquire_lock(alice, ws.name, "/x")
        service.release_lock(alice, ws.name, grant.lock_id, grant.token)
    assert seen == sorted(seen) and len(set(seen)) == 5
    assert seen == list(range(seen[0], seen[0] + 5))  # refused acquires burn no token


def test_expired_lock_is_granted_to_next_agent_and_recorded(
    service: WorkspaceService, alice: Actor, ws: Workspace, clock: ManualClock
):
    first = service.acquire_lock(alice, ws.name, "/status/", scope="tree", ttl_seconds=10)
    clock.advance(11)
    second = service.acquire_lock(alice, ws.name, "/status/deployed.json")
    assert second.fencing_token > first.fencing_token
    types = [e.type for e in service.list_events(alice, ws.name, types=["lock.*"])]
    assert types == ["lock.acquired", "lock.expired", "lock.acquired"]
    expired = service.list_audit(alice, ws.name, action="lock.expire")[0]
    assert expired.principal_kind == "system"
    with pytest.raises(LockNotHeld):
        service.heartbeat_lock(alice, ws.name, first.lock_id, first.token)


def test_heartbeat_extends_and_wrong_tokens_are_refused(
    service: WorkspaceService, alice: Actor, ws: Workspace, clock: ManualClock
):
    grant = service.acquire_lock(alice, ws.name, "/a", ttl_seconds=10)
    clock.advance(8)
    beat = service.heartbeat_lock(alice, ws.name, grant.lock_id, grant.token, ttl_seconds=10)
    clock.advance(8)
    assert beat.expires_at > clock.now()
    with pytest.raises(LockNotHeld):
        service.release_lock(alice, ws.name, grant.lock_id, "phl_wrong")
    with pytest.raises(LockHeld):
        service.acquire_lock(alice, ws.name, "/a")
    service.release_lock(alice, ws.name, grant.lock_id, grant.token)
    with pytest.raises(LockNotHeld):
        service.release_lock(alice, ws.name, grant.lock_id, grant.token)


@pytest.mark.parametrize("ttl", [0, 3601, 1.5, -1])
def test_ttl_outside_one_second_to_an_hour_is_refused(
    service: WorkspaceService, alice: Actor, ws: Workspace, ttl: Any
):
    with pytest.raises(InvalidArgument):
        service.acquire_lock(alice, ws.name, "/a", ttl_seconds=ttl)


def test_enforced_lock_guards_writes_deletes_and_moves_under_it(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.write_file(alice, ws.name, "/status/a.json", b"{}")
    grant = service.acquire_lock(alice, ws.name, "/status/", scope="tree", enforce=True)
    for attempt in (
        lambda token: service.write_file(alice, ws.name, "/status/b.json", b"{}", lock_token=token),
        lambda token: service.move_file(
            alice, ws.name, "/status/a.json", "/c.json", lock_token=token
        ),
        lambda token: service.delete_file(alice, ws.name, "/status/b.json", lock_token=token),
    ):
        with pytest.raises(LockHeld):
            attempt(None)
        attempt(grant.token)
    service.write_file(alice, ws.name, "/outside.json", b"{}")  # not covered: no token needed


def test_admin_can_break_a_lock_and_it_is_audited(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.create_agent(alice, ws.name, "deployer", role="member")
    key = service.create_api_key(alice, ws.name, "deployer", scope="write").key
    deployer = service.authenticate(key, alice.interface)
    grant = service.acquire_lock(deployer, ws.name, "/status/", scope="tree")
    with pytest.raises(Exception) as forbidden:
        service.break_lock(deployer, ws.name, grant.lock_id)
    assert getattr(forbidden.value, "code", "") == "forbidden"
    service.break_lock(alice, ws.name, grant.lock_id, reason="deployer crashed")
    [entry] = service.list_audit(alice, ws.name, action="lock.break")
    assert entry.details["reason"] == "deployer crashed"
    service.acquire_lock(alice, ws.name, "/status/x")


def test_a_waiting_acquire_gets_the_lock_when_the_holder_releases(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    grant = service.acquire_lock(alice, ws.name, "/status/", scope="tree")
    waiting = threading.Event()
    result: dict[str, Any] = {}
    subscription = service.bus.subscribe(lambda _e: None)

    def wait_for_it() -> None:
        waiting.set()
        result["grant"] = service.acquire_lock(
            alice, ws.name, "/status/deployed.json", wait_seconds=10
        )

    worker = threading.Thread(target=wait_for_it)
    worker.start()
    assert waiting.wait(5)
    service.release_lock(alice, ws.name, grant.lock_id, grant.token)
    worker.join(timeout=10)
    subscription.close()
    assert result["grant"].fencing_token > grant.fencing_token


def test_a_waiting_acquire_gives_up_after_its_bound(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.acquire_lock(alice, ws.name, "/a")
    with pytest.raises(LockHeld):
        service.acquire_lock(alice, ws.name, "/a", wait_seconds=0.2)
    with pytest.raises(InvalidArgument):
        service.acquire_lock(alice, ws.name, "/a", wait_seconds=3600)

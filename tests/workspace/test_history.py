from __future__ import annotations

import contextlib
import threading

from sqlalchemy import text

from pilothouse.core.clock import ManualClock
from pilothouse.workspace.errors import VersionConflict
from pilothouse.workspace.models import Actor, Event, Workspace
from pilothouse.workspace.service import WorkspaceService


def test_event_cursors_are_dense_and_filters_compose(
    service: WorkspaceService, alice: Actor, ws: Workspace, clock: ManualClock
):
    service.write_file(alice, ws.name, "/status/a", b"1")
    clock.advance(60)
    middle = clock.now()
    grant = service.acquire_lock(alice, ws.name, "/status/", scope="tree")
    service.release_lock(alice, ws.name, grant.lock_id, grant.token)
    service.write_file(alice, ws.name, "/runs/1", b"1")
    every = service.list_events(alice, ws.name)
    assert [e.cursor for e in every] == list(range(1, len(every) + 1))
    assert [e.type for e in service.list_events(alice, ws.name, types=["lock.*"])] == [
        "lock.acquired",
        "lock.released",
    ]
    under = service.list_events(alice, ws.name, path_prefix="/status/")
    assert {e.path for e in under} == {"/status/a", "/status"}
    assert service.list_events(alice, ws.name, since=middle)[0].type == "lock.acquired"
    after = service.list_events(alice, ws.name, after=every[-2].cursor)
    assert [e.path for e in after] == ["/runs/1"]
    assert service.list_events(alice, ws.name, actor_id="pr_nobody") == []


def test_the_bus_publishes_committed_events_only(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    seen: list[Event] = []
    subscription = service.bus.subscribe(seen.append)
    service.write_file(alice, ws.name, "/a", b"1")
    with contextlib.suppress(VersionConflict):
        service.write_file(alice, ws.name, "/a", b"2", if_version=7)
    subscription.close()
    assert [(e.type, e.data["version"]) for e in seen] == [("file.written", 1)]


def test_long_poll_returns_as_soon_as_another_thread_writes(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    start = service.list_events(alice, ws.name)[-1].cursor
    got: list[Event] = []
    subscribed = threading.Event()
    original = service.bus.subscribe

    def spy(handler):  # type: ignore[no-untyped-def]
        subscription = original(handler)
        subscribed.set()
        return subscription

    service.bus.subscribe = spy  # type: ignore[method-assign]
    waiter = threading.Thread(
        target=lambda: got.extend(service.wait_events(alice, ws.name, after=start, timeout=10))
    )
    waiter.start()
    assert subscribed.wait(5)
    service.write_file(alice, ws.name, "/late", b"1")
    waiter.join(timeout=10)
    assert [e.path for e in got] == ["/late"]


def test_audit_verify_names_a_tampered_entry_and_a_truncated_tail(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    for n in range(5):
        service.write_file(alice, ws.name, f"/f{n}", b"x")
    assert service.verify_audit(alice, ws.name).ok
    with service.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit SET target = '/evil' WHERE chain = :c AND seq = 3"), {"c": ws.id}
        )
    verdict = service.verify_audit(alice, ws.name)
    assert (verdict.ok, verdict.first_broken_seq, verdict.entries) == (False, 3, 2)
    assert "hash" in (verdict.reason or "")
    with service.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit WHERE chain = :c AND seq >= 3"), {"c": ws.id})
    truncated = service.verify_audit(alice, ws.name)
    assert not truncated.ok and truncated.first_broken_seq == 3
    assert "removed" in (truncated.reason or "")


def test_audit_records_who_through_which_interface(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    from pilothouse.workspace.roles import Interface

    service.create_agent(alice, ws.name, "validator")
    key = service.create_api_key(alice, ws.name, "validator")
    agent = service.authenticate(key.key, Interface.MCP, request_id="req-7")
    service.write_file(agent, ws.name, "/status/validated.json", b"{}")
    service.write_file(agent, ws.name, "/status/validated.json", b"{}")
    entry = service.list_audit(alice, ws.name, action="file.write")[-1]
    assert (entry.principal_kind, entry.agent_name, entry.interface) == (
        "agent",
        "validator",
        "mcp",
    )
    assert (entry.api_key_id, entry.request_id) == (key.info.id, "req-7")
    assert (entry.before_version, entry.after_version) == (1, 2)

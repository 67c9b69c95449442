from __future__ import annotations

import hashlib

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from pilothouse.core.clock import ManualClock
from pilothouse.workspace.errors import (
    Conflict,
    NotFound,
    QuotaExceeded,
    TooLarge,
    VersionConflict,
)
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.service import WorkspaceService

fixture_ok = settings(suppress_health_check=[HealthCheck.function_scoped_fixture], max_examples=25)


@fixture_ok
@given(st.lists(st.binary(max_size=64), min_size=1, max_size=8))
def test_every_write_makes_the_next_version_and_old_ones_read_back_exactly(
    service: WorkspaceService, alice: Actor, ws: Workspace, contents: list[bytes]
):
    path = f"/v/{hashlib.sha256(repr(contents).encode()).hexdigest()[:12]}.bin"
    for number, content in enumerate(contents, start=1):
        written = service.write_file(alice, ws.name, path, content)
        assert written.version == number
        assert written.sha256 == hashlib.sha256(content).hexdigest()
    for number, content in enumerate(contents, start=1):
        assert service.read_file(alice, ws.name, path, version=number).content == content
    assert [v.version for v in service.file_versions(alice, ws.name, path)] == list(
        range(len(contents), 0, -1)
    )


def test_if_version_guards_against_lost_updates(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.write_file(alice, ws.name, "/s.json", b"1", if_version=0)
    with pytest.raises(VersionConflict) as stale:
        service.write_file(alice, ws.name, "/s.json", b"x", if_version=0)
    assert stale.value.details == {"path": "/s.json", "expected": 0, "current": 1}
    service.write_file(alice, ws.name, "/s.json", b"2", if_version=1)
    assert service.read_file(alice, ws.name, "/s.json").content == b"2"


def test_restore_version_creates_a_new_version_with_the_old_bytes(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.write_file(alice, ws.name, "/a", b"first")
    service.write_file(alice, ws.name, "/a", b"second")
    restored = service.restore_version(alice, ws.name, "/a", 1)
    assert restored.version == 3 and restored.note == "restored from version 1"
    assert service.read_file(alice, ws.name, "/a").content == b"first"


def test_trash_restore_and_purge_free_the_quota(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.write_file(alice, ws.name, "/a", b"x" * 400)
    trashed = service.delete_file(alice, ws.name, "/a")
    with pytest.raises(NotFound):
        service.read_file(alice, ws.name, "/a")
    service.write_file(alice, ws.name, "/a", b"new")  # the path is free again
    with pytest.raises(Conflict):
        service.restore_file(alice, ws.name, "/a")
    service.delete_file(alice, ws.name, "/a")
    back = service.restore_file(alice, ws.name, "/a", trash_id=trashed.id)
    assert back.version == 1 and service.read_file(alice, ws.name, "/a").content == b"x" * 400
    assert service.get_workspace(alice, ws.name).used_bytes == 403
    assert service.purge_file(alice, ws.name, "/a") == 3
    assert service.get_workspace(alice, ws.name).used_bytes == 400


def test_quota_and_file_size_limits_refuse_and_store_nothing(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    with pytest.raises(TooLarge):
        service.write_file(alice, ws.name, "/big", b"x" * 1001)
    for n in range(10):
        service.write_file(alice, ws.name, f"/f{n}", b"x" * 1000)
    with pytest.raises(QuotaExceeded) as full:
        service.write_file(alice, ws.name, "/one-more", b"x")
    assert full.value.details["quota_bytes"] == 10_000
    with pytest.raises(NotFound):
        service.stat_file(alice, ws.name, "/big")


def test_move_keeps_history_and_copy_shares_bytes(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    service.write_file(alice, ws.name, "/a", b"1")
    service.write_file(alice, ws.name, "/a", b"2")
    service.set_metadata(alice, ws.name, "/a", {"owner": "platform"})
    moved = service.move_file(alice, ws.name, "/a", "/b")
    assert moved.version == 2 and moved.metadata == {"owner": "platform"}
    copied = service.copy_file(alice, ws.name, "/b", "/c", version=1)
    assert copied.version == 1 and service.read_file(alice, ws.name, "/c").content == b"1"
    assert service.get_metadata(alice, ws.name, "/c") == {"owner": "platform"}
    with pytest.raises(Conflict):
        service.move_file(alice, ws.name, "/b", "/c")


@fixture_ok
@given(
    st.sets(st.from_regex(r"/[a-c]{1,2}(/[a-c]{1,2}){0,2}", fullmatch=True), max_size=25),
    st.integers(min_value=1, max_value=7),
)
def test_pagination_visits_every_file_exactly_once(
    service: WorkspaceService, alice: Actor, ws: Workspace, wanted: set[str], page: int
):
    existing = {
        e.path for e in service.list_files(alice, ws.name, recursive=True, limit=1000).entries
    }
    for path in sorted(wanted):
        if path in existing or any(
            p.startswith(path + "/") or path.startswith(p + "/") for p in existing
        ):
            continue
        service.write_file(alice, ws.name, path, b"")
        existing.add(path)
    seen: list[str] = []
    cursor = None
    while True:
        listing = service.list_files(alice, ws.name, recursive=True, limit=page, cursor=cursor)
        seen += [e.path for e in listing.entries]
        cursor = listing.next_cursor
        if cursor is None:
            break
    assert seen == sorted(existing)


def test_one_level_listing_shows_each_directory_once(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    for path in ["/status/a", "/status/b", "/runs/1/log", "/runs/2/log", "/README"]:
        service.write_file(alice, ws.name, path, b"")
    top = service.list_files(alice, ws.name, "/", limit=2)
    rest = service.list_files(alice, ws.name, "/", limit=2, cursor=top.next_cursor)
    assert [e.path for e in top.entries + rest.entries] == ["/README", "/runs/", "/status/"]
    assert [e.type for e in top.entries] == ["file", "directory"]


def test_roles_and_scopes_gate_every_operation(
    service: WorkspaceService, alice: Actor, ws: Workspace, clock: ManualClock
):
    from datetime import timedelta

    service.create_agent(alice, ws.name, "watcher", role="viewer")
    service.create_agent(alice, ws.name, "worker", role="member")
    viewer = service.authenticate(
        service.create_api_key(alice, ws.name, "watcher", scope="write").key, alice.interface
    )
    reader = service.authenticate(
        service.create_api_key(alice, ws.name, "worker", scope="read").key, alice.interface
    )
    for actor in (viewer, reader):
        with pytest.raises(Exception) as denied:
            service.write_file(actor, ws.name, "/x", b"1")
        assert getattr(denied.value, "code", "") == "forbidden"
        service.list_files(actor, ws.name)
    member_key = service.create_api_key(alice, ws.name, "worker", scope="admin").key
    member = service.authenticate(member_key, alice.interface)
    with pytest.raises(Exception) as manage:
        service.add_member(member, ws.name, "watcher", "admin")
    assert getattr(manage.value, "code", "") == "forbidden"
    expiring = service.create_api_key(
        alice, ws.name, "worker", expires_at=clock.now() + timedelta(hours=1)
    )
    clock.advance(3601)
    with pytest.raises(Exception) as expired:
        service.authenticate(expiring.key, alice.interface)
    assert getattr(expired.value, "code", "") == "unauthenticated"
    service.revoke_api_key(alice, ws.name, member.api_key_id or "")
    with pytest.raises(Exception) as revoked:
        service.authenticate(member_key, alice.interface)
    assert getattr(revoked.value, "code", "") == "unauthenticated"
    other = service.create_workspace(alice, "other")
    with pytest.raises(Exception) as elsewhere:
        service.list_files(reader, other.name)
    assert getattr(elsewhere.value, "code", "") == "forbidden"


def test_archived_workspaces_are_read_only(service: WorkspaceService, alice: Actor, ws: Workspace):
    service.write_file(alice, ws.name, "/a", b"1")
    service.archive_workspace(alice, ws.name)
    with pytest.raises(Conflict):
        service.write_file(alice, ws.name, "/a", b"2")
    assert service.read_file(alice, ws.name, "/a").content == b"1"
    assert service.list_workspaces(alice) == []
    assert [w.name for w in service.list_workspaces(alice, include_archived=True)] == [ws.name]


def test_ownership_claim_makes_the_claimant_owner_and_the_creator_admin(
    service: WorkspaceService, alice: Actor, ws: Workspace, clock: ManualClock
):
    service.create_user(alice, "dana")
    dana = service.authenticate(
        service.create_personal_key(alice, "dana", scope="admin").key, alice.interface
    )
    tokens = [service.create_transfer(alice, ws.name) for _ in range(5)]
    with pytest.raises(Conflict):
        service.create_transfer(alice, ws.name)
    service.claim_transfer(dana, tokens[0].token or "")
    roles = {m.name: m.role.label for m in service.list_members(alice, ws.name)}
    assert roles == {"alice": "admin", "dana": "owner"}
    with pytest.raises(Conflict):
        service.claim_transfer(dana, tokens[0].token or "")
    clock.advance(72 * 3600 + 1)
    states = {t.state for t in service.list_transfers(dana, ws.name)}
    assert states == {"claimed", "expired"}


def test_every_mutation_appends_exactly_one_event_and_one_audit_entry(
    service: WorkspaceService, alice: Actor, ws: Workspace
):
    operations = [
        lambda: service.write_file(alice, ws.name, "/a", b"1"),
        lambda: service.set_metadata(alice, ws.name, "/a", {"k": "v"}),
        lambda: service.move_file(alice, ws.name, "/a", "/b"),
        lambda: service.copy_file(alice, ws.name, "/b", "/c"),
        lambda: service.delete_file(alice, ws.name, "/c"),
        lambda: service.restore_file(alice, ws.name, "/c"),
        lambda: service.update_workspace(alice, ws.name, description="d"),
        lambda: service.create_agent(alice, ws.name, "bot"),
        lambda: service.update_member_role(alice, ws.name, "bot", "admin"),
    ]
    for operation in operations:
        events = len(service.list_events(alice, ws.name, limit=1000))
        audit = len(service.list_audit(alice, ws.name, limit=1000))
        operation()
        assert len(service.list_events(alice, ws.name, limit=1000)) == events + 1
        assert len(service.list_audit(alice, ws.name, limit=1000)) == audit + 1

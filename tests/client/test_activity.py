"""Events after a cursor, the long poll, and the audit trail."""

from __future__ import annotations

import itertools
import threading
from typing import Any

from pilothouse.workspace.protocol import Workspace

JOIN_SECONDS = 10


def _cursor(workspace: Workspace, prod: str) -> int:
    return workspace.list_events(prod, limit=1000)[-1].cursor


def test_events_after_a_cursor_are_only_the_newer_ones(
    workspace: Workspace, reference: Workspace, prod: str
):
    start = _cursor(workspace, prod)
    workspace.write_file(prod, "/a/one.txt", b"1")
    workspace.write_file(prod, "/b/two.txt", b"2")
    workspace.delete_file(prod, "/a/one.txt")

    newer = workspace.list_events(prod, after=start)

    assert [(e.type, e.path) for e in newer] == [
        ("file.written", "/a/one.txt"),
        ("file.written", "/b/two.txt"),
        ("file.deleted", "/a/one.txt"),
    ]
    assert [e.cursor for e in newer] == list(range(start + 1, start + 4))
    assert newer == reference.list_events(prod, after=start)
    assert newer[0].at.tzinfo is not None
    assert workspace.list_events(prod, after=newer[-1].cursor) == []
    assert workspace.list_events(prod, after=start, types=["file.deleted"]) == newer[2:]
    assert workspace.list_events(prod, after=start, path_prefix="/b/") == newer[1:2]
    assert workspace.list_events(prod, after=start, limit=1) == newer[:1]
    since = workspace.list_events(prod, after=start, since=newer[1].at)
    assert [e.cursor for e in since] == [e.cursor for e in newer[1:]]


def test_long_poll_returns_as_soon_as_another_thread_writes(
    workspace: Workspace, home: Any, prod: str
):
    start = _cursor(workspace, prod)

    def write_once_someone_waits() -> None:
        assert home.bus.subscribed.wait(JOIN_SECONDS)
        workspace.write_file(prod, "/status/validated.json", b"{}")

    writer = threading.Thread(target=write_once_someone_waits)
    writer.start()
    try:
        woken = workspace.wait_events(prod, after=start, timeout=JOIN_SECONDS)
    finally:
        writer.join(JOIN_SECONDS)

    assert not writer.is_alive()
    assert [(e.type, e.path) for e in woken] == [("file.written", "/status/validated.json")]


def test_long_poll_with_nothing_new_returns_empty_at_its_deadline(workspace: Workspace, prod: str):
    start = _cursor(workspace, prod)

    assert workspace.wait_events(prod, after=start, timeout=0) == []
    assert workspace.wait_events(prod, after=start, timeout=0.05) == []


def test_audit_records_every_action_and_its_chain_verifies(
    workspace: Workspace, reference: Workspace, prod: str
):
    workspace.write_file(prod, "/a.txt", b"1")
    workspace.write_file(prod, "/a.txt", b"2")
    workspace.delete_file(prod, "/a.txt")

    entries = workspace.list_audit(prod)

    assert [e.action for e in entries] == [
        "workspace.create",
        "file.write",
        "file.write",
        "file.delete",
    ]
    assert entries == reference.list_audit(prod)
    assert [e.seq for e in entries] == sorted(e.seq for e in entries)
    assert all(e.prev_hash == before.hash for before, e in itertools.pairwise(entries))
    writes = workspace.list_audit(prod, action="file.write")
    assert [(e.before_version, e.after_version) for e in writes] == [(None, 1), (1, 2)]
    assert workspace.list_audit(prod, after_seq=entries[1].seq) == entries[2:]
    assert workspace.list_audit(prod, principal_id=entries[0].principal_id) == entries
    verdict = workspace.verify_audit(prod)
    assert (verdict.ok, verdict.entries) == (True, len(entries))

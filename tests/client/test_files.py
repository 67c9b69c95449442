"""Files: bytes in and out exactly, versions, trash, listing, metadata."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator

import pytest

from pilothouse.workspace.errors import (
    Conflict,
    InvalidArgument,
    InvalidPath,
    NotFound,
    VersionConflict,
)
from pilothouse.workspace.protocol import Workspace

MiB = 1024 * 1024


def test_text_and_binary_files_read_back_byte_for_byte(
    workspace: Workspace, reference: Workspace, prod: str
):
    samples = {
        "/notes/utf8.md": "Déploiement ✓ — 部署\r\nline two\n".encode(),
        "/bin/all-bytes": bytes(range(256)) * 3,
        "/empty": b"",
    }
    for path, data in samples.items():
        written = workspace.write_file(prod, path, data)
        read = workspace.read_file(prod, path)

        assert read.content == data
        assert read.info == written
        assert written.sha256 == hashlib.sha256(data).hexdigest()
        assert reference.file_version(prod, path) == written


def test_five_mebibytes_stream_up_and_down_unchanged(workspace: Workspace, prod: str):
    data = random.Random(7).randbytes(5 * MiB + 3)
    produced: list[int] = []

    def chunks() -> Iterator[bytes]:
        for start in range(0, len(data), 64 * 1024):
            produced.append(start)
            yield data[start : start + 64 * 1024]

    written = workspace.write_file(prod, "/artifacts/model.bin", chunks())

    assert len(produced) == 81
    assert (written.size, written.sha256) == (len(data), hashlib.sha256(data).hexdigest())
    info, stream = workspace.open_file(prod, "/artifacts/model.bin")
    with stream:
        pieces = iter(lambda: stream.read(100_000), b"")
        assert b"".join(pieces) == data
    assert info == written


def test_paths_travel_verbatim_even_with_url_characters(workspace: Workspace, prod: str):
    path = "/reports/Q1 #final?v=2&x=%41 ünï.json"

    written = workspace.write_file(prod, path, b"{}")

    assert written.path == path
    assert workspace.read_file(prod, path).content == b"{}"
    assert workspace.stat_file(prod, path).path == path
    assert [e.path for e in workspace.list_files(prod, "/reports/").entries] == [path]
    assert workspace.write_file(prod, "//a/./b//c.txt", b"x").path == "/a/b/c.txt"


def test_dot_dot_segments_are_refused_rather_than_resolved(workspace: Workspace, prod: str):
    for path in ["a/../b.txt", "../b.txt", "a/.."]:
        with pytest.raises(InvalidPath, match=r"'\.\.' segments"):
            workspace.write_file(prod, path, b"x")
    with pytest.raises(NotFound):
        workspace.read_file(prod, "/b.txt")


def test_stale_if_version_is_a_version_conflict(workspace: Workspace, prod: str):
    assert workspace.write_file(prod, "/state.json", b"1", if_version=0).version == 1
    assert workspace.write_file(prod, "/state.json", b"2", if_version=1).version == 2

    with pytest.raises(VersionConflict) as stale:
        workspace.write_file(prod, "/state.json", b"3", if_version=1)
    assert stale.value.details == {"path": "/state.json", "expected": 1, "current": 2}
    with pytest.raises(VersionConflict):
        workspace.write_file(prod, "/state.json", b"3", if_version=0)
    with pytest.raises(VersionConflict):
        workspace.delete_file(prod, "/state.json", if_version=1)
    assert workspace.read_file(prod, "/state.json").content == b"2"


def test_listing_pages_through_every_entry_with_cursors(
    workspace: Workspace, reference: Workspace, prod: str
):
    names = [f"/logs/{i:02}.log" for i in range(7)] + ["/logs/old/a.log", "/logs/old/b.log"]
    for name in names:
        workspace.write_file(prod, name, name.encode())

    def walk(recursive: bool) -> list[str]:
        seen: list[str] = []
        cursor = None
        while True:
            page = workspace.list_files(prod, "/logs/", recursive=recursive, limit=3, cursor=cursor)
            assert page == reference.list_files(
                prod, "/logs/", recursive=recursive, limit=3, cursor=cursor
            )
            assert len(page.entries) <= 3
            seen += [entry.path for entry in page.entries]
            if page.next_cursor is None:
                return seen
            cursor = page.next_cursor

    assert walk(recursive=True) == sorted(names)
    assert walk(recursive=False) == [*sorted(names)[:7], "/logs/old/"]
    kinds = {e.path: e.type for e in workspace.list_files(prod, "/logs/").entries}
    assert kinds["/logs/old/"] == "directory"
    assert kinds["/logs/00.log"] == "file"


def test_deleted_file_waits_in_the_trash_until_restored(workspace: Workspace, prod: str):
    workspace.write_file(prod, "/plan.txt", b"plan")

    trashed = workspace.delete_file(prod, "/plan.txt")

    assert trashed.deleted_at is not None
    with pytest.raises(NotFound):
        workspace.read_file(prod, "/plan.txt")
    assert [f.id for f in workspace.list_trash(prod)] == [trashed.id]
    assert [f.id for f in workspace.list_trash(prod, "/plan.txt")] == [trashed.id]
    restored = workspace.restore_file(prod, "/plan.txt", trash_id=trashed.id)
    assert restored.deleted_at is None
    assert workspace.read_file(prod, "/plan.txt").content == b"plan"
    assert workspace.list_trash(prod) == []


def test_purged_file_is_gone_for_good_and_frees_its_quota(workspace: Workspace, prod: str):
    workspace.write_file(prod, "/big.bin", b"x" * 1000)
    used = workspace.get_workspace(prod).used_bytes
    workspace.delete_file(prod, "/big.bin")

    freed = workspace.purge_file(prod, "/big.bin")

    assert freed == 1000
    assert workspace.get_workspace(prod).used_bytes == used - 1000
    assert workspace.list_trash(prod) == []
    with pytest.raises(NotFound):
        workspace.restore_file(prod, "/big.bin")


def test_move_keeps_the_history_and_copy_starts_a_new_one(workspace: Workspace, prod: str):
    first = workspace.write_file(prod, "/a.yaml", b"v1")
    workspace.write_file(prod, "/a.yaml", b"v2")

    moved = workspace.move_file(prod, "/a.yaml", "/b.yaml")

    assert (moved.path, moved.version) == ("/b.yaml", 2)
    with pytest.raises(NotFound):
        workspace.stat_file(prod, "/a.yaml")
    assert [v.version for v in workspace.file_versions(prod, "/b.yaml")] == [2, 1]
    workspace.write_file(prod, "/taken.yaml", b"other")
    with pytest.raises(Conflict):
        workspace.move_file(prod, "/b.yaml", "/taken.yaml")
    copied = workspace.copy_file(prod, "/b.yaml", "/c.yaml", version=1)
    assert (copied.path, copied.version, copied.sha256) == ("/c.yaml", 1, first.sha256)
    assert workspace.read_file(prod, "/c.yaml").content == b"v1"


def test_old_versions_can_be_read_and_restored_as_the_newest(
    workspace: Workspace, reference: Workspace, prod: str
):
    for text in [b"one", b"two", b"three"]:
        workspace.write_file(prod, "/config.yaml", text)

    history = workspace.file_versions(prod, "/config.yaml")

    assert [v.version for v in history] == [3, 2, 1]
    assert history == reference.file_versions(prod, "/config.yaml")
    assert workspace.read_file(prod, "/config.yaml", version=1).content == b"one"
    assert workspace.file_version(prod, "/config.yaml", version=2) == history[1]
    restored = workspace.restore_version(prod, "/config.yaml", 1, if_version=3)
    assert (restored.version, restored.sha256) == (4, history[2].sha256)
    assert restored.note == "restored from version 1"
    assert workspace.read_file(prod, "/config.yaml").content == b"one"
    with pytest.raises(NotFound) as missing:
        workspace.file_version(prod, "/config.yaml", version=9)
    assert missing.value.details == {"path": "/config.yaml", "version": 9, "newest": 4}
    with pytest.raises(InvalidArgument):
        workspace.file_version(prod, "/config.yaml", version=0)


def test_metadata_is_merged_and_removed_per_key(workspace: Workspace, prod: str):
    workspace.write_file(prod, "/deploy.yaml", b"kind: Deployment")

    assert workspace.set_metadata(prod, "/deploy.yaml", {"env": "prod", "owner": "sre"}) == {
        "env": "prod",
        "owner": "sre",
    }
    after = workspace.set_metadata(prod, "/deploy.yaml", {"env": "staging"}, remove=["owner"])

    assert after == {"env": "staging"}
    assert workspace.get_metadata(prod, "/deploy.yaml") == after
    assert workspace.stat_file(prod, "/deploy.yaml").metadata == after


def test_a_note_is_kept_with_its_version(workspace: Workspace, prod: str):
    written = workspace.write_file(prod, "/status.json", b"{}", note="validated by CI")

    assert written.note == "validated by CI"
    assert workspace.file_versions(prod, "/status.json")[0].note == "validated by CI"

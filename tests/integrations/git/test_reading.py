from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta

import pytest
from tests.integrations.git.conftest import SEED_FILES, Origin

from pilothouse.integrations.git import (
    ZERO_SHA,
    Change,
    InvalidArgument,
    Mirror,
    NotFound,
)

SERVICE = "".join(f"line {n}: a long enough body to be recognised as a rename\n" for n in range(20))


@dataclass(frozen=True)
class History:
    seed: str
    first: str
    second: str


@pytest.fixture
def history(origin: Origin, mirror: Mirror) -> History:
    """seed -> first (scale to 2, add two files) -> second (modify, delete, rename, add)."""
    seed = origin.head()
    first = origin.push_commit(
        {
            "manifests/app.yaml": SEED_FILES["manifests/app.yaml"].replace("1\n", "2\n", 1),
            "configs/app.env": "LOG=info\n",
            "manifests/service.yaml": SERVICE,
        },
        "Scale app to 2 and add a service",
    )
    origin.git("mv", "manifests/service.yaml", "manifests/svc.yaml")
    origin.git("rm", "-q", "configs/app.env")
    (origin.work / "manifests/app.yaml").write_text("kind: Deployment\nreplicas: 3\n")
    (origin.work / "agents").mkdir()
    (origin.work / "agents/deployer.md").write_text("You deploy.\n")
    origin.git("add", ".")
    origin.git("commit", "-q", "-m", "Reshape\n\nMove the service, drop the env file.")
    origin.git("push", "-q", "origin", "main")
    mirror.fetch()
    return History(seed, first, origin.head())


def test_resolve_accepts_shas_short_shas_branches_and_refs(mirror: Mirror, history: History):
    assert mirror.resolve(history.second) == history.second
    assert mirror.resolve(history.second[:10]) == history.second
    assert mirror.resolve("main") == history.second
    assert mirror.resolve("refs/heads/main") == history.second
    assert mirror.resolve("main~2") == history.seed


def test_resolve_of_an_unknown_revision_is_git_not_found(mirror: Mirror):
    with pytest.raises(NotFound) as caught:
        mirror.resolve("no-such-branch")
    assert caught.value.code == "git_not_found"
    with pytest.raises(NotFound):
        mirror.resolve("f" * 40)


def test_resolve_refuses_malformed_revisions_and_non_commits(mirror: Mirror):
    for rev in ("", "main branch", "x" * 300, "main:pilothouse.yaml"):
        with pytest.raises(InvalidArgument):
            mirror.resolve(rev)


def test_changed_files_reports_added_modified_deleted_and_renamed(mirror: Mirror, history: History):
    assert mirror.changed_files(history.first, history.second) == [
        Change("agents/deployer.md", "added"),
        Change("configs/app.env", "deleted"),
        Change("manifests/app.yaml", "modified"),
        Change("manifests/svc.yaml", "renamed", old_path="manifests/service.yaml"),
    ]


def test_changed_files_from_the_zero_sha_or_none_lists_everything_as_added(
    mirror: Mirror, history: History
):
    expected = [Change(path, "added") for path in sorted(SEED_FILES)]

    assert mirror.changed_files(ZERO_SHA, history.seed) == expected
    assert mirror.changed_files(None, history.seed) == expected
    assert mirror.changed_files(history.seed, history.seed) == []


def test_read_file_returns_the_content_at_each_revision(mirror: Mirror, history: History):
    assert mirror.read_file(history.seed, "manifests/app.yaml") == (
        SEED_FILES["manifests/app.yaml"].encode()
    )
    assert mirror.read_file(history.second, "manifests/app.yaml") == (
        b"kind: Deployment\nreplicas: 3\n"
    )
    assert mirror.read_file(history.first, "configs/app.env") == b"LOG=info\n"


def test_read_file_of_a_missing_path_or_a_folder_is_git_not_found(mirror: Mirror, history: History):
    with pytest.raises(NotFound) as caught:
        mirror.read_file(history.second, "configs/app.env")
    assert caught.value.details["path"] == "configs/app.env"
    with pytest.raises(NotFound):
        mirror.read_file(history.second, "manifests")


@pytest.mark.parametrize(
    "path",
    ["../secrets", "/etc/passwd", "manifests/../pilothouse.yaml", "./pilothouse.yaml", "a\\b", ""],
)
def test_read_file_refuses_paths_that_escape_or_are_not_clean(
    mirror: Mirror, history: History, path: str
):
    with pytest.raises(InvalidArgument) as caught:
        mirror.read_file(history.second, path)
    assert caught.value.code == "invalid_argument"


def test_list_tree_lists_files_recursively_under_a_prefix(mirror: Mirror, history: History):
    assert mirror.list_tree(history.second) == [
        "agents/deployer.md",
        "manifests/app.yaml",
        "manifests/svc.yaml",
        "pilothouse.yaml",
    ]
    assert mirror.list_tree(history.second, "manifests") == [
        "manifests/app.yaml",
        "manifests/svc.yaml",
    ]
    assert mirror.list_tree(history.second, "manifests/") == mirror.list_tree("main", "manifests")
    assert mirror.list_tree(history.second, "pilothouse.yaml") == ["pilothouse.yaml"]
    assert mirror.list_tree(history.second, "status") == []


def test_log_lists_commits_newest_first_with_authors(mirror: Mirror, history: History):
    entries = mirror.log("main")

    assert [e.sha for e in entries] == [history.second, history.first, history.seed]
    assert entries[0].summary == "Reshape"
    assert entries[0].message == "Reshape\n\nMove the service, drop the env file.\n"
    assert (entries[0].author_name, entries[0].author_email) == ("Seeder", "seeder@example.com")
    assert entries[0].parents == (history.first,)
    assert entries[0].time.utcoffset() is not None
    assert entries[0].time >= entries[2].time - timedelta(seconds=1)


def test_log_honours_limit_and_path(mirror: Mirror, history: History):
    assert [e.sha for e in mirror.log("main", limit=1)] == [history.second]
    assert [e.sha for e in mirror.log("main", path="configs/app.env")] == [
        history.second,
        history.first,
    ]
    assert [e.sha for e in mirror.log("main", path="pilothouse.yaml")] == [history.seed]
    assert [e.sha for e in mirror.log("main", path="agents")] == [history.second]
    for limit in (0, -1, 10_000):
        with pytest.raises(InvalidArgument):
            mirror.log("main", limit=limit)


def test_diff_is_a_unified_patch_with_the_hunk(mirror: Mirror, history: History):
    patch = mirror.diff(history.seed, history.first)

    assert "diff --git a/manifests/app.yaml b/manifests/app.yaml" in patch
    assert "-replicas: 1\n+replicas: 2\n" in patch
    assert "+LOG=info\n" in patch


def test_diff_can_be_limited_to_paths(mirror: Mirror, history: History):
    patch = mirror.diff(history.seed, history.first, paths=["configs"])

    assert "+LOG=info\n" in patch
    assert "manifests/app.yaml" not in patch
    assert mirror.diff(history.seed, history.first, paths=["agents"]) == ""


def test_diff_from_the_zero_sha_adds_every_line(mirror: Mirror, history: History):
    patch = mirror.diff(ZERO_SHA, history.seed)

    assert "new file mode 100644" in patch
    assert "+version: 1\n" in patch

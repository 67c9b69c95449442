from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pygit2
import pytest
from tests.integrations.git.conftest import SEED_FILES, Origin, make_origin

from pilothouse.core.clock import ManualClock
from pilothouse.integrations.git import (
    ZERO_SHA,
    AuthFailed,
    Conflict,
    GitRepository,
    Identity,
    InvalidArgument,
    Mirror,
    NotFound,
    RefUpdate,
    Unreachable,
)


def test_a_plain_path_remote_is_cloned_into_a_bare_mirror(origin: Origin, cache_dir: Path):
    with Mirror.open(cache_dir, str(origin.path)) as mirror:
        assert pygit2.Repository(str(cache_dir)).is_bare
        assert mirror.branches() == ["main"]
        assert mirror.default_branch == "main"
        assert mirror.resolve("main") == origin.head()
        assert mirror.url == str(origin.path)


def test_a_file_url_remote_is_cloned_too(origin: Origin, cache_dir: Path):
    with Mirror.open(cache_dir, origin.path.as_uri()) as mirror:
        assert mirror.resolve("main") == origin.head()
        assert mirror.read_file("main", "pilothouse.yaml") == SEED_FILES["pilothouse.yaml"].encode()


def test_reopening_a_mirror_reads_offline_without_touching_the_remote(
    origin: Origin, cache_dir: Path
):
    Mirror.open(cache_dir, str(origin.path)).close()
    sha = origin.head()
    origin.push_commit({"manifests/app.yaml": "changed\n"}, "Change after the clone")

    with Mirror.open(cache_dir, str(origin.path)) as reopened:
        assert reopened.resolve("main") == sha


def test_reopening_with_a_moved_remote_repoints_the_mirror(
    origin: Origin, cache_dir: Path, tmp_path: Path
):
    Mirror.open(cache_dir, str(origin.path)).close()
    moved = origin.path.rename(tmp_path / "moved.git")

    with Mirror.open(cache_dir, moved.as_uri()) as mirror:
        assert mirror.url == moved.as_uri()
        assert mirror.fetch() == []
        assert pygit2.Repository(str(cache_dir)).remotes["origin"].url == moved.as_uri()


def test_a_mirror_satisfies_the_repository_seam(mirror: Mirror):
    seam: GitRepository = mirror
    assert seam.branches() == ["main"]


def test_fetch_sees_commits_pushed_to_origin_later(origin: Origin, mirror: Mirror):
    before = mirror.resolve("main")
    after = origin.push_commit({"manifests/app.yaml": "replicas: 3\n"}, "Scale up")
    assert mirror.resolve("main") == before

    moved = mirror.fetch()

    assert moved == [RefUpdate("main", before, after)]
    assert mirror.resolve("main") == after
    assert mirror.read_file(after, "manifests/app.yaml") == b"replicas: 3\n"


def test_fetch_mirrors_created_and_deleted_branches(origin: Origin, mirror: Mirror):
    origin.git("push", "-q", "origin", "HEAD:refs/heads/feature")
    assert mirror.fetch() == [RefUpdate("feature", ZERO_SHA, origin.head("feature"))]
    assert mirror.branches() == ["feature", "main"]

    feature = origin.head("feature")
    origin.git("push", "-q", "origin", ":refs/heads/feature")

    assert mirror.fetch() == [RefUpdate("feature", feature, ZERO_SHA)]
    assert mirror.branches() == ["main"]


def test_fetch_with_nothing_new_reports_no_moves(mirror: Mirror):
    assert mirror.fetch() == []


@pytest.mark.parametrize(
    "url",
    ["{tmp}/no-such-repo.git", "file://{tmp}/no-such-repo.git", "https://127.0.0.1:1/org/repo.git"],
)
def test_an_unreachable_remote_is_git_unreachable_and_leaves_no_cache(
    tmp_path: Path, cache_dir: Path, url: str
):
    with pytest.raises(Unreachable) as caught:
        Mirror.open(cache_dir, url.format(tmp=tmp_path))

    assert caught.value.code == "git_unreachable"
    assert caught.value.retryable
    assert not cache_dir.exists()
    assert not cache_dir.parent.exists() or list(cache_dir.parent.iterdir()) == []


def test_fetch_from_a_remote_that_vanished_is_git_unreachable(origin: Origin, mirror: Mirror):
    origin.path.rename(origin.path.with_name("moved.git"))

    with pytest.raises(Unreachable):
        mirror.fetch()


def test_a_remote_that_wants_credentials_we_lack_is_git_auth_failed(
    unauthorized_url: str, cache_dir: Path
):
    with pytest.raises(AuthFailed) as caught:
        Mirror.open(cache_dir, unauthorized_url)

    assert caught.value.code == "git_auth_failed"
    assert not cache_dir.exists()


def test_an_existing_directory_that_is_not_a_mirror_is_refused(origin: Origin, tmp_path: Path):
    (tmp_path / "junk").mkdir()

    with pytest.raises(InvalidArgument):
        Mirror.open(tmp_path / "junk", str(origin.path))
    with pytest.raises(InvalidArgument):
        Mirror.open(origin.work, str(origin.path))


def test_commit_as_an_agent_then_push_reaches_origin_with_the_agent_as_author(
    origin: Origin, mirror: Mirror, agent: Identity
):
    sha = mirror.commit(
        "main",
        {"manifests/app.yaml": b"replicas: 2\n", "configs/app.env": b"LOG=debug\n"},
        "Scale app to two replicas",
        agent,
    )
    mirror.push("main")

    assert origin.head() == sha
    clone = origin.fresh_clone()
    authors = origin.git("log", "--format=%an <%ae>|%cn <%ce>|%s", cwd=clone).splitlines()
    assert authors[0] == (
        "deployer-agent <deployer@agents.pilothouse.test>|"
        "deployer-agent <deployer@agents.pilothouse.test>|Scale app to two replicas"
    )
    assert authors[1].startswith("Seeder <seeder@example.com>")
    assert (clone / "manifests/app.yaml").read_text() == "replicas: 2\n"
    assert (clone / "configs/app.env").read_text() == "LOG=debug\n"
    assert (clone / "pilothouse.yaml").read_text() == SEED_FILES["pilothouse.yaml"]


def test_commit_time_comes_from_the_clock(origin: Origin, cache_dir: Path, agent: Identity):
    clock = ManualClock()
    with Mirror.open(cache_dir, str(origin.path), clock=clock) as mirror:
        sha = mirror.commit("main", {"a.txt": b"a\n"}, "Add a", agent)
        assert mirror.log(sha, limit=1)[0].time == clock.now()


def test_commit_deletes_files_given_as_none(mirror: Mirror, agent: Identity):
    sha = mirror.commit("main", {"manifests/app.yaml": None}, "Remove the app", agent)

    assert mirror.list_tree(sha) == ["pilothouse.yaml"]
    with pytest.raises(NotFound):
        mirror.read_file(sha, "manifests/app.yaml")


def test_an_empty_change_is_refused_with_invalid_argument(mirror: Mirror, agent: Identity):
    tip = mirror.resolve("main")
    same = SEED_FILES["manifests/app.yaml"].encode()

    with pytest.raises(InvalidArgument) as caught:
        mirror.commit("main", {"manifests/app.yaml": same}, "No-op", agent)
    assert caught.value.code == "invalid_argument"
    with pytest.raises(InvalidArgument):
        mirror.commit("main", {}, "Nothing", agent)
    with pytest.raises(InvalidArgument):
        mirror.commit("main", {"a.txt": b"a"}, "   ", agent)
    assert mirror.resolve("main") == tip


def test_commit_refuses_paths_escaping_the_tree(mirror: Mirror, agent: Identity):
    for path in ("../outside", "/etc/passwd", "manifests/../x", ".git/config", "a//b"):
        with pytest.raises(InvalidArgument):
            mirror.commit("main", {path: b"x"}, "Escape", agent)


def test_a_path_cannot_be_both_a_file_and_a_folder(mirror: Mirror, agent: Identity):
    with pytest.raises(InvalidArgument):
        mirror.commit("main", {"manifests": b"x"}, "Clash", agent)
    with pytest.raises(InvalidArgument):
        mirror.commit("main", {"pilothouse.yaml/inner": b"x"}, "Clash", agent)

    sha = mirror.commit(
        "main", {"manifests/app.yaml": None, "manifests": b"flat\n"}, "Flatten", agent
    )
    assert mirror.list_tree(sha) == ["manifests", "pilothouse.yaml"]


def test_commit_on_an_unknown_branch_or_deleting_a_missing_file_is_git_not_found(
    mirror: Mirror, agent: Identity
):
    with pytest.raises(NotFound) as caught:
        mirror.commit("nope", {"a.txt": b"a"}, "Add a", agent)
    assert caught.value.code == "git_not_found"
    with pytest.raises(NotFound):
        mirror.commit("main", {"missing.yaml": None}, "Delete", agent)


def test_the_first_commit_into_an_empty_remote_creates_the_branch(tmp_path: Path, agent: Identity):
    empty = make_origin(tmp_path / "empty", seed=False)
    with Mirror.open(tmp_path / "mirror.git", str(empty.path)) as mirror:
        assert mirror.branches() == []
        assert mirror.default_branch is None

        sha = mirror.commit("main", {"pilothouse.yaml": b"version: 1\n"}, "Start", agent)
        mirror.push("main")

        assert empty.head() == sha
        assert mirror.log("main")[0].parents == ()


def test_push_is_git_conflict_when_origin_moved_ahead(
    origin: Origin, mirror: Mirror, agent: Identity
):
    theirs = origin.push_commit({"manifests/app.yaml": "theirs\n"}, "Someone else's change")
    mirror.commit("main", {"manifests/app.yaml": b"ours\n"}, "Our change", agent)

    with pytest.raises(Conflict) as caught:
        mirror.push("main")

    assert caught.value.code == "git_conflict"
    assert origin.head() == theirs


def test_push_is_git_conflict_when_origin_diverged_from_a_known_commit(
    origin: Origin, mirror: Mirror, agent: Identity
):
    theirs = origin.push_commit({"a.txt": "theirs\n"}, "Theirs")
    mirror.fetch()
    origin.git("push", "-q", "--force", "origin", f"{theirs}~1:refs/heads/main")
    origin.push_commit({"b.txt": "rewritten\n"}, "Rewritten history")
    mirror.commit("main", {"c.txt": b"ours\n"}, "Ours on the old history", agent)

    with pytest.raises(Conflict):
        mirror.push("main")


def test_a_rejected_push_is_recovered_by_fetching_and_redoing_the_change(
    origin: Origin, mirror: Mirror, agent: Identity
):
    origin.push_commit({"configs/a.env": "A=1\n"}, "Theirs")
    mirror.commit("main", {"configs/b.env": b"B=1\n"}, "Ours", agent)
    with pytest.raises(Conflict):
        mirror.push("main")

    mirror.fetch()
    sha = mirror.commit("main", {"configs/b.env": b"B=1\n"}, "Ours, again", agent)
    mirror.push("main")

    assert origin.head() == sha
    assert mirror.list_tree("main", "configs") == ["configs/a.env", "configs/b.env"]


def test_force_push_replaces_what_origin_had(origin: Origin, mirror: Mirror, agent: Identity):
    origin.push_commit({"a.txt": "theirs\n"}, "Theirs")
    sha = mirror.commit("main", {"b.txt": b"ours\n"}, "Ours", agent)

    mirror.push("main", force=True)

    assert origin.head() == sha


def test_pushing_an_unknown_branch_is_git_not_found(mirror: Mirror):
    with pytest.raises(NotFound):
        mirror.push("nope")


def test_revert_commits_the_inverse_and_pushes(origin: Origin, mirror: Mirror, agent: Identity):
    bad = mirror.commit("main", {"manifests/app.yaml": b"replicas: 0\n"}, "Scale to zero", agent)
    mirror.push("main")

    sha = mirror.revert(bad, agent, "main")
    mirror.push("main")

    assert origin.head() == sha
    info = mirror.log("main", limit=1)[0]
    assert info.message == f'Revert "Scale to zero"\n\nThis reverts commit {bad}.\n'
    assert info.parents == (bad,)
    assert info.author_name == agent.name
    clone = origin.fresh_clone()
    assert (clone / "manifests/app.yaml").read_text() == SEED_FILES["manifests/app.yaml"]
    assert origin.git("show", "-s", "--format=%an", "HEAD", cwd=clone).strip() == agent.name


def test_revert_of_a_file_addition_deletes_it(mirror: Mirror, agent: Identity):
    added = mirror.commit("main", {"manifests/extra.yaml": b"x\n"}, "Add extra", agent)

    sha = mirror.revert(added, agent, "main")

    assert "manifests/extra.yaml" not in mirror.list_tree(sha)


def test_revert_conflicting_with_later_changes_is_git_conflict(mirror: Mirror, agent: Identity):
    first = mirror.commit("main", {"manifests/app.yaml": b"replicas: 2\n"}, "Two", agent)
    mirror.commit("main", {"manifests/app.yaml": b"replicas: 3\n"}, "Three", agent)
    tip = mirror.resolve("main")

    with pytest.raises(Conflict) as caught:
        mirror.revert(first, agent, "main")

    assert caught.value.details["paths"] == ["manifests/app.yaml"]
    assert mirror.resolve("main") == tip


def test_reverting_twice_is_refused_as_an_empty_change(mirror: Mirror, agent: Identity):
    change = mirror.commit("main", {"a.txt": b"a\n"}, "Add a", agent)
    mirror.revert(change, agent, "main")

    with pytest.raises(InvalidArgument):
        mirror.revert(change, agent, "main")


def test_create_branch_then_push_publishes_it(origin: Origin, mirror: Mirror, agent: Identity):
    base = mirror.resolve("main")
    assert mirror.create_branch("pilothouse/fix-1", "main") == base
    sha = mirror.commit("pilothouse/fix-1", {"a.txt": b"a\n"}, "Fix", agent)

    mirror.push("pilothouse/fix-1")

    assert mirror.branches() == ["main", "pilothouse/fix-1"]
    assert origin.head("pilothouse/fix-1") == sha
    assert origin.head("main") == base


def test_create_branch_refuses_taken_and_invalid_names(mirror: Mirror):
    with pytest.raises(Conflict):
        mirror.create_branch("main", "main")
    for name in ("", "HEAD", "-x", "a..b", "with space", "trailing/", "x.lock"):
        with pytest.raises(InvalidArgument):
            mirror.create_branch(name, "main")
    with pytest.raises(NotFound):
        mirror.create_branch("new", "no-such-rev")


def test_commits_from_many_threads_are_serialized_on_the_branch(mirror: Mirror, agent: Identity):
    def write(worker: int) -> None:
        for n in range(5):
            mirror.commit("main", {f"w{worker}/{n}.txt": b"x"}, f"w{worker} {n}", agent)

    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = [pool.submit(write, worker) for worker in range(4)]
        for future in futures:
            future.result(timeout=30)  # re-raises a worker's error

    assert len(mirror.log("main", limit=100)) == 1 + 20
    assert len(mirror.list_tree("main")) == len(SEED_FILES) + 20


def test_two_mirror_objects_on_one_directory_share_a_lock(
    origin: Origin, mirror: Mirror, cache_dir: Path, agent: Identity
):
    with Mirror.open(cache_dir, str(origin.path)) as twin:
        mirror.commit("main", {"a.txt": b"a\n"}, "From one", agent)
        sha = twin.commit("main", {"b.txt": b"b\n"}, "From the twin", agent)

        assert mirror.resolve("main") == sha
        assert mirror.list_tree("main") == ["a.txt", "b.txt", *sorted(SEED_FILES)]


def test_an_identity_with_header_characters_is_refused():
    with pytest.raises(InvalidArgument):
        Identity("agent <x>", "a@b")
    with pytest.raises(InvalidArgument):
        Identity("agent", "")

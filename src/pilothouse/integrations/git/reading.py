"""Reading commits straight from the object database, without a work tree.

Everything a pipeline wants to know about a revision (which files changed, what
a manifest said then, who changed it) is answered from trees and blobs, so many
revisions can be inspected side by side and nothing is ever checked out. These
are plain functions over a ``pygit2.Repository``; the
:class:`~pilothouse.integrations.git.mirrors.Mirror` owns the handle, holds the
lock and calls them.

Revisions are anything ``git rev-parse`` understands that peels to a commit: a
full or short sha, a branch, ``refs/...``, ``main~2``. A diff base of ``None``
or the all-zeros sha means "the empty tree", so the first push of a branch
shows every file as added.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta, timezone

import pygit2
from pygit2.enums import DeltaStatus, DiffFind, FileMode, SortMode

from pilothouse.integrations.git import errors, paths
from pilothouse.integrations.git.models import Change, ChangeStatus, CommitInfo, zero_sha

__all__ = [
    "MAX_LOG",
    "changed_files",
    "commit_info",
    "commit_of",
    "diff",
    "list_tree",
    "log",
    "read_file",
]

MAX_LOG = 1000
"""Most commits one :func:`log` call returns."""

MAX_REV_LENGTH = 256

_STATUS: dict[DeltaStatus, ChangeStatus] = {
    DeltaStatus.ADDED: "added",
    DeltaStatus.COPIED: "added",
    DeltaStatus.DELETED: "deleted",
    DeltaStatus.MODIFIED: "modified",
    DeltaStatus.TYPECHANGE: "modified",
    DeltaStatus.RENAMED: "renamed",
}
_FILE_MODES = (FileMode.BLOB, FileMode.BLOB_EXECUTABLE, FileMode.LINK)


def commit_of(repo: pygit2.Repository, rev: str) -> pygit2.Commit:
    """The commit ``rev`` names.

    Raises :class:`~.errors.NotFound` for an unknown revision and
    :class:`~.errors.InvalidArgument` for a malformed or ambiguous one, or one
    naming something other than a commit.
    """
    if not isinstance(rev, str) or not rev or len(rev) > MAX_REV_LENGTH:
        raise errors.InvalidArgument(
            f"a revision must be a string of 1 to {MAX_REV_LENGTH} characters"
        )
    if any(c.isspace() or ord(c) < 0x20 for c in rev):
        raise errors.InvalidArgument("a revision may not contain whitespace", details={"rev": rev})
    try:
        obj = repo.revparse_single(rev)
    except pygit2.AmbiguousError as e:
        raise errors.InvalidArgument(f"{rev!r} is ambiguous", details={"rev": rev}) from e
    except pygit2.InvalidSpecError as e:
        raise errors.InvalidArgument(f"{rev!r} is malformed", details={"rev": rev}) from e
    except (KeyError, ValueError, pygit2.GitError) as e:
        raise errors.NotFound(f"unknown revision {rev!r}", details={"rev": rev}) from e
    try:
        return obj.peel(pygit2.Commit)
    except (ValueError, pygit2.GitError) as e:
        raise errors.InvalidArgument(f"{rev!r} is not a commit", details={"rev": rev}) from e


def commit_info(commit: pygit2.Commit) -> CommitInfo:
    """The plain-value view of a commit."""
    author = commit.author
    when = datetime.fromtimestamp(author.time, timezone(timedelta(minutes=author.offset)))
    return CommitInfo(
        sha=str(commit.id),
        author_name=author.name,
        author_email=author.email,
        message=commit.message,
        time=when,
        parents=tuple(str(p) for p in commit.parent_ids),
    )


def _tree_diff(repo: pygit2.Repository, base: str | None, head: str) -> pygit2.Diff:
    head_tree = commit_of(repo, head).tree
    if base is None or zero_sha(base):
        result = head_tree.diff_to_tree(swap=True)  # empty tree -> head
    else:
        result = commit_of(repo, base).tree.diff_to_tree(head_tree)
    result.find_similar(DiffFind.FIND_RENAMES)
    return result


def changed_files(repo: pygit2.Repository, base: str | None, head: str) -> list[Change]:
    """Files that differ from ``base`` to ``head``, renames detected, sorted by path."""
    changes = []
    for delta in _tree_diff(repo, base, head).deltas:
        status = _STATUS.get(delta.status)
        if status is None:  # unmodified, ignored, untracked: impossible between trees
            continue
        if status == "renamed":
            changes.append(Change(delta.new_file.path, status, delta.old_file.path))
        elif status == "deleted":
            changes.append(Change(delta.old_file.path, status))
        else:
            changes.append(Change(delta.new_file.path, status))
    return sorted(changes, key=lambda c: c.path)


def diff(
    repo: pygit2.Repository, base: str | None, head: str, only: Sequence[str] | None = None
) -> str:
    """The unified patch from ``base`` to ``head``, limited to the files or folders ``only``."""
    wanted = None if only is None else [paths.clean_prefix(p) for p in only]
    parts = []
    for patch in _tree_diff(repo, base, head):
        if patch is None or patch.text is None:
            continue
        touched = (patch.delta.old_file.path, patch.delta.new_file.path)
        if wanted is not None and not any(_under(p, w) for p in touched for w in wanted):
            continue
        parts.append(patch.text)
    return "".join(parts)


def _under(path: str, folder: str) -> bool:
    return folder in ("", path) or path.startswith(folder + "/")


def _entry(tree: pygit2.Tree, path: str) -> pygit2.Object | None:
    try:
        return tree[path]
    except KeyError:
        return None


def read_file(repo: pygit2.Repository, rev: str, path: str) -> bytes:
    """The content of ``path`` at ``rev``.

    Raises :class:`~.errors.InvalidArgument` for a path that is not clean and
    :class:`~.errors.NotFound` when it is absent or not a file at that revision.
    """
    path = paths.clean_path(path)
    commit = commit_of(repo, rev)
    obj = _entry(commit.tree, path)
    if not isinstance(obj, pygit2.Blob):
        raise errors.NotFound(
            f"no file {path} at {rev}", details={"rev": rev, "path": path, "sha": str(commit.id)}
        )
    return obj.data


def list_tree(repo: pygit2.Repository, rev: str, prefix: str = "") -> list[str]:
    """Every file path (recursively, sorted) under the folder ``prefix`` at ``rev``.

    An absent prefix lists nothing; a prefix naming a file lists that file.
    Submodule entries are skipped: they are not files of this repository.
    """
    prefix = paths.clean_prefix(prefix)
    tree = commit_of(repo, rev).tree
    root = _entry(tree, prefix) if prefix else tree
    if isinstance(root, pygit2.Blob):
        return [prefix]
    if not isinstance(root, pygit2.Tree):
        return []
    found: list[str] = []
    stack: list[tuple[str, pygit2.Tree]] = [(prefix, root)]
    while stack:
        folder, current = stack.pop()
        for entry in current:
            name = f"{folder}/{entry.name}" if folder else str(entry.name)
            if isinstance(entry, pygit2.Tree):
                stack.append((name, entry))
            elif entry.filemode in _FILE_MODES:
                found.append(name)
    return sorted(found)


def log(
    repo: pygit2.Repository, rev: str, limit: int = 20, path: str | None = None
) -> list[CommitInfo]:
    """Up to ``limit`` commits reachable from ``rev``, newest first.

    With ``path``, only commits that changed that file or folder compared with
    every parent (a merge that took one side unchanged is skipped, as in
    ``git log -- path``). Raises :class:`~.errors.InvalidArgument` when
    ``limit`` is outside 1..:data:`MAX_LOG`.
    """
    if isinstance(limit, bool) or not isinstance(limit, int) or not 1 <= limit <= MAX_LOG:
        raise errors.InvalidArgument(f"limit must be between 1 and {MAX_LOG}")
    clean = None if path is None else paths.clean_path(path)
    start = commit_of(repo, rev)
    found: list[CommitInfo] = []
    for commit in repo.walk(start.id, SortMode.TOPOLOGICAL | SortMode.TIME):
        if clean is None or _touches(commit, clean):
            found.append(commit_info(commit))
            if len(found) >= limit:
                break
    return found


def _touches(commit: pygit2.Commit, path: str) -> bool:
    mine = _entry_id(commit.tree, path)
    if not commit.parents:
        return mine is not None
    return all(_entry_id(parent.tree, path) != mine for parent in commit.parents)


def _entry_id(tree: pygit2.Tree, path: str) -> str | None:
    obj = _entry(tree, path)
    return None if obj is None else str(obj.id)

"""Building new trees and commits in memory, on top of a branch tip.

Agents change a GitOps repository a few files at a time ("bump the image tag in
``manifests/app.yaml``"). A work tree for that would be state to keep clean,
lock, and garbage-collect, and two agents would fight over its checkout. Instead
a change is applied to an in-memory index seeded from the tip's tree: new blobs
go straight into the object database, the index writes the new tree, and the
caller turns it into a commit whose only parent is the tip it started from. If
the branch moved meanwhile, the ref update fails instead of losing work.

libgit2's in-memory index accepts a file ``a`` next to a file ``a/b`` and would
write a tree no git can check out, so that clash is refused here. A revert is
libgit2's three-way merge of the commit's inverse onto the tip; any conflict is
reported with its paths rather than committed with markers.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime

import pygit2
from pygit2.enums import FileMode

from pilothouse.integrations.git import errors, paths
from pilothouse.integrations.git.models import Identity

__all__ = ["revert_message", "revert_tree", "signature", "tree_with"]


def signature(identity: Identity, when: datetime) -> pygit2.Signature:
    """A git signature for ``identity`` at ``when`` (kept in ``when``'s offset)."""
    offset = when.utcoffset()
    minutes = 0 if offset is None else int(offset.total_seconds() // 60)
    return pygit2.Signature(identity.name, identity.email, int(when.timestamp()), minutes)


def tree_with(
    repo: pygit2.Repository, base: pygit2.Tree | None, changes: Mapping[str, bytes | None]
) -> pygit2.Oid:
    """The id of ``base`` with ``changes`` applied: bytes write a file, ``None`` deletes it.

    Deletions apply first, so a file may replace a folder in one call. An
    existing file keeps its executable bit. Raises
    :class:`~.errors.InvalidArgument` for no changes, unclean paths, non-bytes
    content or a path that would be both a file and a folder, and
    :class:`~.errors.NotFound` when deleting a file that does not exist.
    """
    if not changes:
        raise errors.InvalidArgument("a commit needs at least one change")
    cleaned = [(paths.clean_path(path), content) for path, content in changes.items()]
    for path, content in cleaned:
        if content is not None and not isinstance(content, bytes | bytearray | memoryview):
            raise errors.InvalidArgument(
                f"the content of {path} must be bytes or None", details={"path": path}
            )
    index = pygit2.Index()
    if base is not None:
        index.read_tree(base)
    for path, content in cleaned:
        if content is None:
            if path not in index:
                raise errors.NotFound(f"cannot delete {path}: no such file", details={"path": path})
            index.remove(path)
    files = {entry.path for entry in index}
    folders = {folder for file in files for folder in _parents(file)}
    for path, content in cleaned:
        if content is None:
            continue
        # libgit2 would silently drop one side of a file/folder clash (or keep both)
        if path in folders or any(folder in files for folder in _parents(path)):
            raise errors.InvalidArgument(
                f"{path} cannot be both a file and a folder", details={"path": path}
            )
        mode = FileMode.BLOB
        if path in index and index[path].mode == FileMode.BLOB_EXECUTABLE:
            mode = FileMode.BLOB_EXECUTABLE
        index.add(pygit2.IndexEntry(path, repo.create_blob(bytes(content)), mode))
        files.add(path)
        folders.update(_parents(path))
    if len(index) != len(files):
        raise errors.GitError("the in-memory index lost entries", details={"paths": sorted(files)})
    return index.write_tree(repo)


def _parents(path: str) -> list[str]:
    """``a/b/c`` -> ``["a", "a/b"]``."""
    parts = path.split("/")
    return ["/".join(parts[:i]) for i in range(1, len(parts))]


def revert_tree(repo: pygit2.Repository, commit: pygit2.Commit, onto: pygit2.Commit) -> pygit2.Oid:
    """The tree of ``onto`` with ``commit``'s changes undone.

    Raises :class:`~.errors.InvalidArgument` for a merge commit (which side to
    keep is a human decision) and :class:`~.errors.Conflict`, listing the paths,
    when later commits changed the same lines.
    """
    if len(commit.parent_ids) > 1:
        raise errors.InvalidArgument(
            "reverting a merge commit is not supported", details={"sha": str(commit.id)}
        )
    index = repo.revert_commit(commit, onto)
    if index.conflicts is not None:
        clashing = sorted(
            {entry.path for sides in index.conflicts for entry in sides if entry is not None}
        )
        raise errors.Conflict(
            f"reverting {str(commit.id)[:12]} conflicts with later changes",
            details={"sha": str(commit.id), "paths": clashing},
        )
    return index.write_tree(repo)


def revert_message(commit: pygit2.Commit) -> str:
    """``Revert "<subject>"`` and the reverted sha, as ``git revert`` writes it."""
    subject = commit.message.split("\n", 1)[0].strip()
    return f'Revert "{subject}"\n\nThis reverts commit {commit.id}.\n'

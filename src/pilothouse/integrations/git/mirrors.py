"""A bare mirror of one remote repository, read and written without a work tree.

See the package docstring for the design. In short: the mirror's branches *are*
the remote's branches (fetched with ``+refs/heads/*:refs/heads/*`` and pruned),
reads go straight to the object database, and writes are in-memory commits on a
branch tip that the caller pushes right away. Anything not pushed is local and
the next :meth:`Mirror.fetch` replaces it with whatever the remote has, which is
how a rejected push is recovered: fetch, redo the change, push again.

Every operation of a mirror runs under one re-entrant lock shared by all
:class:`Mirror` objects on the same directory in this process, because a
``pygit2.Repository`` handle may not be used by two threads at once and two
writers must not interleave "read tip, build tree, move ref". Processes are not
coordinated beyond what libgit2's lock files give (a ref moved by another
process makes a commit fail with ``git_conflict`` rather than lose work).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping, Sequence
from pathlib import Path
from types import TracebackType
from typing import TYPE_CHECKING

import pygit2

from pilothouse.core.clock import Clock, SystemClock
from pilothouse.integrations.git import errors, fetching, reading, remotes, writing
from pilothouse.integrations.git.models import Change, CommitInfo, Identity, RefUpdate, zero_sha

if TYPE_CHECKING:
    from pilothouse.integrations.git.protocol import GitRepository

__all__ = ["Mirror"]

_HEADS = fetching.HEADS

_registry_lock = threading.Lock()
_locks: dict[str, threading.RLock] = {}


def _lock_for(path: Path) -> threading.RLock:
    with _registry_lock:
        return _locks.setdefault(str(path), threading.RLock())


class Mirror:
    """A bare mirror of one remote under a cache directory; build it with :meth:`open`."""

    def __init__(
        self,
        repo: pygit2.Repository,
        path: Path,
        spec: remotes.RemoteSpec,
        *,
        token: str | None = None,
        clock: Clock | None = None,
    ) -> None:
        self._repo = repo
        self._path = path
        self._spec = spec
        self._token = token or None
        self._clock: Clock = clock or SystemClock()
        self._lock = _lock_for(path)

    @classmethod
    def open(
        cls,
        cache_dir: str | os.PathLike[str],
        url: str,
        *,
        token: str | None = None,
        clock: Clock | None = None,
    ) -> Mirror:
        """Open the mirror at ``cache_dir`` (e.g. ``<home>/repos/<ws>.git``), cloning if absent.

        An existing mirror is not fetched (call :meth:`fetch`); if ``url``
        differs from the one it was cloned from, the remote is repointed. A
        failed first clone leaves nothing behind. Raises
        :class:`~.errors.InvalidArgument` for a bad URL or a ``cache_dir`` that
        holds something other than a bare repository, and the network errors
        of :meth:`fetch`.
        """
        spec = remotes.parse(url, token=token)
        remotes.ensure_timeouts()
        path = Path(cache_dir).absolute()
        with _lock_for(path):
            repo = (
                fetching.open_existing(path, spec)
                if path.exists()
                else fetching.clone(path, spec, token)
            )
        return cls(repo, path, spec, token=token, clock=clock)

    @property
    def path(self) -> Path:
        """The mirror's own (bare repository) directory."""
        return self._path

    @property
    def url(self) -> str:
        """The remote URL as libgit2 sees it (local paths made absolute, never a token)."""
        return self._spec.url

    @property
    def default_branch(self) -> str | None:
        """The remote's default branch as of the last fetch, or ``None`` while it has none."""
        with self._lock:
            if self._repo.head_is_unborn:
                return None
            return self._repo.head.shorthand

    def __repr__(self) -> str:
        return f"Mirror({str(self._path)!r}, {self._spec.url!r})"

    def close(self) -> None:
        """Release the libgit2 handle (open files, caches)."""
        with self._lock:
            self._repo.free()

    def __enter__(self) -> Mirror:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- remote --------------------------------------------------------------------------

    def fetch(self, *, prune: bool = True) -> list[RefUpdate]:
        """Make every branch equal to the remote's; return the branches that moved.

        Local commits that were not pushed are overwritten, and with ``prune``
        local branches the remote does not have are deleted. Raises
        :class:`~.errors.Unreachable` and :class:`~.errors.AuthFailed`.
        """
        with self._lock:
            return fetching.fetch(self._repo, self._spec, self._token, prune=prune)

    def push(self, branch: str, *, force: bool = False) -> None:
        """Publish the mirror's ``branch`` to the remote under the same name.

        Without ``force`` the remote tip must be an ancestor of ours. Raises
        :class:`~.errors.Conflict` when it is not (the remote moved ahead:
        fetch, redo, push) or the remote refused the update,
        :class:`~.errors.NotFound` for an unknown branch, and the network errors
        of :meth:`fetch`.
        """
        name = _branch_name(branch)
        ref = _HEADS + name
        with self._lock:
            if self._repo.references.get(ref) is None:
                raise errors.NotFound(f"no branch {name}", details={"branch": name})
            callbacks = remotes.Callbacks(
                self._spec, token=self._token, on_negotiation=None if force else self._check_ff
            )
            refspec = f"+{ref}:{ref}" if force else f"{ref}:{ref}"
            try:
                self._repo.remotes[fetching.REMOTE].push([refspec], callbacks=callbacks)
            except errors.GitError:
                raise
            except (pygit2.GitError, OSError) as e:
                raise remotes.network_error(e, url=self._spec.url, operation="push") from e
            if callbacks.rejected:
                raise errors.Conflict(
                    f"the remote refused {name}: {'; '.join(callbacks.rejected.values())}",
                    details={"branch": name, "rejected": dict(callbacks.rejected)},
                )

    def _check_ff(self, updates: list[pygit2.remotes.PushUpdate]) -> None:
        # libgit2 does not refuse non-fast-forward pushes itself (the local transport
        # overwrites), so check what the remote is about to receive, before upload.
        for update in updates:
            old, new = update.src, update.dst
            if zero_sha(str(old)) or old == new:
                continue
            if old not in self._repo or not self._repo.descendant_of(new, old):
                raise errors.Conflict(
                    f"{update.dst_refname} moved on the remote to {str(old)[:12]}; "
                    "fetch, redo the change and push again",
                    details={"ref": update.dst_refname, "remote": str(old), "local": str(new)},
                )

    # -- reading -------------------------------------------------------------------------

    def resolve(self, rev: str) -> str:
        """The full sha of the commit ``rev`` names (sha, short sha, branch, ``refs/...``)."""
        with self._lock:
            return str(reading.commit_of(self._repo, rev).id)

    def branches(self) -> list[str]:
        """The mirror's branch names, sorted."""
        with self._lock:
            return sorted(self._repo.branches.local)

    def changed_files(self, base: str | None, head: str) -> list[Change]:
        """Files changed from ``base`` (``None``/zero sha: nothing) to ``head``, by path."""
        with self._lock:
            return reading.changed_files(self._repo, base, head)

    def read_file(self, rev: str, path: str) -> bytes:
        """The bytes of ``path`` at ``rev``; :class:`~.errors.NotFound` if absent."""
        with self._lock:
            return reading.read_file(self._repo, rev, path)

    def list_tree(self, rev: str, prefix: str = "") -> list[str]:
        """Every file path under the folder ``prefix`` at ``rev``, recursively, sorted."""
        with self._lock:
            return reading.list_tree(self._repo, rev, prefix)

    def log(self, rev: str, limit: int = 20, path: str | None = None) -> list[CommitInfo]:
        """Up to ``limit`` commits reachable from ``rev`` (touching ``path``), newest first."""
        with self._lock:
            return reading.log(self._repo, rev, limit, path)

    def diff(self, base: str | None, head: str, paths: Sequence[str] | None = None) -> str:
        """The unified patch from ``base`` to ``head``, optionally only for ``paths``."""
        with self._lock:
            return reading.diff(self._repo, base, head, paths)

    # -- writing -------------------------------------------------------------------------

    def commit(
        self, branch: str, changes: Mapping[str, bytes | None], message: str, author: Identity
    ) -> str:
        """Commit ``changes`` (bytes: write, ``None``: delete) on top of ``branch``; the new sha.

        ``author`` is both author and committer. In a mirror without any branch
        (an empty remote) this creates the first, root commit. Raises
        :class:`~.errors.InvalidArgument` when nothing would change or an
        argument is malformed, :class:`~.errors.NotFound` for an unknown branch
        or a deleted file that does not exist, :class:`~.errors.Conflict` when
        the branch moved underneath (another process).
        """
        name = _branch_name(branch)
        text = _message(message)
        with self._lock:
            tip = None if self._unborn(name) else self._tip(name)
            tree = writing.tree_with(self._repo, None if tip is None else tip.tree, changes)
            if tip is not None and tree == tip.tree_id:
                raise errors.InvalidArgument(
                    "the changes leave the tree as it is; nothing to commit",
                    details={"branch": name},
                )
            return self._commit(name, tip, tree, text, author)

    def revert(self, sha: str, author: Identity, branch: str) -> str:
        """Commit the inverse of ``sha`` on top of ``branch``; the new sha.

        The message is ``Revert "<subject>"`` plus ``This reverts commit <sha>.``
        Raises :class:`~.errors.Conflict` when later changes clash,
        :class:`~.errors.InvalidArgument` for a merge commit or a revert that
        would change nothing, :class:`~.errors.NotFound` for unknown revisions.
        """
        name = _branch_name(branch)
        with self._lock:
            tip = self._tip(name)
            target = reading.commit_of(self._repo, sha)
            try:
                tree = writing.revert_tree(self._repo, target, tip)
            except pygit2.GitError as e:
                raise errors.GitError(f"cannot revert {sha}: {e}", details={"sha": sha}) from e
            if tree == tip.tree_id:
                raise errors.InvalidArgument(
                    f"reverting {sha} changes nothing on {name}",
                    details={"sha": str(target.id), "branch": name},
                )
            return self._commit(name, tip, tree, writing.revert_message(target), author)

    def create_branch(self, name: str, from_rev: str) -> str:
        """Create the local branch ``name`` at ``from_rev`` and return its sha.

        Push it before the next fetch, which prunes branches the remote lacks.
        Raises :class:`~.errors.Conflict` if it exists and
        :class:`~.errors.InvalidArgument` for an invalid name.
        """
        branch = _branch_name(name)
        with self._lock:
            commit = reading.commit_of(self._repo, from_rev)
            try:
                self._repo.references.create(_HEADS + branch, commit.id)
            except pygit2.AlreadyExistsError as e:
                raise errors.Conflict(
                    f"branch {branch} already exists", details={"branch": branch}
                ) from e
            return str(commit.id)

    def _tip(self, name: str) -> pygit2.Commit:
        ref = self._repo.references.get(_HEADS + name)
        if ref is None:
            raise errors.NotFound(f"no branch {name}", details={"branch": name})
        return ref.peel(pygit2.Commit)

    def _unborn(self, name: str) -> bool:
        """Whether ``name`` would be the first branch of an empty mirror."""
        return _HEADS + name not in self._repo.references and not list(self._repo.branches.local)

    def _commit(
        self,
        name: str,
        tip: pygit2.Commit | None,
        tree: pygit2.Oid,
        message: str,
        author: Identity,
    ) -> str:
        signature = writing.signature(author, self._clock.now())
        parents = [] if tip is None else [tip.id]
        try:
            oid = self._repo.create_commit(
                _HEADS + name, signature, signature, message, tree, parents
            )
        except pygit2.GitError as e:
            raise errors.Conflict(
                f"branch {name} moved while committing; retry", details={"branch": name}
            ) from e
        if tip is None:
            self._repo.set_head(_HEADS + name)
        return str(oid)


def _branch_name(branch: str) -> str:
    if not isinstance(branch, str):
        raise errors.InvalidArgument("a branch name must be a string")
    name = branch.removeprefix(_HEADS)
    if (
        not name
        or name == "HEAD"
        or name.startswith("-")
        or not pygit2.reference_is_valid_name(_HEADS + name)
    ):
        raise errors.InvalidArgument(f"invalid branch name {branch!r}", details={"branch": branch})
    return name


def _message(message: str) -> str:
    if not isinstance(message, str) or not message.strip() or "\0" in message:
        raise errors.InvalidArgument("a commit message must be non-empty text without NUL")
    return message if message.endswith("\n") else message + "\n"


if TYPE_CHECKING:

    def _conforms(mirror: Mirror) -> GitRepository:  # mypy checks Mirror against the seam
        return mirror

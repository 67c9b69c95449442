"""Getting a remote's branches into a mirror: the first clone, and every fetch after.

The first clone happens in a sibling staging directory that is renamed into
place only once the fetch succeeded, so an unreachable remote or a refused token
never leaves a directory behind that a later :meth:`~.mirrors.Mirror.open` would
mistake for a valid, empty mirror. The remote is stored as ``origin`` with the
mirroring refspec ``+refs/heads/*:refs/heads/*`` (plus tags) and no credentials;
each fetch passes them in through :class:`~.remotes.Callbacks`.

A fetch reports what moved by comparing branch tips before and after, in the
``before``/``after`` shape of a push webhook, so a poller can feed the same
pipeline as GitHub's webhooks. It also points the mirror's ``HEAD`` at the
remote's default branch, which is how :attr:`~.mirrors.Mirror.default_branch`
knows it.
"""

from __future__ import annotations

import shutil
import tempfile
from pathlib import Path

import pygit2
from pygit2.enums import FetchPrune

from pilothouse.integrations.git import errors, remotes
from pilothouse.integrations.git.models import ZERO_SHA, RefUpdate

__all__ = [
    "FETCH_REFSPEC",
    "HEADS",
    "REMOTE",
    "TAGS_REFSPEC",
    "branch_tips",
    "clone",
    "fetch",
    "open_existing",
]

REMOTE = "origin"
FETCH_REFSPEC = "+refs/heads/*:refs/heads/*"
TAGS_REFSPEC = "+refs/tags/*:refs/tags/*"
HEADS = "refs/heads/"


def branch_tips(repo: pygit2.Repository) -> dict[str, str]:
    """``{branch: sha}`` of every local branch."""
    return {
        name: str(repo.references[HEADS + name].peel(pygit2.Commit).id)
        for name in repo.branches.local
    }


def fetch(
    repo: pygit2.Repository, spec: remotes.RemoteSpec, token: str | None, *, prune: bool
) -> list[RefUpdate]:
    """Fetch every branch and tag over the local ones; the branches that moved.

    Raises :class:`~.errors.Unreachable` and :class:`~.errors.AuthFailed`.
    """
    before = branch_tips(repo)
    remote = repo.remotes[REMOTE]
    callbacks = remotes.Callbacks(spec, token=token)
    try:
        remote.fetch(
            [FETCH_REFSPEC, TAGS_REFSPEC],
            callbacks=callbacks,
            prune=FetchPrune.PRUNE if prune else FetchPrune.NO_PRUNE,
        )
        heads = remote.list_heads(callbacks=callbacks, connect=False)
    except errors.GitError:
        raise
    except (pygit2.GitError, OSError) as e:
        raise remotes.network_error(e, url=spec.url, operation="fetch") from e
    default = next((h.symref_target for h in heads if h.name == "HEAD"), None)
    if default and default.startswith(HEADS) and default in repo.references:
        repo.set_head(default)
    after = branch_tips(repo)
    return [
        RefUpdate(name, before.get(name, ZERO_SHA), after.get(name, ZERO_SHA))
        for name in sorted(before.keys() | after.keys())
        if before.get(name) != after.get(name)
    ]


def open_existing(path: Path, spec: remotes.RemoteSpec) -> pygit2.Repository:
    """Open the mirror at ``path``, repointing ``origin`` to ``spec`` if it changed.

    Raises :class:`~.errors.InvalidArgument` if ``path`` is not a bare repository.
    """
    try:
        repo = pygit2.Repository(str(path))
    except pygit2.GitError as e:
        raise errors.InvalidArgument(
            f"{path} exists and is not a git repository", details={"path": str(path)}
        ) from e
    if not repo.is_bare:
        raise errors.InvalidArgument(
            f"{path} is a repository with a work tree, not a mirror", details={"path": str(path)}
        )
    if REMOTE not in repo.remotes.names():
        repo.remotes.create(REMOTE, spec.url, FETCH_REFSPEC)
    elif repo.remotes[REMOTE].url != spec.url:
        repo.remotes.set_url(REMOTE, spec.url)
    return repo


def clone(path: Path, spec: remotes.RemoteSpec, token: str | None) -> pygit2.Repository:
    """Create the mirror at ``path`` from ``spec``, atomically; the errors of :func:`fetch`."""
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = Path(tempfile.mkdtemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent))
    try:
        repo = pygit2.init_repository(str(staging), bare=True)
        repo.remotes.create(REMOTE, spec.url, FETCH_REFSPEC)
        fetch(repo, spec, token, prune=True)
        repo.free()
        try:
            staging.rename(path)
        except OSError:
            if not path.exists():
                raise
            shutil.rmtree(staging, ignore_errors=True)  # another process won the race
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return pygit2.Repository(str(path))

"""The seam the pipeline depends on: a GitOps repository it can read, change and push.

The pipeline types against :class:`GitRepository`, not :class:`~.mirrors.Mirror`,
so a run can be driven by anything with these methods. The local default is the
real thing: a :class:`~.mirrors.Mirror` of a bare repository on disk (a plain
path remote), which needs no network and is what the tests use. There is no
in-memory fake on purpose; git semantics (renames, merges, fast-forwards) are
exactly what a fake would get subtly wrong.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Protocol

from pilothouse.integrations.git.models import Change, CommitInfo, Identity, RefUpdate

__all__ = ["GitRepository"]


class GitRepository(Protocol):
    """One GitOps repository as the pipeline sees it; see :class:`~.mirrors.Mirror`."""

    @property
    def default_branch(self) -> str | None: ...

    def fetch(self, *, prune: bool = True) -> list[RefUpdate]: ...

    def push(self, branch: str, *, force: bool = False) -> None: ...

    def resolve(self, rev: str) -> str: ...

    def branches(self) -> list[str]: ...

    def changed_files(self, base: str | None, head: str) -> list[Change]: ...

    def read_file(self, rev: str, path: str) -> bytes: ...

    def list_tree(self, rev: str, prefix: str = "") -> list[str]: ...

    def log(self, rev: str, limit: int = 20, path: str | None = None) -> list[CommitInfo]: ...

    def diff(self, base: str | None, head: str, paths: Sequence[str] | None = None) -> str: ...

    def commit(
        self, branch: str, changes: Mapping[str, bytes | None], message: str, author: Identity
    ) -> str: ...

    def revert(self, sha: str, author: Identity, branch: str) -> str: ...

    def create_branch(self, name: str, from_rev: str) -> str: ...

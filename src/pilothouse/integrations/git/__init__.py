"""Git for GitOps: one bare mirror per workspace, read and written without checkouts.

Why a mirror
------------
Every workspace registers one GitOps repository, and the pipeline asks the same
few questions about it over and over: what changed between the ``before`` and
``after`` of this push, what did ``manifests/app.yaml`` say at that commit, who
changed it. Asking the hosting service (GitHub's API) would tie the pipeline to
one host, cost rate limit on every run and fail whenever the host is slow. So
each workspace keeps a *bare mirror* of its remote under the cache directory,
``<home>/repos/<workspace-id>.git``, and every question is answered locally from
the object database. The network is touched only by :meth:`Mirror.open` (the
first clone), :meth:`Mirror.fetch` and :meth:`Mirror.push`.

Why bare, and what "mirror" means here
--------------------------------------
There is no work tree, ever. A checkout is state that can be dirty, half-written
or locked by a crashed run, and two agents sharing one would step on each other.
Reads go to trees and blobs of any revision directly; writes build a new tree in
memory from the branch tip plus the changed files and commit it with the tip as
its only parent (see :mod:`.writing`). Nothing on disk ever needs cleaning up.

The mirror's ``refs/heads/*`` are the remote's branches, fetched with
``+refs/heads/*:refs/heads/*`` and pruned, not the usual
``refs/remotes/origin/*``. That makes the mirror simple to reason about (``main``
here is ``main`` there, as of the last fetch) at one price: local commits are
*transient*. An agent commits and pushes in one step; if the push is refused
because the remote moved ahead (``git_conflict``), the next fetch throws the
local commit away and the agent redoes its change on the new tip. The remote is
the only source of truth, which is the point of GitOps.

Identities and credentials
--------------------------
Each agent commits as its own :class:`Identity` (author and committer), so
``git log`` on the remote reads as an audit trail of which agent changed what.
Credentials are never written to the mirror: an ``https`` token is handed to
libgit2 per call (as ``x-access-token:<token>``), SSH uses the agent or
``~/.ssh`` keys, and URLs carrying credentials are refused (:mod:`.remotes`).
Whether a given URL or local path may be used at all (server-side request
forgery, reading other repositories on the host) is the caller's policy.

Concurrency
-----------
A ``pygit2.Repository`` handle must not be used by two threads at once, so every
operation of a mirror holds a re-entrant lock shared by all :class:`Mirror`
objects on the same directory in the process. Writers in other processes are
caught by libgit2's ref update check: the commit fails with ``git_conflict``
instead of overwriting.

The GitOps repository layout
----------------------------
By convention a GitOps repository managed by Pilothouse looks like this::

    pilothouse.yaml     at the root: the repository's Pilothouse configuration
    manifests/          the declarative desired state that is validated and deployed
    agents/             one prompt file per agent, named after the agent
    configs/            configuration files the manifests and tools refer to

``status/`` (run results, health, deploy records) is deliberately *not* in the
repository: it is written constantly by agents and belongs to the workspace,
where it has locks, versions and an audit log, instead of flooding the GitOps
history with commits nobody reviews.

Errors
------
Everything raised on purpose is a :class:`~.errors.GitError` with a stable code:
``git_unreachable``, ``git_auth_failed``, ``git_not_found``, ``git_conflict``,
``invalid_argument`` (see :mod:`.errors`).
"""

from __future__ import annotations

from pilothouse.integrations.git.errors import (
    CODES,
    AuthFailed,
    Conflict,
    GitError,
    InvalidArgument,
    NotFound,
    Unreachable,
)
from pilothouse.integrations.git.mirrors import Mirror
from pilothouse.integrations.git.models import (
    ZERO_SHA,
    Change,
    ChangeStatus,
    CommitInfo,
    Identity,
    RefUpdate,
    zero_sha,
)
from pilothouse.integrations.git.protocol import GitRepository
from pilothouse.integrations.git.remotes import kind_of

__all__ = [
    "CODES",
    "ZERO_SHA",
    "AuthFailed",
    "Change",
    "ChangeStatus",
    "CommitInfo",
    "Conflict",
    "GitError",
    "GitRepository",
    "Identity",
    "InvalidArgument",
    "Mirror",
    "NotFound",
    "RefUpdate",
    "Unreachable",
    "kind_of",
    "zero_sha",
]

"""What the git integration raises, one class per stable code.

libgit2 reports failures as a handful of exception types plus free-form messages.
Callers of a mirror need to decide by *kind*: try again later (the remote is
down), fix the configuration (the token is wrong), fix the input (no such
revision, a path that escapes the tree), or start over from a fresh fetch (the
remote moved while we were committing). So every libgit2 failure is wrapped
into one of the classes below and re-raised ``from`` the original, and the
``code`` is what interfaces translate. :attr:`GitError.retryable` says whether
the same call may succeed later without anyone changing anything.

    PilothouseError                 (pilothouse.core.errors)
    └── GitError                    git_error          unexpected libgit2 failure (the root)
        ├── Unreachable             git_unreachable    no such remote, refused, DNS, TLS, 404
        ├── AuthFailed              git_auth_failed    credentials missing or rejected
        ├── NotFound                git_not_found      unknown revision, branch or path
        ├── Conflict                git_conflict       push rejected, revert conflicts, name taken
        └── InvalidArgument         invalid_argument   ``..``, absolute paths, empty commits…
"""

from __future__ import annotations

from pilothouse.core.errors import PilothouseError

__all__ = [
    "GitError",
    "Unreachable",
    "AuthFailed",
    "NotFound",
    "Conflict",
    "InvalidArgument",
    "CODES",
]


class GitError(PilothouseError):
    """Root of the git integration's errors; raised itself only for the unexpected."""

    code = "git_error"


class Unreachable(GitError):
    """The remote could not be reached or does not serve a repository there."""

    code = "git_unreachable"
    retryable = True


class AuthFailed(GitError):
    """The remote wants credentials we do not have, or refused the ones we sent."""

    code = "git_auth_failed"


class NotFound(GitError):
    """A revision, branch or path does not exist in the mirror."""

    code = "git_not_found"


class Conflict(GitError):
    """The remote moved ahead, a revert does not apply, or a branch already exists."""

    code = "git_conflict"


class InvalidArgument(GitError):
    """A malformed argument: a path escaping the tree, an empty commit, a bad name."""

    code = "invalid_argument"


CODES: tuple[str, ...] = (
    GitError.code,
    Unreachable.code,
    AuthFailed.code,
    NotFound.code,
    Conflict.code,
    InvalidArgument.code,
)

"""The values a mirror hands out: changes, commits, identities and ref moves.

They are frozen dataclasses holding only strings, numbers and datetimes, never
pygit2 objects: pygit2 objects are tied to one ``Repository`` handle that must not
cross threads, while these values may go anywhere (an event, a REST body, the
workspace audit log).

Shas are full hexadecimal strings. The all-zeros sha is git's way of saying "no
commit": GitHub sends it as ``before`` when a branch is created and as ``after``
when one is deleted, and :func:`zero_sha` recognises it so callers can treat
"changes since nothing" as "everything is new".
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Literal

from pilothouse.integrations.git.errors import InvalidArgument

__all__ = ["ZERO_SHA", "Change", "ChangeStatus", "CommitInfo", "Identity", "RefUpdate", "zero_sha"]

ZERO_SHA = "0" * 40
"""The SHA-1 "no commit" id, as sent by GitHub and printed by ``git push``."""

ChangeStatus = Literal["added", "modified", "deleted", "renamed"]

_FORBIDDEN_IN_IDENTITY = ("<", ">", "\n", "\r", "\0")


def zero_sha(sha: str | None) -> bool:
    """Whether ``sha`` is the full-length all-zeros id (SHA-1 or SHA-256 sized).

    Short runs of zeros are *not* treated as zero: ``0000000`` may well be the
    prefix of a real commit.
    """
    return sha is not None and len(sha) in (40, 64) and set(sha) == {"0"}


@dataclass(frozen=True)
class Identity:
    """Who a commit is by: one identity per agent, used as author and committer.

    Raises :class:`~pilothouse.integrations.git.errors.InvalidArgument` when the
    name or email is empty or contains characters git cannot store in a header.
    """

    name: str
    email: str

    def __post_init__(self) -> None:
        for field, value in (("name", self.name), ("email", self.email)):
            if not value.strip() or any(c in value for c in _FORBIDDEN_IN_IDENTITY):
                raise InvalidArgument(
                    f"the identity {field} must be non-empty without <, >, newlines or NUL",
                    details={"field": field},
                )

    def __str__(self) -> str:
        return f"{self.name} <{self.email}>"


@dataclass(frozen=True)
class Change:
    """One file that differs between two commits.

    ``old_path`` is set only for renames, where ``path`` is the new name.
    Type changes (file to symlink) count as ``modified``.
    """

    path: str
    status: ChangeStatus
    old_path: str | None = None


@dataclass(frozen=True)
class CommitInfo:
    """A commit as a log line: who, when, what and where it came from.

    ``time`` is the author time, timezone-aware in the author's own offset.
    """

    sha: str
    author_name: str
    author_email: str
    message: str
    time: datetime
    parents: tuple[str, ...] = ()

    @property
    def summary(self) -> str:
        """The first line of the message (the subject)."""
        return self.message.split("\n", 1)[0]


@dataclass(frozen=True)
class RefUpdate:
    """A branch that a fetch created, moved or deleted.

    ``old`` is :data:`ZERO_SHA` for a new branch and ``new`` is :data:`ZERO_SHA`
    for a deleted one, exactly like the ``before``/``after`` of a push webhook.
    """

    branch: str
    old: str
    new: str

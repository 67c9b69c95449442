"""Errors of the workspace core, one class per stable code.

Interfaces translate the ``code``; the class lets Python callers catch precisely.

    PilothouseError                 (pilothouse.core.errors)
    └── WorkspaceError
        ├── NotFound                not_found          a workspace, file, version, lock… is absent
        ├── Unauthenticated         unauthenticated    no, unknown, expired or revoked credentials
        ├── Forbidden               forbidden          the role or key scope does not allow it
        ├── VersionConflict         version_conflict   ``if_version`` is stale
        ├── LockHeld                lock_held          another holder's lock covers the path
        ├── LockNotHeld             lock_not_held      wrong token, or the lease already ended
        ├── InvalidPath             invalid_path       ``..``, NUL, control characters, too long
        ├── QuotaExceeded           quota_exceeded     the workspace quota would be passed
        ├── TooLarge                too_large          one file exceeds the size limit
        ├── InvalidArgument         invalid_argument   any other malformed argument
        └── Conflict                conflict           the target exists, the workspace is archived…
"""

from __future__ import annotations

from pilothouse.core.errors import PilothouseError


class WorkspaceError(PilothouseError):
    code = "workspace_error"


class NotFound(WorkspaceError):
    code = "not_found"


class Unauthenticated(WorkspaceError):
    code = "unauthenticated"


class Forbidden(WorkspaceError):
    code = "forbidden"


class VersionConflict(WorkspaceError):
    code = "version_conflict"


class LockHeld(WorkspaceError):
    code = "lock_held"


class LockNotHeld(WorkspaceError):
    code = "lock_not_held"


class InvalidPath(WorkspaceError):
    code = "invalid_path"


class QuotaExceeded(WorkspaceError):
    code = "quota_exceeded"


class TooLarge(WorkspaceError):
    code = "too_large"


class InvalidArgument(WorkspaceError):
    code = "invalid_argument"


class Conflict(WorkspaceError):
    code = "conflict"


CODES: tuple[str, ...] = (
    NotFound.code,
    Unauthenticated.code,
    Forbidden.code,
    VersionConflict.code,
    LockHeld.code,
    LockNotHeld.code,
    InvalidPath.code,
    QuotaExceeded.code,
    TooLarge.code,
    InvalidArgument.code,
    Conflict.code,
)
"""Every stable code of this domain; interfaces map each to a status."""

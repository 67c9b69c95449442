"""What the client raises: the server's own error classes, plus one for no answer.

A remote caller must be able to write ``except LockHeld`` exactly as an in-process
one does, so an error body ``{"error": {"code", "message", "details"}}`` becomes
the :mod:`pilothouse.workspace.errors` class of its ``code`` with the server's
message and details unchanged. Status codes are not consulted: several codes share
one status (409 is ``version_conflict``, ``lock_not_held`` and ``conflict``), and
the code is the stable contract.

Failures that produced no Pilothouse answer at all — refused connections,
timeouts, a connection cut mid-stream, a proxy's HTML error page — are one
:class:`ClientError`, raised ``from`` the underlying httpx error. It is not a
``WorkspaceError``: ``except WorkspaceError`` handles what the workspace decided,
and should not quietly swallow an outage.

    PilothouseError                 (pilothouse.core.errors)
    ├── WorkspaceError              (pilothouse.workspace.errors) the server refused
    │   ├── NotFound                not_found
    │   ├── Unauthenticated         unauthenticated
    │   ├── Forbidden               forbidden
    │   ├── VersionConflict         version_conflict
    │   ├── LockHeld                lock_held
    │   ├── LockNotHeld             lock_not_held
    │   ├── InvalidPath             invalid_path
    │   ├── QuotaExceeded           quota_exceeded
    │   ├── TooLarge                too_large
    │   ├── InvalidArgument         invalid_argument
    │   ├── Conflict                conflict
    │   └── (WorkspaceError itself) any other code (``internal``, a newer server's code…),
    │                               with ``.code`` set to it
    └── ClientError                 unavailable: no usable answer from the server
"""

from __future__ import annotations

from typing import Any

import httpx

from pilothouse.core.errors import PilothouseError
from pilothouse.workspace.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    InvalidPath,
    LockHeld,
    LockNotHeld,
    NotFound,
    QuotaExceeded,
    TooLarge,
    Unauthenticated,
    VersionConflict,
    WorkspaceError,
)

__all__ = ["BY_CODE", "ClientError", "from_response", "from_transport", "malformed"]


class ClientError(PilothouseError):
    """The server could not be reached, did not answer in time, or not as Pilothouse."""

    code = "unavailable"


BY_CODE: dict[str, type[WorkspaceError]] = {
    cls.code: cls
    for cls in (
        NotFound,
        Unauthenticated,
        Forbidden,
        VersionConflict,
        LockHeld,
        LockNotHeld,
        InvalidPath,
        QuotaExceeded,
        TooLarge,
        InvalidArgument,
        Conflict,
    )
}
"""The class raised for each stable code; a test checks it covers ``errors.CODES``."""


def _where(request: httpx.Request) -> str:
    return f"{request.method} {request.url.copy_with(query=None)}"


def from_response(response: httpx.Response) -> PilothouseError:
    """The error an unsuccessful response stands for; its body must have been read."""
    try:
        body = response.json()
        error = body["error"]
        code, message = error["code"], error["message"]
        details: Any = error.get("details") or {}
        if not isinstance(code, str) or not isinstance(message, str):
            raise TypeError("code and message must be strings")
        if not isinstance(details, dict):
            raise TypeError("details must be an object")
    except (ValueError, KeyError, TypeError):
        # json.JSONDecodeError is a ValueError; a non-dict body gives TypeError.
        snippet = response.text[:200].strip()
        return ClientError(
            f"{_where(response.request)} answered {response.status_code} "
            f"without a Pilothouse error body: {snippet!r}",
            details={"status": response.status_code},
        )
    cls = BY_CODE.get(code)
    if cls is None:
        return WorkspaceError(message, code=code, details=details)
    return cls(message, details=details)


def from_transport(error: httpx.HTTPError, base_url: str) -> ClientError:
    """A :class:`ClientError` naming what failed; raise it ``from error``."""
    try:
        where = _where(error.request)
    except RuntimeError:  # an error raised before any request existed
        where = base_url
    if isinstance(error, httpx.TimeoutException):
        message = f"no answer from the Pilothouse server in time ({where}): {error}"
    elif isinstance(error, httpx.ConnectError):
        message = f"cannot reach the Pilothouse server at {base_url} ({where}): {error}"
    else:
        message = f"the exchange with the Pilothouse server failed ({where}): {error}"
    return ClientError(message, details={"base_url": base_url, "error": type(error).__name__})


def malformed(what: str, problem: object) -> ClientError:
    """A successful status whose body is not what this client understands."""
    return ClientError(f"unexpected answer from the Pilothouse server for {what}: {problem}")

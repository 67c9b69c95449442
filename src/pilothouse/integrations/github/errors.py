"""What the GitHub integration raises, one class per stable code.

Two kinds of failure live here. Webhook errors (``invalid_signature``,
``invalid_payload``) are about a request *someone sent us*: the receiver answers
them with a 4xx and never retries. API errors are about a request *we sent GitHub*
and mirror its status codes, because callers decide what to do by kind, not by
number: retry later (``github_rate_limited``, ``github_unavailable``, both
``retryable``), fix the configuration (``github_unauthorized``,
``github_forbidden``), or give up on this call (``github_not_found``,
``github_invalid``). Retry intent travels with the error type, as in kopf's
``TemporaryError``: :attr:`GitHubError.retryable` says whether the same call may
succeed later, :attr:`RateLimited.retry_after` how long to wait if GitHub said.

    PilothouseError              (pilothouse.core.errors)
    └── GitHubError              github_error         root; never raised itself
        ├── InvalidSignature     invalid_signature    signature header missing, malformed, wrong
        ├── InvalidPayload       invalid_payload      webhook body not JSON, or lacks fields
        ├── Unauthorized         github_unauthorized  401: token missing, wrong, expired
        ├── Forbidden            github_forbidden     403 that is not a rate limit
        ├── NotFound             github_not_found     404/410: no such repo, issue, PR
        ├── Invalid              github_invalid       422 and other 4xx: input refused
        ├── RateLimited          github_rate_limited  429; 403 with remaining 0 or retry-after
        └── Unavailable          github_unavailable   5xx, timeouts, refused connections
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pilothouse.core.errors import PilothouseError

__all__ = [
    "GitHubError",
    "InvalidSignature",
    "InvalidPayload",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Invalid",
    "RateLimited",
    "Unavailable",
    "CODES",
]


class GitHubError(PilothouseError):
    """Root of the GitHub integration's errors."""

    code = "github_error"
    """Whether the same call may succeed if repeated later, unchanged."""


class InvalidSignature(GitHubError):
    code = "invalid_signature"


class InvalidPayload(GitHubError):
    code = "invalid_payload"


class Unauthorized(GitHubError):
    code = "github_unauthorized"


class Forbidden(GitHubError):
    code = "github_forbidden"


class NotFound(GitHubError):
    code = "github_not_found"


class Invalid(GitHubError):
    code = "github_invalid"


class RateLimited(GitHubError):
    """GitHub asked us to slow down; ``retry_after`` seconds, when it said how long."""

    code = "github_rate_limited"
    retryable = True

    def __init__(
        self,
        message: str,
        *,
        retry_after: float | None = None,
        reset_at: int | None = None,
        details: Mapping[str, Any] | None = None,
    ) -> None:
        merged = dict(details or {})
        merged["retry_after"] = retry_after
        merged["reset_at"] = reset_at
        super().__init__(message, details=merged)
        self.retry_after = retry_after
        """Seconds from GitHub's ``retry-after`` header, if it sent one."""
        self.reset_at = reset_at
        """Unix time from ``x-ratelimit-reset``: when the primary quota refills."""


class Unavailable(GitHubError):
    code = "github_unavailable"
    retryable = True


CODES: tuple[str, ...] = (
    InvalidSignature.code,
    InvalidPayload.code,
    Unauthorized.code,
    Forbidden.code,
    NotFound.code,
    Invalid.code,
    RateLimited.code,
    Unavailable.code,
)
"""Every code this package raises, for interfaces that map codes to statuses."""

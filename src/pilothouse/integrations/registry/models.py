"""The values a registry check takes and gives back.

A check has five outcomes and every one is a value, never an exception, so a
caller checking fifty images from a thread pool gets fifty answers:

- ``found``: the registry has a manifest for the tag or digest (``digest`` is its
  ``Docker-Content-Digest``).
- ``not_found``: the registry answered 404.
- ``unauthorized``: the registry (or its token server) refused the credentials we
  have, or we have none and it wants some. Docker Hub also says this for a
  repository that does not exist, so it cannot be read as "exists but private".
- ``unreachable``: no answer: refused connection, DNS failure, TLS failure, timeout.
- ``error``: an answer we cannot use: 5xx, rate limiting, a malformed token reply.

Only ``found`` and ``not_found`` describe the image; the other three describe the
path to it and may change on the next try.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

__all__ = ["CheckStatus", "CHECK_STATUSES", "ImageCheck", "Credential"]

CheckStatus = Literal["found", "not_found", "unauthorized", "unreachable", "error"]
CHECK_STATUSES: tuple[CheckStatus, ...] = (
    "found",
    "not_found",
    "unauthorized",
    "unreachable",
    "error",
)


@dataclass(frozen=True)
class ImageCheck:
    """What the registry said about one image."""

    status: CheckStatus
    detail: str
    """One human-readable sentence: what was asked, what came back."""
    url: str
    """The manifest URL that was (or would have been) asked."""
    digest: str | None = None
    """The manifest's content digest when ``found``; ``None`` otherwise."""


@dataclass(frozen=True)
class Credential:
    """A username and password (or access token) for one registry."""

    username: str
    password: str = field(repr=False)

"""Webhook payloads as GitHub documents them, reduced to the fields Pilothouse reads.

These are wire models, so they are pydantic and *lenient*: GitHub adds fields to
payloads without notice, and a new field must never turn a delivery into an error
(``extra="ignore"``). They are strict about the fields we do read: a push without
``after`` or a pull request without ``head.sha`` cannot be acted on, and
:func:`~pilothouse.integrations.github.webhooks.parse_event` reports it as
``invalid_payload`` instead of failing later, deep in a pipeline.

Models are frozen: an event is a fact about the past. Lists become tuples for the
same reason.
"""

from __future__ import annotations

from typing import ClassVar

from pydantic import BaseModel, ConfigDict

__all__ = [
    "Repository",
    "PushRepository",
    "Commit",
    "PingEvent",
    "PushEvent",
    "PullRequestRef",
    "PullRequest",
    "PullRequestEvent",
    "UnsupportedEvent",
    "Event",
]


class _Wire(BaseModel):
    model_config = ConfigDict(extra="ignore", frozen=True)


class Repository(_Wire):
    full_name: str
    """``owner/name``."""
    clone_url: str | None = None


class PushRepository(Repository):
    clone_url: str


class Commit(_Wire):
    """One commit of a push; GitHub lists at most 2048 and omits files past 3000."""

    id: str
    added: tuple[str, ...] = ()
    modified: tuple[str, ...] = ()
    removed: tuple[str, ...] = ()


class PingEvent(_Wire):
    """Sent once when a hook is created; proves the secret and URL work."""

    name: ClassVar[str] = "ping"
    zen: str = ""
    hook_id: int | None = None
    repository: Repository | None = None


class PushEvent(_Wire):
    name: ClassVar[str] = "push"
    ref: str
    """``refs/heads/<branch>`` or ``refs/tags/<tag>``."""
    before: str
    after: str
    """The new tip; forty zeros when the ref was deleted."""
    created: bool
    deleted: bool
    forced: bool
    repository: PushRepository
    head_commit: Commit | None = None
    """``None`` when the ref was deleted."""
    commits: tuple[Commit, ...] = ()


class PullRequestRef(_Wire):
    sha: str
    ref: str


class PullRequest(_Wire):
    head: PullRequestRef
    base: PullRequestRef
    merged: bool | None = False
    """``None`` while GitHub has not computed it; ``True`` only on ``closed``."""
    html_url: str | None = None
    title: str | None = None


class PullRequestEvent(_Wire):
    name: ClassVar[str] = "pull_request"
    action: str
    """``opened``, ``synchronize``, ``reopened``, ``closed``, ``edited``, ``labeled``…"""
    number: int
    pull_request: PullRequest
    repository: Repository


class UnsupportedEvent(_Wire):
    """Any other ``X-GitHub-Event``: acknowledged, never inspected."""

    event: str


Event = PingEvent | PushEvent | PullRequestEvent | UnsupportedEvent
"""What :func:`~pilothouse.integrations.github.webhooks.parse_event` returns."""

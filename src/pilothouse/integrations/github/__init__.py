"""GitHub: verify and read webhooks, report back with statuses, comments and PRs.

Inbound, :mod:`.webhooks` proves a delivery came from GitHub and turns it into an
:mod:`.events` model. Outbound, :class:`.client.GitHubClient` speaks the handful of
REST endpoints a GitOps pipeline needs. Failures of either are :mod:`.errors`
classes with stable codes.
"""

from __future__ import annotations

from pilothouse.integrations.github.client import (
    API_VERSION,
    DEFAULT_BASE_URL,
    MAX_DESCRIPTION,
    GitHubClient,
    comment_marker,
)
from pilothouse.integrations.github.errors import (
    Forbidden,
    GitHubError,
    Invalid,
    InvalidPayload,
    InvalidSignature,
    NotFound,
    RateLimited,
    Unauthorized,
    Unavailable,
)
from pilothouse.integrations.github.events import (
    Commit,
    Event,
    PingEvent,
    PullRequestEvent,
    PushEvent,
    UnsupportedEvent,
)
from pilothouse.integrations.github.models import Comment, CommitStatus, PullRequest, StatusState
from pilothouse.integrations.github.webhooks import (
    DELIVERY_HEADER,
    EVENT_HEADER,
    SIGNATURE_HEADER,
    branch_of,
    parse_event,
    push_changed_paths,
    sign,
    verify_signature,
)

__all__ = [
    # client
    "GitHubClient",
    "DEFAULT_BASE_URL",
    "API_VERSION",
    "MAX_DESCRIPTION",
    "comment_marker",
    "Comment",
    "CommitStatus",
    "PullRequest",
    "StatusState",
    # webhooks
    "EVENT_HEADER",
    "DELIVERY_HEADER",
    "SIGNATURE_HEADER",
    "sign",
    "verify_signature",
    "parse_event",
    "push_changed_paths",
    "branch_of",
    "Event",
    "PingEvent",
    "PushEvent",
    "PullRequestEvent",
    "UnsupportedEvent",
    "Commit",
    # errors
    "GitHubError",
    "InvalidSignature",
    "InvalidPayload",
    "Unauthorized",
    "Forbidden",
    "NotFound",
    "Invalid",
    "RateLimited",
    "Unavailable",
]

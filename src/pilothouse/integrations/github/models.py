"""What the REST client sends and gets back: raw JSON shapes and the values we keep.

GitHub's responses are large and grow over time; the ``TypedDict``s name only the
fields the client reads (the JSON has many more), so mypy checks our access
without pretending to describe GitHub. Callers never see them: each answer is
reduced to a frozen dataclass holding what Pilothouse uses.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal, NotRequired, TypedDict

__all__ = [
    "StatusState",
    "STATUS_STATES",
    "UserJSON",
    "CommentJSON",
    "StatusJSON",
    "PullRequestRefJSON",
    "PullRequestJSON",
    "PullRequestFileJSON",
    "ErrorJSON",
    "Comment",
    "CommitStatus",
    "PullRequest",
]

StatusState = Literal["error", "failure", "pending", "success"]
STATUS_STATES: frozenset[str] = frozenset({"error", "failure", "pending", "success"})


class UserJSON(TypedDict):
    login: str
    id: int


class CommentJSON(TypedDict):
    id: int
    body: str
    html_url: str
    user: UserJSON | None


class StatusJSON(TypedDict):
    id: int
    state: StatusState
    context: str
    description: str | None
    target_url: str | None


class PullRequestRefJSON(TypedDict):
    ref: str
    sha: str


class PullRequestJSON(TypedDict):
    number: int
    html_url: str
    head: PullRequestRefJSON
    base: PullRequestRefJSON


class PullRequestFileJSON(TypedDict):
    filename: str
    status: str


class ErrorJSON(TypedDict):
    message: str
    errors: NotRequired[list[object]]
    documentation_url: NotRequired[str]


@dataclass(frozen=True)
class Comment:
    """An issue or pull-request comment."""

    id: int
    body: str
    html_url: str
    author: str | None
    """The commenter's login; ``None`` for a deleted account ("ghost")."""


@dataclass(frozen=True)
class CommitStatus:
    """One status reported on a commit; the latest per ``context`` wins on GitHub."""

    id: int
    state: StatusState
    context: str
    description: str
    target_url: str | None


@dataclass(frozen=True)
class PullRequest:
    number: int
    html_url: str

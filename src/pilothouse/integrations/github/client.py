"""``GitHubClient``: the few REST calls a GitOps pipeline makes back to GitHub.

Pilothouse reports on a change where the author looks: a commit status per check
(``context``), one comment per topic on the pull request, and pull requests it
opens itself (a revert, a promotion). It also needs the files a pull request
touches, which the webhook does not carry.

Comments are *upserted*, not posted: every run of a check would otherwise add a
comment, and a busy pull request would drown in them. Each comment carries a
hidden marker ``<!-- pilothouse:<key> -->`` as its first line; the client finds
the comment with the marker and edits it, or creates it the first time. An
identical body is left alone, so a re-run sends no notification.

The client is synchronous, like the agents that call it, and one instance pools
connections and may be shared between threads. GETs are idempotent, so a 5xx or
a dropped connection on a GET is retried a bounded number of times with
exponential backoff; writes are never retried here, since a POST that timed out
may have landed (the caller, which knows whether a duplicate matters, decides).
Rate limits are not retried either: GitHub says how long to wait, and that can
be an hour; :class:`~.errors.RateLimited` carries it to the caller.

HTTP failures become :mod:`~pilothouse.integrations.github.errors` classes,
raised ``from`` the underlying httpx error when there is one.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Iterator, Mapping
from types import TracebackType
from typing import Any, Self, cast
from urllib.parse import quote

import httpx

from pilothouse import __version__
from pilothouse.integrations.github import errors, models
from pilothouse.integrations.github.models import (
    Comment,
    CommentJSON,
    CommitStatus,
    PullRequest,
    PullRequestFileJSON,
    PullRequestJSON,
    StatusJSON,
    StatusState,
)

__all__ = [
    "DEFAULT_BASE_URL",
    "API_VERSION",
    "PER_PAGE",
    "MAX_DESCRIPTION",
    "GitHubClient",
    "comment_marker",
]

DEFAULT_BASE_URL = "https://api.github.com"
API_VERSION = "2022-11-28"
PER_PAGE = 100
"""GitHub's largest page size for list endpoints."""
MAX_PAGES = 1000
"""Stop paging after this many pages even if they keep coming full (100 000 items)."""
MAX_DESCRIPTION = 140
"""GitHub rejects a commit-status description longer than this (422)."""

_KEY = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:/-]{0,99}")


def comment_marker(key: str) -> str:
    """The hidden first line that identifies the comment for ``key``."""
    if not _KEY.fullmatch(key):
        raise ValueError(f"comment key must match {_KEY.pattern!r}, got {key!r}")
    return f"<!-- pilothouse:{key} -->"


def _repo_path(full_name: str) -> str:
    owner, _, name = full_name.partition("/")
    if not owner or not name or "/" in name:
        raise ValueError(f"repository must be 'owner/name', got {full_name!r}")
    return f"/repos/{quote(owner, safe='')}/{quote(name, safe='')}"


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _number(value: str | None) -> float | None:
    try:
        return float(value) if value is not None else None
    except ValueError:
        return None


def _error_body(response: httpx.Response) -> dict[str, Any]:
    try:
        data = response.json()
    except ValueError:
        return {"message": response.text[:200].strip() or response.reason_phrase}
    return data if isinstance(data, dict) else {"message": response.reason_phrase}


def _error_from(response: httpx.Response) -> errors.GitHubError:
    """The error class for a non-2xx answer, by status and rate-limit headers."""
    status = response.status_code
    body = _error_body(response)
    message = str(body.get("message") or response.reason_phrase)
    reasons = [
        str(item["message"])
        for item in body.get("errors") or ()
        if isinstance(item, dict) and item.get("message")
    ]
    if reasons:
        message = f"{message} ({'; '.join(reasons)})"
    details: dict[str, Any] = {
        "status": status,
        "method": response.request.method,
        "path": response.request.url.path,
        "message": body.get("message"),
    }
    if "errors" in body:
        details["errors"] = body["errors"]
    headers = response.headers
    if status == 429 or (
        status == 403 and (headers.get("x-ratelimit-remaining") == "0" or "retry-after" in headers)
    ):
        reset = _number(headers.get("x-ratelimit-reset"))
        return errors.RateLimited(
            f"GitHub rate limit: {message}",
            retry_after=_number(headers.get("retry-after")),
            reset_at=int(reset) if reset is not None else None,
            details=details,
        )
    if status == 401:
        return errors.Unauthorized(f"GitHub refused the token: {message}", details=details)
    if status == 403:
        return errors.Forbidden(f"GitHub forbids this: {message}", details=details)
    if status in (404, 410):
        return errors.NotFound(f"GitHub has no such resource: {message}", details=details)
    if 400 <= status < 500:
        return errors.Invalid(f"GitHub refused the request: {message}", details=details)
    return errors.Unavailable(f"GitHub answered {status}: {message}", details=details)


class GitHubClient:
    """A GitHub REST API client authenticated by one token (PAT or app installation)."""

    def __init__(
        self,
        token: str,
        *,
        base_url: str = DEFAULT_BASE_URL,
        transport: httpx.BaseTransport | None = None,
        timeout: float = 10.0,
        get_attempts: int = 3,
        backoff_seconds: float = 0.5,
        sleep: Callable[[float], None] = time.sleep,
    ) -> None:
        """``get_attempts`` bounds tries of one GET (first + retries); waits between them
        are ``backoff_seconds`` doubled each time, through ``sleep`` (tests pass a recorder).
        """
        if not token:
            raise ValueError("a GitHub token is required")
        if get_attempts < 1:
            raise ValueError("get_attempts must be at least 1")
        self._get_attempts = get_attempts
        self._backoff = backoff_seconds
        self._sleep = sleep
        self._http = httpx.Client(
            base_url=base_url.rstrip("/"),
            transport=transport,
            timeout=timeout,
            follow_redirects=True,  # GitHub answers 301/307 for renamed repositories
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/vnd.github+json",
                "X-GitHub-Api-Version": API_VERSION,
                "User-Agent": f"pilothouse/{__version__}",
            },
        )

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> Self:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    # -- transport --------------------------------------------------------------------

    def _request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        body: Mapping[str, Any] | None = None,
    ) -> Any:
        """One call's decoded JSON; GETs retried on 5xx and transport errors."""
        attempts = self._get_attempts if method == "GET" else 1
        for attempt in range(1, attempts + 1):
            cause: Exception | None = None
            try:
                response = self._http.request(method, path, params=params, json=body)
            except httpx.RequestError as e:
                error: errors.GitHubError = errors.Unavailable(
                    f"GitHub unreachable: {type(e).__name__}: {e}",
                    details={"method": method, "path": path},
                )
                cause = e
            else:
                if response.is_success:
                    try:
                        return response.json()
                    except ValueError as e:
                        raise errors.Unavailable(
                            f"GitHub answered {response.status_code} without JSON",
                            details={"method": method, "path": path},
                        ) from e
                error = _error_from(response)
            if not isinstance(error, errors.Unavailable) or attempt == attempts:
                raise error from cause
            self._sleep(self._backoff * 2 ** (attempt - 1))
        raise AssertionError("unreachable")  # pragma: no cover

    def _paged(self, path: str) -> Iterator[Any]:
        """Every item of a list endpoint, page by page until a short page."""
        for page in range(1, MAX_PAGES + 1):
            items = self._request("GET", path, params={"per_page": PER_PAGE, "page": page})
            if not isinstance(items, list):
                raise errors.Unavailable(
                    "GitHub answered a list endpoint without a list", details={"path": path}
                )
            yield from items
            if len(items) < PER_PAGE:
                return

    # -- commit statuses --------------------------------------------------------------

    def create_status(
        self,
        repo_full_name: str,
        sha: str,
        *,
        state: StatusState,
        context: str,
        description: str = "",
        target_url: str | None = None,
    ) -> CommitStatus:
        """Report ``state`` for check ``context`` on commit ``sha``.

        The description is cut to 140 characters, GitHub's limit. Raises
        :class:`~.errors.NotFound` for an unknown repository, :class:`~.errors.Invalid`
        for an unknown commit, and the other :mod:`~.errors` by status.
        """
        if state not in models.STATUS_STATES:
            raise ValueError(f"state must be one of {sorted(models.STATUS_STATES)}, got {state!r}")
        payload: dict[str, Any] = {
            "state": state,
            "context": context,
            "description": _truncate(description, MAX_DESCRIPTION),
        }
        if target_url is not None:
            payload["target_url"] = target_url
        data = cast(
            StatusJSON,
            self._request(
                "POST", f"{_repo_path(repo_full_name)}/statuses/{quote(sha, safe='')}", body=payload
            ),
        )
        return CommitStatus(
            id=data["id"],
            state=data["state"],
            context=data["context"],
            description=data.get("description") or "",
            target_url=data.get("target_url"),
        )

    # -- comments ---------------------------------------------------------------------

    def _find_comment(self, repo_full_name: str, number: int, marker: str) -> Comment | None:
        path = f"{_repo_path(repo_full_name)}/issues/{number}/comments"
        for raw in self._paged(path):
            item = cast(CommentJSON, raw)
            if (item.get("body") or "").lstrip().startswith(marker):
                return _comment(item)
        return None

    def upsert_comment(self, repo_full_name: str, number: int, *, key: str, body: str) -> Comment:
        """Create or update the one comment for ``key`` on issue or pull request ``number``.

        The returned body includes the marker line. Raises ``ValueError`` for a key
        outside ``[A-Za-z0-9._:/-]``, :class:`~.errors.NotFound` for an unknown issue,
        and the other :mod:`~.errors` by status.
        """
        marker = comment_marker(key)
        text = f"{marker}\n{body}"
        existing = self._find_comment(repo_full_name, number, marker)
        if existing is None:
            path = f"{_repo_path(repo_full_name)}/issues/{number}/comments"
            return _comment(self._request("POST", path, body={"body": text}))
        if existing.body == text:
            return existing
        path = f"{_repo_path(repo_full_name)}/issues/comments/{existing.id}"
        return _comment(self._request("PATCH", path, body={"body": text}))

    # -- pull requests ----------------------------------------------------------------

    def open_pull_request(
        self, repo_full_name: str, *, title: str, head: str, base: str, body: str = ""
    ) -> PullRequest:
        """Open a pull request from branch ``head`` into ``base``.

        Raises :class:`~.errors.Invalid` when GitHub refuses it, e.g. a pull request
        for ``head`` is already open or there are no commits between the branches.
        """
        data = cast(
            PullRequestJSON,
            self._request(
                "POST",
                f"{_repo_path(repo_full_name)}/pulls",
                body={"title": title, "head": head, "base": base, "body": body},
            ),
        )
        return PullRequest(number=data["number"], html_url=data["html_url"])

    def pull_request_files(self, repo_full_name: str, number: int) -> list[str]:
        """Paths a pull request changes, in GitHub's order (GitHub stops at 3000 files)."""
        path = f"{_repo_path(repo_full_name)}/pulls/{number}/files"
        return [cast(PullRequestFileJSON, item)["filename"] for item in self._paged(path)]


def _comment(raw: Any) -> Comment:
    item = cast(CommentJSON, raw)
    user = item.get("user")
    return Comment(
        id=item["id"],
        body=item.get("body") or "",
        html_url=item["html_url"],
        author=user["login"] if user else None,
    )

"""A local stand-in for the part of GitHub's REST API Pilothouse calls, for one repository.

Shapes follow GitHub's documentation (API version 2022-11-28), field for field where
the client reads them and status for status:

- ``POST /repos/{o}/{r}/statuses/{sha}`` → 201 ``{id, url, state, description,
  target_url, context, creator, created_at, updated_at}``; 422 for an unknown state,
  a description over 140 characters, or a SHA that is not 40 hex digits.
- ``GET /repos/{o}/{r}/issues/{n}/comments`` → 200 ``[comment]``; ``POST`` the same
  path ``{body}`` → 201 comment ``{id, node_id, url, html_url, issue_url, body, user,
  created_at, updated_at}``; ``PATCH /repos/{o}/{r}/issues/comments/{id}`` ``{body}``
  → 200 comment. 404 for an issue or comment that does not exist.
- ``POST /repos/{o}/{r}/pulls`` ``{title, head, base, body}`` → 201 ``{id, number,
  state, title, body, html_url, url, head{ref, sha, label}, base{…}, merged, user}``;
  422 ``{"message": "Validation Failed", "errors": [...]}`` when ``head == base`` or
  an open pull request already exists for ``head``.
- ``GET /repos/{o}/{r}/pulls/{n}/files`` → 200 ``[{sha, filename, status, additions,
  deletions, changes}]``.
- List endpoints page by ``per_page`` (default 30, at most 100) and ``page``, and send
  a ``Link`` header with ``first``/``prev``/``next``/``last``.
- Every answer carries ``x-ratelimit-*`` headers; when ``rate_limit_remaining``
  reaches 0 the next call gets GitHub's 403 ``API rate limit exceeded``.
- ``Authorization: Bearer <token>`` is required: 401 ``{"message": "Bad
  credentials"}`` otherwise. Unknown routes and repositories are 404 ``{"message":
  "Not Found"}``.

:class:`FakeGitHub` is the state, readable from tests (``statuses`` by SHA,
``comments`` by issue number, ``pulls``, every request in ``requests``) and
steerable (:meth:`FakeGitHub.fail_next`). :func:`serve_fake_github` runs it with
uvicorn on a loopback port, because a real HTTP hop is what the client will meet.
"""

from __future__ import annotations

import hashlib
import json
import socket
import threading
import time
from collections import deque
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

DOCS = "https://docs.github.com/rest"
STATES = ("error", "failure", "pending", "success")
STARTUP_SECONDS = 10.0
SHUTDOWN_SECONDS = 10.0

Handler = Callable[[Request], Awaitable[Response]]


@dataclass(frozen=True)
class Received:
    """One request as the fake saw it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    json: Any


@dataclass
class Failure:
    status: int
    headers: dict[str, str]
    body: dict[str, Any]


@dataclass
class FakeGitHub:
    """The fake's whole state; one repository, ``owner/name`` = :attr:`repo`."""

    repo: str = "acme/gitops"
    token: str = "ghp_fake_token"
    login: str = "pilothouse-bot"
    base_url: str = "http://127.0.0.1"
    """Where the fake is served; used in ``html_url``, ``url`` and ``Link``."""
    rate_limit: int = 5000
    rate_limit_remaining: int = 5000
    rate_limit_reset: int = 1_900_000_000
    statuses: dict[str, list[dict[str, Any]]] = field(default_factory=dict)
    """Statuses posted, by commit SHA, oldest first."""
    comments: dict[int, list[dict[str, Any]]] = field(default_factory=dict)
    """Current comments, by issue or pull-request number, oldest first."""
    pulls: list[dict[str, Any]] = field(default_factory=list)
    pull_files: dict[int, list[str]] = field(default_factory=dict)
    issues: set[int] = field(default_factory=set)
    """Issue and pull-request numbers that exist (they share one sequence)."""
    requests: list[Received] = field(default_factory=list)
    failures: deque[Failure] = field(default_factory=deque)
    _ids: int = 1000
    _numbers: int = 0

    # -- steering, from tests ---------------------------------------------------------

    def fail_next(
        self,
        count: int = 1,
        *,
        status: int = 502,
        message: str = "Server Error",
        headers: dict[str, str] | None = None,
    ) -> None:
        """Answer the next ``count`` authenticated calls with ``status`` instead."""
        for _ in range(count):
            self.failures.append(Failure(status, dict(headers or {}), {"message": message}))

    def reset(self) -> None:
        """Forget everything but who and where the fake is, so one server serves many tests."""
        fresh = FakeGitHub(
            repo=self.repo, token=self.token, login=self.login, base_url=self.base_url
        )
        self.__dict__.update(fresh.__dict__)

    def open_issue(self) -> int:
        """A new issue's number."""
        self._numbers += 1
        self.issues.add(self._numbers)
        return self._numbers

    def seed_comments(self, number: int, bodies: list[str], *, login: str = "someone") -> None:
        """Comments already on issue ``number``, as if written by ``login``."""
        self.issues.add(number)
        self._numbers = max(self._numbers, number)
        for body in bodies:
            self._add_comment(number, body, login)

    def set_pull_files(self, number: int, filenames: list[str]) -> None:
        self.pull_files[number] = list(filenames)

    def seed_pull(self, *, head: str, base: str = "main", title: str = "seeded") -> int:
        """An open pull request from ``head`` into ``base``; its number."""
        pull = self._add_pull(title=title, head=head, base=base, body="")
        return int(pull["number"])

    def calls(self, method: str, path_suffix: str = "") -> list[Received]:
        return [r for r in self.requests if r.method == method and r.path.endswith(path_suffix)]

    # -- model ------------------------------------------------------------------------

    def _next_id(self) -> int:
        self._ids += 1
        return self._ids

    def _user(self, login: str) -> dict[str, Any]:
        return {
            "login": login,
            "id": int(hashlib.md5(login.encode()).hexdigest()[:6], 16),
            "type": "User",
        }

    def _add_comment(self, number: int, body: str, login: str) -> dict[str, Any]:
        comment_id = self._next_id()
        now = _now()
        comment = {
            "id": comment_id,
            "node_id": f"IC_{comment_id}",
            "url": f"{self.base_url}/repos/{self.repo}/issues/comments/{comment_id}",
            "html_url": f"https://github.com/{self.repo}/issues/{number}#issuecomment-{comment_id}",
            "issue_url": f"{self.base_url}/repos/{self.repo}/issues/{number}",
            "body": body,
            "user": self._user(login),
            "created_at": now,
            "updated_at": now,
            "author_association": "NONE",
        }
        self.comments.setdefault(number, []).append(comment)
        return comment

    def _add_pull(self, *, title: str, head: str, base: str, body: str) -> dict[str, Any]:
        number = self.open_issue()
        owner = self.repo.split("/")[0]
        pull = {
            "id": self._next_id(),
            "number": number,
            "state": "open",
            "title": title,
            "body": body,
            "url": f"{self.base_url}/repos/{self.repo}/pulls/{number}",
            "html_url": f"https://github.com/{self.repo}/pull/{number}",
            "head": {"ref": head, "sha": _sha(head), "label": f"{owner}:{head}"},
            "base": {"ref": base, "sha": _sha(base), "label": f"{owner}:{base}"},
            "merged": False,
            "user": self._user(self.login),
            "created_at": _now(),
        }
        self.pulls.append(pull)
        return pull


def _now() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


def _sha(text: str) -> str:
    return hashlib.sha1(text.encode()).hexdigest()


def _error(status: int, message: str, **extra: Any) -> JSONResponse:
    return JSONResponse({"message": message, **extra, "documentation_url": DOCS}, status)


def _validation_failed(*errors: dict[str, Any]) -> JSONResponse:
    return _error(422, "Validation Failed", errors=list(errors))


async def _json_body(request: Request) -> dict[str, Any] | JSONResponse:
    try:
        data = json.loads(await request.body() or b"null")
    except ValueError:
        return _error(400, "Problems parsing JSON")
    if not isinstance(data, dict):
        return _error(400, "Problems parsing JSON")
    return data


def create_app(state: FakeGitHub) -> Starlette:
    """The ASGI app serving ``state``."""

    def endpoint(handler: Handler) -> Handler:
        """Record, authenticate, rate-limit, inject failures, check the repository."""

        async def wrapped(request: Request) -> Response:
            raw = await request.body()
            try:
                parsed = json.loads(raw) if raw else None
            except ValueError:
                parsed = raw.decode(errors="replace")
            state.requests.append(
                Received(
                    request.method,
                    request.url.path,
                    dict(request.query_params),
                    dict(request.headers),
                    parsed,
                )
            )
            if request.headers.get("authorization") != f"Bearer {state.token}":
                return _error(401, "Bad credentials")
            if state.rate_limit_remaining <= 0:
                response: Response = _error(
                    403,
                    "API rate limit exceeded for user ID 1. If you reach out to GitHub Support "
                    "for help, please include the request ID.",
                )
            elif state.failures:
                failure = state.failures.popleft()
                response = JSONResponse(failure.body, failure.status, headers=failure.headers)
            else:
                state.rate_limit_remaining -= 1
                owner, name = request.path_params["owner"], request.path_params["repo"]
                if f"{owner}/{name}" != state.repo:
                    response = _error(404, "Not Found")
                else:
                    response = await handler(request)
            response.headers.setdefault("x-ratelimit-limit", str(state.rate_limit))
            response.headers.setdefault(
                "x-ratelimit-remaining", str(max(state.rate_limit_remaining, 0))
            )
            response.headers.setdefault("x-ratelimit-reset", str(state.rate_limit_reset))
            response.headers.setdefault(
                "x-ratelimit-used", str(state.rate_limit - max(state.rate_limit_remaining, 0))
            )
            response.headers.setdefault("x-ratelimit-resource", "core")
            return response

        return wrapped

    def paged(request: Request, items: list[Any]) -> Response:
        try:
            per_page = min(max(int(request.query_params.get("per_page", "30")), 1), 100)
            page = max(int(request.query_params.get("page", "1")), 1)
        except ValueError:
            return _error(400, "Invalid pagination parameters")
        last = max((len(items) + per_page - 1) // per_page, 1)
        chunk = items[(page - 1) * per_page : page * per_page]
        links: list[str] = []
        url = f"{state.base_url}{request.url.path}"

        def link(number: int, rel: str) -> str:
            return f'<{url}?per_page={per_page}&page={number}>; rel="{rel}"'

        if page > 1:
            links += [link(page - 1, "prev"), link(1, "first")]
        if page < last:
            links += [link(page + 1, "next"), link(last, "last")]
        headers = {"link": ", ".join(links)} if links else {}
        return JSONResponse(chunk, 200, headers=headers)

    @endpoint
    async def create_status(request: Request) -> Response:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        sha = request.path_params["sha"]
        if len(sha) != 40 or any(c not in "0123456789abcdef" for c in sha):
            return _error(422, f"No commit found for SHA: {sha}")
        state_value = data.get("state")
        if state_value not in STATES:
            return _validation_failed(
                {
                    "resource": "Status",
                    "field": "state",
                    "code": "custom",
                    "message": "state is not included in the list",
                }
            )
        description = data.get("description")
        if description is not None and len(description) > 140:
            return _validation_failed(
                {
                    "resource": "Status",
                    "field": "description",
                    "code": "custom",
                    "message": "description is too long (maximum is 140 characters)",
                }
            )
        status_id = state._next_id()
        now = _now()
        status = {
            "id": status_id,
            "node_id": f"SC_{status_id}",
            "url": f"{state.base_url}/repos/{state.repo}/statuses/{sha}",
            "state": state_value,
            "description": description,
            "target_url": data.get("target_url"),
            "context": data.get("context") or "default",
            "creator": state._user(state.login),
            "created_at": now,
            "updated_at": now,
        }
        state.statuses.setdefault(sha, []).append(status)
        return JSONResponse(status, 201)

    @endpoint
    async def issue_comments(request: Request) -> Response:
        number = int(request.path_params["number"])
        if number not in state.issues:
            return _error(404, "Not Found")
        if request.method == "GET":
            return paged(request, state.comments.get(number, []))
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        if not isinstance(data.get("body"), str):
            return _validation_failed(
                {"resource": "IssueComment", "field": "body", "code": "missing_field"}
            )
        return JSONResponse(state._add_comment(number, data["body"], state.login), 201)

    @endpoint
    async def update_comment(request: Request) -> Response:
        comment_id = int(request.path_params["comment_id"])
        found = [c for cs in state.comments.values() for c in cs if c["id"] == comment_id]
        if not found:
            return _error(404, "Not Found")
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        if not isinstance(data.get("body"), str):
            return _validation_failed(
                {"resource": "IssueComment", "field": "body", "code": "missing_field"}
            )
        found[0]["body"] = data["body"]
        found[0]["updated_at"] = _now()
        return JSONResponse(found[0], 200)

    @endpoint
    async def create_pull(request: Request) -> Response:
        data = await _json_body(request)
        if isinstance(data, JSONResponse):
            return data
        for name in ("title", "head", "base"):
            if not isinstance(data.get(name), str) or not data[name]:
                return _validation_failed(
                    {"resource": "PullRequest", "field": name, "code": "missing_field"}
                )
        head, base = data["head"], data["base"]
        if head == base:
            return _validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"No commits between {base} and {head}",
                }
            )
        if any(p["head"]["ref"] == head and p["state"] == "open" for p in state.pulls):
            owner = state.repo.split("/")[0]
            return _validation_failed(
                {
                    "resource": "PullRequest",
                    "code": "custom",
                    "message": f"A pull request already exists for {owner}:{head}.",
                }
            )
        pull = state._add_pull(
            title=data["title"], head=head, base=base, body=data.get("body") or ""
        )
        return JSONResponse(pull, 201)

    @endpoint
    async def pull_files(request: Request) -> Response:
        number = int(request.path_params["number"])
        if not any(p["number"] == number for p in state.pulls):
            return _error(404, "Not Found")
        files = [
            {
                "sha": _sha(name),
                "filename": name,
                "status": "modified",
                "additions": 1,
                "deletions": 0,
                "changes": 1,
            }
            for name in state.pull_files.get(number, [])
        ]
        return paged(request, files)

    async def not_found(request: Request, exc: Exception) -> Response:
        status = exc.status_code if isinstance(exc, HTTPException) else 404
        return _error(404 if status == 405 else status, "Not Found")

    prefix = "/repos/{owner}/{repo}"
    return Starlette(
        routes=[
            Route(prefix + "/statuses/{sha}", create_status, methods=["POST"]),
            Route(
                prefix + "/issues/{number:int}/comments", issue_comments, methods=["GET", "POST"]
            ),
            Route(prefix + "/issues/comments/{comment_id:int}", update_comment, methods=["PATCH"]),
            Route(prefix + "/pulls", create_pull, methods=["POST"]),
            Route(prefix + "/pulls/{number:int}/files", pull_files, methods=["GET"]),
        ],
        exception_handlers={404: not_found, 405: not_found},
    )


@contextmanager
def serve_fake_github(state: FakeGitHub | None = None) -> Iterator[tuple[str, FakeGitHub]]:
    """Serve a fake GitHub on a free loopback port; yields ``(base_url, state)``.

    The socket is bound before uvicorn starts, so the port is known up front; the
    wait for ``server.started`` is bounded and fails loudly if startup breaks.
    """
    state = state or FakeGitHub()
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    # Without it every response waits for a delayed ACK (Nagle), ~40 ms per call.
    sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
    sock.bind(("127.0.0.1", 0))
    sock.listen(128)
    base_url = f"http://127.0.0.1:{sock.getsockname()[1]}"
    state.base_url = base_url
    config = uvicorn.Config(create_app(state), log_level="warning", lifespan="off", ws="none")
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, kwargs={"sockets": [sock]}, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + STARTUP_SECONDS
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError("the fake GitHub server did not start")
            time.sleep(0.005)
        yield base_url, state
    finally:
        server.should_exit = True
        thread.join(timeout=SHUTDOWN_SECONDS)
        sock.close()
        if thread.is_alive():
            raise RuntimeError("the fake GitHub server did not shut down")

"""Pure ASGI middleware: request ids and logs, metrics, and body-size limits.

Pure ASGI (not ``BaseHTTPMiddleware``) so streaming uploads, downloads and the
SSE/MCP streams pass through untouched and nothing is buffered.

- :class:`RequestContext` gives every request an id (the caller's ``X-Request-ID``
  when it is sane, else a new one), echoes it in the response, stores it in
  ``scope["state"]`` for the audit trail, and writes one structured log line.
- :class:`BodyLimit` refuses bodies over the limit with 413 ``too_large`` — at once
  from ``Content-Length``, or as soon as a chunked body passes the limit. Uploads
  to ``…/files/…`` get the file limit, everything else the JSON limit.
"""

from __future__ import annotations

import json
import logging
import re
import secrets
import time
from collections.abc import Callable
from typing import Any

import anyio
import anyio.to_thread
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from pilothouse.api import errors, metrics
from pilothouse.core.errors import PilothouseError
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger("pilothouse.access")
DRAIN_CAP = 64 * 1024 * 1024
DRAIN_SECONDS = 10.0
REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class RequestContext:
    def __init__(self, app: ASGIApp, registry: metrics.Metrics) -> None:
        self.app = app
        self.metrics = registry

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = dict(scope.get("headers") or [])
        given = headers.get(b"x-request-id", b"").decode("latin-1")
        request_id = given if REQUEST_ID.match(given) else f"req_{secrets.token_hex(8)}"
        scope.setdefault("state", {})["request_id"] = request_id
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                message.setdefault("headers", [])
                message["headers"] = [
                    *message["headers"],
                    (b"x-request-id", request_id.encode("latin-1")),
                ]
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            elapsed = time.perf_counter() - started
            route = _route_template(scope)
            self.metrics.observe_request(scope["method"], route, status, elapsed)
            log.info(
                json.dumps(
                    {
                        "request_id": request_id,
                        "method": scope["method"],
                        "path": scope["path"],
                        "route": route,
                        "status": status,
                        "ms": round(elapsed * 1000, 2),
                        "client": (scope.get("client") or ("", 0))[0],
                    }
                )
            )


def _route_template(scope: Scope) -> str:
    route = scope.get("route")
    path = getattr(route, "path", None)
    if isinstance(path, str):
        return path
    for prefix in ("/mcp", "/sse", "/messages", "/api/v1", "/webhooks"):
        if scope["path"].startswith(prefix):
            return prefix
    return "other"


GITHUB_PAYLOAD_LIMIT = 25 * 1024 * 1024
"""GitHub caps webhook payloads at 25 MB; larger deliveries are refused."""


class BodyLimit:
    def __init__(
        self,
        app: ASGIApp,
        *,
        json_limit: int,
        upload_limit: Callable[[], int],
        mcp_limit: int,
    ) -> None:
        self.app = app
        self.json_limit = json_limit
        self.upload_limit = upload_limit
        self.mcp_limit = mcp_limit

    def _limit(self, scope: Scope) -> int:
        if scope["method"] == "PUT" and "/files/" in scope["path"]:
            return self.upload_limit()
        if scope["path"].startswith(("/mcp", "/sse")):
            return self.mcp_limit
        if scope["path"].startswith("/webhooks/github/"):
            return GITHUB_PAYLOAD_LIMIT
        return self.json_limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in ("GET", "HEAD", "OPTIONS"):
            await self.app(scope, receive, send)
            return
        limit = self._limit(scope)
        headers = dict(scope.get("headers") or [])
        declared = headers.get(b"content-length")
        if declared is not None:
            try:
                too_big = int(declared) > limit
            except ValueError:
                await _reply(send, "invalid_argument", "malformed Content-Length")
                return
            if too_big:
                # A client that asked "Expect: 100-continue" has sent no body yet and
                # will not; any other is sending it now and must be drained first.
                if headers.get(b"expect", b"").lower() != b"100-continue":
                    await _drain(receive, True)
                await _reply(send, "too_large", f"request body exceeds {limit} bytes", limit)
                return
        seen = 0
        exceeded = False
        replaced = False
        more_body = True

        async def counted() -> Message:
            nonlocal seen, exceeded, more_body
            if exceeded:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                more_body = message.get("more_body", False)
                seen += len(message.get("body", b""))
                if seen > limit:
                    # Look like a vanished client to the app, which then stops reading
                    # and answers; that answer is replaced by the 413 below.
                    exceeded = True
                    return {"type": "http.disconnect"}
            return message

        async def guarded_send(message: Message) -> None:
            nonlocal replaced
            if exceeded:
                if not replaced:
                    replaced = True
                    await _drain(receive, more_body)
                    await _reply(send, "too_large", f"request body exceeds {limit} bytes", limit)
                return
            await send(message)

        await self.app(scope, counted, guarded_send)


async def _drain(receive: Receive, more_body: bool) -> None:
    """Read and drop the rest of a refused body (up to a cap) before answering.

    A client still sending when the server answers and closes gets a connection
    reset instead of the 413; draining first lets it read the answer, as
    servers' "lingering close" does.
    """
    dropped = 0
    with anyio.move_on_after(DRAIN_SECONDS):
        while more_body and dropped < DRAIN_CAP:
            message = await receive()
            if message["type"] != "http.request":
                return
            dropped += len(message.get("body", b""))
            more_body = message.get("more_body", False)


async def _reply(send: Send, code: str, message: str, limit: int | None = None) -> None:
    details: dict[str, Any] = {"limit": limit} if limit is not None else {}
    payload = json.dumps(errors.body(code, message, details)).encode()
    await send(
        {
            "type": "http.response.start",
            "status": errors.STATUS[code],
            "headers": [
                *([(b"www-authenticate", b"Bearer")] if code == "unauthenticated" else []),
                (b"content-type", b"application/json"),
                (b"content-length", str(len(payload)).encode()),
                (b"connection", b"close"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": payload})


class BearerGuard:
    """401 for MCP traffic without a valid bearer key, before the SDK sees it.

    REST checks keys per route (a dependency); the MCP endpoints are mounted ASGI
    apps, so this guard gives them the same front door: no key, no session.
    """

    def __init__(self, app: ASGIApp, service: WorkspaceService, *, prefixes: tuple[str, ...]):
        self.app = app
        self.service = service
        self.prefixes = prefixes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or not scope["path"].startswith(self.prefixes):
            await self.app(scope, receive, send)
            return
        header = dict(scope.get("headers") or []).get(b"authorization", b"").decode("latin-1")
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            await _reply(send, "unauthenticated", "MCP needs 'Authorization: Bearer <api key>'")
            return
        try:
            await anyio.to_thread.run_sync(
                lambda: self.service.authenticate(token.strip(), Interface.MCP)
            )
        except PilothouseError as e:
            await _reply(send, e.code, e.message)
            return
        await self.app(scope, receive, send)

"""Serving the MCP server: Streamable HTTP, legacy HTTP+SSE, and stdio.

Mounting into the Pilothouse ASGI app (or any Starlette/FastAPI app)::

    server = build_server(service, bearer_resolver(service))
    lifespan_context = mount(app, server)      # adds /mcp and /sse to app.router
    # ... and the parent's lifespan must run it:
    async with lifespan_context: ...           # e.g. as a create_app() extension

Why it is shaped like this:

- **The session manager needs a lifespan.** The SDK's Streamable HTTP transport
  runs every session in a task group owned by a ``StreamableHTTPSessionManager``,
  which exists only inside ``session_manager.run()``. A Starlette app built by the
  SDK runs it in *its own* lifespan — which never runs when that app is mounted
  inside another app. So :class:`StreamableHTTPApp` owns the manager and exposes
  :meth:`StreamableHTTPApp.lifespan`; the parent app enters it in its lifespan.
  Each entry starts a fresh manager (the SDK's can run only once), so an app
  whose lifespan runs twice (tests) still works; a request while it is not
  running gets 503.
- **Routes, not bare mounts.** ``Mount("/mcp", …)`` answers ``/mcp/`` but sends
  ``POST /mcp`` a 307 redirect to ``/mcp/``; :func:`http_routes` gives an exact
  ``Route("/mcp")`` (the app itself is path-agnostic, so ``Mount`` also works).
  The SSE app is mounted at ``/sse`` (stream ``GET /sse``, messages
  ``POST /sse/messages/?session_id=…``) and the message endpoint it advertises is
  derived from the mount point, so it is right behind a path prefix too.
- **Stateless Streamable HTTP by default.** Every POST is served on its own, so
  any replica behind a load balancer can answer it; nothing here needs a
  server-to-client request. Long-polls still work (the POST waits).
- **Sessions are bound to the key that opened them.** The SDK refuses a request
  for a stateful or SSE session that presents a different credential than the one
  that created it, if it knows the credential: :class:`_BindCredential` tells it
  (a digest of the bearer key). Authentication proper happens per tool call
  (:mod:`pilothouse.mcp.identity`).
- **DNS-rebinding protection** checks ``Host`` and ``Origin``. Loopback names on
  any port are always allowed (so tests on ``127.0.0.1:<ephemeral>`` pass), plus
  the host of ``public_url`` and a named bind host. Bound to every interface
  with no public URL, the server cannot know its names, so the check is off —
  the bearer key, which a rebinding page does not have, is the protection.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from urllib.parse import urlsplit

import anyio
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.mcpserver import MCPServer
from mcp.server.streamable_http_manager import StreamableHTTPSessionManager
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, TransportSecuritySettings
from starlette.applications import Starlette
from starlette.datastructures import Headers
from starlette.responses import PlainTextResponse
from starlette.routing import BaseRoute, Mount, Route
from starlette.types import ASGIApp, Receive, Scope, Send

from pilothouse.core.settings import ServerSettings
from pilothouse.mcp import identity
from pilothouse.mcp.server import build_server
from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService

LOOPBACK = ("127.0.0.1", "localhost", "[::1]")
WILDCARD = ("0.0.0.0", "::", "")


def transport_security(
    settings: ServerSettings | None = None, *, allowed_hosts: Iterable[str] = ()
) -> TransportSecuritySettings:
    """Host/Origin checks: loopback on any port, ``public_url``, a named bind host, extras."""
    hosts: list[str] = []
    origins: list[str] = []

    def allow(host: str, scheme: str = "http") -> None:
        for name in (host, f"{host}:*"):
            if name not in hosts:
                hosts.append(name)
        for s in (scheme, "https" if scheme == "http" else "http"):
            for origin in (f"{s}://{host}", f"{s}://{host}:*"):
                if origin not in origins:
                    origins.append(origin)

    for host in LOOPBACK:
        allow(host)
    extra = list(allowed_hosts)
    for host in extra:
        allow(host)
    if settings is not None:
        if settings.public_url:
            url = urlsplit(settings.public_url)
            if url.hostname:
                allow(f"[{url.hostname}]" if ":" in url.hostname else url.hostname, url.scheme)
                hosts.append(url.netloc)
        if settings.host not in WILDCARD:
            allow(f"[{settings.host}]" if ":" in settings.host else settings.host)
        elif not settings.public_url and not extra:
            return TransportSecuritySettings(enable_dns_rebinding_protection=False)
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True, allowed_hosts=hosts, allowed_origins=origins
    )


class _BindCredential:
    """Tells the SDK which credential a request carries, so sessions stay with their key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            header = Headers(scope=scope).get("authorization", "")
            scheme, _, token = header.partition(" ")
            if scheme.lower() == "bearer" and token.strip():
                digest = hashlib.sha256(token.strip().encode()).hexdigest()
                user = AuthenticatedUser(AccessToken(token="", client_id=digest, scopes=[]))
                scope = {**scope, "user": user}
        await self.app(scope, receive, send)


class StreamableHTTPApp:
    """The Streamable HTTP endpoint as a path-agnostic ASGI app; run :meth:`lifespan`."""

    def __init__(
        self,
        server: MCPServer,
        *,
        stateless: bool = True,
        json_response: bool = False,
        security: TransportSecuritySettings | None = None,
        max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
    ) -> None:
        self.server = server
        self.stateless = stateless
        self.json_response = json_response
        self.security = security or transport_security()
        self.max_request_body_size = max_request_body_size
        self.session_manager: StreamableHTTPSessionManager | None = None
        self._bound = _BindCredential(self._serve)

    def _new_manager(self) -> StreamableHTTPSessionManager:
        # The SDK creates the manager as a side effect of building its own app.
        self.server.streamable_http_app(
            streamable_http_path="/",
            stateless_http=self.stateless,
            json_response=self.json_response,
            transport_security=self.security,
            max_request_body_size=self.max_request_body_size,
        )
        return self.server.session_manager

    @asynccontextmanager
    async def _running(self) -> AsyncIterator[None]:
        manager = self._new_manager()
        async with manager.run():
            self.session_manager = manager
            try:
                yield
            finally:
                self.session_manager = None

    def lifespan(self) -> AbstractAsyncContextManager[None]:
        """Run the session manager; the parent app enters this in its lifespan."""
        return self._running()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        await self._bound(scope, receive, send)

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        manager = self.session_manager
        if manager is None:
            response = PlainTextResponse(
                "MCP is not running: the app's lifespan must enter StreamableHTTPApp.lifespan()",
                status_code=503,
            )
            await response(scope, receive, send)
            return
        await manager.handle_request(scope, receive, send)


def streamable_http_app(
    server: MCPServer,
    *,
    stateless: bool = True,
    json_response: bool = False,
    security: TransportSecuritySettings | None = None,
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
) -> StreamableHTTPApp:
    """The Streamable HTTP app (mount at ``/mcp``); enter its ``lifespan()`` in the parent's."""
    return StreamableHTTPApp(
        server,
        stateless=stateless,
        json_response=json_response,
        security=security,
        max_request_body_size=max_request_body_size,
    )


def sse_app(
    server: MCPServer,
    *,
    security: TransportSecuritySettings | None = None,
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
) -> ASGIApp:
    """The legacy HTTP+SSE app, to mount at ``/sse``: ``GET /`` streams, ``POST /messages/``."""
    app = server.sse_app(
        sse_path="/",
        message_path="/messages/",
        transport_security=security or transport_security(),
        max_request_body_size=max_request_body_size,
    )
    return _BindCredential(app)


class _Exactly:
    """Serves the bare mount path (``GET /sse``) as its root, without a redirect."""

    def __init__(self, app: ASGIApp, prefix: str) -> None:
        self.app = app
        self.prefix = prefix

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        root = scope.get("root_path", "")
        inner = {**scope, "root_path": root + self.prefix, "path": scope["path"] + "/"}
        await self.app(inner, receive, send)


def http_routes(
    streamable: StreamableHTTPApp,
    sse: ASGIApp,
    *,
    mcp_path: str = "/mcp",
    sse_path: str = "/sse",
) -> list[BaseRoute]:
    """``Route(mcp_path)`` for Streamable HTTP and ``/sse`` (stream and messages) for SSE."""
    return [
        Route(mcp_path, endpoint=streamable, name="mcp", include_in_schema=False),
        Route(
            sse_path,
            endpoint=_Exactly(sse, sse_path),
            methods=["GET"],
            name="mcp_sse",
            include_in_schema=False,
        ),
        Mount(sse_path, app=sse, name="mcp_sse_messages"),
    ]


def mount(
    app: Starlette,
    server: MCPServer,
    *,
    settings: ServerSettings | None = None,
    mcp_path: str = "/mcp",
    sse_path: str = "/sse",
    stateless: bool = True,
    max_request_body_size: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
) -> AbstractAsyncContextManager[None]:
    """Add ``/mcp`` and ``/sse`` to ``app``; returns the context its lifespan must run."""
    security = transport_security(settings)
    streamable = streamable_http_app(
        server,
        stateless=stateless,
        security=security,
        max_request_body_size=max_request_body_size,
    )
    sse = sse_app(server, security=security, max_request_body_size=max_request_body_size)
    app.router.routes.extend(http_routes(streamable, sse, mcp_path=mcp_path, sse_path=sse_path))
    return streamable.lifespan()


def standalone_app(
    server: MCPServer, *, settings: ServerSettings | None = None, stateless: bool = True
) -> Starlette:
    """``/mcp`` and ``/sse`` as an app of their own, lifespan included (tests, embedding)."""
    security = transport_security(settings)
    streamable = streamable_http_app(server, stateless=stateless, security=security)
    sse = sse_app(server, security=security)

    @asynccontextmanager
    async def lifespan(_app: Starlette) -> AsyncIterator[None]:
        async with streamable.lifespan():
            yield

    return Starlette(routes=http_routes(streamable, sse), lifespan=lifespan)


def run_stdio(
    service: WorkspaceService,
    actor: Actor | identity.Resolver,
    *,
    default_workspace: str | None = None,
) -> None:
    """Serve MCP on stdin/stdout as ``actor`` (or as a resolver decides per call) until EOF.

    The server's pipeline engine is idle: triggers are queued for the workers of
    ``pilothouse serve`` (or ``worker``) on the same home.
    """
    resolve = identity.fixed_resolver(actor) if isinstance(actor, Actor) else actor
    server = build_server(service, resolve, default_workspace=default_workspace)
    anyio.run(server.run_stdio_async)

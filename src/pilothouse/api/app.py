"""The ASGI application: REST, MCP, health and metrics behind one front door.

:func:`create_app` takes a ready :class:`WorkspaceService`, so tests and
``pilothouse serve`` assemble the same app. Middleware, outermost first:

1. :class:`~pilothouse.api.middleware.RequestContext` — request id, access log,
   metrics (it sees every response, including the 413s below);
2. :class:`~pilothouse.api.middleware.BodyLimit` — size limits before any parsing;
3. :class:`~pilothouse.api.middleware.BearerGuard` — a valid key before any MCP traffic;
4. FastAPI with its exception handlers (:mod:`pilothouse.api.errors`), REST routes,
   and the MCP endpoints (:func:`pilothouse.mcp.mount`), whose session manager runs
   in the app's lifespan.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

from fastapi import Depends, FastAPI, Response
from starlette.types import ASGIApp

from pilothouse import __version__, mcp
from pilothouse.api import (
    activity,
    errors,
    files,
    locks,
    metrics,
    people,
    search,
    subscriptions,
    transfers,
    workspaces,
)
from pilothouse.api import pipelines as pipeline_routes
from pilothouse.api.auth import current_actor
from pilothouse.api.middleware import BearerGuard, BodyLimit, RequestContext
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.service import WorkspaceService

Extension = Callable[[FastAPI], AbstractAsyncContextManager[None] | None]
"""Mounts more onto the app (MCP, webhooks…); may return a context run in the lifespan."""


def create_app(
    service: WorkspaceService,
    *,
    extensions: tuple[Extension, ...] = (),
    pipelines: Pipelines | None = None,
) -> ASGIApp:
    """The whole server as one ASGI app."""
    contexts: list[AbstractAsyncContextManager[None]] = []

    @asynccontextmanager
    async def lifespan(_app: FastAPI) -> AsyncIterator[None]:
        entered: list[AbstractAsyncContextManager[None]] = []
        try:
            for context in contexts:
                await context.__aenter__()
                entered.append(context)
            yield
        finally:
            for context in reversed(entered):
                await context.__aexit__(None, None, None)

    app = FastAPI(
        title="Pilothouse",
        version=__version__,
        description="The workspace of agentic GitOps: files, locks, events, audit.",
        lifespan=lifespan,
        openapi_url="/openapi.json",
    )
    app.state.service = service
    app.state.pipelines = pipelines or Pipelines(service, service.settings)
    app.state.metrics = metrics.Metrics()
    errors.install(app)

    routers = (
        workspaces,
        files,
        locks,
        activity,
        people,
        subscriptions,
        transfers,
        search,
        pipeline_routes,
    )
    for module in routers:
        app.include_router(module.router)

    @app.get("/healthz", tags=["health"])
    def healthz() -> dict[str, Any]:
        """Liveness and readiness: the database answers. No authentication."""
        service.ping()
        return {"status": "ok", "version": __version__}

    @app.get("/metrics", tags=["health"], dependencies=[Depends(current_actor)])
    def prometheus() -> Response:
        """Prometheus exposition: requests, latencies, tool calls, webhook deliveries."""
        return Response(app.state.metrics.render(), media_type=metrics.CONTENT_TYPE_LATEST)

    server = mcp.build_server(
        service,
        mcp.bearer_resolver(service),
        observe=lambda tool, action, outcome: app.state.metrics.tool_calls.labels(
            tool, action, outcome
        ).inc(),
        pipelines=app.state.pipelines,
    )
    contexts.append(
        mcp.mount(
            app,
            server,
            settings=service.settings.server,
            max_request_body_size=service.settings.server.max_mcp_body_bytes,
        )
    )

    for extend in extensions:
        context = extend(app)
        if context is not None:
            contexts.append(context)

    guarded = BearerGuard(app, service, prefixes=("/mcp", "/sse"))
    limited = BodyLimit(
        guarded,
        json_limit=service.settings.server.max_json_body_bytes,
        upload_limit=lambda: service.limits.max_file_bytes,
        mcp_limit=service.settings.server.max_mcp_body_bytes,
    )
    outer = RequestContext(limited, app.state.metrics)
    return outer

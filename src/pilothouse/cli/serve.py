"""``pilothouse serve``: the API, MCP endpoints and workers in one process.

uvicorn runs the app; SIGINT/SIGTERM stop accepting connections and wait up to
``server.graceful_shutdown_seconds`` for in-flight requests. Access logs are one
JSON object per line on stderr, each with its request id.
"""

from __future__ import annotations

import logging
import sys
from typing import Annotated

import typer
import uvicorn

from pilothouse.api import background
from pilothouse.api.app import Extension, create_app
from pilothouse.cli.session import HomeOpt, settings_for
from pilothouse.workspace.service import WorkspaceService


def serve(
    host: Annotated[str | None, typer.Option(help="Interface to bind (default 127.0.0.1).")] = None,
    port: Annotated[int | None, typer.Option(help="TCP port (default 8700).")] = None,
    home: HomeOpt = None,
    log_level: Annotated[str, typer.Option(help="debug, info, warning or error.")] = "info",
) -> None:
    """Serve REST (/api/v1), MCP (/mcp, /sse), GitHub webhooks, /healthz, /metrics, workers."""
    settings = settings_for(home)
    if host is not None or port is not None:
        server = settings.server.model_copy(
            update={k: v for k, v in {"host": host, "port": port}.items() if v is not None}
        )
        settings = settings.model_copy(update={"server": server})
    logging.basicConfig(stream=sys.stderr, level=log_level.upper(), format="%(message)s")
    service = WorkspaceService(settings)
    service.local_actor()  # refuses an uninitialised home with a clear error
    app = create_app(service, extensions=extensions())
    config = uvicorn.Config(
        app,
        host=settings.server.host,
        port=settings.server.port,
        log_level=log_level.lower(),
        access_log=False,
        timeout_graceful_shutdown=int(settings.server.graceful_shutdown_seconds),
        proxy_headers=False,
    )
    typer.echo(
        f"Pilothouse serving on http://{settings.server.host}:{settings.server.port} "
        f"(home {settings.home.resolve()})",
        err=True,
    )
    try:
        uvicorn.Server(config).run()
    finally:
        service.close()


def extensions() -> tuple[Extension, ...]:
    """What the server runs beside REST."""
    return (
        background.webhook_dispatcher,
        background.importer,
        background.indexer,
        background.pipeline_workers,
    )

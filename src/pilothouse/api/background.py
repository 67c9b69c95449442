"""Work the server does besides answering requests, tied to its lifespan.

Each function here is an app *extension* (see :func:`pilothouse.api.app.create_app`):
it may add routes and returns an async context that starts its worker when the
server starts and stops it, draining, when the server shuts down.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager

import anyio.to_thread
from fastapi import FastAPI

from pilothouse.workspace.dispatch import WebhookDispatcher
from pilothouse.workspace.importer import Importer
from pilothouse.workspace.service import WorkspaceService


def webhook_dispatcher(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """Deliver queued webhooks for as long as the server runs."""
    service: WorkspaceService = app.state.service

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        dispatcher = WebhookDispatcher(
            service,
            on_attempt=lambda outcome: app.state.metrics.webhook_deliveries.labels(outcome).inc(),
        )
        dispatcher.start()
        app.state.dispatcher = dispatcher
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(dispatcher.stop)

    return running()


def importer(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """Run queued URL imports for as long as the server runs."""
    service: WorkspaceService = app.state.service

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        runner = Importer(service)
        runner.start()
        app.state.importer = runner
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(runner.stop)

    return running()


def indexer(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """Index written files for search for as long as the server runs."""
    service: WorkspaceService = app.state.service

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        brain = service.intelligence
        await anyio.to_thread.run_sync(brain.requeue_stale_models)
        subscription = brain.indexer.start(
            service.bus.subscribe, service.settings.intelligence.poll_seconds
        )
        try:
            yield
        finally:
            subscription.close()
            await anyio.to_thread.run_sync(brain.indexer.stop)

    return running()


def pipeline_workers(app: FastAPI) -> AbstractAsyncContextManager[None]:
    """Run the pipeline engine (dispatcher, workers, watcher) for as long as the server runs."""

    @asynccontextmanager
    async def running() -> AsyncIterator[None]:
        pipelines = app.state.pipelines
        pipelines.start()
        try:
            yield
        finally:
            await anyio.to_thread.run_sync(pipelines.stop)

    return running()

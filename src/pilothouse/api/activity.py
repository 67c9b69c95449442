"""Events (list, long-poll, live SSE stream) and the audit trail over HTTP.

The SSE stream reads the event log, not the bus: it sends everything after the
client's cursor (``?after=`` or the ``Last-Event-ID`` a reconnecting
``EventSource`` sends), then waits. The in-process bus only wakes it early; a
periodic re-read catches events written by other processes. So a reconnecting
client misses nothing, whichever replica it lands on.
"""

from __future__ import annotations

import asyncio
import functools
import json
from collections.abc import AsyncIterator
from datetime import datetime
from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Header, Query, Request
from sse_starlette import EventSourceResponse, ServerSentEvent

from pilothouse.api import API
from pilothouse.api.auth import ActorDep, ServiceDep
from pilothouse.workspace.models import Event

router = APIRouter(prefix=API, tags=["events"])
RECHECK_SECONDS = 2.0


def _filters(
    types: list[str] | None,
    path_prefix: str | None,
    actor_id: str | None,
    since: datetime | None,
    until: datetime | None,
) -> dict[str, Any]:
    return {
        "types": types or (),
        "path_prefix": path_prefix,
        "actor_id": actor_id,
        "since": since,
        "until": until,
    }


@router.get("/workspaces/{workspace}/events")
def list_events(
    workspace: str,
    service: ServiceDep,
    actor: ActorDep,
    after: Annotated[int, Query(ge=0)] = 0,
    type: Annotated[list[str] | None, Query(max_length=50)] = None,
    path_prefix: str | None = None,
    actor_id: Annotated[str | None, Query(alias="actor")] = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
    wait: Annotated[float, Query(ge=0, le=60)] = 0,
) -> dict[str, Any]:
    """Events after ``after``; with ``wait`` > 0, long-poll up to that many seconds."""
    filters = _filters(type, path_prefix, actor_id, since, until)
    if wait > 0:
        items = service.wait_events(
            actor, workspace, after=after, timeout=wait, limit=limit, **filters
        )
    else:
        items = service.list_events(actor, workspace, after=after, limit=limit, **filters)
    cursor = items[-1].cursor if items else after
    return {"events": [e.to_dict() for e in items], "cursor": cursor}


@router.get("/workspaces/{workspace}/events/stream")
async def stream_events(
    workspace: str,
    request: Request,
    service: ServiceDep,
    actor: ActorDep,
    after: Annotated[int | None, Query(ge=0)] = None,
    type: Annotated[list[str] | None, Query(max_length=50)] = None,
    path_prefix: str | None = None,
    last_event_id: Annotated[str | None, Header()] = None,
) -> EventSourceResponse:
    """Server-Sent Events: ``id`` is the cursor, ``event`` the type, ``data`` the JSON."""
    cursor = after if after is not None else _cursor(last_event_id)
    filters = _filters(type, path_prefix, None, None, None)
    # Authorise (and 404 an unknown workspace) before the stream starts.
    await anyio.to_thread.run_sync(lambda: service.get_workspace(actor, workspace))
    loop = asyncio.get_running_loop()
    wake = asyncio.Event()

    def notify(_event: Event) -> None:
        loop.call_soon_threadsafe(wake.set)

    subscription = service.bus.subscribe(notify)

    async def produce() -> AsyncIterator[ServerSentEvent]:
        nonlocal cursor
        try:
            while not await request.is_disconnected():
                batch: list[Event] = await anyio.to_thread.run_sync(
                    functools.partial(
                        service.list_events, actor, workspace, after=cursor, limit=500, **filters
                    )
                )
                for event in batch:
                    cursor = event.cursor
                    yield ServerSentEvent(
                        data=json.dumps(event.to_dict()), event=event.type, id=str(event.cursor)
                    )
                if len(batch) == 500:
                    continue
                wake.clear()
                with anyio.move_on_after(RECHECK_SECONDS):
                    await wake.wait()
        finally:
            subscription.close()

    return EventSourceResponse(produce(), ping=15)


def _cursor(last_event_id: str | None) -> int:
    if last_event_id and last_event_id.isdigit():
        return int(last_event_id)
    return 0


@router.get("/workspaces/{workspace}/audit")
def list_audit(
    workspace: str,
    service: ServiceDep,
    actor: ActorDep,
    after: Annotated[int, Query(ge=0)] = 0,
    action: str | None = None,
    principal: str | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [
        e.to_dict()
        for e in service.list_audit(
            actor, workspace, after_seq=after, action=action, principal_id=principal, limit=limit
        )
    ]


@router.get("/workspaces/{workspace}/audit/verify")
def verify_audit(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    """``{ok, entries, first_broken_seq, reason}``: replay of the hash chain."""
    return service.verify_audit(actor, workspace).to_dict()

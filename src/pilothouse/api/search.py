"""``/api/v1/workspaces/{ws}/search…``: hybrid search with citations."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any

from fastapi import APIRouter

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep

router = APIRouter(prefix=API, tags=["search"])


def _aware(moment: datetime | None) -> datetime | None:
    if moment is not None and moment.tzinfo is None:
        return moment.replace(tzinfo=UTC)
    return moment


@router.post("/workspaces/{workspace}/search")
def search(
    workspace: str, body: wire.SearchQuery, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """Hits: ``path``, ``version``, ``score``, ``line_start``, ``line_end``, ``snippet``…"""
    return service.search(
        actor,
        workspace,
        body.query,
        mode=body.mode,
        limit=body.limit,
        path_prefix=body.path_prefix,
        kinds=body.kinds,
        since=_aware(body.since),
        until=_aware(body.until),
        metadata=body.metadata,
        include_history=body.include_history,
    ).to_dict()


@router.post("/workspaces/{workspace}/search/similar")
def similar(
    workspace: str, body: wire.SearchSimilar, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """Files most like ``path`` (and ``version``) or raw ``text``."""
    return service.search_similar(
        actor,
        workspace,
        path=body.path,
        version=body.version,
        text=body.text,
        limit=body.limit,
        path_prefix=body.path_prefix,
        kinds=body.kinds,
        include_history=body.include_history,
    ).to_dict()


@router.post("/workspaces/{workspace}/search/reindex")
def reindex(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    return {"queued": service.reindex(actor, workspace)}


@router.get("/workspaces/{workspace}/search/status")
def status(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    """``{queue_depth, documents, chunks, model, mode, enabled}``."""
    return service.search_status(actor, workspace)

"""``/api/v1/workspaces/{ws}/locks``: leases over HTTP.

An acquire that waits (``wait_seconds``) blocks a worker thread of the server's
pool for at most 60 s, never the event loop.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep

router = APIRouter(prefix=API, tags=["locks"])


@router.get("/workspaces/{workspace}/locks")
def list_locks(
    workspace: str, service: ServiceDep, actor: ActorDep, path: str | None = None
) -> list[dict[str, Any]]:
    """Live leases; with ``path``, those that cover it or lie inside it."""
    items = (
        service.lock_status(actor, workspace, path)
        if path is not None
        else service.list_locks(actor, workspace)
    )
    return [lk.to_dict() for lk in items]


@router.post("/workspaces/{workspace}/locks", status_code=status.HTTP_201_CREATED)
def acquire_lock(
    workspace: str, body: wire.LockAcquire, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """Grant a lease: ``lock_id``, secret ``token``, ``fencing_token``, ``expires_at``."""
    return service.acquire_lock(
        actor,
        workspace,
        body.path,
        scope=body.scope,
        ttl_seconds=body.ttl_seconds,
        enforce=body.enforce,
        wait_seconds=body.wait_seconds,
    ).to_dict()


@router.post("/workspaces/{workspace}/locks/{lock_id}/heartbeat")
def heartbeat_lock(
    workspace: str, lock_id: str, body: wire.LockHeartbeat, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.heartbeat_lock(
        actor, workspace, lock_id, body.token, ttl_seconds=body.ttl_seconds
    ).to_dict()


@router.post("/workspaces/{workspace}/locks/{lock_id}/release")
def release_lock(
    workspace: str, lock_id: str, body: wire.LockToken, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.release_lock(actor, workspace, lock_id, body.token).to_dict()


@router.post("/workspaces/{workspace}/locks/{lock_id}/break")
def break_lock(
    workspace: str, lock_id: str, body: wire.LockBreak, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.break_lock(actor, workspace, lock_id, reason=body.reason).to_dict()

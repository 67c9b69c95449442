"""``/api/v1/workspaces/{ws}/webhooks`` and the delivery log."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query, Response, status

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep

router = APIRouter(prefix=API, tags=["webhooks"])


@router.get("/workspaces/{workspace}/webhooks")
def list_webhooks(workspace: str, service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [w.to_dict() for w in service.list_webhooks(actor, workspace)]


@router.post("/workspaces/{workspace}/webhooks", status_code=status.HTTP_201_CREATED)
def create_webhook(
    workspace: str, body: wire.WebhookCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """Subscribe a URL; the response carries the signing ``secret``, only this once."""
    return service.create_webhook(
        actor,
        workspace,
        body.url,
        event_types=body.event_types,
        path_glob=body.path_glob,
        active=body.active,
    ).to_dict()


@router.patch("/workspaces/{workspace}/webhooks/{webhook_id}")
def update_webhook(
    workspace: str, webhook_id: str, body: wire.WebhookUpdate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.set_webhook_active(actor, workspace, webhook_id, body.active).to_dict()


@router.delete("/workspaces/{workspace}/webhooks/{webhook_id}", status_code=204)
def delete_webhook(
    workspace: str, webhook_id: str, service: ServiceDep, actor: ActorDep
) -> Response:
    service.delete_webhook(actor, workspace, webhook_id)
    return Response(status_code=204)


@router.post("/workspaces/{workspace}/webhooks/{webhook_id}/rotate-secret")
def rotate_secret(
    workspace: str, webhook_id: str, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.rotate_webhook_secret(actor, workspace, webhook_id).to_dict()


@router.get("/workspaces/{workspace}/deliveries")
def list_deliveries(
    workspace: str,
    service: ServiceDep,
    actor: ActorDep,
    webhook_id: str | None = None,
    status: Literal["pending", "delivered", "failed"] | None = None,
    limit: Annotated[int, Query(ge=1, le=1000)] = 100,
) -> list[dict[str, Any]]:
    return [
        d.to_dict()
        for d in service.list_deliveries(
            actor, workspace, webhook_id=webhook_id, status=status, limit=limit
        )
    ]

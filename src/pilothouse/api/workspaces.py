"""``/api/v1/workspaces``: create, list, details, update, archive; and ``/me``."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, status

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep

router = APIRouter(prefix=API, tags=["workspaces"])


@router.get("/me")
def whoami(actor: ActorDep) -> dict[str, Any]:
    """The principal behind the presented key, and the key's scope."""
    return {
        "principal": actor.principal.to_dict(),
        "scope": actor.scope.label,
        "api_key_id": actor.api_key_id,
        "workspace_id": actor.key_workspace_id,
    }


@router.get("/workspaces")
def list_workspaces(
    service: ServiceDep, actor: ActorDep, include_archived: bool = False
) -> list[dict[str, Any]]:
    return [w.to_dict() for w in service.list_workspaces(actor, include_archived=include_archived)]


@router.post("/workspaces", status_code=status.HTTP_201_CREATED)
def create_workspace(
    body: wire.WorkspaceCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.create_workspace(
        actor,
        body.name,
        description=body.description,
        quota_bytes=body.quota_bytes,
        intelligence=body.intelligence,
    ).to_dict()


@router.get("/workspaces/{workspace}")
def get_workspace(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    return service.get_workspace(actor, workspace).to_dict()


@router.patch("/workspaces/{workspace}")
def update_workspace(
    workspace: str, body: wire.WorkspaceUpdate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.update_workspace(
        actor,
        workspace,
        name=body.name,
        description=body.description,
        quota_bytes=body.quota_bytes,
        intelligence=body.intelligence,
    ).to_dict()


@router.post("/workspaces/{workspace}/archive")
def archive_workspace(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    return service.archive_workspace(actor, workspace).to_dict()

"""Members, agents, API keys and ownership transfer over HTTP."""

from __future__ import annotations

from datetime import UTC
from typing import Any

from fastapi import APIRouter, Response, status

from pilothouse.api import API, wire
from pilothouse.api.auth import ActorDep, ServiceDep

router = APIRouter(prefix=API, tags=["members"])


@router.get("/workspaces/{workspace}/members")
def list_members(workspace: str, service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [m.to_dict() for m in service.list_members(actor, workspace)]


@router.post("/workspaces/{workspace}/members", status_code=status.HTTP_201_CREATED)
def add_member(
    workspace: str, body: wire.MemberAdd, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.add_member(actor, workspace, body.principal, body.role).to_dict()


@router.patch("/workspaces/{workspace}/members/{principal}")
def update_member(
    workspace: str, principal: str, body: wire.MemberRole, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.update_member_role(actor, workspace, principal, body.role).to_dict()


@router.delete("/workspaces/{workspace}/members/{principal}", status_code=204)
def remove_member(workspace: str, principal: str, service: ServiceDep, actor: ActorDep) -> Response:
    service.remove_member(actor, workspace, principal)
    return Response(status_code=204)


@router.post("/workspaces/{workspace}/agents", status_code=status.HTTP_201_CREATED)
def create_agent(
    workspace: str, body: wire.AgentCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.create_agent(actor, workspace, body.name, role=body.role).to_dict()


@router.get("/workspaces/{workspace}/apikeys")
def list_api_keys(workspace: str, service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [k.to_dict() for k in service.list_api_keys(actor, workspace)]


@router.post("/workspaces/{workspace}/apikeys", status_code=status.HTTP_201_CREATED)
def create_api_key(
    workspace: str, body: wire.ApiKeyCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """A key restricted to this workspace; ``key`` is shown only in this response."""
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return service.create_api_key(
        actor, workspace, body.principal, name=body.name, scope=body.scope, expires_at=expires
    ).to_dict()


@router.delete("/workspaces/{workspace}/apikeys/{key_id}")
def revoke_api_key(
    workspace: str, key_id: str, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.revoke_api_key(actor, workspace, key_id).to_dict()


@router.get("/workspaces/{workspace}/transfers")
def list_transfers(workspace: str, service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    return [t.to_dict() for t in service.list_transfers(actor, workspace)]


@router.post("/workspaces/{workspace}/transfers", status_code=status.HTTP_201_CREATED)
def create_transfer(workspace: str, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    """A one-time claim ``token`` (72 h); whoever claims it becomes the owner."""
    return service.create_transfer(actor, workspace).to_dict()


@router.delete("/workspaces/{workspace}/transfers/{transfer_id}")
def cancel_transfer(
    workspace: str, transfer_id: str, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    return service.cancel_transfer(actor, workspace, transfer_id).to_dict()


@router.post("/ownership/claim")
def claim_ownership(body: wire.Claim, service: ServiceDep, actor: ActorDep) -> dict[str, Any]:
    return service.claim_transfer(actor, body.token).to_dict()


@router.get("/principals")
def list_principals(service: ServiceDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Users and agents of the installation (site admins)."""
    return [p.to_dict() for p in service.list_principals(actor)]


@router.post("/principals", status_code=status.HTTP_201_CREATED)
def create_principal(
    body: wire.PrincipalCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """A new user or agent of the installation (site admins)."""
    return service.create_user(
        actor, body.name, site_admin=body.site_admin, kind=body.kind
    ).to_dict()


@router.post("/principals/{principal}/apikeys", status_code=status.HTTP_201_CREATED)
def create_personal_key(
    principal: str, body: wire.PersonalKeyCreate, service: ServiceDep, actor: ActorDep
) -> dict[str, Any]:
    """An unrestricted key (creates workspaces, claims ownership); ``me`` for yourself."""
    expires = body.expires_at
    if expires is not None and expires.tzinfo is None:
        expires = expires.replace(tzinfo=UTC)
    return service.create_personal_key(
        actor,
        None if principal == "me" else principal,
        name=body.name,
        scope=body.scope,
        expires_at=expires,
    ).to_dict()

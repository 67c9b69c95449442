"""Bearer-key authentication, as FastAPI dependencies.

``Authorization: Bearer <api key>`` on everything but ``/healthz`` and signed
download links. The key resolves to an :class:`~pilothouse.workspace.models.Actor`
carrying the request id, so the audit entry of whatever the request does names the
key, its principal and the interface (``rest``). Missing or bad credentials are 401
``unauthenticated`` with ``WWW-Authenticate: Bearer``.
"""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, Request

from pilothouse.workspace.errors import Unauthenticated
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if not header:
        return None
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <api key>'")
    return token.strip()


def service_of(request: Request) -> WorkspaceService:
    service: WorkspaceService = request.app.state.service
    return service


def current_actor(request: Request) -> Actor:
    token = bearer_token(request)
    if token is None:
        raise Unauthenticated("this endpoint needs 'Authorization: Bearer <api key>'")
    request_id = getattr(request.state, "request_id", None)
    return service_of(request).authenticate(token, Interface.REST, request_id=request_id)


ActorDep = Annotated[Actor, Depends(current_actor)]
ServiceDep = Annotated[WorkspaceService, Depends(service_of)]

"""Who is calling: from the transport to an :class:`~pilothouse.workspace.models.Actor`.

The MCP layer does not know where credentials come from; whoever builds the server
passes a :data:`Resolver`, ``(bearer token or None) -> Actor``:

- over HTTP (``/mcp``, ``/sse``) every tool call carries the HTTP request it
  arrived in (the SDK hands it to the tool as ``ctx.request_context.request``), so
  the key is read from *that* request's ``Authorization: Bearer`` header and
  resolved per call — a revoked key stops working mid-session. A call over HTTP
  without a bearer key is ``unauthenticated`` before the resolver is even asked,
  so a server built with a permissive resolver can never be opened to the network
  by mistake;
- over stdio (and in-memory) there is no request; the resolver gets ``None`` and
  answers with the local user or the principal of ``PILOTHOUSE_API_KEY``.

Whatever the resolver returns is stamped with ``Interface.MCP`` and the request id
the HTTP front door assigned, so audit entries say the change came through MCP.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

from pilothouse.workspace.errors import Unauthenticated
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

Resolver = Callable[[str | None], Actor]
"""``(bearer token, or None off HTTP) -> Actor``; raises ``Unauthenticated``."""


def bearer_resolver(service: WorkspaceService) -> Resolver:
    """For HTTP: the actor behind the presented API key; no key is ``unauthenticated``."""

    def resolve(token: str | None) -> Actor:
        if token is None:
            raise Unauthenticated("MCP over HTTP needs 'Authorization: Bearer <api key>'")
        return service.authenticate(token, Interface.MCP)

    return resolve


def key_resolver(service: WorkspaceService, api_key: str) -> Resolver:
    """For stdio with ``PILOTHOUSE_API_KEY``: that key's actor, checked on every call."""

    def resolve(_token: str | None) -> Actor:
        return service.authenticate(api_key, Interface.MCP)

    return resolve


def local_resolver(service: WorkspaceService) -> Resolver:
    """For stdio without a key: the local user ``pilothouse init`` created."""

    def resolve(_token: str | None) -> Actor:
        return service.local_actor(Interface.MCP)

    return resolve


def fixed_resolver(actor: Actor) -> Resolver:
    """Always ``actor`` (tests, embedding)."""

    def resolve(_token: str | None) -> Actor:
        return actor

    return resolve


def bearer_token(request: Any) -> str:
    """The key in an HTTP request's ``Authorization: Bearer`` header; raises ``unauthenticated``."""
    header: str | None = request.headers.get("authorization")
    if not header:
        raise Unauthenticated("MCP over HTTP needs 'Authorization: Bearer <api key>'")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.strip():
        raise Unauthenticated("use 'Authorization: Bearer <api key>'")
    return token.strip()


def actor_for(resolve: Resolver, request: Any | None) -> Actor:
    """The actor of one tool call; ``request`` is the HTTP request, or ``None`` off HTTP."""
    if request is None or getattr(request, "headers", None) is None:
        actor = resolve(None)
        request_id = None
    else:
        actor = resolve(bearer_token(request))
        state = getattr(request, "scope", {}).get("state") or {}
        request_id = state.get("request_id") if isinstance(state, dict) else None
    return dataclasses.replace(
        actor, interface=Interface.MCP, request_id=request_id or actor.request_id
    )

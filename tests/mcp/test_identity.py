from __future__ import annotations

import pytest
from starlette.requests import Request

from pilothouse.mcp.identity import actor_for, bearer_resolver, fixed_resolver, local_resolver
from pilothouse.workspace.errors import Unauthenticated
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface, Scope
from pilothouse.workspace.service import WorkspaceService


def _request(authorization: str | None, request_id: str | None = None) -> Request:
    headers = [(b"authorization", authorization.encode())] if authorization else []
    state = {"request_id": request_id} if request_id else {}
    return Request(
        {"type": "http", "method": "POST", "path": "/mcp", "headers": headers, "state": state}
    )


def test_an_http_call_acts_as_the_bearer_keys_principal_with_the_request_id(
    service: WorkspaceService, validator_key: str
) -> None:
    actor = actor_for(bearer_resolver(service), _request(f"Bearer {validator_key}", "req_42"))
    assert actor.principal.name == "validator"
    assert actor.scope is Scope.READ
    assert actor.interface is Interface.MCP
    assert actor.request_id == "req_42"


@pytest.mark.parametrize("header", [None, "Basic dXNlcjpwdw==", "Bearer ", "Bearer phk_unknown"])
def test_an_http_call_without_a_valid_bearer_key_is_unauthenticated(
    service: WorkspaceService, header: str | None
) -> None:
    with pytest.raises(Unauthenticated):
        actor_for(bearer_resolver(service), _request(header))


def test_http_without_a_key_is_refused_even_by_a_permissive_resolver(alice: Actor) -> None:
    with pytest.raises(Unauthenticated):
        actor_for(fixed_resolver(alice), _request(None))


def test_off_http_the_resolver_decides_and_the_interface_is_mcp(
    service: WorkspaceService,
) -> None:
    actor = actor_for(local_resolver(service), None)
    assert actor.principal.name == "alice"
    assert actor.interface is Interface.MCP
    with pytest.raises(Unauthenticated):
        actor_for(bearer_resolver(service), None)

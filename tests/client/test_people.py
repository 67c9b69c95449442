"""Members, agents, API keys and ownership transfers."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta

import pytest

from pilothouse.workspace.errors import Conflict, Forbidden, InvalidArgument, Unauthenticated
from pilothouse.workspace.protocol import Workspace
from pilothouse.workspace.roles import Kind, Role, Scope

Connect = Callable[[str], Workspace]


def test_an_agent_joins_as_member_and_its_role_can_change(
    workspace: Workspace, reference: Workspace, prod: str
):
    agent = workspace.create_agent(prod, "deployer")

    assert (agent.name, agent.kind, agent.role) == ("deployer", Kind.AGENT, Role.MEMBER)
    assert agent in workspace.list_members(prod)
    assert workspace.list_members(prod) == reference.list_members(prod)
    demoted = workspace.update_member_role(prod, agent.principal_id, "viewer")
    assert demoted.role is Role.VIEWER
    workspace.remove_member(prod, "deployer")
    assert [m.name for m in workspace.list_members(prod)] == ["alice"]
    again = workspace.add_member(prod, agent.principal_id, "admin")
    assert (again.principal_id, again.role) == (agent.principal_id, Role.ADMIN)
    with pytest.raises(Conflict, match="already a member"):
        workspace.add_member(prod, "deployer", "member")


def test_writes_with_an_agent_key_are_attributed_to_the_agent(
    workspace: Workspace, connect: Connect, prod: str
):
    workspace.create_workspace("elsewhere")
    agent = workspace.create_agent(prod, "deployer")
    created = workspace.create_api_key(prod, agent.principal_id, name="ci", scope="write")

    as_agent = connect(created.key)
    written = as_agent.write_file(prod, "/deployed.txt", b"ok")

    assert (written.author_id, written.agent_name) == (agent.principal_id, "deployer")
    assert [w.name for w in as_agent.list_workspaces()] == [prod]
    assert as_agent.list_events(prod, types=["file.written"])[-1].actor_id == agent.principal_id


def test_a_read_scoped_key_reads_but_cannot_write(
    workspace: Workspace, connect: Connect, prod: str
):
    workspace.write_file(prod, "/plan.txt", b"plan")
    alice = workspace.get_workspace(prod).owner_id
    created = workspace.create_api_key(prod, alice, name="dashboard", scope="read")

    reader = connect(created.key)

    assert created.info.scope is Scope.READ
    assert created.info.workspace_id == workspace.get_workspace(prod).id
    assert reader.read_file(prod, "/plan.txt").content == b"plan"
    with pytest.raises(Forbidden) as refused:
        reader.write_file(prod, "/plan.txt", b"changed")
    assert refused.value.details == {"scope": "read", "required_scope": "write"}
    with pytest.raises(Forbidden):
        reader.acquire_lock(prod, "/plan.txt")
    with pytest.raises(Forbidden, match="more scope"):
        reader.create_api_key(prod, alice, scope="write")
    assert workspace.read_file(prod, "/plan.txt").content == b"plan"


def test_a_revoked_key_is_unauthenticated(workspace: Workspace, connect: Connect, prod: str):
    alice = workspace.get_workspace(prod).owner_id
    expires = datetime.now(UTC) + timedelta(days=1)
    created = workspace.create_api_key(prod, alice, name="temp", expires_at=expires)
    assert connect(created.key).get_workspace(prod).name == prod

    revoked = workspace.revoke_api_key(prod, created.info.id)

    assert revoked.revoked_at is not None
    assert revoked.expires_at == expires
    assert revoked in workspace.list_api_keys(prod)
    with pytest.raises(Unauthenticated, match="revoked") as refused:
        connect(created.key).get_workspace(prod)
    assert refused.value.details == {"key_id": created.info.id}


def test_api_keys_for_non_members_or_in_the_past_are_refused(workspace: Workspace, prod: str):
    workspace.create_workspace("elsewhere")
    outsider = workspace.create_agent("elsewhere", "outsider")

    with pytest.raises(InvalidArgument, match="not a member"):
        workspace.create_api_key(prod, outsider.principal_id)
    with pytest.raises(InvalidArgument, match="in the past"):
        workspace.create_api_key(prod, "alice", expires_at=datetime.now(UTC) - timedelta(seconds=1))


def test_an_ownership_transfer_is_created_listed_and_cancelled(
    workspace: Workspace, reference: Workspace, prod: str
):
    created = workspace.create_transfer(prod)

    assert created.state == "open"
    assert created.token is not None
    assert created.expires_at > created.created_at
    listed = workspace.list_transfers(prod)
    assert [(t.id, t.state, t.token) for t in listed] == [(created.id, "open", None)]
    assert listed == reference.list_transfers(prod)
    cancelled = workspace.cancel_transfer(prod, created.id)

    assert cancelled.state == "cancelled"
    assert [t.state for t in workspace.list_transfers(prod)] == ["cancelled"]
    with pytest.raises(Conflict, match="cancelled"):
        workspace.claim_transfer(created.token)
    with pytest.raises(Conflict):
        workspace.cancel_transfer(prod, created.id)

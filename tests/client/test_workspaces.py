"""Workspace lifecycle, identical in-process and over HTTP."""

from __future__ import annotations

import pytest

from pilothouse.workspace.errors import Conflict, InvalidArgument, NotFound
from pilothouse.workspace.protocol import Workspace
from pilothouse.workspace.roles import Role


def test_created_workspace_is_fetched_by_name_or_id_and_listed(
    workspace: Workspace, reference: Workspace
):
    created = workspace.create_workspace("infra", description="shared", quota_bytes=10_000)

    assert (created.name, created.description, created.quota_bytes) == ("infra", "shared", 10_000)
    assert created.role is Role.OWNER
    assert created.archived_at is None
    assert created.created_at.tzinfo is not None
    assert workspace.get_workspace("infra") == created
    assert workspace.get_workspace(created.id) == created
    assert reference.get_workspace("infra") == created
    assert [w.name for w in workspace.list_workspaces()] == ["infra"]


def test_update_changes_only_the_given_fields(workspace: Workspace, reference: Workspace):
    created = workspace.create_workspace("infra", description="old", quota_bytes=5000)

    updated = workspace.update_workspace("infra", description="new", intelligence=False)

    assert (updated.description, updated.intelligence) == ("new", False)
    assert updated.quota_bytes == 5000
    assert updated.updated_at >= created.updated_at
    assert reference.get_workspace("infra") == updated
    renamed = workspace.update_workspace("infra", name="platform")
    assert renamed.id == created.id
    assert workspace.get_workspace("platform").id == created.id
    with pytest.raises(InvalidArgument, match="nothing to update"):
        workspace.update_workspace("platform")


def test_archived_workspace_is_read_only_and_hidden_by_default(workspace: Workspace, prod: str):
    archived = workspace.archive_workspace(prod)

    assert archived.archived_at is not None
    with pytest.raises(Conflict, match="archived"):
        workspace.write_file(prod, "/a.txt", b"x")
    assert workspace.list_workspaces() == []
    assert workspace.list_workspaces(include_archived=True) == [workspace.get_workspace(prod)]


def test_workspace_names_are_validated_and_unique(workspace: Workspace, prod: str):
    with pytest.raises(InvalidArgument, match="invalid workspace name"):
        workspace.create_workspace("Not A Name")
    with pytest.raises(Conflict) as taken:
        workspace.create_workspace(prod)
    assert taken.value.details == {"name": prod}


def test_unknown_workspace_is_not_found_with_its_name(workspace: Workspace):
    with pytest.raises(NotFound) as missing:
        workspace.get_workspace("nowhere")

    assert missing.value.code == "not_found"
    assert missing.value.details == {"workspace": "nowhere"}

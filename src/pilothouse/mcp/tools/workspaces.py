"""``workspace``: list, create, inspect, update and archive workspaces."""

from __future__ import annotations

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, WorkspaceRef

workspace = registry.tool(
    "workspace",
    title="Workspaces",
    description="Workspaces: named, shared spaces of files, locks, events and audit, "
    "with members and a quota.",
)


class ListArgs(Arguments):
    include_archived: bool = Field(False, description="Include archived workspaces.")


class CreateArgs(Arguments):
    name: str = Field(
        min_length=1,
        max_length=63,
        description="1-63 lowercase letters, digits, '.', '_' or '-'.",
    )
    description: str = Field("", max_length=4096, description="What the workspace is for.")
    quota_bytes: int | None = Field(None, ge=0, description="Quota in bytes; default 50 GiB.")
    intelligence: bool = Field(True, description="Index text files for search.")


class RefArgs(Arguments):
    workspace: WorkspaceRef


class UpdateArgs(Arguments):
    workspace: WorkspaceRef
    name: str | None = Field(None, min_length=1, max_length=63)
    description: str | None = Field(None, max_length=4096)
    quota_bytes: int | None = Field(None, ge=0)
    intelligence: bool | None = None


@workspace.action("list", ListArgs, read_only=True)
def list_workspaces(call: Call, args: ListArgs) -> Reply:
    """The workspaces you are a member of, with your role in each."""
    found = call.service.list_workspaces(call.actor, include_archived=args.include_archived)
    return {"workspaces": [w.to_dict() for w in found]}


@workspace.action("create", CreateArgs, read_only=False)
def create(call: Call, args: CreateArgs) -> Reply:
    """Create a workspace; you become its owner."""
    return call.service.create_workspace(
        call.actor,
        args.name,
        description=args.description,
        quota_bytes=args.quota_bytes,
        intelligence=args.intelligence,
    ).to_dict()


@workspace.action("details", RefArgs, read_only=True)
def details(call: Call, args: RefArgs) -> Reply:
    """One workspace: owner, quota and usage, your role."""
    return call.service.get_workspace(call.actor, args.workspace).to_dict()


@workspace.action("update", UpdateArgs, read_only=False, destructive=True, idempotent=True)
def update(call: Call, args: UpdateArgs) -> Reply:
    """Rename or change description, quota or intelligence (admins)."""
    return call.service.update_workspace(
        call.actor,
        args.workspace,
        name=args.name,
        description=args.description,
        quota_bytes=args.quota_bytes,
        intelligence=args.intelligence,
    ).to_dict()


@workspace.action("archive", RefArgs, read_only=False, destructive=True)
def archive(call: Call, args: RefArgs) -> Reply:
    """Make a workspace read-only and hide it from listings (owner)."""
    return call.service.archive_workspace(call.actor, args.workspace).to_dict()

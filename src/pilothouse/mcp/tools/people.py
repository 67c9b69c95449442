"""``member``, ``apikey`` and ``ownership``: who may act in a workspace.

Managing members and keys needs the admin role *and* an admin-scoped key; the
ownership transfer needs the owner. A new API key and a new claim token are shown
once, in the reply that creates them.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Literal

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, WorkspaceRef

member = registry.tool(
    "member",
    title="Members",
    description="Members of a workspace (users and agents) and their roles: viewer, member, "
    "admin, owner.",
)
apikey = registry.tool(
    "apikey",
    title="API keys",
    description="API keys of workspace members, restricted to the workspace, scoped read, "
    "write or admin.",
)
ownership = registry.tool(
    "ownership",
    title="Ownership transfer",
    description="Hand a workspace to a new owner with a one-time claim token (valid 72 h).",
)

Principal = Annotated[
    str, Field(min_length=1, max_length=128, description="A principal's name or id.")
]
RoleName = Literal["viewer", "member", "admin"]


class WorkspaceArgs(Arguments):
    workspace: WorkspaceRef


class AddArgs(Arguments):
    workspace: WorkspaceRef
    principal: Principal
    role: RoleName = Field("member", description="viewer, member or admin.")


class RoleArgs(Arguments):
    workspace: WorkspaceRef
    principal: Principal
    role: RoleName = Field(description="viewer, member or admin.")


class RemoveArgs(Arguments):
    workspace: WorkspaceRef
    principal: Principal


class KeyCreateArgs(Arguments):
    workspace: WorkspaceRef
    principal: Principal
    name: str = Field("default", min_length=1, max_length=128, description="A label for it.")
    scope: Literal["read", "write", "admin"] = Field(
        "write", description="read, write or admin; at most your own key's scope."
    )
    expires_at: datetime | None = Field(None, description="When it stops working (ISO-8601).")


class KeyRevokeArgs(Arguments):
    workspace: WorkspaceRef
    key_id: str = Field(min_length=1, max_length=64, description="The key's id (not the key).")


class TransferArgs(Arguments):
    workspace: WorkspaceRef
    transfer_id: str = Field(min_length=1, max_length=64, description="The transfer's id.")


class ClaimArgs(Arguments):
    token: str = Field(min_length=1, max_length=256, description="The one-time claim token.")


@member.action("list", WorkspaceArgs, read_only=True)
def list_members(call: Call, args: WorkspaceArgs) -> Reply:
    """Members with their kind and role."""
    found = call.service.list_members(call.actor, args.workspace)
    return {"members": [m.to_dict() for m in found]}


@member.action("add", AddArgs, read_only=False)
def add(call: Call, args: AddArgs) -> Reply:
    """Add an existing user or agent with a role (admins)."""
    return call.service.add_member(call.actor, args.workspace, args.principal, args.role).to_dict()


@member.action("update_role", RoleArgs, read_only=False, destructive=True, idempotent=True)
def update_role(call: Call, args: RoleArgs) -> Reply:
    """Change a member's role (admins)."""
    return call.service.update_member_role(
        call.actor, args.workspace, args.principal, args.role
    ).to_dict()


@member.action("remove", RemoveArgs, read_only=False, destructive=True)
def remove(call: Call, args: RemoveArgs) -> Reply:
    """Remove a member; their keys for the workspace are revoked (admins)."""
    call.service.remove_member(call.actor, args.workspace, args.principal)
    return {"workspace": args.workspace, "principal": args.principal, "removed": True}


@apikey.action("create", KeyCreateArgs, read_only=False)
def create_key(call: Call, args: KeyCreateArgs) -> Reply:
    """A new key for a member; the key itself is in this reply only."""
    return call.service.create_api_key(
        call.actor,
        args.workspace,
        args.principal,
        name=args.name,
        scope=args.scope,
        expires_at=args.expires_at,
    ).to_dict()


@apikey.action("list", WorkspaceArgs, read_only=True)
def list_keys(call: Call, args: WorkspaceArgs) -> Reply:
    """Keys of the workspace (ids, scopes, last use; never the keys)."""
    return {"keys": [k.to_dict() for k in call.service.list_api_keys(call.actor, args.workspace)]}


@apikey.action("revoke", KeyRevokeArgs, read_only=False, destructive=True, idempotent=True)
def revoke_key(call: Call, args: KeyRevokeArgs) -> Reply:
    """Revoke a key at once."""
    return call.service.revoke_api_key(call.actor, args.workspace, args.key_id).to_dict()


@ownership.action("transfer_create", WorkspaceArgs, read_only=False)
def transfer_create(call: Call, args: WorkspaceArgs) -> Reply:
    """A one-time claim token that makes whoever claims it the owner (owner only)."""
    return call.service.create_transfer(call.actor, args.workspace).to_dict()


@ownership.action("transfer_list", WorkspaceArgs, read_only=True)
def transfer_list(call: Call, args: WorkspaceArgs) -> Reply:
    """Transfers of the workspace and their states."""
    found = call.service.list_transfers(call.actor, args.workspace)
    return {"transfers": [t.to_dict() for t in found]}


@ownership.action("transfer_cancel", TransferArgs, read_only=False, destructive=True)
def transfer_cancel(call: Call, args: TransferArgs) -> Reply:
    """Cancel an open transfer."""
    return call.service.cancel_transfer(call.actor, args.workspace, args.transfer_id).to_dict()


@ownership.action("transfer_claim", ClaimArgs, read_only=False, destructive=True)
def transfer_claim(call: Call, args: ClaimArgs) -> Reply:
    """Become the owner of the workspace a claim token was made for."""
    return call.service.claim_transfer(call.actor, args.token).to_dict()

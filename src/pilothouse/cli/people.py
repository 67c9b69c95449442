"""``pilothouse member|agent|apikey|ownership …``: who belongs, and with which keys."""

from __future__ import annotations

from datetime import timedelta
from typing import Annotated

import typer

from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    Output,
    OutputOpt,
    WsArg,
    emit,
    pairs,
    session,
    table,
)
from pilothouse.workspace.models import Member

member_app = typer.Typer(help="Members of a workspace and their roles.", no_args_is_help=True)
agent_app = typer.Typer(help="Agent principals.", no_args_is_help=True)
apikey_app = typer.Typer(help="API keys of workspace members.", no_args_is_help=True)
ownership_app = typer.Typer(help="Hand a workspace to a new owner.", no_args_is_help=True)
user_app = typer.Typer(help="Users and agents of the installation.", no_args_is_help=True)

PrincipalArg = Annotated[str, typer.Argument(help="Principal name or id.")]
RoleArg = Annotated[str, typer.Argument(help="viewer, member or admin.")]


def _show_member(output: Output, member: Member) -> None:
    emit(output, member.to_dict(), lambda: pairs(member.to_dict()))


@member_app.command("list")
def member_list(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Members and roles."""
    with session(home, api_key, output) as s:
        items = s.service.list_members(s.actor, workspace)
        emit(
            output,
            [m.to_dict() for m in items],
            lambda: table(
                None,
                ["name", "id", "kind", "role"],
                [[m.name, m.principal_id, m.kind.value, m.role.label] for m in items],
            ),
        )


@member_app.command("add")
def member_add(
    workspace: WsArg,
    principal: PrincipalArg,
    role: RoleArg = "member",
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Add an existing user or agent (admins)."""
    with session(home, api_key, output) as s:
        _show_member(output, s.service.add_member(s.actor, workspace, principal, role))


@member_app.command("role")
def member_role(
    workspace: WsArg,
    principal: PrincipalArg,
    role: RoleArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Change a member's role (admins)."""
    with session(home, api_key, output) as s:
        _show_member(output, s.service.update_member_role(s.actor, workspace, principal, role))


@member_app.command("remove")
def member_remove(
    workspace: WsArg,
    principal: PrincipalArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Remove a member; their keys for this workspace are revoked (admins)."""
    with session(home, api_key, output) as s:
        s.service.remove_member(s.actor, workspace, principal)
        emit(output, {"removed": principal}, lambda: typer.echo(f"removed {principal}"))


@agent_app.command("create")
def agent_create(
    workspace: WsArg,
    name: Annotated[str, typer.Argument(help="Agent name, e.g. validator.")],
    role: Annotated[str, typer.Option(help="Role in WORKSPACE.")] = "member",
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Create an agent principal and add it to WORKSPACE (admins)."""
    with session(home, api_key, output) as s:
        _show_member(output, s.service.create_agent(s.actor, workspace, name, role=role))


@apikey_app.command("create")
def apikey_create(
    workspace: WsArg,
    principal: PrincipalArg,
    scope: Annotated[str, typer.Option(help="read, write or admin.")] = "write",
    name: Annotated[str, typer.Option(help="A label for the key.")] = "default",
    expires_in_hours: Annotated[
        float | None, typer.Option("--expires-in-hours", help="Expire after this many hours.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """A key for a member, restricted to WORKSPACE; printed once (admins)."""
    with session(home, api_key, output) as s:
        expires = (
            s.service.clock.now() + timedelta(hours=expires_in_hours)
            if expires_in_hours is not None
            else None
        )
        created = s.service.create_api_key(
            s.actor, workspace, principal, name=name, scope=scope, expires_at=expires
        )
        emit(output, created.to_dict(), lambda: pairs(created.to_dict()))


@apikey_app.command("list")
def apikey_list(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Keys restricted to WORKSPACE (admins)."""
    with session(home, api_key, output) as s:
        items = s.service.list_api_keys(s.actor, workspace)
        emit(
            output,
            [k.to_dict() for k in items],
            lambda: table(
                None,
                ["id", "name", "principal", "scope", "expires", "revoked", "last used"],
                [
                    [
                        k.id,
                        k.name,
                        k.principal_id,
                        k.scope.label,
                        d["expires_at"],
                        d["revoked_at"],
                        d["last_used_at"],
                    ]
                    for k in items
                    for d in [k.to_dict()]
                ],
            ),
        )


@apikey_app.command("revoke")
def apikey_revoke(
    workspace: WsArg,
    key_id: Annotated[str, typer.Argument(help="Key id (not the key itself).")],
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Revoke a key at once (admins)."""
    with session(home, api_key, output) as s:
        info = s.service.revoke_api_key(s.actor, workspace, key_id)
        emit(output, info.to_dict(), lambda: typer.echo(f"revoked {info.id}"))


@ownership_app.command("transfer")
def ownership_transfer(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Create a one-time claim token (72 h) for the next owner (owner)."""
    with session(home, api_key, output) as s:
        transfer = s.service.create_transfer(s.actor, workspace)
        emit(output, transfer.to_dict(), lambda: pairs(transfer.to_dict()))


@ownership_app.command("list")
def ownership_list(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Transfers of WORKSPACE and their state (owner)."""
    with session(home, api_key, output) as s:
        items = s.service.list_transfers(s.actor, workspace)
        emit(
            output,
            [t.to_dict() for t in items],
            lambda: table(
                None,
                ["id", "state", "created", "expires"],
                [
                    [t.id, t.state, t.to_dict()["created_at"], t.to_dict()["expires_at"]]
                    for t in items
                ],
            ),
        )


@ownership_app.command("cancel")
def ownership_cancel(
    workspace: WsArg,
    transfer_id: Annotated[str, typer.Argument(help="Transfer id.")],
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Cancel an open transfer (owner)."""
    with session(home, api_key, output) as s:
        transfer = s.service.cancel_transfer(s.actor, workspace, transfer_id)
        emit(output, transfer.to_dict(), lambda: typer.echo(f"{transfer.id} {transfer.state}"))


@ownership_app.command("claim")
def ownership_claim(
    token: Annotated[str, typer.Argument(help="The claim token (pht_…).")],
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Become the owner; the previous owner stays on as admin."""
    with session(home, api_key, output) as s:
        transfer = s.service.claim_transfer(s.actor, token)
        emit(output, transfer.to_dict(), lambda: typer.echo(f"you now own {transfer.workspace_id}"))


@user_app.command("create")
def user_create(
    name: Annotated[str, typer.Argument(help="Login-style name, e.g. bob or validator.")],
    agent: Annotated[bool, typer.Option("--agent", help="An agent, not a person.")] = False,
    site_admin: Annotated[bool, typer.Option(help="Owner rights everywhere.")] = False,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Create a user or agent of the installation (site admins)."""
    with session(home, api_key, output) as s:
        made = s.service.create_user(
            s.actor, name, site_admin=site_admin, kind="agent" if agent else "user"
        )
        emit(output, made.to_dict(), lambda: pairs(made.to_dict()))


@user_app.command("list")
def user_list(
    home: HomeOpt = None, api_key: ApiKeyOpt = None, output: OutputOpt = Output.TEXT
) -> None:
    """Every user and agent (site admins)."""
    with session(home, api_key, output) as s:
        items = s.service.list_principals(s.actor)
        emit(
            output,
            [p.to_dict() for p in items],
            lambda: table(
                None,
                ["name", "id", "kind", "site admin"],
                [[p.name, p.id, p.kind.value, "yes" if p.site_admin else ""] for p in items],
            ),
        )


@user_app.command("key")
def user_key(
    name: Annotated[str, typer.Argument(help="Whose key (name or id).")],
    scope: Annotated[str, typer.Option(help="read, write or admin.")] = "write",
    label: Annotated[str, typer.Option("--name", help="A label for the key.")] = "personal",
    expires_in_hours: Annotated[
        float | None, typer.Option("--expires-in-hours", help="Expire after this many hours.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """An unrestricted key for NAME (creates workspaces, claims ownership); shown once."""
    with session(home, api_key, output) as s:
        expires = (
            s.service.clock.now() + timedelta(hours=expires_in_hours)
            if expires_in_hours is not None
            else None
        )
        created = s.service.create_personal_key(
            s.actor, name, name=label, scope=scope, expires_at=expires
        )
        emit(output, created.to_dict(), lambda: pairs(created.to_dict()))

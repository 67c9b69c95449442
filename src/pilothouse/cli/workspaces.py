"""``pilothouse workspace …``: create, list, show, update, archive."""

from __future__ import annotations

from typing import Annotated, Any

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
from pilothouse.workspace.models import Workspace

app = typer.Typer(help="Create and manage workspaces.", no_args_is_help=True)


def _rows(items: list[Workspace]) -> list[list[Any]]:
    return [
        [
            w.name,
            w.id,
            w.role.label if w.role else "",
            f"{w.used_bytes}/{w.quota_bytes}",
            "archived" if w.archived_at else "",
            w.description,
        ]
        for w in items
    ]


def show_workspace(output: Output, ws: Workspace) -> None:
    emit(output, ws.to_dict(), lambda: pairs(ws.to_dict()))


@app.command("create")
def create(
    name: Annotated[str, typer.Argument(help="Lowercase name, e.g. gitops-pipeline-prod.")],
    description: Annotated[str, typer.Option(help="What the workspace is for.")] = "",
    quota: Annotated[int | None, typer.Option(help="Quota in bytes (default 50 GiB).")] = None,
    intelligence: Annotated[bool, typer.Option(help="Index text files for search.")] = True,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Create a workspace; you become its owner."""
    with session(home, api_key, output) as s:
        ws = s.service.create_workspace(
            s.actor, name, description=description, quota_bytes=quota, intelligence=intelligence
        )
        show_workspace(output, ws)


@app.command("list")
def list_(
    all_: Annotated[bool, typer.Option("--all", help="Include archived workspaces.")] = False,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Workspaces you are a member of."""
    with session(home, api_key, output) as s:
        items = s.service.list_workspaces(s.actor, include_archived=all_)
        emit(
            output,
            [w.to_dict() for w in items],
            lambda: table(
                None,
                ["name", "id", "role", "used/quota bytes", "state", "description"],
                _rows(items),
            ),
        )


@app.command("show")
def show(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Details of one workspace."""
    with session(home, api_key, output) as s:
        show_workspace(output, s.service.get_workspace(s.actor, workspace))


@app.command("update")
def update(
    workspace: WsArg,
    name: Annotated[str | None, typer.Option(help="New name.")] = None,
    description: Annotated[str | None, typer.Option(help="New description.")] = None,
    quota: Annotated[int | None, typer.Option(help="New quota in bytes.")] = None,
    intelligence: Annotated[
        bool | None, typer.Option("--intelligence/--no-intelligence", help="Search indexing.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Rename, describe, resize or toggle indexing (admins)."""
    with session(home, api_key, output) as s:
        ws = s.service.update_workspace(
            s.actor,
            workspace,
            name=name,
            description=description,
            quota_bytes=quota,
            intelligence=intelligence,
        )
        show_workspace(output, ws)


@app.command("archive")
def archive(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Make a workspace read-only and hide it from listings (owner)."""
    with session(home, api_key, output) as s:
        show_workspace(output, s.service.archive_workspace(s.actor, workspace))

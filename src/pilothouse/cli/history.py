"""``pilothouse events`` and ``pilothouse audit …``: what happened, and who did it."""

from __future__ import annotations

from typing import Annotated

import typer

from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    Output,
    OutputOpt,
    WsArg,
    emit,
    session,
    table,
)

audit_app = typer.Typer(help="Read and verify the hash-chained audit trail.", no_args_is_help=True)


def events(
    workspace: WsArg,
    after: Annotated[int, typer.Option(help="Only events after this cursor.")] = 0,
    type_: Annotated[
        list[str] | None, typer.Option("--type", help="Event type, e.g. file.written or lock.*.")
    ] = None,
    path: Annotated[str | None, typer.Option(help="Only events under this path.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-1000).")] = 100,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """The workspace's event log, oldest first; resume with --after CURSOR."""
    with session(home, api_key, output) as s:
        items = s.service.list_events(
            s.actor, workspace, after=after, types=type_ or (), path_prefix=path, limit=limit
        )
        emit(
            output,
            [e.to_dict() for e in items],
            lambda: table(
                None,
                ["cursor", "at", "type", "path", "actor"],
                [
                    [e.cursor, e.to_dict()["at"], e.type, e.path, e.agent_name or e.actor_id]
                    for e in items
                ],
            ),
        )


@audit_app.command("list")
def audit_list(
    workspace: WsArg,
    after: Annotated[int, typer.Option(help="Only entries after this sequence number.")] = 0,
    action: Annotated[str | None, typer.Option(help="Only this action, e.g. file.write.")] = None,
    limit: Annotated[int, typer.Option(help="At most this many (1-1000).")] = 100,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Who did what, through which interface, oldest first."""
    with session(home, api_key, output) as s:
        items = s.service.list_audit(
            s.actor, workspace, after_seq=after, action=action, limit=limit
        )
        emit(
            output,
            [e.to_dict() for e in items],
            lambda: table(
                None,
                ["seq", "at", "principal", "agent", "via", "action", "target", "versions"],
                [
                    [
                        e.seq,
                        e.to_dict()["at"],
                        e.principal_id,
                        e.agent_name,
                        e.interface,
                        e.action,
                        e.target,
                        f"{e.before_version or ''}->{e.after_version or ''}"
                        if e.before_version or e.after_version
                        else "",
                    ]
                    for e in items
                ],
            ),
        )


@audit_app.command("verify")
def audit_verify(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Replay the hash chain: exit 0 when intact, 1 naming the first broken entry."""
    with session(home, api_key, output) as s:
        verdict = s.service.verify_audit(s.actor, workspace)

        def render() -> None:
            if verdict.ok:
                typer.echo(f"audit chain intact: {verdict.entries} entries verified")
            else:
                typer.echo(
                    f"audit chain BROKEN at entry seq={verdict.first_broken_seq} "
                    f"(id {verdict.first_broken_id}): {verdict.reason}; "
                    f"{verdict.entries} entries before it verified"
                )

        emit(output, verdict.to_dict(), render)
    if not verdict.ok:
        raise typer.Exit(1)

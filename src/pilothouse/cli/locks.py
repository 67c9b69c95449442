"""``pilothouse lock …``: leases on files and directory trees."""

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
    pairs,
    session,
    table,
)
from pilothouse.workspace.models import LockInfo

app = typer.Typer(help="Acquire, heartbeat, release and inspect locks.", no_args_is_help=True)

LockIdArg = Annotated[str, typer.Argument(help="Lock id printed by `lock acquire`.")]
TokenOpt = Annotated[str, typer.Option("--token", help="The lock's secret token.")]


def _table(items: list[LockInfo]) -> None:
    table(
        None,
        ["lock id", "path", "scope", "fencing", "holder", "enforce", "expires"],
        [
            [
                lk.id,
                lk.path,
                lk.scope,
                lk.fencing_token,
                lk.agent_name or lk.holder_id,
                "yes" if lk.enforce else "",
                lk.to_dict()["expires_at"],
            ]
            for lk in items
        ],
    )


@app.command("acquire")
def acquire(
    workspace: WsArg,
    path: Annotated[str, typer.Argument(help="File path, or directory with --tree.")],
    tree: Annotated[
        bool, typer.Option("--tree", help="Lock the whole subtree under PATH.")
    ] = False,
    ttl: Annotated[
        int | None, typer.Option("--ttl", help="Lease in seconds (1-3600; 300).")
    ] = None,
    enforce: Annotated[
        bool, typer.Option("--enforce", help="Refuse writes under PATH without the token.")
    ] = False,
    wait: Annotated[float, typer.Option("--wait", help="Wait up to S seconds if held.")] = 0,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Lease PATH; prints the lock id, the secret token and the fencing token."""
    with session(home, api_key, output) as s:
        grant = s.service.acquire_lock(
            s.actor,
            workspace,
            path,
            scope="tree" if tree else "file",
            ttl_seconds=ttl,
            enforce=enforce,
            wait_seconds=wait,
        )
        emit(output, grant.to_dict(), lambda: pairs(grant.to_dict()))


@app.command("heartbeat")
def heartbeat(
    workspace: WsArg,
    lock_id: LockIdArg,
    token: TokenOpt,
    ttl: Annotated[int | None, typer.Option("--ttl", help="New lease from now, seconds.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Extend a live lease."""
    with session(home, api_key, output) as s:
        lock = s.service.heartbeat_lock(s.actor, workspace, lock_id, token, ttl_seconds=ttl)
        emit(output, lock.to_dict(), lambda: pairs(lock.to_dict()))


@app.command("release")
def release(
    workspace: WsArg,
    lock_id: LockIdArg,
    token: TokenOpt,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Release a lease you hold."""
    with session(home, api_key, output) as s:
        lock = s.service.release_lock(s.actor, workspace, lock_id, token)
        emit(output, lock.to_dict(), lambda: typer.echo(f"released {lock.id} on {lock.path}"))


@app.command("list")
def list_(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Live leases of the workspace."""
    with session(home, api_key, output) as s:
        items = s.service.list_locks(s.actor, workspace)
        emit(output, [lk.to_dict() for lk in items], lambda: _table(items))


@app.command("status")
def status(
    workspace: WsArg,
    path: Annotated[str, typer.Argument(help="Path (end with / for a directory).")],
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Leases that cover PATH or lie inside it."""
    with session(home, api_key, output) as s:
        items = s.service.lock_status(s.actor, workspace, path)
        emit(output, [lk.to_dict() for lk in items], lambda: _table(items))


@app.command("break")
def break_(
    workspace: WsArg,
    lock_id: LockIdArg,
    reason: Annotated[str, typer.Option(help="Why; recorded in the audit trail.")] = "",
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Force-end someone's lease (admins)."""
    with session(home, api_key, output) as s:
        lock = s.service.break_lock(s.actor, workspace, lock_id, reason=reason)
        emit(output, lock.to_dict(), lambda: typer.echo(f"broke {lock.id} on {lock.path}"))

"""``pilothouse search`` and ``pilothouse index``: ask the workspace by meaning.

Without a running server nobody drains the indexing queue, so the CLI indexes
what is pending for the workspace in-process before it searches (the first time
this loads the embedding model, a few seconds).
"""

from __future__ import annotations

from typing import Annotated

import typer

from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    Output,
    OutputOpt,
    Session,
    WsArg,
    emit,
    pairs,
    session,
    stdout,
    table,
)
from pilothouse.workspace.models import SearchResult

index_app = typer.Typer(help="The search index of a workspace.", no_args_is_help=True)


def _catch_up(s: Session, workspace: str) -> None:
    status = s.service.search_status(s.actor, workspace)
    if status["queue_depth"]:
        with stdout.status(f"indexing {status['queue_depth']} pending versions…"):
            s.service.index_pending(workspace)


def _render(result: SearchResult) -> None:
    table(
        f"{len(result.hits)} hits · mode {result.mode}"
        + (f" · {result.pending} still queued" if result.pending else ""),
        ["score", "path", "version", "lines", "snippet"],
        [
            [
                f"{h.score:.3f}",
                h.path,
                h.version,
                f"{h.line_start}-{h.line_end}",
                h.snippet.replace("\n", " ")[:160],
            ]
            for h in result.hits
        ],
    )


def search(
    workspace: WsArg,
    query: Annotated[str | None, typer.Argument(help="What you are looking for, in words.")] = None,
    mode: Annotated[str, typer.Option(help="hybrid, semantic or lexical.")] = "hybrid",
    limit: Annotated[int, typer.Option(help="Hits to show (1-100).")] = 10,
    path: Annotated[str | None, typer.Option(help="Only under this directory.")] = None,
    kind: Annotated[
        list[str] | None, typer.Option(help="yaml, json, markdown, log, code or text.")
    ] = None,
    history: Annotated[bool, typer.Option("--history", help="Old versions count too.")] = False,
    like: Annotated[
        str | None, typer.Option("--like", help="Instead of QUERY: files most like this path.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Search WORKSPACE by meaning and words; every hit cites path, version and lines."""
    if (query is None) == (like is None):
        raise typer.BadParameter("give a QUERY or --like PATH")
    with session(home, api_key, output) as s:
        _catch_up(s, workspace)
        if like is not None:
            result = s.service.search_similar(
                s.actor,
                workspace,
                path=like,
                limit=limit,
                path_prefix=path,
                kinds=kind or (),
                include_history=history,
            )
        else:
            result = s.service.search(
                s.actor,
                workspace,
                query or "",
                mode=mode,
                limit=limit,
                path_prefix=path,
                kinds=kind or (),
                include_history=history,
            )
        emit(output, result.to_dict(), lambda: _render(result))


@index_app.command("status")
def index_status(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Queue depth, indexed documents and chunks, model and mode."""
    with session(home, api_key, output) as s:
        status = s.service.search_status(s.actor, workspace)
        emit(output, status, lambda: pairs(status))


@index_app.command("reindex")
def index_reindex(
    workspace: WsArg,
    now: Annotated[
        bool, typer.Option("--now", help="Index here instead of leaving it to a server.")
    ] = False,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Queue every live file of WORKSPACE for indexing again (admins)."""
    with session(home, api_key, output) as s:
        queued = s.service.reindex(s.actor, workspace)
        done = s.service.index_pending(workspace) if now else 0
        emit(
            output,
            {"queued": queued, "indexed": done},
            lambda: typer.echo(f"queued {queued}; indexed {done} here"),
        )

"""The ``pilothouse`` entry point: assembles the command groups, maps errors.

:func:`main` is the one place that turns a :class:`PilothouseError` into
``error: <code>: <reason>`` and exit status 1. Anything else that escapes is a
bug; it is reported in one line too (set ``PILOTHOUSE_DEBUG=1`` for the
traceback) rather than as a wall of frames.
"""

from __future__ import annotations

import os
import sys
import traceback
from collections.abc import Sequence
from typing import Annotated

import typer

from pilothouse import __version__
from pilothouse.cli import (
    files,
    history,
    locks,
    mcp_stdio,
    people,
    pipelines,
    search,
    serve,
    validate,
    workspaces,
)
from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    Output,
    OutputOpt,
    emit,
    pairs,
    session,
    settings_for,
)
from pilothouse.core.errors import PilothouseError
from pilothouse.workspace.errors import Forbidden
from pilothouse.workspace.service import WorkspaceService

app = typer.Typer(
    name="pilothouse",
    help=(
        "Pilothouse: agentic GitOps with a persistent workspace.\n\n"
        "Start with `pilothouse init`, then `pilothouse workspace create NAME`. Commands act "
        "on --home (or $PILOTHOUSE_HOME, default ./.pilothouse) as the local user, or as the "
        "principal of --api-key ($PILOTHOUSE_API_KEY). Add --output json for scripts."
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)
app.add_typer(workspaces.app, name="workspace")
app.add_typer(files.app, name="file")
app.add_typer(locks.app, name="lock")
app.add_typer(history.audit_app, name="audit")
app.add_typer(people.member_app, name="member")
app.add_typer(people.agent_app, name="agent")
app.add_typer(people.apikey_app, name="apikey")
app.add_typer(people.ownership_app, name="ownership")
app.add_typer(people.user_app, name="user")
app.command("events")(history.events)
app.command("serve")(serve.serve)
app.command("search")(search.search)
app.command("mcp")(mcp_stdio.serve_stdio)
app.add_typer(pipelines.repo_app, name="repo")
app.add_typer(pipelines.pipeline_app, name="pipeline")
app.command("agents")(pipelines.agents)
app.command("worker")(pipelines.worker)
app.command("validate")(validate.validate)
app.add_typer(search.index_app, name="index")


@app.callback()
def root(home: HomeOpt = None, api_key: ApiKeyOpt = None) -> None:
    """Options given before the command apply to it (``pilothouse --home DIR file list WS``)."""
    # Handed on through the environment, which every command's options read.
    if home is not None:
        os.environ["PILOTHOUSE_HOME"] = str(home)
    if api_key is not None:
        os.environ["PILOTHOUSE_API_KEY"] = api_key


@app.command("init")
def init(
    user: Annotated[str, typer.Option(help="Name of the first (site admin) user.")] = "admin",
    home: HomeOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Create the home, its database and the first user; print an admin API key once."""
    settings = settings_for(home)
    service = WorkspaceService(settings)
    try:
        principal, key = service.initialize(user)
    finally:
        service.close()
    body = {"home": str(settings.home.resolve()), "user": principal.to_dict(), "api_key": key.key}

    def render() -> None:
        pairs({"home": body["home"], "user": principal.name, "api_key": key.key})
        typer.echo("Keep the API key: it is shown only this once.")

    emit(output, body, render)


@app.command("gc")
def gc(
    grace: Annotated[
        float | None, typer.Option(help="Only blobs unreferenced for this many seconds.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Delete stored bytes that no file version references any more."""
    with session(home, api_key, output) as s:
        if not s.actor.principal.site_admin:
            raise Forbidden("garbage collection is for site administrators")
        removed = s.service.collect_garbage(grace_seconds=grace)
        emit(output, {"removed_blobs": removed}, lambda: typer.echo(f"removed {removed} blobs"))


@app.command("version")
def version() -> None:
    """Print the Pilothouse version."""
    typer.echo(__version__)


def run(argv: Sequence[str] | None = None) -> int:
    """Run one command; returns the exit status instead of exiting (tests call this)."""
    try:
        app(args=list(argv) if argv is not None else None, prog_name="pilothouse")
    except SystemExit as e:  # typer's standalone mode: usage errors (2), typer.Exit
        return e.code if isinstance(e.code, int) else (0 if e.code is None else 1)
    except PilothouseError as e:
        typer.echo(f"error: {e.code}: {e.message}", err=True)
        return 1
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        return 130
    except Exception as e:  # noqa: BLE001 - last resort: a bug, reported in one line
        if os.environ.get("PILOTHOUSE_DEBUG"):
            traceback.print_exc()
        typer.echo(
            f"error: internal: {type(e).__name__}: {e} (set PILOTHOUSE_DEBUG=1 for details)",
            err=True,
        )
        return 70
    return 0


def main() -> None:
    sys.exit(run())


if __name__ == "__main__":
    main()

"""What every command needs: settings, the service, the actor, and output.

Settings are read here, at the edge, from the environment and the ``--home``
option; nothing below the CLI reads the environment.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.console import Console
from rich.table import Table

from pilothouse.core.settings import Settings
from pilothouse.workspace.errors import NotFound
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

if TYPE_CHECKING:
    from pilothouse.pipeline.engine import Pipelines

stdout = Console(width=None if sys.stdout.isatty() else 160)


class Output(StrEnum):
    TEXT = "text"
    JSON = "json"


HomeOpt = Annotated[
    Path | None,
    typer.Option(
        "--home",
        envvar="PILOTHOUSE_HOME",
        help="Data directory (database, blobs). Default ./.pilothouse.",
        show_default=False,
    ),
]
ApiKeyOpt = Annotated[
    str | None,
    typer.Option(
        "--api-key",
        envvar="PILOTHOUSE_API_KEY",
        help="Act as this key's principal instead of the local user from `init`.",
        show_default=False,
    ),
]
WsArg = Annotated[str, typer.Argument(help="Workspace name or id.")]
OutputOpt = Annotated[
    Output, typer.Option("--output", "-o", help="text for people, json for scripts.")
]


@dataclass
class Session:
    service: WorkspaceService
    actor: Actor
    output: Output

    @cached_property
    def pipelines(self) -> Pipelines:
        """The pipeline engine on this home (no workers: commands only queue and read)."""
        from pilothouse.pipeline.engine import Pipelines  # pygit2 and friends, when needed

        return Pipelines(self.service, self.service.settings)


def settings_for(home: Path | None) -> Settings:
    settings = Settings()
    if home is not None:
        settings = settings.model_copy(update={"home": home})
    return settings


def open_service(settings: Settings) -> WorkspaceService:
    """The service on an initialised home; a mistyped --home is refused, not created."""
    if not (settings.home / "pilothouse.db").exists() and settings.database.url is None:
        raise NotFound(f"no Pilothouse home at {settings.home}; run `pilothouse init` first")
    service = WorkspaceService(settings)
    try:
        service.local_actor()
    except NotFound:
        service.close()
        raise
    return service


class LogLevel(StrEnum):
    DEBUG = "debug"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"


LogLevelOpt = Annotated[LogLevel, typer.Option(help="How much to log on stderr.")]


@contextmanager
def session(home: Path | None, api_key: str | None, output: Output) -> Iterator[Session]:
    """Open the service on the home and resolve who is acting."""
    service = open_service(settings_for(home))
    try:
        if api_key:
            actor = service.authenticate(api_key, Interface.CLI)
        else:
            actor = service.local_actor(Interface.CLI)
        yield Session(service, actor, output)
    finally:
        service.close()


def emit(output: Output, data: Any, render: Callable[[], None] | None = None) -> None:
    """Print ``data`` as JSON, or call ``render`` for people (default: JSON too)."""
    if output is Output.JSON or render is None:
        sys.stdout.write(json.dumps(data, indent=2, ensure_ascii=False) + "\n")
    else:
        render()


def table(title: str | None, columns: list[str], rows: list[list[Any]]) -> None:
    grid = Table(title=title, show_lines=False, header_style="bold")
    for column in columns:
        grid.add_column(column, overflow="fold")
    for row in rows:
        grid.add_row(*["" if v is None else str(v) for v in row])
    stdout.print(grid)


def pairs(data: dict[str, Any]) -> None:
    width = max((len(k) for k in data), default=0)
    for key, value in data.items():
        stdout.print(
            f"[bold]{key.ljust(width)}[/bold]  {'' if value is None else value}", highlight=False
        )

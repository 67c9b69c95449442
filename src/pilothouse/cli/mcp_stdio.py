"""``pilothouse mcp``: the MCP tools over stdio, for desktop clients.

Acts as the local user from ``pilothouse init``, or as the principal of
``$PILOTHOUSE_API_KEY``. Only MCP messages go to stdout.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from pilothouse.cli.session import HomeOpt
from pilothouse.mcp import __main__ as stdio


def serve_stdio(
    workspace: Annotated[
        str | None, typer.Option(help="Workspace used when a tool call names none.")
    ] = None,
    home: HomeOpt = None,
) -> None:
    """Serve the workspace's MCP tools on stdin/stdout (Claude Desktop, IDEs, agents)."""
    argv = [
        *(["--home", str(home)] if home else []),
        *(["--workspace", workspace] if workspace else []),
    ]
    code = stdio.main(argv)
    if code:
        sys.exit(code)

"""``python -m pilothouse.mcp``: MCP over stdio on one Pilothouse home.

This is an edge, so it reads the environment: the home from ``--home`` or
``$PILOTHOUSE_HOME`` (default ``./.pilothouse``), and who acts from
``$PILOTHOUSE_API_KEY`` (that key's principal, re-checked on every call, so a
revoked key stops working) or else the local user ``pilothouse init`` created.
``--workspace`` names the workspace a call means when it omits ``workspace``.
Only MCP messages go to stdout; diagnostics go to stderr.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.mcp import identity
from pilothouse.mcp.serving import run_stdio
from pilothouse.workspace.service import WorkspaceService


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m pilothouse.mcp",
        description="Serve the workspace over MCP stdio.",
    )
    parser.add_argument("--home", type=Path, help="data directory (default $PILOTHOUSE_HOME)")
    parser.add_argument("--workspace", help="workspace used when a call names none")
    args = parser.parse_args(argv)
    settings = Settings()
    if args.home is not None:
        settings = settings.model_copy(update={"home": args.home})
    if settings.database.url is None and not (settings.home / "pilothouse.db").exists():
        print(
            f"pilothouse-mcp: no Pilothouse home at {settings.home}; run `pilothouse init`",
            file=sys.stderr,
        )
        return 2
    service = WorkspaceService(settings)
    try:
        api_key = os.environ.get("PILOTHOUSE_API_KEY")
        resolve = (
            identity.key_resolver(service, api_key) if api_key else identity.local_resolver(service)
        )
        resolve(None)  # fail at start, not on the first call, for a bad key or home
        run_stdio(service, resolve, default_workspace=args.workspace)
    except PilothouseError as e:
        print(f"pilothouse-mcp: {e}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130
    finally:
        service.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())

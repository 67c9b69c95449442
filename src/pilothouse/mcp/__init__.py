"""The MCP interface: the workspace as a handful of action-routed tools.

Agents in any language reach the workspace through MCP as well as REST. Tools are
nouns (``workspace``, ``file``, ``lock``, ``event``, ``audit``, ``member``,
``apikey``, ``ownership``, ``repo``, ``pipeline`` …), each taking an ``action`` and
that action's arguments; ``action="describe"`` returns the actions with their JSON
Schemas. Every call goes through :class:`~pilothouse.workspace.service.WorkspaceService`
(or the pipeline engine built on it) as the caller's
:class:`~pilothouse.workspace.models.Actor`, so MCP is authorised, audited and
evented exactly like REST and the CLI.

- :mod:`~pilothouse.mcp.registry` — the declarative action table others extend;
- :mod:`~pilothouse.mcp.tools` — the built-in tools;
- :mod:`~pilothouse.mcp.server` — :func:`build_server`, routing and errors;
- :mod:`~pilothouse.mcp.identity` — who is calling (bearer key or local user);
- :mod:`~pilothouse.mcp.serving` — Streamable HTTP, SSE and stdio.

This package sits beside ``api`` and ``cli`` and imports neither.
"""

from pilothouse.mcp.identity import (
    Resolver,
    bearer_resolver,
    fixed_resolver,
    key_resolver,
    local_resolver,
)
from pilothouse.mcp.registry import Call, Registry, ToolSpec, register, tool
from pilothouse.mcp.server import build_server
from pilothouse.mcp.serving import (
    StreamableHTTPApp,
    http_routes,
    mount,
    run_stdio,
    sse_app,
    standalone_app,
    streamable_http_app,
    transport_security,
)

__all__ = [
    "Call",
    "Registry",
    "Resolver",
    "StreamableHTTPApp",
    "ToolSpec",
    "bearer_resolver",
    "build_server",
    "fixed_resolver",
    "http_routes",
    "key_resolver",
    "local_resolver",
    "mount",
    "register",
    "run_stdio",
    "sse_app",
    "standalone_app",
    "streamable_http_app",
    "tool",
    "transport_security",
]

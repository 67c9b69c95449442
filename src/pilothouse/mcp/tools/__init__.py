"""The built-in tools; importing this package registers them in ``registry.DEFAULT``.

One module per concern, each declaring its tools with :func:`pilothouse.mcp.registry.tool`
and their actions with the ``@tool.action(...)`` decorator. A later tool (``webhook``,
``search``, ``pipeline`` …) is a new module here, imported below; nothing else changes.
Import order is the order clients list the tools in.
"""

# isort: off
from pilothouse.mcp.tools import workspaces, files, locks, activity, people, transfers, search
from pilothouse.mcp.tools import pipelines, validate

# isort: on

__all__ = [
    "activity",
    "files",
    "locks",
    "people",
    "pipelines",
    "search",
    "transfers",
    "validate",
    "workspaces",
]

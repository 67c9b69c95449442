"""The HTTP front door: REST under ``/api/v1``, MCP at ``/mcp`` and ``/sse``.

One ASGI application (:func:`pilothouse.api.app.create_app`) in front of
:class:`~pilothouse.workspace.service.WorkspaceService`, so every interface shares
the same authorisation, audit and events.
"""

API = "/api/v1"
"""Prefix of every REST route; part of each route's template (metrics, logs)."""

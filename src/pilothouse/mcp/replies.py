"""Tool results: one JSON object, as text and as structured content.

A successful call returns the handler's JSON object twice: as ``structuredContent``
(for clients that read it) and as one text block holding the same JSON (for the
many that read only text). A failed call is a *tool error* (``isError: true``)
rather than a JSON-RPC error, so the model sees it and can correct itself. Its
object is the shape REST uses, with the stable code every interface shares::

    {"error": {"code": "lock_held", "message": "…", "details": {"holder_id": "…"}}}

Nothing else is ever put in an error: no exception text from below the workspace,
no traceback (those go to the server log, under an ``internal`` reply).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from mcp_types import CallToolResult, TextContent

from pilothouse.core.errors import PilothouseError

INTERNAL = "internal"


def success(reply: Mapping[str, Any]) -> CallToolResult:
    body = dict(reply)
    return CallToolResult(content=[_text(body)], structured_content=body)


def failure(code: str, message: str, details: Mapping[str, Any] | None = None) -> CallToolResult:
    body = {"error": {"code": code, "message": message, "details": dict(details or {})}}
    return CallToolResult(content=[_text(body)], structured_content=body, is_error=True)


def from_error(error: PilothouseError) -> CallToolResult:
    return failure(error.code, error.message, error.details)


def _text(body: Mapping[str, Any]) -> TextContent:
    return TextContent(type="text", text=json.dumps(body, ensure_ascii=False))

"""Arguments of MCP actions: pydantic at the wire, strict about names, lax about spelling.

Every action validates its own arguments with one :class:`Arguments` model. The
models forbid unknown fields, so a misspelt argument is an ``invalid_argument``
error instead of a silent no-op. They are lax about *how* a value is spelt,
because MCP clients differ: the Inspector CLI sends every ``--tool-arg`` as text,
LLM hosts sometimes send lists as JSON text. So integers and booleans accept their
text forms, lists accept a JSON array or comma-separated text, and maps accept a
JSON object in text.

The one field that must never be reinterpreted is file ``content``: it is stored
byte for byte, so it is ``strict`` (text in, the same text stored) and the server
never JSON-parses it (see :mod:`pilothouse.mcp.server`).
"""

from __future__ import annotations

import json
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field


class Arguments(BaseModel):
    """Base of every action's argument model."""

    model_config = ConfigDict(extra="forbid", frozen=True, coerce_numbers_to_str=True)


def _text_list(value: Any) -> Any:
    if isinstance(value, str):
        text = value.strip()
        if text.startswith("["):
            try:
                return json.loads(text)
            except ValueError:
                return value
        return [part.strip() for part in text.split(",") if part.strip()]
    return value


def _text_map(value: Any) -> Any:
    if isinstance(value, str) and value.strip().startswith("{"):
        try:
            return json.loads(value)
        except ValueError:
            return value
    return value


WorkspaceRef = Annotated[
    str, Field(min_length=1, max_length=128, description="Workspace name or id.")
]
FilePath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="Absolute file path in the workspace, e.g. /status/validated.json.",
    ),
]
LockToken = Annotated[
    str | None,
    Field(
        max_length=256,
        description="Token of an enforced lock covering the path (from lock acquire).",
    ),
]
IfVersion = Annotated[
    int | None,
    Field(
        ge=0,
        description="Only if the newest version is this one (optimistic concurrency); "
        "0 means the file must not exist.",
    ),
]
Version = Annotated[int | None, Field(ge=1, description="A version number; default the newest.")]
Limit = Annotated[int, Field(ge=1, le=1000, description="Most items to return (1-1000).")]
TextList = Annotated[list[str], BeforeValidator(_text_list)]
"""A list of strings; also accepts a JSON array or comma-separated values as text."""
TextMap = Annotated[dict[str, str], BeforeValidator(_text_map)]
"""A string-to-string map; also accepts a JSON object as text."""

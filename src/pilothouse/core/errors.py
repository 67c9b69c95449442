"""The root of every error Pilothouse raises on purpose.

Each domain has one root below :class:`PilothouseError` (``WorkspaceError``,
later ``PipelineError`` and ``IntegrationError``) and every instance carries a
stable machine ``code``. Interfaces translate codes, never messages: the REST API
maps a code to a status, the MCP server to a tool error, the CLI to an exit code.

    PilothouseError
    └── WorkspaceError            (pilothouse.workspace.errors)
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class PilothouseError(Exception):
    """An expected failure with a stable ``code`` and a one-line ``message``."""

    code: str = "error"
    retryable: bool = False
    """Whether the same call may succeed later (an outage, a rate limit), not bad input."""

    def __init__(
        self, message: str, *, code: str | None = None, details: Mapping[str, Any] | None = None
    ) -> None:
        super().__init__(message)
        if code is not None:
            self.code = code
        self.message = message
        self.details: dict[str, Any] = dict(details or {})

    def to_dict(self) -> dict[str, Any]:
        """The wire shape shared by every interface: ``{code, message, details}``."""
        return {"code": self.code, "message": self.message, "details": self.details}

    def __str__(self) -> str:
        return f"{self.code}: {self.message}"

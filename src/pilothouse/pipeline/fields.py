"""The pydantic building blocks of the ``pilothouse.yaml`` wire format.

Every wire model forbids unknown keys (so ``trigers:`` is reported, not
ignored) and is strict (so ``retries: "3"`` or ``retries: true`` is refused
rather than coerced). Field types validate *and* convert: a ``Duration`` arrives
as text and leaves as seconds, a ``FilePath`` leaves canonical.

Validators that need to point below their own field (at one option of one
trigger, say) raise a :class:`pydantic.ValidationError` built by :func:`fail`;
pydantic keeps the inner locations, so the error still lands on the right line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any

from pydantic import AfterValidator, BaseModel, ConfigDict, PlainValidator, ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from pilothouse.pipeline import durations, paths
from pilothouse.pipeline.errors import InvalidDuration

AGENT_NAME = re.compile(r"[a-z][a-z0-9_-]{0,62}")
# The same rule as workspace names (pilothouse.workspace.service.WORKSPACE_NAME),
# repeated so the file validates without importing the workspace layer.
WORKSPACE_NAME = re.compile(r"[a-z0-9][a-z0-9._-]{0,62}")
ENV_KEY = re.compile(r"[A-Z_][A-Z0-9_]*")

ERROR_TYPE = "pipeline"
"""The pydantic error type of every message this package writes itself."""

Loc = tuple[str | int, ...]


class WireModel(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True, frozen=True)


def fail(loc: Loc, message: str, value: Any) -> ValidationError:
    """A validation error at ``loc`` below the field being validated."""
    details = InitErrorDetails(type=PydanticCustomError(ERROR_TYPE, message), loc=loc, input=value)
    return ValidationError.from_exception_data("pilothouse.yaml", [details])


def nest(error: ValidationError, prefix: Loc) -> ValidationError:
    """``error`` with every location moved below ``prefix``, types and messages kept."""
    details: list[InitErrorDetails] = []
    for item in error.errors(include_url=False):
        loc = (*prefix, *item["loc"])
        if item["type"] == ERROR_TYPE:
            details.append(
                InitErrorDetails(
                    type=PydanticCustomError(ERROR_TYPE, item["msg"]), loc=loc, input=item["input"]
                )
            )
        elif "ctx" in item:
            details.append(
                InitErrorDetails(type=item["type"], loc=loc, input=item["input"], ctx=item["ctx"])
            )
        else:
            details.append(InitErrorDetails(type=item["type"], loc=loc, input=item["input"]))
    return ValidationError.from_exception_data("pilothouse.yaml", details)


def one_or_many(what: str) -> Callable[[Any], Any]:
    """A before-validator accepting one item where a list is expected."""

    def wrap(value: Any) -> Any:
        if value is None:
            raise ValueError(f"expected {what} or a list of them")
        return value if isinstance(value, list) else [value]

    return wrap


def _named(pattern: re.Pattern[str], what: str, rule: str) -> Callable[[str], str]:
    def check(value: str) -> str:
        if not pattern.fullmatch(value):
            raise ValueError(f"{what} {value!r} must match {pattern.pattern} ({rule})")
        return value

    return check


def _duration(value: Any) -> float:
    if isinstance(value, bool) or not isinstance(value, str | int | float):
        raise ValueError(f"expected a duration such as '30s' or '5m', got {value!r}")
    try:
        return durations.parse_duration(str(value))
    except InvalidDuration as e:
        raise ValueError(e.message) from None


def _positive(seconds: float) -> float:
    if seconds <= 0:
        raise ValueError("the duration must be longer than zero")
    return seconds


def _non_empty(value: str) -> str:
    if not value.strip():
        raise ValueError("expected a non-empty string")
    return value


AgentName = Annotated[
    str,
    AfterValidator(
        _named(AGENT_NAME, "agent name", "lowercase letters, digits, '_' or '-', after a letter")
    ),
]
WorkspaceName = Annotated[
    str,
    AfterValidator(_named(WORKSPACE_NAME, "name", "lowercase letters, digits, '.', '_' or '-'")),
]
EnvKey = Annotated[
    str, AfterValidator(_named(ENV_KEY, "environment variable", "upper case, digits and '_'"))
]
Duration = Annotated[float, PlainValidator(_duration)]
"""Seconds, written as ``30s``, ``5m``, ``1h30m``…; zero allowed."""
PositiveDuration = Annotated[float, PlainValidator(_duration), AfterValidator(_positive)]
FilePath = Annotated[str, AfterValidator(paths.workspace_path)]
"""A canonical absolute workspace file path."""
AnyPath = Annotated[str, AfterValidator(lambda text: paths.workspace_path(text, directory_ok=True))]
"""A canonical absolute workspace path; a trailing ``/`` names a directory."""
Glob = Annotated[str, AfterValidator(paths.glob)]
NonEmpty = Annotated[str, AfterValidator(_non_empty)]

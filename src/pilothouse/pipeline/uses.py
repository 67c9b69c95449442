"""What a stage runs: a built-in agent, a local command, or a remote HTTP agent.

``uses`` defaults to the built-in agent named like the stage, so the seed file
(``validator``, ``tester``…) needs no ``uses`` at all. A command is an argv list,
never a shell string, so nothing in the file is ever shell-interpreted. HTTP
agent URLs may not carry credentials: ``pilothouse.yaml`` lives in git, and
secrets belong in the environment.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Annotated, Any, ClassVar, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, Field

from pilothouse.pipeline import fields

BUILTIN_NAME = re.compile(r"[a-z][a-z0-9_.-]{0,62}")

UsesKind = Literal["builtin", "command", "http"]


@dataclass(frozen=True)
class BuiltinUses:
    """An agent shipped with Pilothouse, by name (``builtin:validator``)."""

    kind: ClassVar[UsesKind] = "builtin"
    name: str


@dataclass(frozen=True)
class CommandUses:
    """A local program run with ``argv`` (no shell)."""

    kind: ClassVar[UsesKind] = "command"
    argv: tuple[str, ...]


@dataclass(frozen=True)
class HttpUses:
    """A remote agent reached over HTTP(S) at ``url``."""

    kind: ClassVar[UsesKind] = "http"
    url: str


Uses = BuiltinUses | CommandUses | HttpUses


def _argument(value: str) -> str:
    if "\x00" in value:
        raise ValueError("a command argument cannot contain NUL")
    return value


def _url(value: str) -> str:
    try:
        parts = urlsplit(value)
        parts.port  # noqa: B018 -- raises ValueError for a malformed port
    except ValueError:
        raise ValueError(f"invalid URL {value!r}") from None
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ValueError(f"expected an http:// or https:// URL, got {value!r}")
    if parts.username is not None or parts.password is not None:
        raise ValueError("the URL must not contain credentials; pass them through env")
    if any(ch.isspace() or not ch.isprintable() for ch in value):
        raise ValueError(f"URL {value!r} contains whitespace or control characters")
    return value


class CommandSpec(fields.WireModel):
    command: Annotated[list[Annotated[str, AfterValidator(_argument)]], Field(min_length=1)]


class HttpSpec(fields.WireModel):
    http: Annotated[str, AfterValidator(_url)]


def parse_uses(value: Any) -> Uses:
    """The ``uses`` field; a pydantic plain validator (raises ``ValueError``)."""
    if isinstance(value, str):
        kind, _, name = value.partition(":")
        if kind != "builtin" or not BUILTIN_NAME.fullmatch(name):
            raise ValueError(
                f"expected 'builtin:<name>', {{command: [...]}} or {{http: URL}}, got {value!r}"
            )
        return BuiltinUses(name=name)
    if isinstance(value, dict) and "command" in value:
        command = CommandSpec.model_validate(value)
        if not command.command[0].strip():
            raise fields.fail(("command", 0), "the program name is empty", command.command[0])
        return CommandUses(argv=tuple(command.command))
    if isinstance(value, dict) and "http" in value:
        return HttpUses(url=HttpSpec.model_validate(value).http)
    raise ValueError(
        f"expected 'builtin:<name>', {{command: [...]}} or {{http: URL}}, got {value!r}"
    )

"""The action table: tool name → actions → (argument model, handler, flags).

Pilothouse offers a few dozen operations. One MCP tool per operation would flood a
model's tool list and its context window, so tools are *nouns* (``file``,
``lock``, ``event`` …) and each call names an ``action``, the way hosted agent
workspaces do it. ``action="describe"`` returns every action of a tool with the
JSON Schema of its arguments, so a model can look up the exact shape on demand.

Each action is declared once, here, as data: its pydantic argument model, the
handler that maps it onto :class:`~pilothouse.workspace.service.WorkspaceService`
(or the pipeline engine, :class:`~pilothouse.pipeline.engine.Pipelines`), and
whether it reads, overwrites or deletes. Everything the wire needs is derived from
that table and cannot drift from it:

- a tool's *input schema* is ``action`` (an enum) plus every action's arguments
  flattened into optional top-level properties of plain JSON types — so clients
  that turn ``key=value`` text into typed values by the schema (the MCP Inspector
  CLI) can call every action; one argument name has one type per tool;
- a tool's *annotations* (``readOnlyHint``, ``destructiveHint``,
  ``idempotentHint``) follow from its actions' flags;
- ``describe`` shows each action's own schema, with what it requires.

Modules add tools and actions at import time, with :func:`tool` and
:meth:`ToolSpec.action` (a decorator) or :func:`register`; the server snapshots
the table when it is built. A test or an embedding can build its own
:class:`Registry` instead of the process-wide :data:`DEFAULT`.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, Generic, TypeVar

from mcp_types import ToolAnnotations

from pilothouse.mcp.wire import Arguments
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService

DESCRIBE = "describe"
"""The action every tool has: its actions and their argument schemas."""

Reply = dict[str, Any]
"""What a handler returns: a JSON object (lists go under a named key)."""

A = TypeVar("A", bound=Arguments)

_KEPT = ("type", "enum", "format", "items", "additionalProperties", "description")


@dataclass(frozen=True)
class Call:
    """What a handler acts with: the façades and the authenticated actor.

    ``pipelines`` is the engine's façade (repositories, triggers, runs); the server
    is given the running one, or builds an idle one for this service.
    """

    service: WorkspaceService
    actor: Actor
    pipelines: Pipelines


Handler = Callable[[Call, A], Reply | Awaitable[Reply]]
"""A plain function runs in a worker thread (the service blocks); a coroutine runs inline."""


@dataclass(frozen=True)
class Action(Generic[A]):
    """One operation of a tool."""

    name: str
    arguments: type[A]
    handler: Handler[A]
    summary: str
    read_only: bool
    destructive: bool = False
    """It deletes or overwrites something (a write replaces, a break ends a lease…)."""
    idempotent: bool = False
    """Repeating it with the same arguments changes nothing more."""
    open_world: bool = False
    """It reaches outside the workspace (URLs, repositories…)."""
    waits: bool = False
    """It may block for up to a minute; it gets its own thread budget."""

    @property
    def is_async(self) -> bool:
        return inspect.iscoroutinefunction(self.handler)

    def schema(self) -> dict[str, Any]:
        """The JSON Schema of this action's arguments."""
        schema: dict[str, Any] = _untitled(self.arguments.model_json_schema())
        schema.setdefault("properties", {})
        return schema

    def argument_names(self) -> list[str]:
        return list(self.arguments.model_fields)


class ToolSpec:
    """A tool and its actions, in declaration order."""

    def __init__(self, name: str, *, title: str, description: str) -> None:
        self.name = name
        self.title = title
        self.description = description
        self.actions: dict[str, Action[Any]] = {}

    def action(
        self,
        name: str,
        arguments: type[A],
        *,
        read_only: bool,
        destructive: bool = False,
        idempotent: bool = False,
        open_world: bool = False,
        waits: bool = False,
        summary: str | None = None,
    ) -> Callable[[Handler[A]], Handler[A]]:
        """Decorator: declare ``name`` with ``arguments`` handled by the function.

        The summary defaults to the first line of the handler's docstring.
        """

        def add(handler: Handler[A]) -> Handler[A]:
            self.add(
                Action(
                    name=name,
                    arguments=arguments,
                    handler=handler,
                    summary=summary or _first_line(handler.__doc__) or name,
                    read_only=read_only,
                    destructive=destructive,
                    idempotent=idempotent,
                    open_world=open_world,
                    waits=waits,
                )
            )
            return handler

        return add

    def add(self, action: Action[Any]) -> None:
        """Add an action; raises ``ValueError`` for a duplicate or a clashing argument type."""
        if action.name == DESCRIBE or action.name in self.actions:
            raise ValueError(f"tool {self.name!r} already has an action {action.name!r}")
        if "action" in action.arguments.model_fields:
            raise ValueError(f"{self.name}.{action.name}: 'action' is reserved for routing")
        self.actions[action.name] = action
        try:
            self.input_schema()
        except ValueError:
            del self.actions[action.name]
            raise

    def action_names(self) -> list[str]:
        return [*self.actions, DESCRIBE]

    def annotations(self) -> ToolAnnotations:
        actions = list(self.actions.values())
        read_only = all(a.read_only for a in actions)
        return ToolAnnotations(
            title=self.title,
            read_only_hint=read_only,
            destructive_hint=False if read_only else any(a.destructive for a in actions),
            idempotent_hint=all(a.read_only or a.idempotent for a in actions),
            open_world_hint=any(a.open_world for a in actions),
        )

    def input_schema(self) -> dict[str, Any]:
        """``action`` plus every action's arguments, flattened and optional."""
        properties: dict[str, dict[str, Any]] = {}
        users: dict[str, list[str]] = {}
        for action in self.actions.values():
            for name, prop in action.schema()["properties"].items():
                flat = _flat(self.name, action.name, name, prop)
                if name in properties:
                    properties[name] = _merge(self.name, name, properties[name], flat)
                else:
                    properties[name] = flat
                users.setdefault(name, []).append(action.name)
        for name, used_by in users.items():
            if len(used_by) < len(self.actions):
                note = f"(for {', '.join(used_by)})"
                text = properties[name].get("description")
                properties[name]["description"] = f"{text} {note}" if text else note
        routing = {
            "type": "string",
            "enum": self.action_names(),
            "description": "What to do; 'describe' returns each action with its argument schema.",
        }
        return {
            "type": "object",
            "properties": {"action": routing, **properties},
            "required": ["action"],
            "additionalProperties": False,
        }

    def tool_description(self) -> str:
        """The tool's description with a one-line synopsis per action."""
        lines = [self.description, "", "Actions (pass `action` plus its arguments):"]
        for action in self.actions.values():
            required = set(action.schema().get("required", []))
            args = ", ".join(
                name if name in required else f"{name}?" for name in action.argument_names()
            )
            lines.append(f"- {action.name}({args}): {action.summary}")
        lines.append(f"- {DESCRIBE}(): every action with the JSON Schema of its arguments.")
        return "\n".join(lines)

    def describe(self) -> Reply:
        return {
            "tool": self.name,
            "description": self.description,
            "actions": [
                {
                    "action": a.name,
                    "summary": a.summary,
                    "read_only": a.read_only,
                    "destructive": a.destructive,
                    "idempotent": a.idempotent,
                    "arguments": a.schema(),
                }
                for a in self.actions.values()
            ],
        }


class Registry:
    """Tools by name, in declaration order."""

    def __init__(self) -> None:
        self._tools: dict[str, ToolSpec] = {}

    def tool(self, name: str, *, title: str, description: str) -> ToolSpec:
        """Declare a tool (or get the one declared under ``name`` with the same text)."""
        existing = self._tools.get(name)
        if existing is not None:
            if (existing.title, existing.description) != (title, description):
                raise ValueError(f"tool {name!r} is already declared differently")
            return existing
        spec = ToolSpec(name, title=title, description=description)
        self._tools[name] = spec
        return spec

    def register(
        self,
        tool: str,
        action: str,
        arguments: type[A],
        handler: Handler[A],
        *,
        read_only: bool,
        destructive: bool = False,
        idempotent: bool = False,
        open_world: bool = False,
        waits: bool = False,
        summary: str | None = None,
    ) -> None:
        """Add an action to a declared tool (the non-decorator spelling)."""
        spec = self._tools.get(tool)
        if spec is None:
            raise KeyError(f"no tool {tool!r}; declare it with tool(...) first")
        spec.action(
            action,
            arguments,
            read_only=read_only,
            destructive=destructive,
            idempotent=idempotent,
            open_world=open_world,
            waits=waits,
            summary=summary,
        )(handler)

    def get(self, name: str) -> ToolSpec | None:
        return self._tools.get(name)

    def tools(self) -> list[ToolSpec]:
        return list(self._tools.values())


DEFAULT = Registry()
"""The process-wide table the built-in tools register into."""


def tool(name: str, *, title: str, description: str) -> ToolSpec:
    """Declare a tool in :data:`DEFAULT`."""
    return DEFAULT.tool(name, title=title, description=description)


def register(
    tool: str,
    action: str,
    arguments: type[A],
    handler: Handler[A],
    *,
    read_only: bool,
    destructive: bool = False,
    idempotent: bool = False,
    open_world: bool = False,
    waits: bool = False,
    summary: str | None = None,
) -> None:
    """Add an action to a tool of :data:`DEFAULT`."""
    DEFAULT.register(
        tool,
        action,
        arguments,
        handler,
        read_only=read_only,
        destructive=destructive,
        idempotent=idempotent,
        open_world=open_world,
        waits=waits,
        summary=summary,
    )


def _first_line(text: str | None) -> str:
    return (text or "").strip().split("\n", 1)[0].strip()


def _untitled(value: Any) -> Any:
    if isinstance(value, dict):
        return {k: _untitled(v) for k, v in value.items() if k != "title"}
    if isinstance(value, list):
        return [_untitled(v) for v in value]
    return value


def _flat(tool: str, action: str, name: str, prop: dict[str, Any]) -> dict[str, Any]:
    """A property as one plain JSON type: optional arms dropped, constraints left to the model."""
    if "anyOf" in prop:
        arms = [arm for arm in prop["anyOf"] if arm.get("type") != "null"]
        if len(arms) != 1:
            raise ValueError(f"{tool}.{action}: argument {name!r} must have one JSON type")
        prop = {**arms[0], **{k: v for k, v in prop.items() if k != "anyOf"}}
    if "type" not in prop:
        raise ValueError(f"{tool}.{action}: argument {name!r} must have one JSON type")
    return {k: prop[k] for k in _KEPT if k in prop}


def _merge(tool: str, name: str, old: dict[str, Any], new: dict[str, Any]) -> dict[str, Any]:
    def shape(p: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in p.items() if k not in ("description", "enum")}

    if shape(old) != shape(new) or ("enum" in old) != ("enum" in new):
        raise ValueError(f"tool {tool!r}: argument {name!r} has two types; use one per name")
    merged = dict(old)
    if "enum" in old:
        merged["enum"] = [*old["enum"], *(v for v in new["enum"] if v not in old["enum"])]
    if "description" not in merged and "description" in new:
        merged["description"] = new["description"]
    return merged

"""``build_server``: the action table (:mod:`~pilothouse.mcp.registry`) as an SDK server.

Each registered tool becomes one SDK tool whose function receives the call's raw
arguments and routes them by ``action``. The SDK's own argument handling is
deliberately bypassed (:class:`_RawArguments`): it validates against a model
derived from the function signature and, before that, JSON-parses any string
argument not annotated exactly ``str`` — which would turn file content such as
``'{"status": "succeeded"}'`` into an object. Instead each action's pydantic model
validates what it receives, untouched, so content is stored byte for byte and a bad
argument comes back as ``invalid_argument`` naming the argument and the valid
actions, in the same error shape as every other failure.

A call then runs in a worker thread — the service is synchronous and may block
(a lock acquire with ``wait_seconds``, an event long-poll) — so the event loop
serving other sessions never stalls. Actions flagged ``waits`` draw from their own
thread budget, so a crowd of long-polls cannot starve ordinary calls; a waiting
*read* is abandoned when its caller goes away, a waiting acquire is not (its lease
must not be granted to nobody).

Relying on ``Tool``/``FuncMetadata`` internals is pinned by ``mcp>=2.3,<3`` and by
the tests, which call through the SDK client.
"""

from __future__ import annotations

import functools
import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any, cast

import anyio
import anyio.to_thread
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.tools import Tool
from mcp.server.mcpserver.utilities.func_metadata import ArgModelBase, FuncMetadata
from mcp_types import CallToolResult
from pydantic import ValidationError
from pydantic_core import ErrorDetails

from pilothouse import __version__
from pilothouse.core.errors import PilothouseError
from pilothouse.mcp import identity, replies
from pilothouse.mcp.registry import DEFAULT, DESCRIBE, Action, Call, Registry, Reply, ToolSpec
from pilothouse.mcp.wire import Arguments
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.errors import InvalidArgument
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger("pilothouse.mcp")

WAITING_THREADS = 64
"""Worker threads for actions that may block up to a minute (long-polls, waiting acquires)."""

Observer = Callable[[str, str, str], None]
"""``(tool, action, outcome)`` after every call; outcome is ``ok`` or the error code."""

INSTRUCTIONS = """\
Pilothouse workspace: persistent files with versions, locks, events and an audit trail
shared by the agents of a GitOps pipeline; `repo` reads the workspace's GitOps repository
and `pipeline` runs the pilothouse.yaml it declares. Every tool takes `action` plus that
action's arguments; `action=describe` lists a tool's actions with their JSON Schemas.
`workspace` accepts a workspace name or id. Errors come back as {"error": {"code", "message",
"details"}} with stable codes (not_found, forbidden, lock_held, version_conflict,
invalid_path, invalid_argument, ...)."""


class _RawArguments(ArgModelBase):
    """Never validated against: the schema comes from the registry, validation per action."""


class _PassThrough(FuncMetadata):
    """Hands the call's arguments to the tool function as they arrived."""

    def validate_arguments(self, arguments_to_validate: dict[str, Any]) -> dict[str, Any]:
        return {"arguments": dict(arguments_to_validate)}


@dataclass
class _Dispatcher:
    service: WorkspaceService
    pipelines: Pipelines
    resolve: identity.Resolver
    default_workspace: str | None
    observe: Observer | None
    waiting: anyio.CapacityLimiter

    async def run(self, spec: ToolSpec, arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        name = arguments.get("action")
        label = name if isinstance(name, str) and name in spec.action_names() else "unknown"
        try:
            result = await self._run(spec, name, arguments, ctx)
        except PilothouseError as e:
            result = replies.from_error(e)
        except Exception:  # the call boundary: a bug becomes an 'internal' reply, logged
            log.exception("MCP %s.%s failed", spec.name, label)
            result = replies.failure(
                replies.INTERNAL,
                "internal error; the server log has the details",
                {"tool": spec.name, "action": label},
            )
        if self.observe is not None:
            outcome = "ok"
            if result.is_error and isinstance(result.structured_content, dict):
                outcome = str(result.structured_content["error"]["code"])
            self.observe(spec.name, label, outcome)
        return result

    async def _run(
        self, spec: ToolSpec, name: object, arguments: dict[str, Any], ctx: Context
    ) -> CallToolResult:
        if not isinstance(name, str) or name not in spec.action_names():
            given = "no action" if name is None else f"unknown action {name!r}"
            raise InvalidArgument(
                f"{spec.name}: {given}; use one of {', '.join(spec.action_names())}",
                details={"tool": spec.name, "valid_actions": spec.action_names()},
            )
        if name == DESCRIBE:
            return replies.success(spec.describe())
        action = spec.actions[name]
        args = self._validate(spec, action, arguments)
        request = ctx.request_context.request
        if action.is_async:
            actor = await anyio.to_thread.run_sync(identity.actor_for, self.resolve, request)
            handler = cast(Callable[[Call, Arguments], Awaitable[Reply]], action.handler)
            reply = await handler(Call(self.service, actor, self.pipelines), args)
        else:
            reply = await anyio.to_thread.run_sync(
                functools.partial(self._run_sync, action, args, request),
                limiter=self.waiting if action.waits else None,
                abandon_on_cancel=action.waits and action.read_only,
            )
        return replies.success(reply)

    def _run_sync(self, action: Action[Any], args: Arguments, request: Any) -> Reply:
        actor = identity.actor_for(self.resolve, request)
        handler = cast(Callable[[Call, Arguments], Reply], action.handler)
        return handler(Call(self.service, actor, self.pipelines), args)

    def _validate(
        self, spec: ToolSpec, action: Action[Any], arguments: dict[str, Any]
    ) -> Arguments:
        given = {k: v for k, v in arguments.items() if k != "action"}
        if (
            self.default_workspace
            and "workspace" in action.arguments.model_fields
            and given.get("workspace") in (None, "")
        ):
            given["workspace"] = self.default_workspace
        try:
            args: Arguments = action.arguments.model_validate(given)
            return args
        except ValidationError as e:
            errors = [
                {
                    "argument": ".".join(str(p) for p in err["loc"]) or "(arguments)",
                    "problem": _problem(err),
                }
                for err in e.errors(include_url=False, include_input=False, include_context=False)
            ]
            listed = "; ".join(f"{x['argument']}: {x['problem']}" for x in errors)
            raise InvalidArgument(
                f"{spec.name}.{action.name}: {listed}",
                details={
                    "tool": spec.name,
                    "action": action.name,
                    "errors": errors,
                    "arguments": action.argument_names(),
                    "valid_actions": spec.action_names(),
                },
            ) from None


def _problem(err: ErrorDetails) -> str:
    if err["type"] == "extra_forbidden":
        return "not an argument of this action"
    return err["msg"].removeprefix("Value error, ")


def _sdk_tool(spec: ToolSpec, dispatcher: _Dispatcher) -> Tool:
    async def call(arguments: dict[str, Any], ctx: Context) -> CallToolResult:
        return await dispatcher.run(spec, arguments, ctx)

    return Tool(
        fn=call,
        name=spec.name,
        title=spec.title,
        description=spec.tool_description(),
        parameters=spec.input_schema(),
        fn_metadata=_PassThrough(arg_model=_RawArguments),
        is_async=True,
        context_kwarg="ctx",
        annotations=spec.annotations(),
    )


def build_server(
    service: WorkspaceService,
    resolve_actor: identity.Resolver,
    *,
    registry: Registry | None = None,
    default_workspace: str | None = None,
    observe: Observer | None = None,
    pipelines: Pipelines | None = None,
) -> MCPServer:
    """An MCP server whose tools act on ``service`` as ``resolve_actor`` says.

    ``registry`` defaults to the built-in tools (:mod:`pilothouse.mcp.tools`);
    ``default_workspace`` fills ``workspace`` when a call omits it; ``observe`` is
    told the outcome of every call (metrics). ``pipelines`` is the engine the
    ``repo`` and ``pipeline`` tools use — the server's own, so a trigger wakes its
    workers; without one an idle engine is built on ``service`` (triggers queue
    for whichever process runs the workers).
    """
    if registry is None:
        import pilothouse.mcp.tools  # noqa: F401 -- importing it registers the built-in tools

        registry = DEFAULT
    dispatcher = _Dispatcher(
        service=service,
        pipelines=pipelines or Pipelines(service, service.settings),
        resolve=resolve_actor,
        default_workspace=default_workspace,
        observe=observe,
        waiting=anyio.CapacityLimiter(WAITING_THREADS),
    )
    return MCPServer(
        name="pilothouse",
        title="Pilothouse",
        version=__version__,
        instructions=INSTRUCTIONS,
        tools=[_sdk_tool(spec, dispatcher) for spec in registry.tools()],
    )

"""``lock``: leases on a file or a directory tree, with fencing tokens.

A refused acquire is the tool error ``lock_held`` whose details name the holder
(``holder_id``, ``agent_name``), the lock and its ``expires_at``. ``acquire`` with
``wait_seconds`` blocks its worker thread until the lock frees up or time runs out,
so it is flagged ``waits`` and draws from the long-wait thread budget.
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, WorkspaceRef

lock = registry.tool(
    "lock",
    title="Locks",
    description="Locks: leases on a file or a whole directory tree, with TTL, heartbeat, "
    "release by token and a strictly increasing fencing token. An enforced lock makes "
    "writes under it require its token.",
)

Ttl = Annotated[
    int | None, Field(ge=1, le=3600, description="Lease length in seconds (1-3600); default 300.")
]
LockPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="A file path, or a directory ending in '/' (e.g. /status/ with scope tree).",
    ),
]


class AcquireArgs(Arguments):
    workspace: WorkspaceRef
    path: LockPath
    scope: Literal["file", "tree"] = Field(
        "file", description="file: exactly the path; tree: the path and everything below."
    )
    ttl_seconds: Ttl = None
    enforce: bool = Field(False, description="Writes under the lock then need its token.")
    wait_seconds: float = Field(
        0, ge=0, le=60, description="Wait up to this long for a held lock (0-60 s)."
    )


class TokenArgs(Arguments):
    workspace: WorkspaceRef
    lock_id: str = Field(min_length=1, max_length=64, description="The lock's id.")
    token: str = Field(min_length=1, max_length=256, description="The secret acquire returned.")


class HeartbeatArgs(TokenArgs):
    ttl_seconds: Ttl = None


class StatusArgs(Arguments):
    workspace: WorkspaceRef
    path: LockPath


class ListArgs(Arguments):
    workspace: WorkspaceRef


class BreakArgs(Arguments):
    workspace: WorkspaceRef
    lock_id: str = Field(min_length=1, max_length=64, description="The lock's id.")
    reason: str = Field("", max_length=1024, description="Why; kept in the audit trail.")


@lock.action("acquire", AcquireArgs, read_only=False, waits=True)
def acquire(call: Call, args: AcquireArgs) -> Reply:
    """Take a lease; returns lock_id, token, fencing_token and expires_at."""
    return call.service.acquire_lock(
        call.actor,
        args.workspace,
        args.path,
        scope=args.scope,
        ttl_seconds=args.ttl_seconds,
        enforce=args.enforce,
        wait_seconds=args.wait_seconds,
    ).to_dict()


@lock.action("heartbeat", HeartbeatArgs, read_only=False, idempotent=True)
def heartbeat(call: Call, args: HeartbeatArgs) -> Reply:
    """Extend a lease you hold to now + TTL."""
    return call.service.heartbeat_lock(
        call.actor, args.workspace, args.lock_id, args.token, ttl_seconds=args.ttl_seconds
    ).to_dict()


@lock.action("release", TokenArgs, read_only=False)
def release(call: Call, args: TokenArgs) -> Reply:
    """End a lease you hold."""
    return call.service.release_lock(call.actor, args.workspace, args.lock_id, args.token).to_dict()


@lock.action("status", StatusArgs, read_only=True)
def status(call: Call, args: StatusArgs) -> Reply:
    """The live leases covering a path or lying inside it."""
    found = call.service.lock_status(call.actor, args.workspace, args.path)
    return {"path": args.path, "locks": [lk.to_dict() for lk in found]}


@lock.action("list", ListArgs, read_only=True)
def list_locks(call: Call, args: ListArgs) -> Reply:
    """Every live lease in the workspace."""
    return {"locks": [lk.to_dict() for lk in call.service.list_locks(call.actor, args.workspace)]}


@lock.action("break", BreakArgs, read_only=False, destructive=True)
def break_lock(call: Call, args: BreakArgs) -> Reply:
    """Force-end someone's lease (admins); the reason is audited."""
    return call.service.break_lock(
        call.actor, args.workspace, args.lock_id, reason=args.reason
    ).to_dict()

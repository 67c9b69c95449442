"""``event`` and ``audit``: what happened in a workspace, and who did it.

Events are read by cursor: every reply carries ``cursor``, the value to pass as
``after`` next time, so a consumer that keeps it misses nothing across restarts.
``poll`` is the long-poll an agent without a live stream uses: it returns at once
when there are events after the cursor, otherwise it waits (up to 60 s) for one.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, Limit, TextList, WorkspaceRef

event = registry.tool(
    "event",
    title="Events",
    description="The workspace's append-only event log (file.written, lock.acquired, ...), "
    "read by cursor.",
)
audit = registry.tool(
    "audit",
    title="Audit trail",
    description="The hash-chained audit trail: who did what, through which interface, when.",
)


class EventArgs(Arguments):
    workspace: WorkspaceRef
    after: int = Field(0, ge=0, description="Only events after this cursor.")
    types: TextList = Field(
        default_factory=list,
        max_length=50,
        description="Event types, exact or a family such as lock.* (list or comma-separated).",
    )
    path_prefix: str | None = Field(None, max_length=4096, description="Only events under this.")
    actor_id: str | None = Field(None, max_length=64, description="Only events by this principal.")
    since: datetime | None = Field(None, description="Only events at or after (ISO-8601).")
    until: datetime | None = Field(None, description="Only events before (ISO-8601).")
    limit: Limit = 100


class PollArgs(EventArgs):
    wait_seconds: float = Field(
        30, ge=0, le=60, description="Wait up to this long for an event (0-60 s)."
    )


class AuditListArgs(Arguments):
    workspace: WorkspaceRef
    after: int = Field(0, ge=0, description="Only entries after this sequence number.")
    audit_action: str | None = Field(
        None, max_length=128, description="Only entries of this action, e.g. file.write."
    )
    principal_id: str | None = Field(None, max_length=64, description="Only entries by them.")
    limit: Limit = 100


class AuditVerifyArgs(Arguments):
    workspace: WorkspaceRef


def _filters(args: EventArgs) -> dict[str, Any]:
    return {
        "types": args.types,
        "path_prefix": args.path_prefix,
        "actor_id": args.actor_id,
        "since": args.since,
        "until": args.until,
        "limit": args.limit,
    }


@event.action("list", EventArgs, read_only=True)
def list_events(call: Call, args: EventArgs) -> Reply:
    """Events after a cursor, oldest first; returns the next cursor."""
    found = call.service.list_events(call.actor, args.workspace, after=args.after, **_filters(args))
    return {
        "events": [e.to_dict() for e in found],
        "cursor": found[-1].cursor if found else args.after,
    }


@event.action("poll", PollArgs, read_only=True, waits=True)
def poll(call: Call, args: PollArgs) -> Reply:
    """Like list, but wait up to wait_seconds for the first new event."""
    found = call.service.wait_events(
        call.actor, args.workspace, after=args.after, timeout=args.wait_seconds, **_filters(args)
    )
    return {
        "events": [e.to_dict() for e in found],
        "cursor": found[-1].cursor if found else args.after,
    }


@audit.action("list", AuditListArgs, read_only=True)
def list_audit(call: Call, args: AuditListArgs) -> Reply:
    """Audit entries after a sequence number, oldest first."""
    found = call.service.list_audit(
        call.actor,
        args.workspace,
        after_seq=args.after,
        action=args.audit_action,
        principal_id=args.principal_id,
        limit=args.limit,
    )
    return {
        "entries": [e.to_dict() for e in found],
        "cursor": found[-1].seq if found else args.after,
    }


@audit.action("verify", AuditVerifyArgs, read_only=True)
def verify(call: Call, args: AuditVerifyArgs) -> Reply:
    """Replay the hash chain; names the first entry that does not fit."""
    return call.service.verify_audit(call.actor, args.workspace).to_dict()

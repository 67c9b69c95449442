"""The webhook outbox: deliveries written in the same transaction as their event.

Writing the delivery row inside the mutation's transaction is what makes
webhooks durable: if the mutation commits, its deliveries exist; if the server
dies a second later, the next dispatcher finds them. The payload is fixed at
enqueue time, so every retry sends the same bytes under the same delivery id.
"""

from __future__ import annotations

import fnmatch
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, insert, select

from pilothouse.core import ids
from pilothouse.core.clock import isoformat
from pilothouse.workspace.models import Event
from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.schema import webhook_deliveries, webhooks, workspaces


def type_matches(patterns: list[str], event_type: str) -> bool:
    """Empty means every type; ``file.*`` matches a family."""
    if not patterns:
        return True
    return any(
        p == event_type or (p.endswith(".*") and event_type.startswith(p[:-1])) for p in patterns
    )


def path_matches(glob: str | None, path: str | None) -> bool:
    """No glob matches everything; a glob needs an event with a path (``*`` crosses ``/``)."""
    if not glob:
        return True
    return path is not None and fnmatch.fnmatchcase(path, glob)


def payload(event: Event, delivery_id: str, workspace_name: str | None) -> dict[str, Any]:
    return {
        "delivery_id": delivery_id,
        "event": event.to_dict(),
        "workspace": {"id": event.workspace_id, "name": workspace_name},
        "sent_for": isoformat(event.at),
    }


_SUBSCRIBERS = Prepared(
    select(webhooks.c.id, webhooks.c.event_types, webhooks.c.path_glob).where(
        webhooks.c.workspace_id == bindparam("ws"),
        webhooks.c.active.is_(True),
        webhooks.c.deleted_at.is_(None),
    )
)


def enqueue(conn: Connection, event: Event, now: datetime) -> int:
    """Queue one delivery per active subscription that wants ``event``; returns how many."""
    rows = _SUBSCRIBERS.execute(conn, {"ws": event.workspace_id})
    if not rows:
        return 0
    workspace_name = conn.execute(
        select(workspaces.c.name).where(workspaces.c.id == event.workspace_id)
    ).scalar_one_or_none()
    queued = 0
    for row in rows:
        if not type_matches(json.loads(row.event_types), event.type):
            continue
        if not path_matches(row.path_glob, event.path):
            continue
        delivery_id = ids.new_id("dlv")
        conn.execute(
            insert(webhook_deliveries).values(
                id=delivery_id,
                webhook_id=row.id,
                workspace_id=event.workspace_id,
                event_cursor=event.cursor,
                event_type=event.type,
                payload=json.dumps(
                    payload(event, delivery_id, workspace_name), sort_keys=True, default=str
                ),
                status="pending",
                next_attempt_at=now,
                created_at=now,
            )
        )
        queued += 1
    return queued

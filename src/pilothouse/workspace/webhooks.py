"""Webhook subscriptions and the bookkeeping of their deliveries.

Subscriptions (target URL, event types, path glob, active flag, signing secret)
are workspace state, changed through the façade like everything else. The
delivery rows themselves are written by :mod:`pilothouse.workspace.outbox` in
the transaction of each event; this module claims due rows for a dispatcher
(with a lease, ``FOR UPDATE SKIP LOCKED`` on PostgreSQL so replicas share the
work) and records each attempt's outcome and the next retry.

The secret is stored in clear because signing needs it; it is shown only when a
subscription is created or its secret rotated.
"""

from __future__ import annotations

import json
import random
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from pilothouse.core import ids
from pilothouse.core.settings import WebhookSettings
from pilothouse.workspace.errors import InvalidArgument, NotFound
from pilothouse.workspace.events import TYPES
from pilothouse.workspace.models import Delivery, Webhook, WorkspaceId
from pilothouse.workspace.schema import webhook_deliveries, webhooks
from pilothouse.workspace.unit import Unit

MAX_PER_WORKSPACE = 50
SECRET_PREFIX = "whsec"


def _webhook(row: Any, secret: str | None = None) -> Webhook:
    return Webhook(
        id=row.id,
        workspace_id=WorkspaceId(row.workspace_id),
        url=row.url,
        event_types=tuple(json.loads(row.event_types)),
        path_glob=row.path_glob,
        active=bool(row.active),
        created_at=row.created_at,
        updated_at=row.updated_at,
        secret=secret,
    )


def _delivery(row: Any) -> Delivery:
    return Delivery(
        id=row.id,
        webhook_id=row.webhook_id,
        event_cursor=int(row.event_cursor),
        event_type=row.event_type,
        status=row.status,
        attempts=int(row.attempts),
        next_attempt_at=row.next_attempt_at,
        last_status_code=row.last_status_code,
        last_error=row.last_error,
        created_at=row.created_at,
        finished_at=row.finished_at,
    )


def check_types(event_types: list[str]) -> list[str]:
    families = {t.split(".")[0] for t in TYPES}
    for t in event_types:
        known = t in TYPES or (t.endswith(".*") and t[:-2] in families) or t == "*"
        if not known:
            raise InvalidArgument(
                f"unknown event type {t!r}; use one of {', '.join(TYPES)} or a family like file.*"
            )
    return [] if "*" in event_types else sorted(set(event_types))


def _row(conn: Connection, workspace_id: str, webhook_id: str) -> Any:
    row = conn.execute(
        select(webhooks).where(
            webhooks.c.id == webhook_id,
            webhooks.c.workspace_id == workspace_id,
            webhooks.c.deleted_at.is_(None),
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no webhook {webhook_id} in this workspace")
    return row


def create(
    unit: Unit,
    workspace_id: WorkspaceId,
    *,
    url: str,
    event_types: list[str],
    path_glob: str | None,
    active: bool,
) -> Webhook:
    count = len(
        unit.conn.execute(
            select(webhooks.c.id).where(
                webhooks.c.workspace_id == workspace_id, webhooks.c.deleted_at.is_(None)
            )
        ).all()
    )
    if count >= MAX_PER_WORKSPACE:
        raise InvalidArgument(f"a workspace has at most {MAX_PER_WORKSPACE} webhooks")
    secret = ids.new_secret(SECRET_PREFIX)
    webhook_id = ids.new_id("wh")
    unit.conn.execute(
        insert(webhooks).values(
            id=webhook_id,
            workspace_id=workspace_id,
            url=url,
            event_types=json.dumps(event_types),
            path_glob=path_glob or None,
            active=active,
            secret=secret,
            created_by=unit.actor.principal.id,
            created_at=unit.now,
            updated_at=unit.now,
        )
    )
    unit.record(
        workspace_id,
        action="webhook.create",
        target=webhook_id,
        event="webhook.created",
        data={"webhook_id": webhook_id, "url": url, "event_types": event_types},
    )
    return _webhook(_row(unit.conn, workspace_id, webhook_id), secret)


def list_all(conn: Connection, workspace_id: str) -> list[Webhook]:
    rows = conn.execute(
        select(webhooks)
        .where(webhooks.c.workspace_id == workspace_id, webhooks.c.deleted_at.is_(None))
        .order_by(webhooks.c.created_at)
    )
    return [_webhook(r) for r in rows]


def update_active(unit: Unit, workspace_id: WorkspaceId, webhook_id: str, active: bool) -> Webhook:
    _row(unit.conn, workspace_id, webhook_id)
    unit.conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(active=active, updated_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="webhook.update",
        target=webhook_id,
        event="webhook.updated",
        data={"webhook_id": webhook_id, "active": active},
    )
    return _webhook(_row(unit.conn, workspace_id, webhook_id))


def delete(unit: Unit, workspace_id: WorkspaceId, webhook_id: str) -> None:
    _row(unit.conn, workspace_id, webhook_id)
    unit.conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(deleted_at=unit.now, active=False, updated_at=unit.now)
    )
    unit.conn.execute(
        update(webhook_deliveries)
        .where(
            webhook_deliveries.c.webhook_id == webhook_id, webhook_deliveries.c.status == "pending"
        )
        .values(status="failed", last_error="webhook deleted", finished_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="webhook.delete",
        target=webhook_id,
        event="webhook.deleted",
        data={"webhook_id": webhook_id},
    )


def rotate(unit: Unit, workspace_id: WorkspaceId, webhook_id: str) -> Webhook:
    _row(unit.conn, workspace_id, webhook_id)
    secret = ids.new_secret(SECRET_PREFIX)
    unit.conn.execute(
        update(webhooks)
        .where(webhooks.c.id == webhook_id)
        .values(secret=secret, updated_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="webhook.rotate_secret",
        target=webhook_id,
        event="webhook.secret_rotated",
        data={"webhook_id": webhook_id},
    )
    return _webhook(_row(unit.conn, workspace_id, webhook_id), secret)


def deliveries(
    conn: Connection,
    workspace_id: str,
    *,
    webhook_id: str | None,
    status: str | None,
    limit: int,
) -> list[Delivery]:
    stmt = select(webhook_deliveries).where(webhook_deliveries.c.workspace_id == workspace_id)
    if webhook_id:
        stmt = stmt.where(webhook_deliveries.c.webhook_id == webhook_id)
    if status:
        if status not in ("pending", "delivered", "failed"):
            raise InvalidArgument("status is pending, delivered or failed")
        stmt = stmt.where(webhook_deliveries.c.status == status)
    rows = conn.execute(stmt.order_by(webhook_deliveries.c.created_at.desc()).limit(limit))
    return [_delivery(r) for r in rows]


@dataclass(frozen=True)
class Due:
    """A claimed delivery: everything a dispatcher needs to send one attempt."""

    id: str
    webhook_id: str
    url: str
    secret: str
    event_type: str
    payload: bytes
    attempts: int


def claim(conn: Connection, now: datetime, *, limit: int, lease_seconds: float) -> list[Due]:
    """Lease up to ``limit`` due deliveries to this dispatcher."""
    ids_due = [
        r.id
        for r in conn.execute(
            select(webhook_deliveries.c.id)
            .where(
                webhook_deliveries.c.status == "pending",
                webhook_deliveries.c.next_attempt_at <= now,
                or_(
                    webhook_deliveries.c.lease_until.is_(None),
                    webhook_deliveries.c.lease_until <= now,
                ),
            )
            .order_by(webhook_deliveries.c.next_attempt_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ]
    if not ids_due:
        return []
    conn.execute(
        update(webhook_deliveries)
        .where(webhook_deliveries.c.id.in_(ids_due))
        .values(lease_until=now + timedelta(seconds=lease_seconds))
    )
    rows = conn.execute(
        select(webhook_deliveries, webhooks.c.url, webhooks.c.secret)
        .join(webhooks, webhooks.c.id == webhook_deliveries.c.webhook_id)
        .where(webhook_deliveries.c.id.in_(ids_due))
    )
    return [
        Due(r.id, r.webhook_id, r.url, r.secret, r.event_type, r.payload.encode(), int(r.attempts))
        for r in rows
    ]


def backoff(attempt: int, settings: WebhookSettings) -> float:
    """Seconds before attempt ``attempt + 1``: exponential, capped, ±20 % jitter."""
    delay: float = min(
        settings.base_delay_seconds * 2.0 ** (attempt - 1), settings.max_delay_seconds
    )
    return delay * random.uniform(0.8, 1.2)


def record_attempt(
    conn: Connection,
    due: Due,
    now: datetime,
    settings: WebhookSettings,
    *,
    delivered: bool,
    status_code: int | None,
    error: str | None,
) -> str:
    """Store one attempt's outcome; returns the new status."""
    attempts = due.attempts + 1
    if delivered:
        state = "delivered"
    elif attempts >= settings.max_attempts:
        state = "failed"
    else:
        state = "pending"
    values: dict[str, Any] = {
        "attempts": attempts,
        "status": state,
        "lease_until": None,
        "last_status_code": status_code,
        "last_error": (error or "")[:1000] or None,
    }
    if state == "pending":
        values["next_attempt_at"] = now + timedelta(seconds=backoff(attempts, settings))
    else:
        values["finished_at"] = now
    conn.execute(
        update(webhook_deliveries).where(webhook_deliveries.c.id == due.id).values(**values)
    )
    return state

"""The event log and the in-process bus that carries it onward.

Every mutation appends one event to its workspace's log. The log's cursor is a
per-workspace counter kept on the workspace row, incremented in the same
transaction as the mutation, so cursors are dense, strictly increasing, and never
reveal an event whose mutation rolled back. Readers resume with ``after=<cursor>``.

After a transaction commits, the service publishes its events on an
:class:`EventBus`. The bus is the seam that later transports (webhooks, the live
stream, pipeline triggers) subscribe to; the in-process implementation is the
default. Publication is at-most-once and in-process only: a consumer that must not
miss events reads the log from its last cursor, and uses the bus as a wake-up call.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Protocol

from sqlalchemy import ColumnElement, Connection, bindparam, insert, or_, select, update

from pilothouse.workspace import paths
from pilothouse.workspace.models import Event, PrincipalId, WorkspaceId
from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.schema import events, workspaces

log = logging.getLogger(__name__)

Handler = Callable[[Event], None]

TYPES: tuple[str, ...] = (
    "workspace.created",
    "workspace.updated",
    "workspace.archived",
    "file.written",
    "file.deleted",
    "file.restored",
    "file.purged",
    "file.moved",
    "file.metadata_updated",
    "lock.acquired",
    "lock.heartbeat",
    "lock.released",
    "lock.expired",
    "lock.broken",
    "member.added",
    "member.role_updated",
    "member.removed",
    "apikey.created",
    "apikey.revoked",
    "ownership.transfer_created",
    "ownership.transfer_cancelled",
    "ownership.transferred",
    "webhook.created",
    "webhook.updated",
    "webhook.deleted",
    "webhook.secret_rotated",
    "import.queued",
    "import.succeeded",
    "import.failed",
    "repo.registered",
    "pipeline.run_started",
    "pipeline.stage_finished",
    "pipeline.run_cancelled",
    "pipeline.stage_approved",
    "agent.alert",
)
"""Every event type the core emits."""


class Subscription(Protocol):
    def close(self) -> None: ...


class EventBus(Protocol):
    def publish(self, batch: Sequence[Event]) -> None:
        """Deliver committed events to every subscriber, in order."""
        ...

    def subscribe(self, handler: Handler) -> Subscription: ...


class _Subscription:
    def __init__(self, bus: InProcessEventBus, handler: Handler) -> None:
        self._bus = bus
        self._handler = handler

    def close(self) -> None:
        self._bus._remove(self._handler)


class InProcessEventBus:
    """Synchronous fan-out to handlers in this process."""

    def __init__(self) -> None:
        self._handlers: list[Handler] = []
        self._lock = threading.Lock()

    def subscribe(self, handler: Handler) -> Subscription:
        with self._lock:
            self._handlers.append(handler)
        return _Subscription(self, handler)

    def _remove(self, handler: Handler) -> None:
        with self._lock:
            if handler in self._handlers:
                self._handlers.remove(handler)

    def publish(self, batch: Sequence[Event]) -> None:
        with self._lock:
            handlers = list(self._handlers)
        for event in batch:
            for handler in handlers:
                # Fan-out boundary: one broken subscriber must not stop the others,
                # nor fail the mutation that already committed.
                try:
                    handler(event)
                except Exception:
                    log.exception("event subscriber failed on %s #%d", event.type, event.cursor)


# Built once: on the hot path of every mutation, statement construction would cost
# more than the SQL itself.
_NEXT_CURSOR = Prepared(
    update(workspaces)
    .where(workspaces.c.id == bindparam("ws"))
    .values(event_seq=workspaces.c.event_seq + 1)
    .returning(workspaces.c.event_seq)
)
_INSERT = Prepared(insert(events))


def append(
    conn: Connection,
    workspace_id: WorkspaceId,
    *,
    type: str,
    path: str | None,
    actor_id: PrincipalId,
    agent_name: str | None,
    at: datetime,
    data: dict[str, Any],
) -> Event:
    """Append one event, taking the next cursor of its workspace."""
    cursor = _NEXT_CURSOR.scalar(conn, {"ws": workspace_id})
    _INSERT.execute(
        conn,
        {
            "workspace_id": workspace_id,
            "seq": cursor,
            "type": type,
            "path": path,
            "actor_id": actor_id,
            "agent_name": agent_name,
            "at": at,
            "data": json.dumps(data, sort_keys=True, default=str),
        },
    )
    return Event(workspace_id, int(cursor), type, path, actor_id, agent_name, at, data)


def query(
    conn: Connection,
    workspace_id: WorkspaceId,
    *,
    after: int = 0,
    types: Sequence[str] = (),
    path_prefix: str | None = None,
    actor_id: str | None = None,
    since: datetime | None = None,
    until: datetime | None = None,
    limit: int = 100,
) -> list[Event]:
    """Events after a cursor, oldest first, filtered; ``types`` may end in ``.*``."""
    stmt = select(events).where(events.c.workspace_id == workspace_id, events.c.seq > after)
    exact = [t for t in types if not t.endswith(".*")]
    families = [t[:-1] for t in types if t.endswith(".*")]
    if types:
        clauses: list[ColumnElement[bool]] = [events.c.type.in_(exact)] if exact else []
        clauses += [events.c.type.startswith(f, autoescape=True) for f in families]
        stmt = stmt.where(or_(*clauses))
    if path_prefix:
        # A directory prefix (/status/) also matches the directory itself (/status), which
        # is where tree locks live; a file prefix matches the file and anything below.
        directory = path_prefix if path_prefix.endswith("/") else path_prefix + "/"
        stmt = stmt.where(
            (events.c.path == directory.rstrip("/"))
            | ((events.c.path >= directory) & (events.c.path < paths.prefix_upper_bound(directory)))
        )
    if actor_id:
        stmt = stmt.where(events.c.actor_id == actor_id)
    if since:
        stmt = stmt.where(events.c.at >= since)
    if until:
        stmt = stmt.where(events.c.at < until)
    stmt = stmt.order_by(events.c.seq).limit(limit)
    return [
        Event(
            WorkspaceId(row.workspace_id),
            int(row.seq),
            row.type,
            row.path,
            PrincipalId(row.actor_id),
            row.agent_name,
            row.at,
            json.loads(row.data),
        )
        for row in conn.execute(stmt)
    ]

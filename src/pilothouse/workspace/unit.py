"""A unit of work: one transaction, one event, one audit entry.

Every mutation of the service runs inside a :class:`Unit`. The unit carries the
connection, the acting principal and a single "now", and its :meth:`Unit.record`
writes the operation's event and audit entry together, so neither can be
forgotten or written twice. Events are collected and published on the bus only
after the transaction commits.

The rare mutation the installation makes on its own inside someone else's
operation — reclaiming an expired lease during an acquire — is recorded with
:data:`SYSTEM` as its actor, so the audit never attributes it to a bystander.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Connection

from pilothouse.core.settings import WorkspaceSettings
from pilothouse.workspace import audit, events, outbox
from pilothouse.workspace.models import Actor, Event, Principal, PrincipalId, WorkspaceId
from pilothouse.workspace.roles import Interface, Kind

SYSTEM = Actor(
    principal=Principal(
        PrincipalId("pr_system"), Kind.SYSTEM, "pilothouse", False, datetime(2026, 1, 1, tzinfo=UTC)
    ),
    interface=Interface.SYSTEM,
)


@dataclass
class Unit:
    conn: Connection
    actor: Actor
    now: datetime
    settings: WorkspaceSettings
    emitted: list[Event] = field(default_factory=list)

    def record(
        self,
        workspace_id: WorkspaceId | None,
        *,
        action: str,
        target: str,
        event: str | None = None,
        path: str | None = None,
        data: dict[str, Any] | None = None,
        before: int | None = None,
        after: int | None = None,
        actor: Actor | None = None,
    ) -> None:
        """Append the operation's audit entry and, in a workspace, its event."""
        who = actor or self.actor
        payload = dict(data or {})
        audit.append(
            self.conn,
            workspace_id or audit.GLOBAL_CHAIN,
            who,
            at=self.now,
            action=action,
            target=target,
            before_version=before,
            after_version=after,
            details=payload,
        )
        if workspace_id is not None and event is not None:
            appended = events.append(
                self.conn,
                workspace_id,
                type=event,
                path=path,
                actor_id=who.principal.id,
                agent_name=who.effective_agent_name,
                at=self.now,
                data=payload,
            )
            outbox.enqueue(self.conn, appended, self.now)
            self.emitted.append(appended)

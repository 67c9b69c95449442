"""Who a stage acts as: one agent principal per (workspace, stage).

Every status file, lock and event a stage causes is attributed to that stage's own
agent identity (``validator@gitops-prod``), never to the person who pushed or to a
shared pipeline account, so the audit trail says which agent did what. The
identity is created on first use (a member of the workspace) by the installation's
administrator; command agents get a short-lived key of it, revoked when they end.
"""

from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import Connection, insert, select

from pilothouse.workspace import database
from pilothouse.workspace.errors import Conflict
from pilothouse.workspace.models import Actor, CreatedApiKey
from pilothouse.workspace.roles import Interface, Scope
from pilothouse.workspace.schema import pipeline_agents
from pilothouse.workspace.service import WorkspaceService


class Identities:
    """Stage actors and their short-lived keys."""

    def __init__(self, service: WorkspaceService) -> None:
        self.service = service
        self._admin: Actor | None = None
        self._actors: dict[tuple[str, str], Actor] = {}
        self._lock = threading.Lock()

    @property
    def admin(self) -> Actor:
        """The installation's administrator, acting for the pipeline."""
        if self._admin is None:
            self._admin = self.service.local_actor(Interface.PIPELINE)
        return self._admin

    def actor(self, workspace_id: str, workspace_name: str, stage: str) -> Actor:
        """The stage's actor, creating its agent principal the first time."""
        key = (workspace_id, stage)
        with self._lock:
            known = self._actors.get(key)
            if known is not None:
                return known
            principal_id = self._principal_id(workspace_id, workspace_name, stage)
            principal = self.service.get_principal(self.admin, principal_id)
            made = Actor(principal, Interface.PIPELINE, scope=Scope.WRITE, agent_name=stage)
            self._actors[key] = made
            return made

    def _principal_id(self, workspace_id: str, workspace_name: str, stage: str) -> str:
        with database.begin_read(self.service.engine) as conn:
            found = _mapped(conn, workspace_id, stage)
        if found is not None:
            return found
        name = f"{stage}@{workspace_name}"
        try:
            principal_id = str(
                self.service.create_agent(self.admin, workspace_id, name).principal_id
            )
        except Conflict:  # another process made it first, or an earlier mapping was lost
            principal_id = str(self.service.get_principal(self.admin, name).id)
        with database.begin_write(self.service.engine) as conn:
            taken = _mapped(conn, workspace_id, stage)
            if taken is not None:
                return taken
            conn.execute(
                insert(pipeline_agents).values(
                    workspace_id=workspace_id, stage=stage, principal_id=principal_id
                )
            )
        return principal_id

    def short_key(self, workspace: str, actor: Actor, ttl_seconds: float) -> CreatedApiKey:
        """A write key of the stage's identity that expires after ``ttl_seconds``."""
        expires = self.service.clock.now() + timedelta(seconds=ttl_seconds)
        return self.service.create_api_key(
            self.admin,
            workspace,
            actor.principal.id,
            name=f"run-{actor.agent_name}",
            scope="write",
            expires_at=expires,
        )

    def revoke(self, workspace: str, key_id: str) -> None:
        self.service.revoke_api_key(self.admin, workspace, key_id)


def _mapped(conn: Connection, workspace_id: str, stage: str) -> str | None:
    found = conn.execute(
        select(pipeline_agents.c.principal_id).where(
            pipeline_agents.c.workspace_id == workspace_id, pipeline_agents.c.stage == stage
        )
    ).scalar_one_or_none()
    return None if found is None else str(found)

"""Values the workspace hands out: frozen dataclasses, never rows or dicts.

Each has ``to_dict()`` giving the JSON shape every interface shares (timestamps as
ISO-8601 UTC strings), so the CLI, REST and MCP cannot drift apart.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import datetime
from enum import Enum
from typing import Any, NewType

from pilothouse.core.clock import isoformat
from pilothouse.workspace.roles import Interface, Kind, Role, Scope

WorkspaceId = NewType("WorkspaceId", str)
PrincipalId = NewType("PrincipalId", str)
LockId = NewType("LockId", str)


def _plain(value: Any) -> Any:
    if isinstance(value, _Serialisable):
        return value.to_dict()
    if isinstance(value, datetime):
        return isoformat(value)
    if isinstance(value, (Role, Scope)):
        return value.label
    if isinstance(value, Enum):
        return value.value
    if isinstance(value, (list, tuple, frozenset)):
        return [_plain(v) for v in value]
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    return value


class _Serialisable:
    _hidden: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        return {
            f.name: _plain(getattr(self, f.name))
            for f in dataclasses.fields(self)  # type: ignore[arg-type]
            if f.name not in self._hidden
        }


@dataclass(frozen=True)
class Principal(_Serialisable):
    id: PrincipalId
    kind: Kind
    name: str
    site_admin: bool
    created_at: datetime


@dataclass(frozen=True)
class Actor:
    """The acting principal plus how it arrived; every service call takes one."""

    principal: Principal
    interface: Interface
    scope: Scope = Scope.ADMIN
    api_key_id: str | None = None
    key_workspace_id: WorkspaceId | None = None
    agent_name: str | None = None
    request_id: str | None = None

    @property
    def effective_agent_name(self) -> str | None:
        if self.agent_name:
            return self.agent_name
        return self.principal.name if self.principal.kind is Kind.AGENT else None

    def via(self, interface: Interface, *, request_id: str | None = None) -> Actor:
        return dataclasses.replace(self, interface=interface, request_id=request_id)


@dataclass(frozen=True)
class Workspace(_Serialisable):
    id: WorkspaceId
    name: str
    description: str
    owner_id: PrincipalId
    quota_bytes: int
    used_bytes: int
    intelligence: bool
    created_at: datetime
    updated_at: datetime
    archived_at: datetime | None
    role: Role | None = None
    """The caller's role in it, when known."""


@dataclass(frozen=True)
class FileVersion(_Serialisable):
    """What a write returns, and one entry of a file's history."""

    path: str
    version: int
    size: int
    sha256: str
    created_at: datetime
    author_id: PrincipalId | None = None
    agent_name: str | None = None
    note: str | None = None


@dataclass(frozen=True)
class FileInfo(_Serialisable):
    """``stat`` of a file: its newest version plus metadata."""

    id: str
    path: str
    version: int
    size: int
    sha256: str
    created_at: datetime
    updated_at: datetime
    deleted_at: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class FileContent:
    info: FileVersion
    content: bytes


@dataclass(frozen=True)
class DirEntry(_Serialisable):
    """One listing entry: a file (with its stat) or a directory (``/a/b/``)."""

    path: str
    type: str  # file | directory
    version: int | None = None
    size: int | None = None
    sha256: str | None = None
    updated_at: datetime | None = None


@dataclass(frozen=True)
class Page(_Serialisable):
    entries: tuple[DirEntry, ...]
    next_cursor: str | None


@dataclass(frozen=True)
class LockInfo(_Serialisable):
    id: LockId
    workspace_id: WorkspaceId
    path: str
    scope: str
    fencing_token: int
    holder_id: PrincipalId
    agent_name: str | None
    enforce: bool
    acquired_at: datetime
    expires_at: datetime


@dataclass(frozen=True)
class LockGrant(_Serialisable):
    """A granted lease. ``token`` is the secret that heartbeat, release and writes need."""

    lock_id: LockId
    token: str
    fencing_token: int
    path: str
    scope: str
    enforce: bool
    expires_at: datetime


@dataclass(frozen=True)
class Event(_Serialisable):
    workspace_id: WorkspaceId
    cursor: int
    type: str
    path: str | None
    actor_id: PrincipalId
    agent_name: str | None
    at: datetime
    data: dict[str, Any]


@dataclass(frozen=True)
class AuditEntry(_Serialisable):
    id: int
    seq: int
    at: datetime
    principal_id: PrincipalId
    principal_kind: str
    agent_name: str | None
    api_key_id: str | None
    interface: str
    action: str
    target: str
    before_version: int | None
    after_version: int | None
    request_id: str | None
    details: dict[str, Any]
    prev_hash: str
    hash: str


@dataclass(frozen=True)
class AuditVerdict(_Serialisable):
    ok: bool
    entries: int
    first_broken_id: int | None = None
    first_broken_seq: int | None = None
    reason: str | None = None


@dataclass(frozen=True)
class Member(_Serialisable):
    principal_id: PrincipalId
    name: str
    kind: Kind
    role: Role
    added_at: datetime


@dataclass(frozen=True)
class ApiKeyInfo(_Serialisable):
    id: str
    principal_id: PrincipalId
    workspace_id: WorkspaceId | None
    name: str
    scope: Scope
    created_at: datetime
    expires_at: datetime | None
    revoked_at: datetime | None
    last_used_at: datetime | None


@dataclass(frozen=True)
class CreatedApiKey(_Serialisable):
    """A new key; ``key`` is shown this once and stored only as a digest."""

    key: str
    info: ApiKeyInfo

    def to_dict(self) -> dict[str, Any]:
        return {"key": self.key, **self.info.to_dict()}


@dataclass(frozen=True)
class Transfer(_Serialisable):
    id: str
    workspace_id: WorkspaceId
    created_by: PrincipalId
    created_at: datetime
    expires_at: datetime
    state: str  # open | claimed | cancelled | expired
    token: str | None = None
    """Only on creation: the one-time claim token."""


@dataclass(frozen=True)
class Webhook(_Serialisable):
    id: str
    workspace_id: WorkspaceId
    url: str
    event_types: tuple[str, ...]
    path_glob: str | None
    active: bool
    created_at: datetime
    updated_at: datetime
    secret: str | None = None
    """Only on creation and rotation: the signing secret."""


@dataclass(frozen=True)
class Delivery(_Serialisable):
    id: str
    webhook_id: str
    event_cursor: int
    event_type: str
    status: str  # pending | delivered | failed
    attempts: int
    next_attempt_at: datetime
    last_status_code: int | None
    last_error: str | None
    created_at: datetime
    finished_at: datetime | None


@dataclass(frozen=True)
class ImportJob(_Serialisable):
    id: str
    workspace_id: WorkspaceId
    url: str
    path: str
    status: str  # queued | running | succeeded | failed
    bytes_done: int
    bytes_total: int | None
    version: int | None
    error: str | None
    error_code: str | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None


@dataclass(frozen=True)
class DownloadLink(_Serialisable):
    path: str
    version: int
    token: str
    expires_at: datetime
    url: str | None = None
    """Filled in by the HTTP layer, which knows the public address."""


@dataclass(frozen=True)
class SearchResult(_Serialisable):
    mode: str
    """The mode actually used: ``lexical`` when no embedding model is available."""
    hits: tuple[Any, ...]
    pending: int
    """Versions still queued for indexing in this workspace."""
    model: str | None

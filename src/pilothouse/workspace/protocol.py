"""``Workspace``: the actor-bound view of the workspace that agents program against.

:class:`~pilothouse.workspace.service.WorkspaceService` takes an ``Actor`` first on
every call because it serves every door at once. An agent never switches identity
mid-run, so it wants the same operations with the identity already bound — and it
should not care whether the workspace is in its own process or behind the REST
API. This protocol is that seam, with two implementations that run one contract
test suite (``tests/client``):

- :class:`LocalWorkspace` here, the in-process default: a thin forwarding layer
  that adds the bound actor and nothing else, so it cannot drift from the façade;
- :class:`pilothouse.client.Client`, the same calls over HTTP.

Both return the frozen dataclasses of :mod:`pilothouse.workspace.models` and raise
the :class:`~pilothouse.workspace.errors.WorkspaceError` subclasses, so
``except LockHeld`` reads the same in either place. Names and keywords are the
façade's own; only ``wait_events`` spells out the filters the façade passes
through ``**filters``.

The service is imported for type checking only: a program that talks to a remote
server through the client imports this module without loading the store.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from datetime import datetime
from typing import TYPE_CHECKING, BinaryIO, Protocol

from pilothouse.workspace import models
from pilothouse.workspace.models import (
    Actor,
    ApiKeyInfo,
    AuditEntry,
    AuditVerdict,
    CreatedApiKey,
    Event,
    FileContent,
    FileInfo,
    FileVersion,
    LockGrant,
    LockInfo,
    Member,
    Page,
    Transfer,
)

if TYPE_CHECKING:
    from pilothouse.workspace.service import WorkspaceService

__all__ = ["Content", "LocalWorkspace", "Workspace"]

Content = bytes | Iterable[bytes]
"""What a write takes: the whole file, or its chunks in order (streamed, never joined)."""


class Workspace(Protocol):
    """Everything an agent may do in the workspaces it belongs to, as one identity.

    Errors are the :mod:`pilothouse.workspace.errors` classes; a remote
    implementation adds :class:`pilothouse.client.ClientError` for a server it
    cannot reach.
    """

    # -- workspaces ---------------------------------------------------------------

    def list_workspaces(self, *, include_archived: bool = False) -> list[models.Workspace]:
        """The workspaces this identity is a member of, by name."""
        ...

    def create_workspace(
        self,
        name: str,
        *,
        description: str = "",
        quota_bytes: int | None = None,
        intelligence: bool = True,
    ) -> models.Workspace:
        """A new workspace owned by this identity; ``conflict`` if the name is taken."""
        ...

    def get_workspace(self, workspace: str) -> models.Workspace:
        """One workspace by name or id; ``not_found`` also when not a member."""
        ...

    def update_workspace(
        self,
        workspace: str,
        *,
        name: str | None = None,
        description: str | None = None,
        quota_bytes: int | None = None,
        intelligence: bool | None = None,
    ) -> models.Workspace:
        """Change the given fields (admins); ``invalid_argument`` when none is given."""
        ...

    def archive_workspace(self, workspace: str) -> models.Workspace:
        """Make it read-only and hidden from default listings (owner)."""
        ...

    # -- files --------------------------------------------------------------------

    def write_file(
        self,
        workspace: str,
        path: str,
        content: Content,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
        note: str | None = None,
    ) -> FileVersion:
        """Store a complete new version; ``version_conflict`` if ``if_version`` is stale."""
        ...

    def read_file(self, workspace: str, path: str, *, version: int | None = None) -> FileContent:
        """A version (the newest by default) with all its bytes in memory."""
        ...

    def open_file(
        self, workspace: str, path: str, *, version: int | None = None
    ) -> tuple[FileVersion, BinaryIO]:
        """A version as a stream, for large files; the caller closes the stream."""
        ...

    def file_version(self, workspace: str, path: str, *, version: int | None = None) -> FileVersion:
        """A version's description without its bytes."""
        ...

    def stat_file(self, workspace: str, path: str) -> FileInfo:
        """The newest version of a live file plus its metadata."""
        ...

    def list_files(
        self,
        workspace: str,
        prefix: str = "/",
        *,
        recursive: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        """One page of live files under ``prefix``; pass ``next_cursor`` for the next."""
        ...

    def list_trash(self, workspace: str, path: str | None = None) -> list[FileInfo]:
        """Deleted files, each with its trash id as ``id``."""
        ...

    def delete_file(
        self,
        workspace: str,
        path: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        """Move a file to the trash; the result's ``id`` is its trash id."""
        ...

    def restore_file(
        self,
        workspace: str,
        path: str,
        *,
        trash_id: str | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        """Bring a trashed file back; ``conflict`` if a live file took its path."""
        ...

    def purge_file(self, workspace: str, path: str, *, trash_id: str | None = None) -> int:
        """Remove trashed files at ``path`` for good; returns the bytes freed from quota."""
        ...

    def move_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        """Rename a file with its history."""
        ...

    def copy_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        """Write a version of ``source`` as a new version of ``target``."""
        ...

    def file_versions(self, workspace: str, path: str) -> list[FileVersion]:
        """The history of a live file, newest first."""
        ...

    def restore_version(
        self,
        workspace: str,
        path: str,
        version: int,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        """Make an old version the newest again, as a new version."""
        ...

    def get_metadata(self, workspace: str, path: str) -> dict[str, str]:
        """The string metadata of a live file."""
        ...

    def set_metadata(
        self,
        workspace: str,
        path: str,
        values: Mapping[str, str],
        *,
        remove: Sequence[str] = (),
        lock_token: str | None = None,
    ) -> dict[str, str]:
        """Merge ``values`` and drop ``remove``; returns the metadata after the change."""
        ...

    # -- locks --------------------------------------------------------------------

    def acquire_lock(
        self,
        workspace: str,
        path: str,
        *,
        scope: str = "file",
        ttl_seconds: float | None = None,
        enforce: bool = False,
        wait_seconds: float = 0,
    ) -> LockGrant:
        """Lease ``path`` (``scope="tree"``: everything under it); ``lock_held`` if taken."""
        ...

    def heartbeat_lock(
        self, workspace: str, lock_id: str, token: str, *, ttl_seconds: float | None = None
    ) -> LockInfo:
        """Extend a live lease; ``lock_not_held`` for a wrong token or an ended lease."""
        ...

    def release_lock(self, workspace: str, lock_id: str, token: str) -> LockInfo:
        """End a lease; ``lock_not_held`` for a wrong token or an ended lease."""
        ...

    def break_lock(self, workspace: str, lock_id: str, *, reason: str = "") -> LockInfo:
        """Force-end anyone's lease (admins); the reason goes into the audit."""
        ...

    def list_locks(self, workspace: str) -> list[LockInfo]:
        """Live leases."""
        ...

    def lock_status(self, workspace: str, path: str) -> list[LockInfo]:
        """Live leases covering ``path``, or inside it when it ends in ``/``."""
        ...

    # -- events and audit ---------------------------------------------------------

    def list_events(
        self,
        workspace: str,
        *,
        after: int = 0,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Events after the cursor ``after``, oldest first."""
        ...

    def wait_events(
        self,
        workspace: str,
        *,
        after: int,
        timeout: float,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        """Long-poll: like ``list_events``, waiting up to ``timeout`` (≤ 60) s for one."""
        ...

    def list_audit(
        self,
        workspace: str,
        *,
        after_seq: int = 0,
        action: str | None = None,
        principal_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        """Audit entries after ``after_seq``, oldest first."""
        ...

    def verify_audit(self, workspace: str) -> AuditVerdict:
        """Replay the workspace's hash chain."""
        ...

    # -- members, agents, keys, ownership -------------------------------------------

    def list_members(self, workspace: str) -> list[Member]: ...

    def add_member(self, workspace: str, principal: str, role: str) -> Member:
        """Add an existing principal (admins)."""
        ...

    def update_member_role(self, workspace: str, principal: str, role: str) -> Member: ...

    def remove_member(self, workspace: str, principal: str) -> None: ...

    def create_agent(self, workspace: str, name: str, *, role: str = "member") -> Member:
        """A new agent principal, added to ``workspace`` with ``role``."""
        ...

    def create_api_key(
        self,
        workspace: str,
        principal: str,
        *,
        name: str = "default",
        scope: str = "write",
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        """A key for a member, restricted to ``workspace``; its ``key`` is shown once."""
        ...

    def list_api_keys(self, workspace: str) -> list[ApiKeyInfo]: ...

    def revoke_api_key(self, workspace: str, key_id: str) -> ApiKeyInfo: ...

    def create_transfer(self, workspace: str) -> Transfer:
        """A one-time claim token that makes whoever claims it the owner (owner only)."""
        ...

    def list_transfers(self, workspace: str) -> list[Transfer]: ...

    def cancel_transfer(self, workspace: str, transfer_id: str) -> Transfer: ...

    def claim_transfer(self, token: str) -> Transfer:
        """Become the owner of the workspace the token was made for."""
        ...


class LocalWorkspace(Workspace):
    """The in-process :class:`Workspace`: the façade with ``actor`` bound.

    Subclassing the protocol makes mypy check every signature against it.
    """

    def __init__(self, service: WorkspaceService, actor: Actor) -> None:
        self.service = service
        self.actor = actor

    # -- workspaces ---------------------------------------------------------------

    def list_workspaces(self, *, include_archived: bool = False) -> list[models.Workspace]:
        return self.service.list_workspaces(self.actor, include_archived=include_archived)

    def create_workspace(
        self,
        name: str,
        *,
        description: str = "",
        quota_bytes: int | None = None,
        intelligence: bool = True,
    ) -> models.Workspace:
        return self.service.create_workspace(
            self.actor,
            name,
            description=description,
            quota_bytes=quota_bytes,
            intelligence=intelligence,
        )

    def get_workspace(self, workspace: str) -> models.Workspace:
        return self.service.get_workspace(self.actor, workspace)

    def update_workspace(
        self,
        workspace: str,
        *,
        name: str | None = None,
        description: str | None = None,
        quota_bytes: int | None = None,
        intelligence: bool | None = None,
    ) -> models.Workspace:
        return self.service.update_workspace(
            self.actor,
            workspace,
            name=name,
            description=description,
            quota_bytes=quota_bytes,
            intelligence=intelligence,
        )

    def archive_workspace(self, workspace: str) -> models.Workspace:
        return self.service.archive_workspace(self.actor, workspace)

    # -- files --------------------------------------------------------------------

    def write_file(
        self,
        workspace: str,
        path: str,
        content: Content,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
        note: str | None = None,
    ) -> FileVersion:
        return self.service.write_file(
            self.actor,
            workspace,
            path,
            content,
            if_version=if_version,
            lock_token=lock_token,
            note=note,
        )

    def read_file(self, workspace: str, path: str, *, version: int | None = None) -> FileContent:
        return self.service.read_file(self.actor, workspace, path, version=version)

    def open_file(
        self, workspace: str, path: str, *, version: int | None = None
    ) -> tuple[FileVersion, BinaryIO]:
        return self.service.open_file(self.actor, workspace, path, version=version)

    def file_version(self, workspace: str, path: str, *, version: int | None = None) -> FileVersion:
        return self.service.file_version(self.actor, workspace, path, version=version)

    def stat_file(self, workspace: str, path: str) -> FileInfo:
        return self.service.stat_file(self.actor, workspace, path)

    def list_files(
        self,
        workspace: str,
        prefix: str = "/",
        *,
        recursive: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        return self.service.list_files(
            self.actor, workspace, prefix, recursive=recursive, limit=limit, cursor=cursor
        )

    def list_trash(self, workspace: str, path: str | None = None) -> list[FileInfo]:
        return self.service.list_trash(self.actor, workspace, path)

    def delete_file(
        self,
        workspace: str,
        path: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        return self.service.delete_file(
            self.actor, workspace, path, if_version=if_version, lock_token=lock_token
        )

    def restore_file(
        self,
        workspace: str,
        path: str,
        *,
        trash_id: str | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        return self.service.restore_file(
            self.actor, workspace, path, trash_id=trash_id, lock_token=lock_token
        )

    def purge_file(self, workspace: str, path: str, *, trash_id: str | None = None) -> int:
        return self.service.purge_file(self.actor, workspace, path, trash_id=trash_id)

    def move_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        return self.service.move_file(
            self.actor, workspace, source, target, if_version=if_version, lock_token=lock_token
        )

    def copy_file(
        self,
        workspace: str,
        source: str,
        target: str,
        *,
        version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        return self.service.copy_file(
            self.actor, workspace, source, target, version=version, lock_token=lock_token
        )

    def file_versions(self, workspace: str, path: str) -> list[FileVersion]:
        return self.service.file_versions(self.actor, workspace, path)

    def restore_version(
        self,
        workspace: str,
        path: str,
        version: int,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        return self.service.restore_version(
            self.actor, workspace, path, version, if_version=if_version, lock_token=lock_token
        )

    def get_metadata(self, workspace: str, path: str) -> dict[str, str]:
        return self.service.get_metadata(self.actor, workspace, path)

    def set_metadata(
        self,
        workspace: str,
        path: str,
        values: Mapping[str, str],
        *,
        remove: Sequence[str] = (),
        lock_token: str | None = None,
    ) -> dict[str, str]:
        return self.service.set_metadata(
            self.actor, workspace, path, dict(values), remove=remove, lock_token=lock_token
        )

    # -- locks --------------------------------------------------------------------

    def acquire_lock(
        self,
        workspace: str,
        path: str,
        *,
        scope: str = "file",
        ttl_seconds: float | None = None,
        enforce: bool = False,
        wait_seconds: float = 0,
    ) -> LockGrant:
        return self.service.acquire_lock(
            self.actor,
            workspace,
            path,
            scope=scope,
            ttl_seconds=ttl_seconds,
            enforce=enforce,
            wait_seconds=wait_seconds,
        )

    def heartbeat_lock(
        self, workspace: str, lock_id: str, token: str, *, ttl_seconds: float | None = None
    ) -> LockInfo:
        return self.service.heartbeat_lock(
            self.actor, workspace, lock_id, token, ttl_seconds=ttl_seconds
        )

    def release_lock(self, workspace: str, lock_id: str, token: str) -> LockInfo:
        return self.service.release_lock(self.actor, workspace, lock_id, token)

    def break_lock(self, workspace: str, lock_id: str, *, reason: str = "") -> LockInfo:
        return self.service.break_lock(self.actor, workspace, lock_id, reason=reason)

    def list_locks(self, workspace: str) -> list[LockInfo]:
        return self.service.list_locks(self.actor, workspace)

    def lock_status(self, workspace: str, path: str) -> list[LockInfo]:
        return self.service.lock_status(self.actor, workspace, path)

    # -- events and audit ---------------------------------------------------------

    def list_events(
        self,
        workspace: str,
        *,
        after: int = 0,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        return self.service.list_events(
            self.actor,
            workspace,
            after=after,
            types=types,
            path_prefix=path_prefix,
            actor_id=actor_id,
            since=since,
            until=until,
            limit=limit,
        )

    def wait_events(
        self,
        workspace: str,
        *,
        after: int,
        timeout: float,
        types: Sequence[str] = (),
        path_prefix: str | None = None,
        actor_id: str | None = None,
        since: datetime | None = None,
        until: datetime | None = None,
        limit: int = 100,
    ) -> list[Event]:
        return self.service.wait_events(
            self.actor,
            workspace,
            after=after,
            timeout=timeout,
            types=types,
            path_prefix=path_prefix,
            actor_id=actor_id,
            since=since,
            until=until,
            limit=limit,
        )

    def list_audit(
        self,
        workspace: str,
        *,
        after_seq: int = 0,
        action: str | None = None,
        principal_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        return self.service.list_audit(
            self.actor,
            workspace,
            after_seq=after_seq,
            action=action,
            principal_id=principal_id,
            limit=limit,
        )

    def verify_audit(self, workspace: str) -> AuditVerdict:
        return self.service.verify_audit(self.actor, workspace)

    # -- members, agents, keys, ownership -------------------------------------------

    def list_members(self, workspace: str) -> list[Member]:
        return self.service.list_members(self.actor, workspace)

    def add_member(self, workspace: str, principal: str, role: str) -> Member:
        return self.service.add_member(self.actor, workspace, principal, role)

    def update_member_role(self, workspace: str, principal: str, role: str) -> Member:
        return self.service.update_member_role(self.actor, workspace, principal, role)

    def remove_member(self, workspace: str, principal: str) -> None:
        self.service.remove_member(self.actor, workspace, principal)

    def create_agent(self, workspace: str, name: str, *, role: str = "member") -> Member:
        return self.service.create_agent(self.actor, workspace, name, role=role)

    def create_api_key(
        self,
        workspace: str,
        principal: str,
        *,
        name: str = "default",
        scope: str = "write",
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        return self.service.create_api_key(
            self.actor, workspace, principal, name=name, scope=scope, expires_at=expires_at
        )

    def list_api_keys(self, workspace: str) -> list[ApiKeyInfo]:
        return self.service.list_api_keys(self.actor, workspace)

    def revoke_api_key(self, workspace: str, key_id: str) -> ApiKeyInfo:
        return self.service.revoke_api_key(self.actor, workspace, key_id)

    def create_transfer(self, workspace: str) -> Transfer:
        return self.service.create_transfer(self.actor, workspace)

    def list_transfers(self, workspace: str) -> list[Transfer]:
        return self.service.list_transfers(self.actor, workspace)

    def cancel_transfer(self, workspace: str, transfer_id: str) -> Transfer:
        return self.service.cancel_transfer(self.actor, workspace, transfer_id)

    def claim_transfer(self, token: str) -> Transfer:
        return self.service.claim_transfer(self.actor, token)


if TYPE_CHECKING:

    def _implements_every_operation(service: WorkspaceService, actor: Actor) -> Workspace:
        # Inheriting leaves an omitted method as the protocol's empty stub; mypy refuses
        # to instantiate such a class, so this line fails type checking instead.
        return LocalWorkspace(service, actor)

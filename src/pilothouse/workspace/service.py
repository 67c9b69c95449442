"""``WorkspaceService``: the one door to the workspace.

The REST API, the MCP server, the CLI, the web UI and the built-in agents all call
this façade, so every action is authorised, audited and emits its event exactly
once, whichever door it came through. Each public method:

1. resolves the workspace by name or id and checks the caller's role there and
   the scope of the key it presented (see :mod:`pilothouse.workspace.roles`);
2. runs the mutation in one :class:`~pilothouse.workspace.unit.Unit` — one
   transaction holding the change, its event and its audit entry;
3. publishes the committed events on the bus.

Bytes are streamed into the blob store *before* the transaction (so a 1 GiB upload
never holds the database), and the transaction only records their digest.

Errors are :class:`~pilothouse.workspace.errors.WorkspaceError` subclasses with
stable codes. A caller who is not a member of a workspace gets ``not_found`` for
it, so names of private workspaces do not leak.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, BinaryIO

from sqlalchemy import Connection, Engine, bindparam, insert, or_, select, update

from pilothouse.core import ids, netguard
from pilothouse.core.clock import Clock, SystemClock
from pilothouse.core.settings import Settings
from pilothouse.workspace import (
    audit,
    database,
    downloads,
    events,
    files,
    imports,
    locks,
    paths,
    principals,
    webhooks,
)
from pilothouse.workspace.blobs import BlobStore, DirectoryBlobStore
from pilothouse.workspace.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    LockHeld,
    NotFound,
)
from pilothouse.workspace.events import EventBus, InProcessEventBus
from pilothouse.workspace.intelligence import indexing, searching, sniffing
from pilothouse.workspace.intelligence.embedders import Embedder
from pilothouse.workspace.intelligence.hub import AUTO, Intelligence
from pilothouse.workspace.models import (
    Actor,
    ApiKeyInfo,
    AuditEntry,
    AuditVerdict,
    CreatedApiKey,
    Delivery,
    DownloadLink,
    Event,
    FileContent,
    FileInfo,
    FileVersion,
    ImportJob,
    LockGrant,
    LockInfo,
    Member,
    Page,
    Principal,
    PrincipalId,
    SearchResult,
    Transfer,
    Webhook,
    Workspace,
    WorkspaceId,
)
from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.roles import REQUIREMENTS, Interface, Kind, Permission, Role, Scope
from pilothouse.workspace.schema import imports as import_rows
from pilothouse.workspace.schema import installation, workspaces
from pilothouse.workspace.unit import SYSTEM, Unit

_LOAD_SELECT = select(workspaces).where(
    or_(workspaces.c.id == bindparam("ref"), workspaces.c.name == bindparam("ref"))
)
_LOAD = Prepared(_LOAD_SELECT)
_LOAD_FOR_UPDATE = Prepared(_LOAD_SELECT.with_for_update())
WORKSPACE_NAME = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
LOCK_WAKERS = frozenset({"lock.released", "lock.expired", "lock.broken"})
MAX_EVENT_PAGE = 1000
LOCAL_USER_KEY = "local_user_id"

Content = bytes | Iterable[bytes]


@dataclass(frozen=True)
class _Scoped:
    """A workspace row as seen by an authorised caller."""

    row: Any
    role: Role

    @property
    def id(self) -> WorkspaceId:
        return WorkspaceId(self.row.id)


def _workspace(row: Any, role: Role | None) -> Workspace:
    return Workspace(
        id=WorkspaceId(row.id),
        name=row.name,
        description=row.description,
        owner_id=PrincipalId(row.owner_id),
        quota_bytes=int(row.quota_bytes),
        used_bytes=int(row.used_bytes),
        intelligence=bool(row.intelligence),
        created_at=row.created_at,
        updated_at=row.updated_at,
        archived_at=row.archived_at,
        role=role,
    )


def _check_workspace_name(name: str) -> str:
    if not isinstance(name, str) or not WORKSPACE_NAME.match(name):
        raise InvalidArgument(
            f"invalid workspace name {name!r}: 1-63 lowercase letters, digits, '.', '_' or '-', "
            "starting with a letter or digit"
        )
    if name.startswith(("ws_",)):
        raise InvalidArgument("workspace names may not start with 'ws_' (reserved for ids)")
    return name


def _chunks(content: Content) -> Iterable[bytes]:
    if isinstance(content, (bytes, bytearray, memoryview)):
        return [bytes(content)]
    return content


class WorkspaceService:
    """The façade; thread-safe, one per process per store."""

    def __init__(
        self,
        settings: Settings,
        *,
        engine: Engine | None = None,
        blobs: BlobStore | None = None,
        clock: Clock | None = None,
        bus: EventBus | None = None,
        embedder: Embedder | None = AUTO,
        migrate: bool = True,
    ) -> None:
        self.settings = settings
        self.limits = settings.workspace
        self.engine = engine or database.make_engine(settings)
        if migrate:
            database.migrate(self.engine)
        self.blobs: BlobStore = blobs or DirectoryBlobStore(settings.blob_dir)
        self.clock: Clock = clock or SystemClock()
        self.bus: EventBus = bus or InProcessEventBus()
        self._import_tokens: dict[str, str] = {}
        self.intelligence = Intelligence(
            self.engine, self.blobs, settings.intelligence, self.clock.now, embedder
        )

    def close(self) -> None:
        self.engine.dispose()

    def ping(self) -> None:
        """Raise if the database does not answer (health checks)."""
        with database.begin_read(self.engine) as conn:
            conn.execute(select(installation.c.key).limit(1))

    # -- plumbing -----------------------------------------------------------------

    def _path(self, path: str) -> str:
        return paths.normalise(path, max_length=self.limits.max_path_length)

    def _load(self, conn: Connection, ref: str, *, for_update: bool = False) -> Any:
        if not isinstance(ref, str) or not ref:
            raise InvalidArgument("a workspace name or id is required")
        row = (_LOAD_FOR_UPDATE if for_update else _LOAD).first(conn, {"ref": ref})
        if row is None:
            raise NotFound(f"no workspace {ref!r}", details={"workspace": ref})
        return row

    def _authorise(self, conn: Connection, actor: Actor, row: Any, need: Permission) -> Role:
        min_role, min_scope = REQUIREMENTS[need]
        if actor.key_workspace_id is not None and actor.key_workspace_id != row.id:
            raise Forbidden("this API key is restricted to another workspace")
        role = principals.role_of(conn, actor.principal, row.id)
        if role is None:
            raise NotFound(f"no workspace {row.name!r}", details={"workspace": row.name})
        if role < min_role:
            raise Forbidden(
                f"{actor.principal.name} is {role.label} in {row.name}; "
                f"this needs {min_role.label}",
                details={"role": role.label, "required_role": min_role.label},
            )
        if actor.scope < min_scope:
            raise Forbidden(
                f"the API key's scope is {actor.scope.label}; this needs {min_scope.label}",
                details={"scope": actor.scope.label, "required_scope": min_scope.label},
            )
        return role

    @contextmanager
    def _reading(
        self, actor: Actor, ref: str, need: Permission = Permission.READ
    ) -> Iterator[tuple[Connection, _Scoped]]:
        with database.begin_read(self.engine) as conn:
            row = self._load(conn, ref)
            yield conn, _Scoped(row, self._authorise(conn, actor, row, need))

    @contextmanager
    def _unit(self, actor: Actor) -> Iterator[Unit]:
        with database.begin_write(self.engine) as conn:
            unit = Unit(conn, actor, self.clock.now(), self.limits)
            yield unit
        self.bus.publish(unit.emitted)

    @contextmanager
    def _writing(
        self, actor: Actor, ref: str, need: Permission, *, allow_archived: bool = False
    ) -> Iterator[tuple[Unit, _Scoped]]:
        with self._unit(actor) as unit:
            row = self._load(unit.conn, ref, for_update=True)
            scoped = _Scoped(row, self._authorise(unit.conn, actor, row, need))
            if row.archived_at is not None and not allow_archived:
                raise Conflict(f"workspace {row.name} is archived and read-only")
            yield unit, scoped

    # -- extension points for the layers above (the pipeline) ----------------------

    @contextmanager
    def workspace_unit(
        self, actor: Actor, workspace: str, need: Permission
    ) -> Iterator[tuple[Unit, Workspace]]:
        """A write transaction on ``workspace`` for a layer that keeps its own tables.

        The caller mutates its rows through ``unit.conn`` and records the operation with
        ``unit.record(...)``, so its audit entry and event commit with the change.
        """
        with self._writing(actor, workspace, need) as (unit, ws):
            yield unit, _workspace(ws.row, ws.role)

    @contextmanager
    def workspace_read(
        self, actor: Actor, workspace: str, need: Permission = Permission.READ
    ) -> Iterator[tuple[Connection, Workspace]]:
        """A read transaction on ``workspace`` after the role check."""
        with self._reading(actor, workspace, need) as (conn, ws):
            yield conn, _workspace(ws.row, ws.role)

    def record_event(
        self,
        actor: Actor,
        workspace: str,
        event: str,
        *,
        target: str,
        path: str | None = None,
        data: dict[str, Any] | None = None,
    ) -> None:
        """Append an event (and its audit entry) that no stored change goes with."""
        with self._writing(actor, workspace, Permission.WRITE, allow_archived=True) as (unit, ws):
            unit.record(ws.id, action=event, target=target, event=event, path=path, data=data)

    # -- installation and identity ------------------------------------------------

    def initialize(self, user_name: str = "admin") -> tuple[Principal, CreatedApiKey]:
        """First run: the site-admin user and its installation-wide admin key."""
        with database.begin_write(self.engine) as conn:
            if conn.execute(
                select(installation.c.value).where(installation.c.key == LOCAL_USER_KEY)
            ).first():
                raise Conflict("this home is already initialised")
            now = self.clock.now()
            user = principals.create(conn, Kind.USER, user_name, now=now, site_admin=True)
            conn.execute(insert(installation).values(key=LOCAL_USER_KEY, value=user.id))
            key = principals.insert_key(
                conn,
                principal_id=user.id,
                workspace_id=None,
                name="init",
                scope=Scope.ADMIN,
                created_by=user.id,
                now=now,
                expires_at=None,
            )
            actor = Actor(user, Interface.CLI)
            audit.append(
                conn, audit.GLOBAL_CHAIN, actor, at=now, action="installation.init", target=user.id
            )
        return user, key

    def local_actor(self, interface: Interface = Interface.CLI) -> Actor:
        """The user ``initialize`` created, acting with every scope."""
        with database.begin_read(self.engine) as conn:
            user_id = conn.execute(
                select(installation.c.value).where(installation.c.key == LOCAL_USER_KEY)
            ).scalar_one_or_none()
            if user_id is None:
                raise NotFound("this home is not initialised; run `pilothouse init`")
            return Actor(principals.get(conn, user_id), interface)

    def authenticate(
        self, api_key: str, interface: Interface, *, request_id: str | None = None
    ) -> Actor:
        """The actor behind an API key; raises ``unauthenticated``."""
        now = self.clock.now()
        with database.begin_read(self.engine) as conn:
            principal, key = principals.authenticate(conn, api_key, now)
        if key.last_used_at is None or now - key.last_used_at >= principals.LAST_USED_RESOLUTION:
            with database.begin_write(self.engine) as conn:
                principals.touch_key(conn, key, now)
        return Actor(
            principal,
            interface,
            scope=Scope.parse(key.scopes),
            api_key_id=key.id,
            key_workspace_id=WorkspaceId(key.workspace_id) if key.workspace_id else None,
            request_id=request_id,
        )

    @staticmethod
    def _site_admin(actor: Actor, what: str) -> None:
        if not actor.principal.site_admin or actor.scope < Scope.ADMIN:
            raise Forbidden(f"only a site administrator can {what}")
        if actor.key_workspace_id is not None:
            raise Forbidden(f"{what} needs an unrestricted key")

    def create_user(
        self, actor: Actor, name: str, *, site_admin: bool = False, kind: str = "user"
    ) -> Principal:
        """A new user (or agent) of the installation, member of nothing yet (site admins)."""
        self._site_admin(actor, "create principals")
        try:
            wanted = Kind(kind)
        except ValueError:
            raise InvalidArgument("kind is user or agent") from None
        if wanted is Kind.SYSTEM or (site_admin and wanted is not Kind.USER):
            raise InvalidArgument("kind is user or agent; only users can be site admins")
        with self._unit(actor) as unit:
            user = principals.create(unit.conn, wanted, name, now=unit.now, site_admin=site_admin)
            unit.record(
                None,
                action="principal.create",
                target=user.id,
                data={"name": name, "kind": wanted.value, "site_admin": site_admin},
            )
        return user

    def list_principals(self, actor: Actor) -> list[Principal]:
        """Every user and agent of the installation (site admins)."""
        self._site_admin(actor, "list principals")
        with database.begin_read(self.engine) as conn:
            return principals.list_all(conn)

    def create_personal_key(
        self,
        actor: Actor,
        principal: str | None = None,
        *,
        name: str = "personal",
        scope: str = "write",
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        """An unrestricted key (any workspace the principal belongs to).

        For yourself when you act with an unrestricted key; for anyone as a site
        admin. This is the key that creates workspaces and claims ownership.
        """
        try:
            wanted = Scope.parse(scope)
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        if wanted > actor.scope:
            raise Forbidden("a key cannot carry more scope than the key that creates it")
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidArgument("expires_at must carry a time zone (e.g. ...Z)")
        if actor.key_workspace_id is not None:
            raise Forbidden("a workspace-restricted key cannot mint unrestricted keys")
        with self._unit(actor) as unit:
            owner = principals.get(unit.conn, principal) if principal else actor.principal
            if owner.id != actor.principal.id:
                self._site_admin(actor, "create keys for others")
            if expires_at is not None and expires_at <= unit.now:
                raise InvalidArgument("expires_at is in the past")
            created = principals.insert_key(
                unit.conn,
                principal_id=owner.id,
                workspace_id=None,
                name=name,
                scope=wanted,
                created_by=actor.principal.id,
                now=unit.now,
                expires_at=expires_at,
            )
            unit.record(
                None,
                action="apikey.create",
                target=created.info.id,
                data={"principal_id": owner.id, "scope": wanted.label, "unrestricted": True},
            )
        return created

    def create_agent(
        self, actor: Actor, workspace: str, name: str, *, role: str = "member"
    ) -> Member:
        """A new agent principal, added to ``workspace`` with ``role``."""
        wanted = self._role(role)
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            agent = principals.create(unit.conn, Kind.AGENT, name, now=unit.now)
            return principals.add_member(unit, ws.id, agent, wanted)

    def get_principal(self, actor: Actor, ref: str) -> Principal:
        with database.begin_read(self.engine) as conn:
            return principals.get(conn, ref)

    # -- workspaces ---------------------------------------------------------------

    def create_workspace(
        self,
        actor: Actor,
        name: str,
        *,
        description: str = "",
        quota_bytes: int | None = None,
        intelligence: bool = True,
    ) -> Workspace:
        _check_workspace_name(name)
        if actor.scope < Scope.WRITE or actor.key_workspace_id is not None:
            raise Forbidden("creating workspaces needs an unrestricted key with write scope")
        quota = self.limits.default_quota_bytes if quota_bytes is None else quota_bytes
        if not isinstance(quota, int) or quota < 0:
            raise InvalidArgument("quota_bytes must be a non-negative integer")
        with self._unit(actor) as unit:
            if unit.conn.execute(select(workspaces.c.id).where(workspaces.c.name == name)).first():
                raise Conflict(f"a workspace named {name!r} exists", details={"name": name})
            ws_id = WorkspaceId(ids.new_id("ws"))
            unit.conn.execute(
                insert(workspaces).values(
                    id=ws_id,
                    name=name,
                    description=description,
                    owner_id=actor.principal.id,
                    quota_bytes=quota,
                    intelligence=intelligence,
                    created_at=unit.now,
                    updated_at=unit.now,
                )
            )
            principals.add_member_row(unit.conn, ws_id, actor.principal.id, Role.OWNER, unit.now)
            audit.start_chain(unit.conn, ws_id)
            unit.record(
                ws_id,
                action="workspace.create",
                target=ws_id,
                event="workspace.created",
                data={"name": name, "description": description, "quota_bytes": quota},
            )
            row = self._load(unit.conn, ws_id)
        return _workspace(row, Role.OWNER)

    def list_workspaces(self, actor: Actor, *, include_archived: bool = False) -> list[Workspace]:
        with database.begin_read(self.engine) as conn:
            rows = conn.execute(select(workspaces).order_by(workspaces.c.name)).all()
            result = []
            for row in rows:
                if row.archived_at is not None and not include_archived:
                    continue
                if actor.key_workspace_id is not None and actor.key_workspace_id != row.id:
                    continue
                role = principals.role_of(conn, actor.principal, row.id)
                if role is not None:
                    result.append(_workspace(row, role))
            return result

    def get_workspace(self, actor: Actor, workspace: str) -> Workspace:
        with self._reading(actor, workspace) as (_conn, ws):
            return _workspace(ws.row, ws.role)

    def update_workspace(
        self,
        actor: Actor,
        workspace: str,
        *,
        name: str | None = None,
        description: str | None = None,
        quota_bytes: int | None = None,
        intelligence: bool | None = None,
    ) -> Workspace:
        changes: dict[str, Any] = {}
        if name is not None:
            changes["name"] = _check_workspace_name(name)
        if description is not None:
            changes["description"] = description
        if quota_bytes is not None:
            if not isinstance(quota_bytes, int) or quota_bytes < 0:
                raise InvalidArgument("quota_bytes must be a non-negative integer")
            changes["quota_bytes"] = quota_bytes
        if intelligence is not None:
            changes["intelligence"] = bool(intelligence)
        if not changes:
            raise InvalidArgument("nothing to update")
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            if "name" in changes and changes["name"] != ws.row.name:
                taken = unit.conn.execute(
                    select(workspaces.c.id).where(workspaces.c.name == changes["name"])
                ).first()
                if taken:
                    raise Conflict(f"a workspace named {changes['name']!r} exists")
            unit.conn.execute(
                update(workspaces)
                .where(workspaces.c.id == ws.id)
                .values(**changes, updated_at=unit.now)
            )
            if changes.get("intelligence") and not ws.row.intelligence:
                indexing.enqueue_live(unit.conn, ws.id, unit.now)
            unit.record(
                ws.id,
                action="workspace.update",
                target=ws.id,
                event="workspace.updated",
                data={k: {"from": getattr(ws.row, k), "to": v} for k, v in changes.items()},
            )
            return _workspace(self._load(unit.conn, ws.id), ws.role)

    def archive_workspace(self, actor: Actor, workspace: str) -> Workspace:
        """Make a workspace read-only and hide it from default listings."""
        with self._writing(actor, workspace, Permission.OWN) as (unit, ws):
            unit.conn.execute(
                update(workspaces)
                .where(workspaces.c.id == ws.id)
                .values(archived_at=unit.now, updated_at=unit.now)
            )
            unit.record(ws.id, action="workspace.archive", target=ws.id, event="workspace.archived")
            return _workspace(self._load(unit.conn, ws.id), ws.role)

    # -- files --------------------------------------------------------------------

    def write_file(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        content: Content,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
        note: str | None = None,
    ) -> FileVersion:
        """Store a complete new version; ``if_version`` guards against lost updates."""
        path = self._path(path)
        self._check_if_version(if_version)
        # Authorise before accepting up to max_file_bytes; the transaction checks again.
        with self._reading(actor, workspace, Permission.WRITE) as (_conn, ws):
            if ws.row.archived_at is not None:
                raise Conflict(f"workspace {ws.row.name} is archived and read-only")
        stored = self.blobs.put_stream(_chunks(content), max_bytes=self.limits.max_file_bytes)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], lock_token, unit.now)
            return files.write(
                unit,
                ws.row,
                path,
                files.Blob(stored.sha256, stored.size),
                if_version=if_version,
                note=note,
            )

    @staticmethod
    def _check_if_version(if_version: int | None) -> None:
        if if_version is not None and (not isinstance(if_version, int) or if_version < 0):
            raise InvalidArgument("if_version must be a non-negative integer")

    def read_file(
        self, actor: Actor, workspace: str, path: str, *, version: int | None = None
    ) -> FileContent:
        info = self.file_version(actor, workspace, path, version=version)
        return FileContent(info, self.blobs.read(info.sha256))

    def open_file(
        self, actor: Actor, workspace: str, path: str, *, version: int | None = None
    ) -> tuple[FileVersion, BinaryIO]:
        """A version's bytes as a stream, for large files; the caller closes it."""
        info = self.file_version(actor, workspace, path, version=version)
        return info, self.blobs.open(info.sha256)

    def file_version(
        self, actor: Actor, workspace: str, path: str, *, version: int | None = None
    ) -> FileVersion:
        path = self._path(path)
        if version is not None and (not isinstance(version, int) or version < 1):
            raise InvalidArgument("version must be a positive integer")
        with self._reading(actor, workspace) as (conn, ws):
            return files.version_of(conn, ws.id, path, version)

    def stat_file(self, actor: Actor, workspace: str, path: str) -> FileInfo:
        path = self._path(path)
        with self._reading(actor, workspace) as (conn, ws):
            return files.stat(conn, ws.id, path)

    def list_files(
        self,
        actor: Actor,
        workspace: str,
        prefix: str = "/",
        *,
        recursive: bool = False,
        limit: int = 100,
        cursor: str | None = None,
    ) -> Page:
        directory = paths.normalise_dir(prefix, max_length=self.limits.max_path_length)
        with self._reading(actor, workspace) as (conn, ws):
            return files.listing(
                conn, ws.id, directory, recursive=recursive, limit=limit, cursor=cursor
            )

    def list_trash(self, actor: Actor, workspace: str, path: str | None = None) -> list[FileInfo]:
        wanted = self._path(path) if path is not None else None
        with self._reading(actor, workspace) as (conn, ws):
            return files.trash(conn, ws.id, wanted)

    def delete_file(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        """Move a file to the trash; returns it with its trash id (``id``)."""
        path = self._path(path)
        self._check_if_version(if_version)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], lock_token, unit.now)
            return files.delete_to_trash(unit, ws.id, path, if_version=if_version)

    def restore_file(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        *,
        trash_id: str | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        path = self._path(path)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], lock_token, unit.now)
            return files.restore(unit, ws.id, path, trash_id)

    def purge_file(
        self, actor: Actor, workspace: str, path: str, *, trash_id: str | None = None
    ) -> int:
        """Remove trashed files at ``path`` for good; returns the bytes freed from quota."""
        path = self._path(path)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            return files.purge(unit, ws.id, path, trash_id)

    def move_file(
        self,
        actor: Actor,
        workspace: str,
        source: str,
        target: str,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileInfo:
        source, target = self._path(source), self._path(target)
        self._check_if_version(if_version)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [source, target], lock_token, unit.now)
            return files.move(unit, ws.id, source, target, if_version=if_version)

    def copy_file(
        self,
        actor: Actor,
        workspace: str,
        source: str,
        target: str,
        *,
        version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        source, target = self._path(source), self._path(target)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [target], lock_token, unit.now)
            return files.copy(unit, ws.row, source, target, version=version)

    def file_versions(self, actor: Actor, workspace: str, path: str) -> list[FileVersion]:
        path = self._path(path)
        with self._reading(actor, workspace) as (conn, ws):
            return files.versions(conn, ws.id, path)

    def restore_version(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        version: int,
        *,
        if_version: int | None = None,
        lock_token: str | None = None,
    ) -> FileVersion:
        """Make an old version the newest again, as a new version."""
        path = self._path(path)
        self._check_if_version(if_version)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], lock_token, unit.now)
            old = files.version_of(unit.conn, ws.id, path, version)
            return files.write(
                unit,
                ws.row,
                path,
                files.Blob(old.sha256, old.size),
                if_version=if_version,
                note=f"restored from version {old.version}",
                event_data={"restored_from": old.version},
            )

    def get_metadata(self, actor: Actor, workspace: str, path: str) -> dict[str, str]:
        path = self._path(path)
        with self._reading(actor, workspace) as (conn, ws):
            return files.get_metadata(conn, ws.id, path)

    def set_metadata(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        values: dict[str, str],
        *,
        remove: Sequence[str] = (),
        lock_token: str | None = None,
    ) -> dict[str, str]:
        path = self._path(path)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], lock_token, unit.now)
            return files.set_metadata(unit, ws.id, path, values, remove)

    # -- locks --------------------------------------------------------------------

    def acquire_lock(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        *,
        scope: str = "file",
        ttl_seconds: float | None = None,
        enforce: bool = False,
        wait_seconds: float = 0,
    ) -> LockGrant:
        """Lease ``path`` (or the tree under it); optionally wait a bounded time for it."""
        kind = locks.parse_scope(scope)
        target = paths.normalise_any(path, max_length=self.limits.max_path_length)
        ttl = locks.check_ttl(
            self.limits.lock_default_ttl_seconds if ttl_seconds is None else ttl_seconds
        )
        if not isinstance(wait_seconds, (int, float)) or wait_seconds < 0:
            raise InvalidArgument("wait_seconds must be zero or positive")
        if wait_seconds > self.limits.lock_max_wait_seconds:
            raise InvalidArgument(
                f"wait_seconds may be at most {self.limits.lock_max_wait_seconds:g}"
            )
        deadline = time.monotonic() + wait_seconds
        wake = threading.Event()
        subscription = (
            self.bus.subscribe(lambda e: wake.set() if e.type in LOCK_WAKERS else None)
            if wait_seconds
            else None
        )
        pause = 0.005
        try:
            while True:
                try:
                    with self._writing(actor, workspace, Permission.LOCK) as (unit, ws):
                        return locks.acquire(
                            unit, ws.id, target, kind, ttl_seconds=ttl, enforce=enforce
                        )
                except LockHeld:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        raise
                    wake.wait(min(remaining, pause))
                    wake.clear()
                    pause = min(pause * 2, self.limits.lock_poll_seconds)
        finally:
            if subscription is not None:
                subscription.close()

    def heartbeat_lock(
        self,
        actor: Actor,
        workspace: str,
        lock_id: str,
        token: str,
        *,
        ttl_seconds: float | None = None,
    ) -> LockInfo:
        ttl = locks.check_ttl(
            self.limits.lock_default_ttl_seconds if ttl_seconds is None else ttl_seconds
        )
        with self._writing(actor, workspace, Permission.LOCK) as (unit, ws):
            return locks.heartbeat(unit, ws.id, lock_id, token, ttl_seconds=ttl)

    def release_lock(self, actor: Actor, workspace: str, lock_id: str, token: str) -> LockInfo:
        with self._writing(actor, workspace, Permission.LOCK, allow_archived=True) as (unit, ws):
            return locks.release(unit, ws.id, lock_id, token)

    def break_lock(
        self, actor: Actor, workspace: str, lock_id: str, *, reason: str = ""
    ) -> LockInfo:
        """Force-end someone's lease (admins); the reason goes into the audit."""
        with self._writing(actor, workspace, Permission.MANAGE, allow_archived=True) as (unit, ws):
            return locks.force_break(unit, ws.id, lock_id, reason)

    def list_locks(self, actor: Actor, workspace: str) -> list[LockInfo]:
        """Live leases; lapsed ones are reclaimed (recording ``lock.expired``) first."""
        with self._reading(actor, workspace) as (conn, ws):
            held = locks.all_locks(conn, ws.id)
        now = self.clock.now()
        if any(lk.expires_at <= now for lk in held):
            with self._unit(actor) as unit:
                locks.reclaim_expired(unit, ws.id)
            held = [lk for lk in held if lk.expires_at > now]
        return held

    def lock_status(self, actor: Actor, workspace: str, path: str) -> list[LockInfo]:
        """The live leases that cover ``path`` or lie inside it (for a directory)."""
        target = paths.normalise_any(path, max_length=self.limits.max_path_length)
        probe = locks.Span(target, "tree" if path.endswith("/") else "file")
        return [
            lk
            for lk in self.list_locks(actor, workspace)
            if locks.overlaps(probe, locks.Span(lk.path, locks.parse_scope(lk.scope)))
        ]

    # -- events and audit ---------------------------------------------------------

    def list_events(
        self,
        actor: Actor,
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
        if not 1 <= limit <= MAX_EVENT_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_EVENT_PAGE}")
        if not isinstance(after, int) or after < 0:
            raise InvalidArgument("after must be a non-negative cursor")
        prefix = (
            paths.normalise_any(path_prefix, max_length=self.limits.max_path_length)
            + ("/" if path_prefix.endswith("/") and path_prefix.strip("/") else "")
            if path_prefix
            else None
        )
        with self._reading(actor, workspace) as (conn, ws):
            return events.query(
                conn,
                ws.id,
                after=after,
                types=types,
                path_prefix=prefix,
                actor_id=actor_id,
                since=since,
                until=until,
                limit=limit,
            )

    def wait_events(
        self, actor: Actor, workspace: str, *, after: int, timeout: float, **filters: Any
    ) -> list[Event]:
        """Long-poll: events after ``after``, waiting up to ``timeout`` seconds for one."""
        deadline = time.monotonic() + max(0.0, min(timeout, 60.0))
        wake = threading.Event()
        subscription = self.bus.subscribe(lambda _e: wake.set())
        try:
            while True:
                found = self.list_events(actor, workspace, after=after, **filters)
                remaining = deadline - time.monotonic()
                if found or remaining <= 0:
                    return found
                wake.wait(min(remaining, 0.5))  # 0.5 s: also notice other processes' events
                wake.clear()
        finally:
            subscription.close()

    def list_audit(
        self,
        actor: Actor,
        workspace: str,
        *,
        after_seq: int = 0,
        action: str | None = None,
        principal_id: str | None = None,
        limit: int = 100,
    ) -> list[AuditEntry]:
        if not 1 <= limit <= MAX_EVENT_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_EVENT_PAGE}")
        with self._reading(actor, workspace) as (conn, ws):
            return audit.entries(
                conn,
                ws.id,
                after_seq=after_seq,
                action=action,
                principal_id=principal_id,
                limit=limit,
            )

    def verify_audit(self, actor: Actor, workspace: str) -> AuditVerdict:
        with self._reading(actor, workspace) as (conn, ws):
            return audit.verify(conn, ws.id)

    # -- members, keys, ownership -------------------------------------------------

    def list_members(self, actor: Actor, workspace: str) -> list[Member]:
        with self._reading(actor, workspace) as (conn, ws):
            return principals.list_members(conn, ws.id)

    def add_member(self, actor: Actor, workspace: str, principal: str, role: str) -> Member:
        wanted = self._role(role)
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            return principals.add_member(unit, ws.id, principals.get(unit.conn, principal), wanted)

    def update_member_role(self, actor: Actor, workspace: str, principal: str, role: str) -> Member:
        wanted = self._role(role)
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            return principals.update_role(unit, ws.id, principals.get(unit.conn, principal), wanted)

    def remove_member(self, actor: Actor, workspace: str, principal: str) -> None:
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            principals.remove_member(unit, ws.id, principals.get(unit.conn, principal))

    @staticmethod
    def _role(role: str) -> Role:
        try:
            return Role.parse(role)
        except ValueError as e:
            raise InvalidArgument(str(e)) from None

    def create_api_key(
        self,
        actor: Actor,
        workspace: str,
        principal: str,
        *,
        name: str = "default",
        scope: str = "write",
        expires_at: datetime | None = None,
    ) -> CreatedApiKey:
        """A key for a member, restricted to this workspace; its scope cannot exceed yours."""
        try:
            wanted = Scope.parse(scope)
        except ValueError as e:
            raise InvalidArgument(str(e)) from None
        if wanted > actor.scope:
            raise Forbidden("a key cannot carry more scope than the key that creates it")
        if expires_at is not None and expires_at.tzinfo is None:
            raise InvalidArgument("expires_at must carry a time zone (e.g. ...Z)")
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            return principals.create_key(
                unit,
                ws.id,
                principals.get(unit.conn, principal),
                name=name,
                scope=wanted,
                expires_at=expires_at,
            )

    def list_api_keys(self, actor: Actor, workspace: str) -> list[ApiKeyInfo]:
        with self._reading(actor, workspace, Permission.MANAGE) as (conn, ws):
            return principals.list_keys(conn, ws.id)

    def revoke_api_key(self, actor: Actor, workspace: str, key_id: str) -> ApiKeyInfo:
        with self._writing(actor, workspace, Permission.MANAGE, allow_archived=True) as (
            unit,
            ws,
        ):
            return principals.revoke_key(unit, ws.id, key_id)

    def create_transfer(self, actor: Actor, workspace: str) -> Transfer:
        """A one-time claim token (valid 72 h) that makes whoever claims it the owner."""
        with self._writing(actor, workspace, Permission.OWN) as (unit, ws):
            return principals.create_transfer(unit, ws.id)

    def list_transfers(self, actor: Actor, workspace: str) -> list[Transfer]:
        with self._reading(actor, workspace, Permission.OWN) as (conn, ws):
            return principals.list_transfers(conn, ws.id, self.clock.now())

    def cancel_transfer(self, actor: Actor, workspace: str, transfer_id: str) -> Transfer:
        with self._writing(actor, workspace, Permission.OWN) as (unit, ws):
            return principals.cancel_transfer(unit, ws.id, transfer_id)

    def claim_transfer(self, actor: Actor, token: str) -> Transfer:
        """Become the owner of the workspace the token was made for."""
        if actor.key_workspace_id is not None or actor.scope < Scope.WRITE:
            raise Forbidden("claiming ownership needs an unrestricted key with write scope")
        with self._unit(actor) as unit:
            row = principals.find_claim(unit.conn, token)
            self._load(unit.conn, row.workspace_id, for_update=True)
            return principals.claim(unit, row)

    # -- webhooks -----------------------------------------------------------------

    def create_webhook(
        self,
        actor: Actor,
        workspace: str,
        url: str,
        *,
        event_types: Sequence[str] = (),
        path_glob: str | None = None,
        active: bool = True,
    ) -> Webhook:
        """Subscribe ``url`` to events; the result carries the signing secret, once."""
        netguard.check(url, allow_private=self.settings.server.allow_private_webhook_targets)
        types = webhooks.check_types(list(event_types))
        if path_glob is not None and (len(path_glob) > 1024 or "\x00" in path_glob):
            raise InvalidArgument("path_glob must be at most 1024 characters")
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            return webhooks.create(
                unit, ws.id, url=url, event_types=types, path_glob=path_glob, active=active
            )

    def list_webhooks(self, actor: Actor, workspace: str) -> list[Webhook]:
        with self._reading(actor, workspace, Permission.MANAGE) as (conn, ws):
            return webhooks.list_all(conn, ws.id)

    def set_webhook_active(
        self, actor: Actor, workspace: str, webhook_id: str, active: bool
    ) -> Webhook:
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            return webhooks.update_active(unit, ws.id, webhook_id, active)

    def delete_webhook(self, actor: Actor, workspace: str, webhook_id: str) -> None:
        """Remove a subscription; its pending deliveries are marked failed."""
        with self._writing(actor, workspace, Permission.MANAGE, allow_archived=True) as (unit, ws):
            webhooks.delete(unit, ws.id, webhook_id)

    def rotate_webhook_secret(self, actor: Actor, workspace: str, webhook_id: str) -> Webhook:
        with self._writing(actor, workspace, Permission.MANAGE, allow_archived=True) as (unit, ws):
            return webhooks.rotate(unit, ws.id, webhook_id)

    def list_deliveries(
        self,
        actor: Actor,
        workspace: str,
        *,
        webhook_id: str | None = None,
        status: str | None = None,
        limit: int = 100,
    ) -> list[Delivery]:
        """The delivery log, newest first: status, attempts, last response code."""
        if not 1 <= limit <= MAX_EVENT_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_EVENT_PAGE}")
        with self._reading(actor, workspace, Permission.MANAGE) as (conn, ws):
            return webhooks.deliveries(
                conn, ws.id, webhook_id=webhook_id, status=status, limit=limit
            )

    # -- downloads and imports ----------------------------------------------------

    def create_download_link(
        self,
        actor: Actor,
        workspace: str,
        path: str,
        *,
        version: int | None = None,
        ttl_seconds: int | None = None,
    ) -> DownloadLink:
        """A signed token for one version that anyone holding it may download until expiry."""
        path = self._path(path)
        ttl = self.settings.server.download_url_ttl_seconds if ttl_seconds is None else ttl_seconds
        if not isinstance(ttl, int) or not 1 <= ttl <= 7 * 24 * 3600:
            raise InvalidArgument("ttl_seconds must be between 1 and 604800 (7 days)")
        with self._writing(actor, workspace, Permission.READ, allow_archived=True) as (unit, ws):
            info = files.version_of(unit.conn, ws.id, path, version)
            grant = downloads.Grant(ws.id, path, info.version, unit.now + timedelta(seconds=ttl))
            token = downloads.sign(downloads.signing_key(unit.conn), grant)
            unit.record(
                ws.id,
                action="download.link_create",
                target=path,
                after=info.version,
                data={"version": info.version, "expires_at": grant.expires_at.isoformat()},
            )
        return DownloadLink(path, info.version, token, grant.expires_at)

    def open_download(self, token: str) -> tuple[FileVersion, BinaryIO]:
        """The version a signed link names, as a stream; no principal needed."""
        if not isinstance(token, str) or len(token) > 8192:
            raise InvalidArgument("malformed download link")
        with database.begin_write(self.engine) as conn:
            grant = downloads.verify(downloads.signing_key(conn), token, self.clock.now())
            info = files.version_of(
                conn, WorkspaceId(grant.workspace_id), grant.path, grant.version
            )
        return info, self.blobs.open(info.sha256)

    def start_import(
        self,
        actor: Actor,
        workspace: str,
        url: str,
        path: str,
        *,
        bearer_token: str | None = None,
    ) -> ImportJob:
        """Queue a fetch of ``url`` into ``path``; a runner (``pilothouse serve``) does it."""
        path = self._path(path)
        netguard.check(url, allow_private=self.settings.server.allow_private_webhook_targets)
        with self._writing(actor, workspace, Permission.WRITE) as (unit, ws):
            locks.check_enforced(unit.conn, ws.id, [path], None, unit.now)
            job = imports.create(unit, ws.id, url, path)
            unit.record(
                ws.id,
                action="import.queue",
                target=path,
                event="import.queued",
                path=path,
                data={"import_id": job.id, "url": url},
            )
        if bearer_token:
            self._import_tokens[job.id] = bearer_token
        return job

    def get_import(self, actor: Actor, workspace: str, import_id: str) -> ImportJob:
        with self._reading(actor, workspace) as (conn, ws):
            return imports.get(conn, ws.id, import_id)

    def list_imports(self, actor: Actor, workspace: str, *, limit: int = 50) -> list[ImportJob]:
        if not 1 <= limit <= MAX_EVENT_PAGE:
            raise InvalidArgument(f"limit must be between 1 and {MAX_EVENT_PAGE}")
        with self._reading(actor, workspace) as (conn, ws):
            return imports.list_recent(conn, ws.id, limit)

    def import_token(self, import_id: str) -> str | None:
        """The bearer token given with an import, if this process accepted it."""
        return self._import_tokens.get(import_id)

    def claim_imports(self, *, limit: int) -> list[Any]:
        """For import runners: lease queued jobs."""
        with database.begin_write(self.engine) as conn:
            return imports.claim(conn, self.clock.now(), limit=limit)

    def import_progress(self, import_id: str, done: int, total: int | None) -> None:
        with database.begin_write(self.engine) as conn:
            imports.progress(conn, import_id, self.clock.now(), done, total)

    def finish_import(
        self,
        import_id: str,
        *,
        version: int | None = None,
        error: str | None = None,
        error_code: str | None = None,
        done: int | None = None,
    ) -> None:
        """Record a job's end and emit ``import.succeeded`` or ``import.failed``."""
        self._import_tokens.pop(import_id, None)
        with self._unit(SYSTEM) as unit:
            imports.finish(
                unit.conn,
                import_id,
                unit.now,
                version=version,
                error=error,
                error_code=error_code,
                done=done,
            )
            job = unit.conn.execute(select(import_rows).where(import_rows.c.id == import_id)).one()
            unit.record(
                WorkspaceId(job.workspace_id),
                action="import.finish",
                target=job.path,
                event="import.failed" if error else "import.succeeded",
                path=job.path,
                after=version,
                data={"import_id": import_id, "url": job.url, "error": error, "code": error_code},
            )

    # -- search -------------------------------------------------------------------

    def _filters(
        self,
        path_prefix: str | None,
        kinds: Sequence[str],
        since: datetime | None,
        until: datetime | None,
        metadata: dict[str, str] | None,
        include_history: bool,
    ) -> searching.Filters:
        for kind in kinds:
            if kind not in sniffing.KINDS:
                raise InvalidArgument(f"unknown kind {kind!r}; use {', '.join(sniffing.KINDS)}")
        prefix = (
            paths.normalise_dir(path_prefix, max_length=self.limits.max_path_length)
            if path_prefix
            else None
        )
        return searching.Filters(
            prefix, tuple(kinds), since, until, dict(metadata or {}), include_history
        )

    @staticmethod
    def _check_limit(limit: int) -> None:
        if not isinstance(limit, int) or not 1 <= limit <= 100:
            raise InvalidArgument("limit must be between 1 and 100")

    def search(
        self,
        actor: Actor,
        workspace: str,
        query: str,
        *,
        mode: str = "hybrid",
        limit: int = 10,
        path_prefix: str | None = None,
        kinds: Sequence[str] = (),
        since: datetime | None = None,
        until: datetime | None = None,
        metadata: dict[str, str] | None = None,
        include_history: bool = False,
    ) -> SearchResult:
        """Chunks that answer ``query`` by meaning and words, with citations."""
        if not isinstance(query, str) or not query.strip() or len(query) > 4000:
            raise InvalidArgument("query must be 1-4000 characters")
        if mode not in searching.MODES:
            raise InvalidArgument(f"mode must be one of {', '.join(searching.MODES)}")
        self._check_limit(limit)
        filters = self._filters(path_prefix, kinds, since, until, metadata, include_history)
        brain = self.intelligence
        with self._reading(actor, workspace) as (conn, ws):
            used, hits = searching.query(
                conn,
                ws.id,
                query,
                mode=mode,
                limit=limit,
                filters=filters,
                lexical=brain.lexical,
                vectors=brain.vectors,
                embedder=brain.embedder,
            )
            pending = indexing.depth(conn, ws.id)
        return SearchResult(used, tuple(hits), pending, brain.model)

    def search_similar(
        self,
        actor: Actor,
        workspace: str,
        *,
        path: str | None = None,
        version: int | None = None,
        text: str | None = None,
        limit: int = 10,
        path_prefix: str | None = None,
        kinds: Sequence[str] = (),
        include_history: bool = False,
    ) -> SearchResult:
        """Files most like a file (``path``, optional ``version``) or a raw ``text``."""
        if (path is None) == (text is None):
            raise InvalidArgument("give either path or text")
        self._check_limit(limit)
        filters = self._filters(path_prefix, kinds, None, None, None, include_history)
        brain = self.intelligence
        with self._reading(actor, workspace) as (conn, ws):
            source_chunks: list[Any] = []
            exclude = None
            if path is not None:
                info = files.version_of(conn, ws.id, self._path(path), version)
                exclude = files.live_row(conn, ws.id, info.path).id
                source_chunks = searching.source_chunks(conn, exclude, info.version)
                body = self.blobs.read(info.sha256)[:65536].decode("utf-8", "replace")
            else:
                if not isinstance(text, str) or not text.strip() or len(text) > 200_000:
                    raise InvalidArgument("text must be 1-200000 characters")
                body = text
            used, hits = searching.similar(
                conn,
                ws.id,
                source_chunks=source_chunks,
                source_text=body,
                exclude_file=exclude,
                limit=limit,
                filters=filters,
                lexical=brain.lexical,
                vectors=brain.vectors,
                embedder=brain.embedder,
            )
            pending = indexing.depth(conn, ws.id)
        return SearchResult(used, tuple(hits), pending, brain.model)

    def reindex(self, actor: Actor, workspace: str) -> int:
        """Queue every live file for indexing again; returns how many."""
        with self._writing(actor, workspace, Permission.MANAGE) as (unit, ws):
            count = indexing.enqueue_live(unit.conn, ws.id, unit.now)
            unit.record(ws.id, action="search.reindex", target=ws.id, data={"queued": count})
        self.intelligence.vectors.forget(ws.id)
        return count

    def search_status(self, actor: Actor, workspace: str) -> dict[str, Any]:
        """``{queue_depth, documents, chunks, model, mode}`` of a workspace's index."""
        with self._reading(actor, workspace) as (conn, ws):
            return {
                "queue_depth": indexing.depth(conn, ws.id),
                **searching.counts(conn, ws.id),
                "model": self.intelligence.model,
                "mode": self.intelligence.mode,
                "enabled": bool(ws.row.intelligence),
            }

    def index_pending(self, workspace: str | None = None) -> int:
        """Index what is queued, in this process (the CLI; servers run an indexer thread)."""
        workspace_id = None
        if workspace is not None:
            with database.begin_read(self.engine) as conn:
                workspace_id = self._load(conn, workspace).id
        return self.intelligence.indexer.drain(workspace_id=workspace_id)

    # -- maintenance --------------------------------------------------------------

    def collect_garbage(self, *, grace_seconds: float | None = None) -> int:
        """Delete blobs no version references (older than the grace period)."""
        with database.begin_read(self.engine) as conn:
            referenced = files.referenced_blobs(conn)
        grace = self.limits.blob_gc_grace_seconds if grace_seconds is None else grace_seconds
        return self.blobs.collect(referenced, grace_seconds=grace)

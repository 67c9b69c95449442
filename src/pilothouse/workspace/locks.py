"""Leases on a file or a whole directory tree, with fencing tokens.

The algebra is small and lives in :func:`overlaps` and :func:`covers`: a *file*
lock covers exactly its path; a *tree* lock on ``/status`` covers ``/status``
and everything below it. Two locks conflict when either covers the other's path.
That is what lets the deployer lock ``/status/`` as a whole while no other agent
holds, say, ``/status/deployed.json``.

A grant takes the next value of the workspace's fencing counter *before* looking
for conflicts. On PostgreSQL that increment row-locks the workspace, so two
acquirers queue and the second sees the first's lock; on SQLite the write
transaction is exclusive anyway. A refused acquire rolls back, so fencing tokens
of granted locks strictly increase in grant order — a storage system downstream
can reject a write carrying a smaller token than one it has seen.

Leases end by release, by expiry, or by an admin's break. An expired lease is
reclaimed lazily by the next acquirer (and by listings), which records
``lock.expired`` on behalf of the installation.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal

from sqlalchemy import Connection, bindparam, delete, insert, select, update

from pilothouse.core import ids
from pilothouse.core.clock import isoformat
from pilothouse.workspace import paths
from pilothouse.workspace.errors import InvalidArgument, LockHeld, LockNotHeld, NotFound
from pilothouse.workspace.models import (
    LockGrant,
    LockId,
    LockInfo,
    PrincipalId,
    WorkspaceId,
)
from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.schema import locks, principals, workspaces
from pilothouse.workspace.unit import SYSTEM, Unit

Scope = Literal["file", "tree"]
SCOPES: tuple[Scope, ...] = ("file", "tree")
MIN_TTL, MAX_TTL = 1, 3600


@dataclass(frozen=True)
class Span:
    path: str
    scope: Scope


def covers(lock: Span, path: str) -> bool:
    """Whether ``lock`` covers ``path`` (a write there needs the lock's token)."""
    if lock.scope == "tree":
        return paths.under(path, lock.path)
    return lock.path == path


def overlaps(a: Span, b: Span) -> bool:
    """Whether two locks conflict: either covers the other's path."""
    return covers(a, b.path) or covers(b, a.path)


def parse_scope(scope: str) -> Scope:
    if scope not in SCOPES:
        raise InvalidArgument(f"scope must be 'file' or 'tree', not {scope!r}")
    return scope


def check_ttl(ttl_seconds: float) -> int:
    integral = isinstance(ttl_seconds, int) or (
        isinstance(ttl_seconds, float) and ttl_seconds.is_integer()
    )
    if isinstance(ttl_seconds, bool) or not integral or not MIN_TTL <= ttl_seconds <= MAX_TTL:
        raise InvalidArgument(
            f"ttl_seconds must be a whole number between {MIN_TTL} and {MAX_TTL}, "
            f"not {ttl_seconds!r}",
            details={"min": MIN_TTL, "max": MAX_TTL},
        )
    return int(ttl_seconds)


def _principal_name(conn: Connection, principal_id: str) -> str:
    name = conn.execute(
        select(principals.c.name).where(principals.c.id == principal_id)
    ).scalar_one_or_none()
    return str(name or principal_id)


def _info(row: Any) -> LockInfo:
    return LockInfo(
        id=LockId(row.id),
        workspace_id=WorkspaceId(row.workspace_id),
        path=row.path,
        scope=row.scope,
        fencing_token=int(row.fencing_token),
        holder_id=PrincipalId(row.holder_id),
        agent_name=row.agent_name,
        enforce=bool(row.enforce),
        acquired_at=row.acquired_at,
        expires_at=row.expires_at,
    )


_ALL = Prepared(
    select(locks).where(locks.c.workspace_id == bindparam("ws")).order_by(locks.c.fencing_token)
)
_ONE = Prepared(
    select(locks).where(locks.c.id == bindparam("id"), locks.c.workspace_id == bindparam("ws"))
)
_DELETE = Prepared(delete(locks).where(locks.c.id == bindparam("id")))
_INSERT = Prepared(insert(locks))
_NEXT_FENCE = Prepared(
    update(workspaces)
    .where(workspaces.c.id == bindparam("ws"))
    .values(fencing_seq=workspaces.c.fencing_seq + 1)
    .returning(workspaces.c.fencing_seq)
)


def all_locks(conn: Connection, workspace_id: WorkspaceId) -> list[LockInfo]:
    return [_info(r) for r in _ALL.execute(conn, {"ws": workspace_id})]


def _expire(unit: Unit, lock: LockInfo) -> None:
    unit.conn.execute(delete(locks).where(locks.c.id == lock.id))
    unit.record(
        lock.workspace_id,
        action="lock.expire",
        target=lock.path,
        event="lock.expired",
        path=lock.path,
        data=_event_data(lock),
        actor=SYSTEM,
    )


def _event_data(lock: LockInfo) -> dict[str, Any]:
    return {
        "lock_id": lock.id,
        "scope": lock.scope,
        "fencing_token": lock.fencing_token,
        "holder_id": lock.holder_id,
        "agent_name": lock.agent_name,
        "expires_at": isoformat(lock.expires_at),
    }


def reclaim_expired(unit: Unit, workspace_id: WorkspaceId) -> int:
    """Remove every lapsed lease of a workspace, recording ``lock.expired``."""
    lapsed = [lk for lk in all_locks(unit.conn, workspace_id) if lk.expires_at <= unit.now]
    for lock in lapsed:
        _expire(unit, lock)
    return len(lapsed)


def acquire(
    unit: Unit,
    workspace_id: WorkspaceId,
    path: str,
    scope: Scope,
    *,
    ttl_seconds: int,
    enforce: bool,
) -> LockGrant:
    """Grant a lease or raise :class:`LockHeld` naming the holder and its expiry."""
    fencing = _NEXT_FENCE.scalar(unit.conn, {"ws": workspace_id})
    wanted = Span(path, scope)
    for held in all_locks(unit.conn, workspace_id):
        if not overlaps(wanted, Span(held.path, parse_scope(held.scope))):
            continue
        if held.expires_at <= unit.now:
            _expire(unit, held)
            continue
        holder = held.agent_name or _principal_name(unit.conn, held.holder_id)
        raise LockHeld(
            f"{held.scope} lock on {held.path} is held by {holder} "
            f"until {isoformat(held.expires_at)}",
            details={
                "lock_id": held.id,
                "path": held.path,
                "scope": held.scope,
                "holder_id": held.holder_id,
                "agent_name": held.agent_name,
                "expires_at": isoformat(held.expires_at),
            },
        )
    token = ids.new_secret("phl")
    lock = LockInfo(
        id=LockId(ids.new_id("lk")),
        workspace_id=workspace_id,
        path=path,
        scope=scope,
        fencing_token=int(fencing),
        holder_id=unit.actor.principal.id,
        agent_name=unit.actor.effective_agent_name,
        enforce=enforce,
        acquired_at=unit.now,
        expires_at=unit.now + timedelta(seconds=ttl_seconds),
    )
    _INSERT.execute(
        unit.conn,
        {
            "id": lock.id,
            "workspace_id": workspace_id,
            "path": path,
            "scope": scope,
            "digest": ids.digest(token),
            "fencing_token": lock.fencing_token,
            "holder_id": lock.holder_id,
            "agent_name": lock.agent_name,
            "enforce": enforce,
            "acquired_at": lock.acquired_at,
            "expires_at": lock.expires_at,
        },
    )
    unit.record(
        workspace_id,
        action="lock.acquire",
        target=path,
        event="lock.acquired",
        path=path,
        data={**_event_data(lock), "enforce": enforce, "ttl_seconds": ttl_seconds},
    )
    return LockGrant(lock.id, token, lock.fencing_token, path, scope, enforce, lock.expires_at)


def _held(unit: Unit, workspace_id: WorkspaceId, lock_id: str, token: str) -> LockInfo:
    row = _ONE.first(unit.conn, {"id": lock_id, "ws": workspace_id})
    if row is None:
        raise LockNotHeld(f"lock {lock_id} is not held (released, broken or expired)")
    if not ids.same_secret(token, row.digest):
        raise LockNotHeld(f"the token does not match lock {lock_id}")
    lock = _info(row)
    if lock.expires_at <= unit.now:
        raise LockNotHeld(
            f"lock {lock_id} expired at {isoformat(lock.expires_at)}",
            details={"expired_at": isoformat(lock.expires_at)},
        )
    return lock


def heartbeat(
    unit: Unit, workspace_id: WorkspaceId, lock_id: str, token: str, *, ttl_seconds: int
) -> LockInfo:
    """Extend a live lease to ``now + ttl``; an expired lease cannot be revived."""
    lock = _held(unit, workspace_id, lock_id, token)
    expires = unit.now + timedelta(seconds=ttl_seconds)
    unit.conn.execute(update(locks).where(locks.c.id == lock.id).values(expires_at=expires))
    extended = LockInfo(**{**lock.__dict__, "expires_at": expires})
    unit.record(
        workspace_id,
        action="lock.heartbeat",
        target=lock.path,
        event="lock.heartbeat",
        path=lock.path,
        data=_event_data(extended),
    )
    return extended


def release(unit: Unit, workspace_id: WorkspaceId, lock_id: str, token: str) -> LockInfo:
    lock = _held(unit, workspace_id, lock_id, token)
    _DELETE.execute(unit.conn, {"id": lock.id})
    unit.record(
        workspace_id,
        action="lock.release",
        target=lock.path,
        event="lock.released",
        path=lock.path,
        data=_event_data(lock),
    )
    return lock


def force_break(unit: Unit, workspace_id: WorkspaceId, lock_id: str, reason: str) -> LockInfo:
    """An admin ends someone else's lease; audited with the reason."""
    row = unit.conn.execute(
        select(locks).where(locks.c.id == lock_id, locks.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no lock {lock_id} in this workspace")
    lock = _info(row)
    unit.conn.execute(delete(locks).where(locks.c.id == lock.id))
    unit.record(
        workspace_id,
        action="lock.break",
        target=lock.path,
        event="lock.broken",
        path=lock.path,
        data={**_event_data(lock), "reason": reason},
    )
    return lock


def check_enforced(
    conn: Connection,
    workspace_id: WorkspaceId,
    targets: Iterable[str],
    token: str | None,
    now: datetime,
) -> None:
    """Refuse a change under an enforced lock unless ``token`` is that lock's."""
    enforced = conn.execute(
        select(locks).where(
            locks.c.workspace_id == workspace_id,
            locks.c.enforce.is_(True),
            locks.c.expires_at > now,
        )
    ).all()
    if not enforced:
        return
    wanted = list(targets)
    for row in enforced:
        span = Span(row.path, parse_scope(row.scope))
        if not any(covers(span, t) for t in wanted):
            continue
        if token is not None and ids.same_secret(token, row.digest):
            continue
        holder = row.agent_name or _principal_name(conn, row.holder_id)
        raise LockHeld(
            f"{row.path} is under an enforced {row.scope} lock held by "
            f"{holder} until {isoformat(row.expires_at)}; "
            "pass its lock token",
            details={
                "lock_id": row.id,
                "path": row.path,
                "holder_id": row.holder_id,
                "agent_name": row.agent_name,
                "expires_at": isoformat(row.expires_at),
            },
        )

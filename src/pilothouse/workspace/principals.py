"""Principals (users and agents), memberships, API keys and ownership transfer.

A principal exists once per installation; what it may do in a workspace is its
membership role there. Agents are principals too — the seed's pattern is an agent
that creates a workspace, works in it, and hands ownership to a human with a
one-time claim token, staying on as admin.

API keys are ``phk_<random>``: shown once, stored as a SHA-256 digest, looked up by
digest (a unique index), optionally restricted to one workspace, with a scope, an
optional expiry and revocation. Claim tokens work the same way (``pht_…``).
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, and_, delete, insert, select, update

from pilothouse.core import ids
from pilothouse.workspace.errors import (
    Conflict,
    Forbidden,
    InvalidArgument,
    NotFound,
    Unauthenticated,
)
from pilothouse.workspace.models import (
    ApiKeyInfo,
    CreatedApiKey,
    Member,
    Principal,
    PrincipalId,
    Transfer,
    WorkspaceId,
)
from pilothouse.workspace.roles import Kind, Role, Scope
from pilothouse.workspace.schema import api_keys, members, principals, transfers, workspaces
from pilothouse.workspace.unit import Unit

NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._@-]{0,127}$")
KEY_PREFIX = "phk"
CLAIM_PREFIX = "pht"
LAST_USED_RESOLUTION = timedelta(seconds=60)


def _principal(row: Any) -> Principal:
    return Principal(
        PrincipalId(row.id), Kind(row.kind), row.name, bool(row.site_admin), row.created_at
    )


def check_name(name: str) -> str:
    if not isinstance(name, str) or not NAME.match(name):
        raise InvalidArgument(
            f"invalid principal name {name!r}: 1-128 letters, digits, '.', '_', '@' or '-'"
        )
    return name


def create(
    conn: Connection, kind: Kind, name: str, *, now: datetime, site_admin: bool = False
) -> Principal:
    check_name(name)
    if conn.execute(select(principals.c.id).where(principals.c.name == name)).first():
        raise Conflict(f"a principal named {name!r} already exists", details={"name": name})
    principal = Principal(PrincipalId(ids.new_id("pr")), kind, name, site_admin, now)
    conn.execute(
        insert(principals).values(
            id=principal.id, kind=kind.value, name=name, site_admin=site_admin, created_at=now
        )
    )
    return principal


def list_all(conn: Connection) -> list[Principal]:
    rows = conn.execute(
        select(principals).where(principals.c.disabled_at.is_(None)).order_by(principals.c.name)
    )
    return [_principal(r) for r in rows]


def get(conn: Connection, ref: str) -> Principal:
    """A principal by id or name."""
    row = conn.execute(
        select(principals).where((principals.c.id == ref) | (principals.c.name == ref))
    ).first()
    if row is None or row.disabled_at is not None:
        raise NotFound(f"no principal {ref!r}", details={"principal": ref})
    return _principal(row)


def authenticate(conn: Connection, key: str, now: datetime) -> tuple[Principal, Any]:
    """The principal and key row behind a presented API key; raises ``Unauthenticated``."""
    if not isinstance(key, str) or not key.startswith(KEY_PREFIX + "_") or len(key) > 200:
        raise Unauthenticated("malformed API key")
    row = conn.execute(select(api_keys).where(api_keys.c.digest == ids.digest(key))).one_or_none()
    if row is None:
        raise Unauthenticated("unknown API key")
    if row.revoked_at is not None:
        raise Unauthenticated("this API key was revoked", details={"key_id": row.id})
    if row.expires_at is not None and row.expires_at <= now:
        raise Unauthenticated("this API key has expired", details={"key_id": row.id})
    principal_row = conn.execute(
        select(principals).where(principals.c.id == row.principal_id)
    ).one()
    if principal_row.disabled_at is not None:
        raise Unauthenticated("the principal of this API key is disabled")
    return _principal(principal_row), row


def touch_key(conn: Connection, key_row: Any, now: datetime) -> None:
    """Record last use, at most once a minute per key (a write per request is waste)."""
    if key_row.last_used_at is None or now - key_row.last_used_at >= LAST_USED_RESOLUTION:
        conn.execute(update(api_keys).where(api_keys.c.id == key_row.id).values(last_used_at=now))


def role_of(conn: Connection, principal: Principal, workspace_id: str) -> Role | None:
    """The principal's effective role: site admins act as owner everywhere."""
    if principal.site_admin:
        return Role.OWNER
    return role_of_member(conn, workspace_id, principal.id)


def add_member_row(
    conn: Connection, workspace_id: str, principal_id: str, role: Role, now: datetime
) -> None:
    conn.execute(
        insert(members).values(
            workspace_id=workspace_id, principal_id=principal_id, role=role.label, added_at=now
        )
    )


def list_members(conn: Connection, workspace_id: str) -> list[Member]:
    rows = conn.execute(
        select(members, principals.c.name, principals.c.kind)
        .join(principals, principals.c.id == members.c.principal_id)
        .where(members.c.workspace_id == workspace_id)
        .order_by(members.c.added_at, principals.c.name)
    )
    return [
        Member(PrincipalId(r.principal_id), r.name, Kind(r.kind), Role.parse(r.role), r.added_at)
        for r in rows
    ]


def add_member(unit: Unit, workspace_id: WorkspaceId, principal: Principal, role: Role) -> Member:
    if role is Role.OWNER:
        raise InvalidArgument("a workspace has one owner; use an ownership transfer")
    if role_of_member(unit.conn, workspace_id, principal.id) is not None:
        raise Conflict(f"{principal.name} is already a member", details={"principal": principal.id})
    add_member_row(unit.conn, workspace_id, principal.id, role, unit.now)
    unit.record(
        workspace_id,
        action="member.add",
        target=principal.id,
        event="member.added",
        data={"principal_id": principal.id, "name": principal.name, "role": role.label},
    )
    return Member(principal.id, principal.name, principal.kind, role, unit.now)


def role_of_member(conn: Connection, workspace_id: str, principal_id: str) -> Role | None:
    role = conn.execute(
        select(members.c.role).where(
            members.c.workspace_id == workspace_id, members.c.principal_id == principal_id
        )
    ).scalar_one_or_none()
    return Role.parse(role) if role else None


def update_role(unit: Unit, workspace_id: WorkspaceId, principal: Principal, role: Role) -> Member:
    current = role_of_member(unit.conn, workspace_id, principal.id)
    if current is None:
        raise NotFound(f"{principal.name} is not a member", details={"principal": principal.id})
    if current is Role.OWNER or role is Role.OWNER:
        raise InvalidArgument("ownership changes only through an ownership transfer")
    unit.conn.execute(
        update(members)
        .where(members.c.workspace_id == workspace_id, members.c.principal_id == principal.id)
        .values(role=role.label)
    )
    unit.record(
        workspace_id,
        action="member.update_role",
        target=principal.id,
        event="member.role_updated",
        data={"principal_id": principal.id, "from": current.label, "to": role.label},
    )
    return Member(principal.id, principal.name, principal.kind, role, unit.now)


def remove_member(unit: Unit, workspace_id: WorkspaceId, principal: Principal) -> None:
    current = role_of_member(unit.conn, workspace_id, principal.id)
    if current is None:
        raise NotFound(f"{principal.name} is not a member", details={"principal": principal.id})
    if current is Role.OWNER:
        raise InvalidArgument("the owner cannot be removed; transfer ownership first")
    unit.conn.execute(
        delete(members).where(
            members.c.workspace_id == workspace_id, members.c.principal_id == principal.id
        )
    )
    unit.conn.execute(
        update(api_keys)
        .where(
            api_keys.c.principal_id == principal.id,
            api_keys.c.workspace_id == workspace_id,
            api_keys.c.revoked_at.is_(None),
        )
        .values(revoked_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="member.remove",
        target=principal.id,
        event="member.removed",
        data={"principal_id": principal.id, "role": current.label},
    )


def _key_info(row: Any) -> ApiKeyInfo:
    return ApiKeyInfo(
        id=row.id,
        principal_id=PrincipalId(row.principal_id),
        workspace_id=WorkspaceId(row.workspace_id) if row.workspace_id else None,
        name=row.name,
        scope=Scope.parse(row.scopes),
        created_at=row.created_at,
        expires_at=row.expires_at,
        revoked_at=row.revoked_at,
        last_used_at=row.last_used_at,
    )


def insert_key(
    conn: Connection,
    *,
    principal_id: str,
    workspace_id: str | None,
    name: str,
    scope: Scope,
    created_by: str,
    now: datetime,
    expires_at: datetime | None,
) -> CreatedApiKey:
    key = ids.new_secret(KEY_PREFIX)
    key_id = ids.new_id("key")
    conn.execute(
        insert(api_keys).values(
            id=key_id,
            principal_id=principal_id,
            workspace_id=workspace_id,
            name=name,
            digest=ids.digest(key),
            scopes=scope.label,
            created_by=created_by,
            created_at=now,
            expires_at=expires_at,
        )
    )
    row = conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one()
    return CreatedApiKey(key, _key_info(row))


def create_key(
    unit: Unit,
    workspace_id: WorkspaceId,
    principal: Principal,
    *,
    name: str,
    scope: Scope,
    expires_at: datetime | None,
) -> CreatedApiKey:
    """A key for a member, restricted to this workspace."""
    if role_of_member(unit.conn, workspace_id, principal.id) is None:
        raise InvalidArgument(f"{principal.name} is not a member of this workspace")
    if expires_at is not None and expires_at <= unit.now:
        raise InvalidArgument("expires_at is in the past")
    if not name or len(name) > 128:
        raise InvalidArgument("a key name is 1-128 characters")
    created = insert_key(
        unit.conn,
        principal_id=principal.id,
        workspace_id=workspace_id,
        name=name,
        scope=scope,
        created_by=unit.actor.principal.id,
        now=unit.now,
        expires_at=expires_at,
    )
    unit.record(
        workspace_id,
        action="apikey.create",
        target=created.info.id,
        event="apikey.created",
        data={
            "key_id": created.info.id,
            "principal_id": principal.id,
            "name": name,
            "scope": scope.label,
        },
    )
    return created


def list_keys(conn: Connection, workspace_id: str) -> list[ApiKeyInfo]:
    rows = conn.execute(
        select(api_keys)
        .where(api_keys.c.workspace_id == workspace_id)
        .order_by(api_keys.c.created_at)
    )
    return [_key_info(r) for r in rows]


def revoke_key(unit: Unit, workspace_id: WorkspaceId, key_id: str) -> ApiKeyInfo:
    row = unit.conn.execute(
        select(api_keys).where(api_keys.c.id == key_id, api_keys.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no API key {key_id} in this workspace")
    if row.revoked_at is None:
        unit.conn.execute(
            update(api_keys).where(api_keys.c.id == key_id).values(revoked_at=unit.now)
        )
    unit.record(
        workspace_id,
        action="apikey.revoke",
        target=key_id,
        event="apikey.revoked",
        data={"key_id": key_id, "principal_id": row.principal_id},
    )
    return _key_info(unit.conn.execute(select(api_keys).where(api_keys.c.id == key_id)).one())


def _transfer(row: Any, now: datetime, token: str | None = None) -> Transfer:
    if row.claimed_at is not None:
        state = "claimed"
    elif row.cancelled_at is not None:
        state = "cancelled"
    elif row.expires_at <= now:
        state = "expired"
    else:
        state = "open"
    return Transfer(
        row.id,
        WorkspaceId(row.workspace_id),
        PrincipalId(row.created_by),
        row.created_at,
        row.expires_at,
        state,
        token,
    )


def _open_transfers(workspace_id: str, now: datetime) -> Any:
    return and_(
        transfers.c.workspace_id == workspace_id,
        transfers.c.claimed_at.is_(None),
        transfers.c.cancelled_at.is_(None),
        transfers.c.expires_at > now,
    )


def create_transfer(unit: Unit, workspace_id: WorkspaceId) -> Transfer:
    limit = unit.settings.max_open_transfers
    open_now = unit.conn.execute(
        select(transfers.c.id).where(_open_transfers(workspace_id, unit.now))
    ).all()
    if len(open_now) >= limit:
        raise Conflict(
            f"{limit} ownership transfers are already open; cancel one first",
            details={"open": len(open_now), "limit": limit},
        )
    token = ids.new_secret(CLAIM_PREFIX)
    transfer_id = ids.new_id("tr")
    unit.conn.execute(
        insert(transfers).values(
            id=transfer_id,
            workspace_id=workspace_id,
            digest=ids.digest(token),
            created_by=unit.actor.principal.id,
            created_at=unit.now,
            expires_at=unit.now + timedelta(hours=unit.settings.claim_token_ttl_hours),
        )
    )
    row = unit.conn.execute(select(transfers).where(transfers.c.id == transfer_id)).one()
    unit.record(
        workspace_id,
        action="ownership.transfer_create",
        target=transfer_id,
        event="ownership.transfer_created",
        data={"transfer_id": transfer_id, "expires_at": row.expires_at.isoformat()},
    )
    return _transfer(row, unit.now, token)


def list_transfers(conn: Connection, workspace_id: str, now: datetime) -> list[Transfer]:
    rows = conn.execute(
        select(transfers)
        .where(transfers.c.workspace_id == workspace_id)
        .order_by(transfers.c.created_at)
    )
    return [_transfer(r, now) for r in rows]


def cancel_transfer(unit: Unit, workspace_id: WorkspaceId, transfer_id: str) -> Transfer:
    row = unit.conn.execute(
        select(transfers).where(
            transfers.c.id == transfer_id, transfers.c.workspace_id == workspace_id
        )
    ).one_or_none()
    if row is None:
        raise NotFound(f"no ownership transfer {transfer_id} in this workspace")
    if _transfer(row, unit.now).state != "open":
        raise Conflict(f"transfer {transfer_id} is {_transfer(row, unit.now).state}")
    unit.conn.execute(
        update(transfers).where(transfers.c.id == transfer_id).values(cancelled_at=unit.now)
    )
    unit.record(
        workspace_id,
        action="ownership.transfer_cancel",
        target=transfer_id,
        event="ownership.transfer_cancelled",
        data={"transfer_id": transfer_id},
    )
    return _transfer(
        unit.conn.execute(select(transfers).where(transfers.c.id == transfer_id)).one(), unit.now
    )


def find_claim(conn: Connection, token: str) -> Any:
    if not isinstance(token, str) or not token.startswith(CLAIM_PREFIX + "_"):
        raise InvalidArgument("malformed claim token")
    row = conn.execute(
        select(transfers).where(transfers.c.digest == ids.digest(token))
    ).one_or_none()
    if row is None:
        raise NotFound("unknown claim token")
    return row


def claim(unit: Unit, row: Any) -> Transfer:
    """Make the claimant owner; the previous owner stays on as admin."""
    state = _transfer(row, unit.now).state
    if state != "open":
        raise Conflict(f"this claim token is {state}", details={"state": state})
    workspace_id = WorkspaceId(row.workspace_id)
    claimant = unit.actor.principal
    previous = unit.conn.execute(
        select(workspaces.c.owner_id).where(workspaces.c.id == workspace_id)
    ).scalar_one()
    if previous == claimant.id:
        raise Conflict("you already own this workspace")
    if claimant.kind is not Kind.USER and claimant.kind is not Kind.AGENT:
        raise Forbidden("only users and agents can own workspaces")
    unit.conn.execute(
        update(members)
        .where(members.c.workspace_id == workspace_id, members.c.principal_id == previous)
        .values(role=Role.ADMIN.label)
    )
    if role_of_member(unit.conn, workspace_id, claimant.id) is None:
        add_member_row(unit.conn, workspace_id, claimant.id, Role.OWNER, unit.now)
    else:
        unit.conn.execute(
            update(members)
            .where(members.c.workspace_id == workspace_id, members.c.principal_id == claimant.id)
            .values(role=Role.OWNER.label)
        )
    unit.conn.execute(
        update(workspaces)
        .where(workspaces.c.id == workspace_id)
        .values(owner_id=claimant.id, updated_at=unit.now)
    )
    unit.conn.execute(
        update(transfers)
        .where(transfers.c.id == row.id)
        .values(claimed_at=unit.now, claimed_by=claimant.id)
    )
    unit.record(
        workspace_id,
        action="ownership.transfer_claim",
        target=row.id,
        event="ownership.transferred",
        data={"transfer_id": row.id, "from": previous, "to": claimant.id},
    )
    return _transfer(
        unit.conn.execute(select(transfers).where(transfers.c.id == row.id)).one(), unit.now
    )

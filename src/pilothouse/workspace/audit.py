"""The audit trail: who did what, through which door, hash-chained.

Each workspace has its own chain (installation-wide actions use the chain
``global``). An entry's hash is SHA-256 over the previous entry's hash and a
canonical encoding of the entry — JSON with sorted keys, no whitespace, UTF-8,
timestamps as fixed-width ISO strings — so any edit, deletion or reordering of a
stored row changes a hash that a later entry or the chain head vouches for.
:func:`verify` replays the chain and names the first entry that does not fit.

The chain head (``audit_heads``) is read ``FOR UPDATE`` before appending, so on
PostgreSQL concurrent appenders to one chain queue instead of forking it; SQLite
serialises writers anyway. The head also catches truncation of the newest entries.
"""

from __future__ import annotations

import hashlib
import json
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, bindparam, func, insert, select, update

from pilothouse.core.clock import isoformat
from pilothouse.workspace.models import Actor, AuditEntry, AuditVerdict, PrincipalId
from pilothouse.workspace.prepared import Prepared
from pilothouse.workspace.schema import audit, audit_heads

GENESIS = "0" * 64
GLOBAL_CHAIN = "global"

HASHED_FIELDS = (
    "chain",
    "seq",
    "at",
    "principal_id",
    "principal_kind",
    "agent_name",
    "api_key_id",
    "interface",
    "action",
    "target",
    "before_version",
    "after_version",
    "request_id",
    "details",
)


def canonical(fields: dict[str, Any]) -> bytes:
    """The byte string an entry's hash covers."""
    body = {k: fields[k] for k in HASHED_FIELDS}
    if isinstance(body["at"], datetime):
        body["at"] = isoformat(body["at"])
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def chain_hash(prev_hash: str, fields: dict[str, Any]) -> str:
    return hashlib.sha256(prev_hash.encode("ascii") + b"\n" + canonical(fields)).hexdigest()


_HEAD = Prepared(
    select(audit_heads.c.seq, audit_heads.c.hash)
    .where(audit_heads.c.chain == bindparam("chain"))
    .with_for_update()
)
_INSERT = Prepared(insert(audit))
_MOVE_HEAD = Prepared(
    update(audit_heads)
    .where(audit_heads.c.chain == bindparam("b_chain"))
    .values(seq=bindparam("b_seq"), hash=bindparam("b_hash"))
)


def start_chain(conn: Connection, chain: str) -> None:
    """Create the head of a new chain (a new workspace, or the global one)."""
    conn.execute(insert(audit_heads).values(chain=chain, seq=0, hash=GENESIS))


def append(
    conn: Connection,
    chain: str,
    actor: Actor,
    *,
    at: datetime,
    action: str,
    target: str,
    before_version: int | None = None,
    after_version: int | None = None,
    details: dict[str, Any] | None = None,
) -> int:
    """Append one entry to ``chain``; returns its sequence number."""
    head = _HEAD.first(conn, {"chain": chain})
    if head is None:
        start_chain(conn, chain)
        prev_seq, prev_hash = 0, GENESIS
    else:
        prev_seq, prev_hash = int(head.seq), str(head.hash)
    fields: dict[str, Any] = {
        "chain": chain,
        "seq": prev_seq + 1,
        "at": at,
        "principal_id": actor.principal.id,
        "principal_kind": actor.principal.kind.value,
        "agent_name": actor.effective_agent_name,
        "api_key_id": actor.api_key_id,
        "interface": actor.interface.value,
        "action": action,
        "target": target,
        "before_version": before_version,
        "after_version": after_version,
        "request_id": actor.request_id,
        "details": details or {},
    }
    digest = chain_hash(prev_hash, fields)
    _INSERT.execute(
        conn,
        {
            **fields,
            "details": json.dumps(fields["details"], sort_keys=True, default=str),
            "prev_hash": prev_hash,
            "hash": digest,
        },
    )
    _MOVE_HEAD.execute(conn, {"b_chain": chain, "b_seq": prev_seq + 1, "b_hash": digest})
    return prev_seq + 1


def _entry(row: Any) -> AuditEntry:
    return AuditEntry(
        id=int(row.id),
        seq=int(row.seq),
        at=row.at,
        principal_id=PrincipalId(row.principal_id),
        principal_kind=row.principal_kind,
        agent_name=row.agent_name,
        api_key_id=row.api_key_id,
        interface=row.interface,
        action=row.action,
        target=row.target,
        before_version=row.before_version,
        after_version=row.after_version,
        request_id=row.request_id,
        details=json.loads(row.details),
        prev_hash=row.prev_hash,
        hash=row.hash,
    )


def entries(
    conn: Connection,
    chain: str,
    *,
    after_seq: int = 0,
    action: str | None = None,
    principal_id: str | None = None,
    limit: int = 100,
) -> list[AuditEntry]:
    stmt = select(audit).where(audit.c.chain == chain, audit.c.seq > after_seq)
    if action:
        stmt = stmt.where(audit.c.action == action)
    if principal_id:
        stmt = stmt.where(audit.c.principal_id == principal_id)
    return [_entry(r) for r in conn.execute(stmt.order_by(audit.c.seq).limit(limit))]


def verify(conn: Connection, chain: str, *, batch: int = 5000) -> AuditVerdict:
    """Replay ``chain`` from genesis; the first entry whose hash or link is wrong fails it."""
    prev_hash = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = conn.execute(
            select(audit)
            .where(audit.c.chain == chain, audit.c.seq > last_seq)
            .order_by(audit.c.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for row in rows:
            problem = None
            if int(row.seq) != expected_seq:
                problem = f"sequence jumps from {expected_seq - 1} to {row.seq}"
            elif row.prev_hash != prev_hash:
                problem = "does not link to the previous entry"
            else:
                try:
                    fields = {c: getattr(row, c) for c in HASHED_FIELDS}
                    fields["details"] = json.loads(row.details)
                    if chain_hash(prev_hash, fields) != row.hash:
                        problem = "content does not match its hash"
                except (ValueError, TypeError) as e:
                    problem = f"cannot be decoded ({e})"
            if problem:
                return AuditVerdict(False, checked, int(row.id), int(row.seq), problem)
            prev_hash = row.hash
            expected_seq += 1
            last_seq = int(row.seq)
            checked += 1
    head = conn.execute(select(audit_heads).where(audit_heads.c.chain == chain)).one_or_none()
    if head is not None and (int(head.seq) != last_seq or head.hash != prev_hash):
        return AuditVerdict(
            False, checked, None, last_seq + 1, "entries after the last one were removed"
        )
    return AuditVerdict(True, checked)


def count(conn: Connection, chain: str) -> int:
    return int(conn.execute(select(func.count()).where(audit.c.chain == chain)).scalar_one())

"""URL import jobs: their rows, claims and progress.

An import is a durable job: the row is written when it is requested, so a status
query answers "queued", "running" (with bytes so far), "succeeded" (with the new
version) or "failed" (with a code and reason) whichever replica asks. A runner
claims queued rows with a lease; a job whose runner died goes back to the queue
when its lease runs out. Bearer tokens for private sources are never stored: they
live in the memory of the process that accepted the request, so a job that needed
one and lost its process fails with ``interrupted`` instead of running without it.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, insert, or_, select, update

from pilothouse.core import ids
from pilothouse.workspace.errors import NotFound
from pilothouse.workspace.models import ImportJob, WorkspaceId
from pilothouse.workspace.schema import imports
from pilothouse.workspace.unit import Unit

LEASE_SECONDS = 120


def _job(row: Any) -> ImportJob:
    return ImportJob(
        id=row.id,
        workspace_id=WorkspaceId(row.workspace_id),
        url=row.url,
        path=row.path,
        status=row.status,
        bytes_done=int(row.bytes_done),
        bytes_total=row.bytes_total,
        version=row.version,
        error=row.error,
        error_code=row.error_code,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
    )


def create(unit: Unit, workspace_id: WorkspaceId, url: str, path: str) -> ImportJob:
    job_id = ids.new_id("imp")
    unit.conn.execute(
        insert(imports).values(
            id=job_id,
            workspace_id=workspace_id,
            url=url,
            path=path,
            status="queued",
            created_by=unit.actor.principal.id,
            interface=unit.actor.interface.value,
            created_at=unit.now,
        )
    )
    return get(unit.conn, workspace_id, job_id)


def get(conn: Connection, workspace_id: str, job_id: str) -> ImportJob:
    row = conn.execute(
        select(imports).where(imports.c.id == job_id, imports.c.workspace_id == workspace_id)
    ).one_or_none()
    if row is None:
        raise NotFound(f"no import {job_id} in this workspace")
    return _job(row)


def list_recent(conn: Connection, workspace_id: str, limit: int) -> list[ImportJob]:
    rows = conn.execute(
        select(imports)
        .where(imports.c.workspace_id == workspace_id)
        .order_by(imports.c.created_at.desc())
        .limit(limit)
    )
    return [_job(r) for r in rows]


def claim(
    conn: Connection, now: datetime, *, limit: int, only: set[str] | None = None
) -> list[Any]:
    """Lease queued jobs (and running ones whose runner's lease ran out)."""
    stmt = (
        select(imports)
        .where(
            or_(
                imports.c.status == "queued",
                (imports.c.status == "running") & (imports.c.lease_until <= now),
            )
        )
        .order_by(imports.c.created_at)
        .limit(limit)
        .with_for_update(skip_locked=True)
    )
    if only is not None:
        stmt = stmt.where(imports.c.id.in_(only))
    rows = conn.execute(stmt).all()
    for row in rows:
        conn.execute(
            update(imports)
            .where(imports.c.id == row.id)
            .values(
                status="running",
                started_at=now,
                lease_until=now + timedelta(seconds=LEASE_SECONDS),
                bytes_done=0,
            )
        )
    return list(rows)


def progress(conn: Connection, job_id: str, now: datetime, done: int, total: int | None) -> None:
    conn.execute(
        update(imports)
        .where(imports.c.id == job_id)
        .values(
            bytes_done=done,
            bytes_total=total,
            lease_until=now + timedelta(seconds=LEASE_SECONDS),
        )
    )


def finish(
    conn: Connection,
    job_id: str,
    now: datetime,
    *,
    version: int | None = None,
    error: str | None = None,
    error_code: str | None = None,
    done: int | None = None,
) -> None:
    values: dict[str, Any] = {
        "status": "failed" if error else "succeeded",
        "finished_at": now,
        "lease_until": None,
        "version": version,
        "error": error,
        "error_code": error_code,
    }
    if done is not None:
        values["bytes_done"] = done
    conn.execute(update(imports).where(imports.c.id == job_id).values(**values))

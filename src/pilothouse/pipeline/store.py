"""The pipeline's durable state: the trigger inbox, runs and the job queue.

Two queues, both in the same database as the workspace so that nothing is lost
between them and a crash anywhere is recoverable:

* **triggers** — the inbox. A GitHub delivery, a manual run, a schedule slot or a
  status-file change becomes one row, keyed by a *dedup key* (the delivery id, the
  slot, the file version). Receiving is a single insert, so a webhook is answered
  in milliseconds; a redelivery or a second scheduler finds the key taken and starts
  nothing. The dispatcher later expands a trigger into jobs (it may need a git
  fetch, which is why that is not done while GitHub waits).
* **jobs** — one per (trigger, stage), keyed by an *idempotency key* that is unique,
  so replaying a trigger never runs a stage twice. Workers claim a job with a
  *lease* (``lease_owner``, ``lease_until``) and renew it while they work; a job
  whose lease lapsed — its worker died — is claimable again, which gives
  at-least-once execution. Temporary failures come back after a backoff
  (``next_attempt_at``) until ``max_attempts``.

On SQLite every claim runs in a ``BEGIN IMMEDIATE`` transaction, so two workers
cannot claim the same row; on PostgreSQL the claim selects ``FOR UPDATE SKIP
LOCKED``. Both are what :func:`claim_job` issues.
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Table, and_, func, insert, or_, select, update
from sqlalchemy.dialects.postgresql import insert as pg_insert
from sqlalchemy.dialects.sqlite import insert as sqlite_insert

from pilothouse.core import ids
from pilothouse.workspace.schema import jobs, repositories, runs, triggers

TERMINAL = frozenset({"succeeded", "failed", "timed_out", "cancelled", "skipped"})
ACTIVE = frozenset({"awaiting_approval", "queued", "running"})
CRASH_RETRIES = 2
"""Extra attempts a job gets when its worker dies (beyond ``retries`` for failures)."""


FULL_NAME = re.compile(r"^[\w.-]+/[\w.-]+$")
"""A GitHub repository's ``owner/name``."""


@dataclass(frozen=True)
class Repo:
    id: str
    workspace_id: str
    url: str
    branch: str
    webhook_secret: str
    token: str | None
    full_name: str | None
    created_at: datetime

    def public(self) -> dict[str, Any]:
        """What callers see: never the token or the webhook secret."""
        return {
            "workspace_id": self.workspace_id,
            "url": self.url,  # remotes never carry credentials (git.remotes refuses them)
            "branch": self.branch,
            "full_name": self.full_name,
            "has_token": self.token is not None,
            "webhook_path": f"/webhooks/github/{self.workspace_id}",
            "created_at": _iso(self.created_at),
        }


@dataclass(frozen=True)
class TriggerRow:
    id: str
    workspace_id: str
    kind: str
    dedup_key: str
    payload: dict[str, Any]
    attempts: int


@dataclass(frozen=True)
class Job:
    id: str
    workspace_id: str
    run_id: str
    pipeline: str
    stage: str
    idempotency_key: str
    context: dict[str, Any]
    revision: str | None
    status: str
    attempts: int
    max_attempts: int
    timeout_seconds: int | None
    created_at: datetime
    started_at: datetime | None
    finished_at: datetime | None
    summary: str | None
    error: str | None
    cancel_requested: bool = False
    lease_owner: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "run_id": self.run_id,
            "pipeline": self.pipeline,
            "stage": self.stage,
            "status": self.status,
            "revision": self.revision,
            "attempts": self.attempts,
            "max_attempts": self.max_attempts,
            "created_at": _iso(self.created_at),
            "started_at": _iso(self.started_at),
            "finished_at": _iso(self.finished_at),
            "summary": self.summary,
            "error": self.error,
        }


@dataclass(frozen=True)
class Run:
    id: str
    workspace_id: str
    pipeline: str
    trigger_id: str
    trigger_kind: str
    revision: str | None
    status: str
    created_at: datetime
    finished_at: datetime | None
    jobs: tuple[Job, ...] = field(default=())

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "pipeline": self.pipeline,
            "trigger": self.trigger_kind,
            "revision": self.revision,
            "status": self.status,
            "created_at": _iso(self.created_at),
            "finished_at": _iso(self.finished_at),
            "stages": [j.as_dict() for j in self.jobs],
        }


def _iso(at: datetime | None) -> str | None:
    return at.isoformat().replace("+00:00", "Z") if at else None


# -- repositories ---------------------------------------------------------------------


def _repo(row: Any) -> Repo:
    return Repo(
        row.id,
        row.workspace_id,
        row.url,
        row.branch,
        row.webhook_secret,
        row.token,
        row.full_name,
        row.created_at,
    )


def get_repo(conn: Connection, workspace_id: str) -> Repo | None:
    row = conn.execute(
        select(repositories).where(repositories.c.workspace_id == workspace_id)
    ).first()
    return _repo(row) if row else None


def all_repos(conn: Connection) -> list[Repo]:
    return [_repo(r) for r in conn.execute(select(repositories).order_by(repositories.c.id))]


def put_repo(
    conn: Connection,
    workspace_id: str,
    *,
    url: str,
    branch: str,
    webhook_secret: str,
    token: str | None,
    full_name: str | None,
    created_by: str,
    now: datetime,
) -> Repo:
    """Register (or re-register, replacing) the repository of a workspace."""
    values = {
        "url": url,
        "branch": branch,
        "webhook_secret": webhook_secret,
        "token": token,
        "full_name": full_name,
        "created_by": created_by,
        "created_at": now,
    }
    existing = get_repo(conn, workspace_id)
    if existing is None:
        conn.execute(
            insert(repositories).values(id=ids.new_id("repo"), workspace_id=workspace_id, **values)
        )
    else:
        conn.execute(update(repositories).where(repositories.c.id == existing.id).values(**values))
    repo = get_repo(conn, workspace_id)
    assert repo is not None
    return repo


def _insert_once(conn: Connection, table: Table, key: str, values: dict[str, Any]) -> bool:
    """Insert unless the unique ``key`` column is taken; ``True`` if this call inserted.

    ``INSERT … ON CONFLICT DO NOTHING`` on both engines: two processes queueing the
    same delivery or the same stage at once must not turn into an IntegrityError
    (SQLite's BEGIN IMMEDIATE already serialises writers; PostgreSQL does not).
    """
    make = pg_insert if conn.dialect.name == "postgresql" else sqlite_insert
    statement = make(table).values(**values).on_conflict_do_nothing(index_elements=[key])
    # RETURNING, not rowcount: psycopg reports -1 for ON CONFLICT inserts
    return conn.execute(statement.returning(table.c[key])).first() is not None


# -- the trigger inbox ------------------------------------------------------------------


def submit_trigger(
    conn: Connection,
    workspace_id: str,
    *,
    kind: str,
    dedup_key: str,
    payload: dict[str, Any],
    now: datetime,
) -> tuple[str, bool]:
    """Queue a trigger; returns ``(id, duplicate)``. A taken dedup key queues nothing."""
    trigger_id = ids.new_id("trg")
    inserted = _insert_once(
        conn,
        triggers,
        "dedup_key",
        {
            "id": trigger_id,
            "workspace_id": workspace_id,
            "kind": kind,
            "dedup_key": dedup_key,
            "payload": json.dumps(payload, sort_keys=True, default=str),
            "status": "pending",
            "created_at": now,
        },
    )
    if inserted:
        return trigger_id, False
    taken = conn.execute(select(triggers.c.id).where(triggers.c.dedup_key == dedup_key)).one()
    return str(taken.id), True


def claim_trigger(conn: Connection, now: datetime, lease: timedelta) -> TriggerRow | None:
    """The oldest pending trigger nobody holds, leased to the caller."""
    stmt = (
        select(triggers)
        .where(
            triggers.c.status == "pending",
            or_(triggers.c.lease_until.is_(None), triggers.c.lease_until < now),
        )
        .order_by(triggers.c.created_at, triggers.c.id)
        .limit(1)
    )
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    row = conn.execute(stmt).first()
    if row is None:
        return None
    conn.execute(
        update(triggers)
        .where(triggers.c.id == row.id)
        .values(lease_until=now + lease, attempts=triggers.c.attempts + 1)
    )
    return TriggerRow(
        row.id, row.workspace_id, row.kind, row.dedup_key, json.loads(row.payload), row.attempts + 1
    )


def finish_trigger(
    conn: Connection, trigger_id: str, status: str, now: datetime, error: str | None = None
) -> None:
    conn.execute(
        update(triggers)
        .where(triggers.c.id == trigger_id)
        .values(status=status, processed_at=now, error=error, lease_until=None)
    )


def retry_trigger(conn: Connection, trigger_id: str, error: str, at: datetime) -> None:
    """Leave a trigger pending, invisible until ``at``."""
    conn.execute(
        update(triggers).where(triggers.c.id == trigger_id).values(error=error, lease_until=at)
    )


# -- runs -----------------------------------------------------------------------------


def create_run(
    conn: Connection,
    workspace_id: str,
    *,
    pipeline: str,
    trigger_id: str,
    trigger_kind: str,
    revision: str | None,
    now: datetime,
) -> str:
    run_id = ids.new_id("run")
    conn.execute(
        insert(runs).values(
            id=run_id,
            workspace_id=workspace_id,
            pipeline=pipeline,
            trigger_id=trigger_id,
            trigger_kind=trigger_kind,
            revision=revision,
            status="running",
            created_at=now,
        )
    )
    return run_id


def _run(row: Any, job_rows: tuple[Job, ...] = ()) -> Run:
    return Run(
        row.id,
        row.workspace_id,
        row.pipeline,
        row.trigger_id,
        row.trigger_kind,
        row.revision,
        row.status,
        row.created_at,
        row.finished_at,
        job_rows,
    )


def _with_jobs(conn: Connection, rows: Sequence[Any]) -> list[Run]:
    """Runs with their chains of jobs, in one query whatever the number of runs."""
    chains: dict[str, list[Job]] = {row.id: [] for row in rows}
    if chains:
        chain = select(jobs).where(jobs.c.run_id.in_(list(chains)))
        for job in conn.execute(chain.order_by(jobs.c.created_at, jobs.c.id)):
            chains[job.run_id].append(_job(job))
    return [_run(row, tuple(chains[row.id])) for row in rows]


def get_run(conn: Connection, run_id: str, workspace_id: str | None = None) -> Run | None:
    stmt = select(runs).where(runs.c.id == run_id)
    if workspace_id is not None:
        stmt = stmt.where(runs.c.workspace_id == workspace_id)
    found = _with_jobs(conn, conn.execute(stmt).all())
    return found[0] if found else None


def list_runs(conn: Connection, workspace_id: str, *, limit: int = 20) -> list[Run]:
    """The newest runs, newest first, with their jobs."""
    newest = (
        select(runs)
        .where(runs.c.workspace_id == workspace_id)
        .order_by(runs.c.created_at.desc(), runs.c.id.desc())
        .limit(limit)
    )
    return _with_jobs(conn, conn.execute(newest).all())


def get_trigger(conn: Connection, workspace_id: str, trigger_id: str) -> dict[str, Any] | None:
    """A trigger's state and the runs it started."""
    row = conn.execute(
        select(triggers).where(triggers.c.id == trigger_id, triggers.c.workspace_id == workspace_id)
    ).first()
    if row is None:
        return None
    run_ids = [r.id for r in conn.execute(select(runs.c.id).where(runs.c.trigger_id == trigger_id))]
    return {
        "trigger_id": row.id,
        "kind": row.kind,
        "status": row.status,
        "error": row.error,
        "run_ids": run_ids,
    }


def settle_run(conn: Connection, run_id: str, now: datetime) -> str:
    """Recompute a run's status from its jobs; returns it."""
    statuses = [
        r.status for r in conn.execute(select(jobs.c.status).where(jobs.c.run_id == run_id))
    ]
    current = conn.execute(select(runs.c.status).where(runs.c.id == run_id)).scalar_one()
    if current == "cancelled":
        return str(current)
    if any(s in ACTIVE for s in statuses):
        status = "running"
    elif any(s in {"failed", "timed_out"} for s in statuses):
        status = "failed"
    else:
        status = "succeeded"
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id)
        .values(status=status, finished_at=None if status == "running" else now)
    )
    return status


# -- jobs -----------------------------------------------------------------------------


def _job(row: Any) -> Job:
    return Job(
        id=row.id,
        workspace_id=row.workspace_id,
        run_id=row.run_id,
        pipeline=row.pipeline,
        stage=row.stage,
        idempotency_key=row.idempotency_key,
        context=json.loads(row.context),
        revision=row.revision,
        status=row.status,
        attempts=row.attempts,
        max_attempts=row.max_attempts,
        timeout_seconds=row.timeout_seconds,
        created_at=row.created_at,
        started_at=row.started_at,
        finished_at=row.finished_at,
        summary=row.summary,
        error=row.error,
        cancel_requested=bool(row.cancel_requested),
        lease_owner=row.lease_owner,
    )


def enqueue_job(
    conn: Connection,
    *,
    workspace_id: str,
    run_id: str,
    pipeline: str,
    stage: str,
    idempotency_key: str,
    context: dict[str, Any],
    revision: str | None,
    max_attempts: int,
    timeout_seconds: int | None,
    now: datetime,
    status: str = "queued",
) -> str | None:
    """Queue a stage; ``None`` when its idempotency key was already used."""
    job_id = ids.new_id("job")
    inserted = _insert_once(
        conn,
        jobs,
        "idempotency_key",
        {
            "id": job_id,
            "workspace_id": workspace_id,
            "run_id": run_id,
            "pipeline": pipeline,
            "stage": stage,
            "idempotency_key": idempotency_key,
            "context": json.dumps(context, sort_keys=True, default=str),
            "revision": revision,
            "status": status,
            "attempts": 0,
            "max_attempts": max_attempts,
            "timeout_seconds": timeout_seconds,
            "next_attempt_at": now,
            "created_at": now,
            "finished_at": now if status in TERMINAL else None,
        },
    )
    return job_id if inserted else None


def get_job(conn: Connection, job_id: str) -> Job | None:
    row = conn.execute(select(jobs).where(jobs.c.id == job_id)).first()
    return _job(row) if row else None


def claim_job(conn: Connection, owner: str, now: datetime, lease: timedelta) -> Job | None:
    """Lease the next runnable job: queued and due, or running with a lapsed lease.

    Jobs of a pipeline already running its ``concurrency`` (kept in each job's
    context, from the pipeline that queued it) are skipped.
    """
    due = or_(
        and_(jobs.c.status == "queued", jobs.c.next_attempt_at <= now),
        and_(
            jobs.c.status == "running",
            jobs.c.lease_until < now,
            jobs.c.attempts < jobs.c.max_attempts + CRASH_RETRIES,
        ),
    )
    stmt = select(jobs).where(due).order_by(jobs.c.next_attempt_at, jobs.c.id).limit(20)
    if conn.dialect.name == "postgresql":
        stmt = stmt.with_for_update(skip_locked=True)
    busy = {
        f"{r.workspace_id}/{r.pipeline}": int(r.n)
        for r in conn.execute(
            select(jobs.c.workspace_id, jobs.c.pipeline, func.count().label("n"))
            .where(jobs.c.status == "running", jobs.c.lease_until >= now)
            .group_by(jobs.c.workspace_id, jobs.c.pipeline)
        )
    }
    for row in conn.execute(stmt).all():
        key = f"{row.workspace_id}/{row.pipeline}"
        if busy.get(key, 0) >= int(json.loads(row.context).get("concurrency", 1)):
            continue
        conn.execute(
            update(jobs)
            .where(jobs.c.id == row.id)
            .values(
                status="running",
                attempts=jobs.c.attempts + 1,
                lease_owner=owner,
                lease_until=now + lease,
                started_at=now,
            )
        )
        claimed = get_job(conn, row.id)
        assert claimed is not None
        return claimed
    return None


def renew_lease(conn: Connection, job_id: str, owner: str, until: datetime) -> tuple[bool, bool]:
    """Extend a lease; returns ``(still_ours, cancel_requested)``."""
    row = conn.execute(
        select(jobs.c.lease_owner, jobs.c.status, jobs.c.cancel_requested).where(
            jobs.c.id == job_id
        )
    ).first()
    if row is None or row.lease_owner != owner or row.status != "running":
        return False, False
    conn.execute(update(jobs).where(jobs.c.id == job_id).values(lease_until=until))
    return True, bool(row.cancel_requested)


def finish_job(
    conn: Connection,
    job_id: str,
    owner: str | None,
    *,
    status: str,
    now: datetime,
    summary: str | None = None,
    error: str | None = None,
) -> bool:
    """Record a job's end; ``False`` if the caller no longer holds it."""
    stmt = update(jobs).where(jobs.c.id == job_id, jobs.c.status.in_(("queued", "running")))
    if owner is not None:
        stmt = stmt.where(jobs.c.lease_owner == owner)
    result = conn.execute(
        stmt.values(
            status=status,
            finished_at=now,
            summary=summary,
            error=error,
            lease_owner=None,
            lease_until=None,
        )
    )
    return result.rowcount == 1


def retry_job(conn: Connection, job_id: str, owner: str, *, at: datetime, error: str) -> None:
    conn.execute(
        update(jobs)
        .where(jobs.c.id == job_id, jobs.c.lease_owner == owner)
        .values(
            status="queued", next_attempt_at=at, error=error, lease_owner=None, lease_until=None
        )
    )


def approve(conn: Connection, workspace_id: str, run_id: str, stage: str, now: datetime) -> int:
    """Release a stage held for approval to the queue; returns how many jobs moved."""
    moved = conn.execute(
        update(jobs)
        .where(jobs.c.run_id == run_id, jobs.c.workspace_id == workspace_id)
        .where(jobs.c.stage == stage, jobs.c.status == "awaiting_approval")
        .values(status="queued", next_attempt_at=now)
    ).rowcount
    return int(moved)


def cancel(conn: Connection, workspace_id: str, run_id: str, now: datetime) -> int:
    """Cancel a run: queued jobs end at once, running ones are asked to stop."""
    ended = conn.execute(
        update(jobs)
        .where(jobs.c.run_id == run_id, jobs.c.workspace_id == workspace_id)
        .where(jobs.c.status.in_(("queued", "awaiting_approval")))
        .values(status="cancelled", finished_at=now)
    ).rowcount
    asked = conn.execute(
        update(jobs)
        .where(jobs.c.run_id == run_id, jobs.c.workspace_id == workspace_id)
        .where(jobs.c.status == "running")
        .values(cancel_requested=True)
    ).rowcount
    conn.execute(
        update(runs)
        .where(runs.c.id == run_id, runs.c.status == "running")
        .values(status="cancelled", finished_at=now)
    )
    return int(ended) + int(asked)


def overdue_running(conn: Connection, now: datetime) -> list[Job]:
    """Running jobs past their own time limit (their worker is gone or stuck)."""
    rows = conn.execute(
        select(jobs).where(jobs.c.status == "running", jobs.c.timeout_seconds.is_not(None))
    ).all()
    late = []
    for row in rows:
        started = row.started_at
        if started is not None and now > started + timedelta(seconds=row.timeout_seconds + 60):
            late.append(_job(row))
    return late


def exhausted(conn: Connection, now: datetime) -> list[Job]:
    """Jobs whose lease lapsed after their last allowed attempt (workers kept dying)."""
    rows = conn.execute(
        select(jobs).where(
            jobs.c.status == "running",
            jobs.c.lease_until < now,
            jobs.c.attempts >= jobs.c.max_attempts + CRASH_RETRIES,
        )
    ).all()
    return [_job(r) for r in rows]


def recent_jobs(conn: Connection, workspace_id: str, stage: str, limit: int) -> list[Job]:
    rows = conn.execute(
        select(jobs)
        .where(jobs.c.workspace_id == workspace_id, jobs.c.stage == stage)
        .order_by(jobs.c.created_at.desc(), jobs.c.id.desc())
        .limit(limit)
    ).all()
    return [_job(r) for r in rows]


def stage_stats(conn: Connection, workspace_id: str) -> list[dict[str, Any]]:
    """Per stage: invocations, successes, failures, mean duration, last run."""
    rows = conn.execute(
        select(jobs.c.stage, jobs.c.status, jobs.c.started_at, jobs.c.finished_at).where(
            jobs.c.workspace_id == workspace_id
        )
    ).all()
    stats: dict[str, dict[str, Any]] = {}
    for row in rows:
        s = stats.setdefault(
            row.stage,
            {
                "stage": row.stage,
                "invocations": 0,
                "succeeded": 0,
                "failed": 0,
                "running": 0,
                "seconds": [],
                "last_run": None,
            },
        )
        s["invocations"] += 1
        if row.status == "succeeded":
            s["succeeded"] += 1
        elif row.status in {"failed", "timed_out"}:
            s["failed"] += 1
        elif row.status in ACTIVE:
            s["running"] += 1
        if row.started_at and row.finished_at:
            s["seconds"].append((row.finished_at - row.started_at).total_seconds())
        last = row.finished_at or row.started_at
        if last and (s["last_run"] is None or last > s["last_run"]):
            s["last_run"] = last
    out = []
    for s in sorted(stats.values(), key=lambda x: x["stage"]):
        secs = s.pop("seconds")
        s["mean_seconds"] = round(sum(secs) / len(secs), 3) if secs else None
        s["last_run"] = _iso(s["last_run"])
        out.append(s)
    return out

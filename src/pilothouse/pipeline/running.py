"""Running one job: status file, lock, agent, result — in that order, always.

The order is the contract other agents rely on:

1. the stage's ``writes`` file becomes ``status: running`` (complete replacement);
2. with ``requires_lock``, the *tree* lock on the directory holding the lock file is
   taken (waiting, bounded), kept alive by heartbeats and handed to the agent with
   its fencing token — and released in a ``finally``, whatever the agent did;
3. the agent runs under its time limit while a keeper thread renews the job's lease
   (so a live worker is never mistaken for a dead one) and watches for cancel;
4. logs go to ``/runs/<run-id>/<stage>/``, the final status file is written, the
   stages downstream (or the ``on_timeout`` fallback) are queued *before* the job is
   marked finished — so a run never looks finished between two stages — and
   ``/runs/<run-id>/run.json`` is rewritten from the job table.

A temporary failure (exit 75, an unreachable HTTP agent, a busy lock) goes back to
the queue with exponential backoff until ``retries`` is spent; a worker that dies
mid-run loses its lease and the job is run again by another worker.
"""

from __future__ import annotations

import json
import logging
import tempfile
import threading
import time
from datetime import timedelta
from pathlib import Path
from typing import Any

from pilothouse.core.clock import isoformat
from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.pipeline import config, health, store
from pilothouse.pipeline.errors import NoRepository, UnknownStage
from pilothouse.pipeline.executing import AgentContext, Outcome, make_agent
from pilothouse.pipeline.identities import Identities
from pilothouse.pipeline.planning import Planner
from pilothouse.pipeline.reporting import GitHubReporter
from pilothouse.pipeline.repos import RepoCache
from pilothouse.workspace import database
from pilothouse.workspace.errors import LockHeld
from pilothouse.workspace.models import Actor, LockGrant
from pilothouse.workspace.protocol import LocalWorkspace
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger(__name__)
LOCK_TTL_SECONDS = 60
BUSY = "lock_held"  # a lock another run holds: worth waiting for, like an outage


def status_document(
    job: store.Job,
    status: str,
    *,
    started: str,
    finished: str | None = None,
    outcome: Outcome | None = None,
) -> dict[str, Any]:
    """The status file of a stage, as every agent reads it."""
    return {
        "run_id": job.run_id,
        "pipeline": job.pipeline,
        "stage": job.stage,
        "revision": job.revision,
        "trigger": job.context.get("trigger", {}).get("kind"),
        "status": status,
        "started_at": started,
        "finished_at": finished,
        "summary": outcome.summary if outcome else "",
        "findings": outcome.findings if outcome else [],
        "links": {"run": f"/runs/{job.run_id}/run.json", **(outcome.links if outcome else {})},
        **(outcome.extra if outcome else {}),
    }


def _temporary(error: PilothouseError) -> bool:
    return error.retryable or error.code == BUSY


class Runner:
    """Executes claimed jobs; one instance serves all worker threads of a process."""

    def __init__(
        self,
        service: WorkspaceService,
        settings: Settings,
        repos: RepoCache,
        identities: Identities,
        planner: Planner,
        reporter: GitHubReporter,
        server_url: str,
    ) -> None:
        self.service = service
        self.settings = settings
        self.repos = repos
        self.identities = identities
        self.planner = planner
        self.reporter = reporter
        self.server_url = server_url

    # -- the job ----------------------------------------------------------------------

    def run(self, job: store.Job, owner: str) -> None:
        """Run ``job`` (already leased to ``owner``) to its end or back to the queue."""
        admin = self.identities.admin
        workspace = self.service.get_workspace(admin, job.workspace_id)
        try:
            repo, stage = self._stage_of(job)
        except PilothouseError as e:
            if _temporary(e) and job.attempts < job.max_attempts + store.CRASH_RETRIES:
                self._retry(job, owner, f"{e.code}: {e.message}")
                return
            self._end(job, owner, None, workspace.name, Outcome("failed", e.message), None, admin)
            return
        actor = self.identities.actor(job.workspace_id, workspace.name, stage.name)
        started = isoformat(self.service.clock.now())
        if stage.writes:
            self._write_json(
                actor,
                workspace.name,
                stage.writes,
                status_document(job, "running", started=started),
            )
        self.write_run_record(job.run_id, workspace.name)
        try:
            outcome, lost = self._execute(job, owner, repo, stage, actor, workspace.name)
        except PilothouseError as e:  # setting the stage up failed: git, keys, the store
            outcome = Outcome("failed", f"{e.code}: {e.message}", retryable=_temporary(e))
            lost = False
        if lost:
            log.warning("job %s: lease lost to another worker; leaving it to them", job.id)
            return
        if outcome.retryable and job.attempts < job.max_attempts:
            self._retry(job, owner, outcome.summary)
            return
        self._end(job, owner, stage, workspace.name, outcome, started, actor, repo)

    def _retry(self, job: store.Job, owner: str, why: str) -> None:
        """Back to the queue after an exponential backoff."""
        delay = min(
            self.settings.pipeline.retry_base_seconds * 2 ** (job.attempts - 1),
            self.settings.pipeline.retry_max_seconds,
        )
        with database.begin_write(self.service.engine) as conn:
            store.retry_job(
                conn,
                job.id,
                owner,
                at=self.service.clock.now() + timedelta(seconds=delay),
                error=why,
            )
        health.retried(job.stage)

    def _stage_of(self, job: store.Job) -> tuple[store.Repo, config.Stage]:
        with database.begin_read(self.service.engine) as conn:
            repo = store.get_repo(conn, job.workspace_id)
        if repo is None or job.revision is None:
            raise NoRepository("the workspace has no repository")
        pipeline = self.repos.pipeline_at(repo, job.revision)
        stage = pipeline.agents.get(job.stage)
        if stage is None:
            raise UnknownStage(f"pilothouse.yaml at {job.revision[:12]} has no agent {job.stage!r}")
        return repo, stage

    def _execute(
        self,
        job: store.Job,
        owner: str,
        repo: store.Repo,
        stage: config.Stage,
        actor: Actor,
        workspace: str,
    ) -> tuple[Outcome, bool]:
        """Lock, agent, unlock; returns the outcome and whether the lease was lost."""
        timeout = job.timeout_seconds or self.settings.pipeline.default_timeout_seconds
        cancelled = threading.Event()
        lost = threading.Event()
        grant: list[LockGrant] = []
        keeper = _Keeper(self, job.id, owner, actor, workspace, grant, cancelled, lost)
        keeper.start()
        key_id: str | None = None
        checkout_dir: list[tempfile.TemporaryDirectory[str]] = []
        try:
            if stage.lock_tree:
                try:
                    grant.append(
                        self.service.acquire_lock(
                            actor,
                            workspace,
                            stage.lock_tree,
                            scope="tree",
                            ttl_seconds=LOCK_TTL_SECONDS,
                            wait_seconds=min(
                                self.settings.pipeline.lock_wait_seconds,
                                self.settings.workspace.lock_max_wait_seconds,
                            ),
                        )
                    )
                except LockHeld as e:
                    return Outcome(
                        "failed", f"could not lock {stage.lock_tree}: {e.message}", retryable=True
                    ), False
            token = ""
            if stage.uses.kind != "builtin":
                created = self.identities.short_key(workspace, actor, timeout + 300)
                key_id, token = created.info.id, created.key
            mirror = self.repos.mirror(repo)
            revision = job.revision or ""

            def checkout() -> Path:
                if not checkout_dir:
                    checkout_dir.append(tempfile.TemporaryDirectory(prefix="pilothouse-run-"))
                    root = Path(checkout_dir[0].name)
                    for path in mirror.list_tree(revision):
                        target = root / path
                        target.parent.mkdir(parents=True, exist_ok=True)
                        target.write_bytes(mirror.read_file(revision, path))
                return Path(checkout_dir[0].name)

            ctx = AgentContext(
                workspace=LocalWorkspace(self.service, actor),
                workspace_name=workspace,
                pipeline=job.pipeline,
                stage=stage.name,
                run_id=job.run_id,
                revision=job.revision,
                changed_files=list(job.context.get("changed_files", [])),
                trigger=dict(job.context.get("trigger", {})),
                settings=self.settings,
                logger=logging.getLogger(f"pilothouse.agent.{stage.name}"),
                env=dict(stage.env),
                read_repo_file=lambda path: mirror.read_file(revision, path),
                checkout=checkout,
                repo_files=lambda: mirror.list_tree(revision),
                search=lambda query, limit, prefix: [
                    hit.path
                    for hit in self.service.search(
                        actor, workspace, query, limit=limit, path_prefix=prefix
                    ).hits
                ],
                model=stage.model,
                deadline=time.monotonic() + timeout,
                cancelled=cancelled,
                server_url=self.server_url,
                token=token,
                lock_token=grant[0].token if grant else None,
                fencing_token=grant[0].fencing_token if grant else None,
            )
            try:
                outcome = make_agent(stage.uses).run(ctx)
            except PilothouseError as e:
                outcome = Outcome("failed", e.message)
            except Exception as e:
                log.exception("agent %s crashed", stage.name)
                outcome = Outcome("failed", f"agent crashed: {type(e).__name__}: {e}")
            if outcome.status == "cancelled" and lost.is_set():
                return outcome, True
            return outcome, False
        finally:
            keeper.stop()
            if grant:
                try:
                    self.service.release_lock(actor, workspace, grant[0].lock_id, grant[0].token)
                except PilothouseError as e:
                    log.warning("releasing %s: %s", stage.lock_tree, e)
            if key_id is not None:
                self.identities.revoke(workspace, key_id)
            for made in checkout_dir:
                made.cleanup()

    # -- the end of a job -------------------------------------------------------------

    def _end(
        self,
        job: store.Job,
        owner: str,
        stage: config.Stage | None,
        workspace: str,
        outcome: Outcome,
        started: str | None,
        actor: Actor,
        repo: store.Repo | None = None,
    ) -> None:
        now = self.service.clock.now()
        base = f"/runs/{job.run_id}/{job.stage}"
        if outcome.stdout or outcome.stderr or outcome.exit_code is not None:
            self._write(actor, workspace, f"{base}/stdout.log", outcome.stdout)
            self._write(actor, workspace, f"{base}/stderr.log", outcome.stderr)
        self._write_json(
            actor,
            workspace,
            f"{base}/result.json",
            {
                "status": outcome.status,
                "summary": outcome.summary,
                "findings": outcome.findings,
                "exit_code": outcome.exit_code,
                "attempt": job.attempts,
            },
        )
        file_status = "failed" if outcome.status == "cancelled" else outcome.status
        if stage is not None and stage.writes:
            document = status_document(
                job,
                file_status,
                started=started or isoformat(now),
                finished=isoformat(now),
                outcome=outcome,
            )
            written = self._write_json(actor, workspace, stage.writes, document)
            if repo is not None and outcome.status != "cancelled":
                self.planner.after_status(repo, job.workspace_id, stage.writes, document, written)
        if stage is not None and outcome.status == "timed_out" and stage.on_timeout and repo:
            self.planner.on_timeout(repo, job, stage.on_timeout)
        if repo is not None:  # before the job ends: a finished run has been reported
            self.reporter.report(repo, job, outcome)
        with database.begin_write(self.service.engine) as conn:
            store.finish_job(
                conn,
                job.id,
                owner,
                status=outcome.status,
                now=now,
                summary=outcome.summary[:2000],
                error=None if outcome.status == "succeeded" else outcome.summary[:2000],
            )
            store.settle_run(conn, job.run_id, now)
        self.write_run_record(job.run_id, workspace)
        duration = (now - job.started_at).total_seconds() if job.started_at else 0.0
        health.finished(job.stage, outcome.status, duration)
        self.service.record_event(
            actor,
            workspace,
            "pipeline.stage_finished",
            target=job.stage,
            data={"run_id": job.run_id, "stage": job.stage, "status": outcome.status},
        )

    def fail_unattended(self, job: store.Job, status: str, why: str) -> None:
        """End a job nobody is running any more (its worker died after its last try)."""
        workspace = self.service.get_workspace(self.identities.admin, job.workspace_id).name
        try:
            repo, stage = self._stage_of(job)
        except PilothouseError:
            repo, stage = None, None
        actor = (
            self.identities.actor(job.workspace_id, workspace, stage.name)
            if stage
            else self.identities.admin
        )
        outcome = Outcome(status, why)
        self._end(job, job.lease_owner or "", stage, workspace, outcome, None, actor, repo)

    # -- workspace writes -------------------------------------------------------------

    def _write(self, actor: Actor, workspace: str, path: str, data: bytes) -> int:
        return self.service.write_file(actor, workspace, path, data).version

    def _write_json(self, actor: Actor, workspace: str, path: str, value: Any) -> int:
        data = json.dumps(value, indent=2, sort_keys=True, default=str).encode() + b"\n"
        return self._write(actor, workspace, path, data)

    def write_run_record(self, run_id: str, workspace: str) -> None:
        """``/runs/<run-id>/run.json``: the whole chain, rebuilt from the job table."""
        with database.begin_read(self.service.engine) as conn:
            run = store.get_run(conn, run_id)
        if run is not None:
            self._write_json(
                self.identities.admin, workspace, f"/runs/{run_id}/run.json", run.as_dict()
            )


class _Keeper:
    """Renews the job lease and the stage's lock while the agent runs."""

    def __init__(
        self,
        runner: Runner,
        job_id: str,
        owner: str,
        actor: Actor,
        workspace: str,
        grant: list[LockGrant],
        cancelled: threading.Event,
        lost: threading.Event,
    ) -> None:
        self.runner = runner
        self.job_id = job_id
        self.owner = owner
        self.actor = actor
        self.workspace = workspace
        self.grant = grant
        self.cancelled = cancelled
        self.lost = lost
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"keeper-{job_id}", daemon=True)
        lease = runner.settings.pipeline.lease_seconds
        self.every = min(lease / 3, LOCK_TTL_SECONDS / 3)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join(timeout=30)

    def _loop(self) -> None:
        settings = self.runner.settings.pipeline
        service = self.runner.service
        while not self._stop.wait(self.every):
            try:
                with database.begin_write(service.engine) as conn:
                    ours, cancel = store.renew_lease(
                        conn,
                        self.job_id,
                        self.owner,
                        service.clock.now() + timedelta(seconds=settings.lease_seconds),
                    )
                if not ours:
                    self.lost.set()
                if cancel or not ours:
                    self.cancelled.set()
                if self.grant:
                    service.heartbeat_lock(
                        self.actor,
                        self.workspace,
                        self.grant[0].lock_id,
                        self.grant[0].token,
                        ttl_seconds=LOCK_TTL_SECONDS,
                    )
            except Exception:
                log.exception("renewing job %s", self.job_id)

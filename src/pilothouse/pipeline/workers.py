"""The engine's threads: a dispatcher, N workers and a watcher, in any process.

``pilothouse serve`` runs them beside the API; ``pilothouse worker`` runs only them.
Every process works from the same tables, so any number can run at once: claims
are transactions, leases expire, keys deduplicate. In-process causes (a webhook, a
manual trigger, a finished stage) wake the threads at once through an
:class:`threading.Event`; work queued by *other* processes is found by polling
every ``pipeline.poll_seconds``.

The watcher does the periodic duties: status files written by anyone (an external
agent over MCP, a person) become ``file_change`` triggers; schedule slots and
``git.poll`` checks become triggers; jobs whose worker died after its last attempt,
or that overran their time limit without an answer, are ended (with their
``on_timeout`` fallback); and agent-health alerts are raised.
"""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select

from pilothouse.core import ids
from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.pipeline import config, health, store
from pilothouse.pipeline.planning import Planner
from pilothouse.pipeline.repos import RepoCache
from pilothouse.pipeline.running import Runner
from pilothouse.pipeline.triggers import FileChangeTrigger, GitPollTrigger, ScheduleTrigger
from pilothouse.workspace import database
from pilothouse.workspace.models import Actor
from pilothouse.workspace.schema import pipeline_cursors, workspaces
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger(__name__)
TRIGGER_MAX_ATTEMPTS = 5
HEALTH_EVERY_SECONDS = 15.0


def jitter(trigger: ScheduleTrigger, key: str) -> float:
    """A delay in ``[0, jitter_seconds)`` every replica computes alike for ``key``."""
    if trigger.jitter_seconds <= 0:
        return 0.0
    spread = int(hashlib.sha256(key.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF
    return spread * trigger.jitter_seconds


class Workers:
    """Owns the threads; :meth:`start` and :meth:`stop` are idempotent."""

    def __init__(
        self,
        service: WorkspaceService,
        settings: Settings,
        repos: RepoCache,
        planner: Planner,
        runner: Runner,
        admin: Actor,
        *,
        workers: int | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.repos = repos
        self.planner = planner
        self.runner = runner
        self.admin = admin
        self.count = settings.pipeline.workers if workers is None else workers
        self.owner = f"{ids.new_id('wk')}"
        self.wakeup = threading.Event()
        self.stopping = threading.Event()
        self.threads: list[threading.Thread] = []
        self.started_at = service.clock.now()
        self._alerts: set[tuple[str, str, str]] = set()
        self._polled: dict[str, datetime] = {}
        self._fired: dict[tuple[str, str], str] = {}  # (workspace, stage) -> last slot submitted
        self._health_checked: dict[str, datetime] = {}
        self._subscription: Any = None

    # -- lifecycle ----------------------------------------------------------------------

    def start(self) -> None:
        if self.threads:
            return
        self.stopping.clear()
        self._subscription = self.service.bus.subscribe(self._on_event)
        loops = [("dispatcher", self._dispatch_loop), ("watcher", self._watch_loop)]
        loops += [(f"worker-{i}", self._work_loop) for i in range(self.count)]
        for name, target in loops:
            thread = threading.Thread(target=target, name=f"pilothouse-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    def stop(self, timeout: float = 30.0) -> None:
        self.stopping.set()
        self.wakeup.set()
        if self._subscription is not None:
            self._subscription.close()
            self._subscription = None
        for thread in self.threads:
            thread.join(timeout=timeout)
        self.threads = []

    def wake(self) -> None:
        self.wakeup.set()

    def _on_event(self, event: Any) -> None:
        if event.type == "file.written":
            self.wakeup.set()

    def _idle(self) -> None:
        self.wakeup.wait(self.settings.pipeline.poll_seconds)
        self.wakeup.clear()

    # -- loops ----------------------------------------------------------------------

    def _dispatch_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = self.dispatch_one()
            except Exception:
                log.exception("dispatcher")
                busy = False
            if not busy:
                self._idle()

    def _work_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                busy = self.work_one()
            except Exception:
                log.exception("worker")
                busy = False
            if not busy:
                self._idle()

    def _watch_loop(self) -> None:
        while not self.stopping.is_set():
            try:
                self.watch_once()
            except Exception:
                log.exception("watcher")
            self.stopping.wait(self.settings.pipeline.poll_seconds)

    # -- one unit of each kind of work (also what tests drive) ------------------------

    def drain(self) -> int:
        """Do every pending trigger and runnable job, then return how many steps ran."""
        steps = 0
        while self.dispatch_one() or self.work_one():
            steps += 1
        return steps

    def dispatch_one(self) -> bool:
        """Expand one pending trigger into jobs; ``False`` when the inbox is empty."""
        now = self.service.clock.now()
        lease = timedelta(seconds=self.settings.pipeline.lease_seconds)
        with database.begin_write(self.service.engine) as conn:
            trigger = store.claim_trigger(conn, now, lease)
        if trigger is None:
            return False
        try:
            outcome = self.planner.process(trigger)
            error = None
        except PilothouseError as e:
            if e.retryable and trigger.attempts < TRIGGER_MAX_ATTEMPTS:
                delay = self.settings.pipeline.retry_base_seconds * 2 ** (trigger.attempts - 1)
                with database.begin_write(self.service.engine) as conn:
                    store.retry_trigger(conn, trigger.id, e.message, now + timedelta(seconds=delay))
                return True
            outcome, error = "failed", f"{e.code}: {e.message}"
            log.warning("trigger %s (%s) failed: %s", trigger.id, trigger.kind, error)
        with database.begin_write(self.service.engine) as conn:
            store.finish_trigger(conn, trigger.id, outcome, self.service.clock.now(), error)
        return True

    def work_one(self) -> bool:
        """Claim and run one job; ``False`` when nothing is runnable."""
        now = self.service.clock.now()
        lease = timedelta(seconds=self.settings.pipeline.lease_seconds)
        with database.begin_write(self.service.engine) as conn:
            job = store.claim_job(conn, self.owner, now, lease)
        if job is None:
            return False
        self.runner.run(job, self.owner)
        return True

    def watch_once(self) -> None:
        """The periodic duties; see the module docstring."""
        with database.begin_read(self.service.engine) as conn:
            repos = store.all_repos(conn)
        for repo in repos:
            try:
                self._watch_repo(repo)
            except PilothouseError as e:
                log.warning("watching %s: %s", repo.workspace_id, e)
        self._watchdog()

    def _watch_repo(self, repo: store.Repo) -> None:
        mirror = self.repos.mirror(repo)
        pipeline = self.repos.pipeline_at(repo, mirror.resolve(repo.branch))
        watched = {
            t.path
            for _, t in pipeline.stages_for("file_change")
            if isinstance(t, FileChangeTrigger)
        }
        self._status_files(repo, watched)
        now = self.service.clock.now()
        for stage, trigger in pipeline.stages_for("schedule"):
            assert isinstance(trigger, ScheduleTrigger)
            slot = trigger.last_fire(now)
            key = f"schedule:{repo.workspace_id}:{stage.name}:{slot.isoformat()}"
            due = now >= slot + timedelta(seconds=jitter(trigger, key))
            if due and self._fired.get((repo.workspace_id, stage.name)) != key:
                self._submit(repo, "schedule", key, {"stage": stage.name, "slot": slot.isoformat()})
                self._fired[(repo.workspace_id, stage.name)] = key  # the inbox dedups replicas
        for _, trigger in pipeline.stages_for("git.poll"):
            assert isinstance(trigger, GitPollTrigger)
            self._poll(repo, trigger, now)
        checked = self._health_checked.get(repo.workspace_id)
        if checked is None or (now - checked).total_seconds() >= HEALTH_EVERY_SECONDS:
            self._health_checked[repo.workspace_id] = now
            self._health(repo, pipeline, now)

    def _health(self, repo: store.Repo, pipeline: config.Pipeline, now: datetime) -> None:
        """Silent scheduled agents and failing agents (a few queries, so not every tick)."""
        settings = self.settings.pipeline
        schedules = {s.name: t for s, t in pipeline.stages_for("schedule")}
        for stage in pipeline.agents.values():
            recent = self._recent(repo, stage.name)
            trigger = schedules.get(stage.name)
            if isinstance(trigger, ScheduleTrigger):
                period = trigger.interval_seconds or 60.0
                quiet = health.silent(recent, stage.name, period, now, self.started_at)
                self._alert(repo, quiet, stage.name, "silent")
            found = health.failing(
                recent, stage.name, settings.failure_rate_threshold, settings.failure_window
            )
            self._alert(repo, found, stage.name, "failing")

    def _poll(self, repo: store.Repo, trigger: GitPollTrigger, now: datetime) -> None:
        last = self._polled.get(repo.workspace_id)
        if last is not None and (now - last).total_seconds() < trigger.interval_seconds:
            return
        self._polled[repo.workspace_id] = now
        mirror = self.repos.mirror(repo)
        before = mirror.resolve(repo.branch)
        mirror.fetch()
        after = mirror.resolve(repo.branch)
        if not trigger.matches(repo.branch):
            return
        self._submit(
            repo,
            "git.poll",
            f"poll:{repo.workspace_id}:{repo.branch}:{after}",
            {"branch": repo.branch, "before": before if before != after else None, "after": after},
        )

    def _status_files(self, repo: store.Repo, watched: set[str]) -> None:
        """Status files written since the last look become ``file_change`` triggers."""
        with database.begin_read(self.service.engine) as conn:
            cursor = conn.execute(
                pipeline_cursors.select().where(
                    pipeline_cursors.c.workspace_id == repo.workspace_id
                )
            ).first()
        if cursor is not None:
            events = self.service.list_events(
                self.admin,
                repo.workspace_id,
                after=int(cursor.event_cursor),
                types=["file.written"],
                limit=500,
            )
        if cursor is None:  # first look: start from now, do not replay history
            with database.begin_read(self.service.engine) as conn:
                newest = conn.execute(
                    select(workspaces.c.event_seq).where(workspaces.c.id == repo.workspace_id)
                ).scalar_one()
            self._save_cursor(repo.workspace_id, int(newest), insert=True)
            return
        for event in events:
            if event.path in watched:
                self._status_file_written(repo, event.path, int(event.data.get("version", 0)))
        if events:
            self._save_cursor(repo.workspace_id, events[-1].cursor, insert=False)

    def _status_file_written(self, repo: store.Repo, path: str, version: int) -> None:
        try:
            content = self.service.read_file(self.admin, repo.workspace_id, path, version=version)
            document = json.loads(content.content)
        except (PilothouseError, ValueError):
            return  # not a status document (or gone): nothing to trigger
        if not isinstance(document, dict):
            return
        self._submit(
            repo,
            "file_change",
            f"file:{repo.workspace_id}:{path}@{version}",
            {"path": path, "version": version, "document": document},
        )

    def _save_cursor(self, workspace_id: str, cursor: int, *, insert: bool) -> None:
        with database.begin_write(self.service.engine) as conn:
            if insert:
                conn.execute(
                    pipeline_cursors.insert().values(workspace_id=workspace_id, event_cursor=cursor)
                )
            else:
                conn.execute(
                    pipeline_cursors.update()
                    .where(pipeline_cursors.c.workspace_id == workspace_id)
                    .values(event_cursor=cursor)
                )

    def _submit(self, repo: store.Repo, kind: str, key: str, payload: dict[str, Any]) -> None:
        with database.begin_write(self.service.engine) as conn:
            _, duplicate = store.submit_trigger(
                conn,
                repo.workspace_id,
                kind=kind,
                dedup_key=key,
                payload=payload,
                now=self.service.clock.now(),
            )
        if not duplicate:
            self.wakeup.set()

    def _recent(self, repo: store.Repo, stage: str) -> list[store.Job]:
        with database.begin_read(self.service.engine) as conn:
            return store.recent_jobs(
                conn, repo.workspace_id, stage, self.settings.pipeline.failure_window
            )

    def _alert(self, repo: store.Repo, alert: health.Alert | None, stage: str, kind: str) -> None:
        key = (repo.workspace_id, stage, kind)
        if alert is None:
            self._alerts.discard(key)  # cleared: the next occurrence alerts again
            return
        if key in self._alerts:
            return
        self._alerts.add(key)
        self.service.record_event(
            self.admin,
            repo.workspace_id,
            "agent.alert",
            target=stage,
            data={"stage": stage, "kind": alert.kind, "message": alert.message, **alert.details},
        )

    def _watchdog(self) -> None:
        now = self.service.clock.now()
        with database.begin_read(self.service.engine) as conn:
            lost = store.exhausted(conn, now)
            late = [j for j in store.overdue_running(conn, now) if j.id not in {x.id for x in lost}]
        for job in lost:
            self.runner.fail_unattended(job, "failed", "its worker stopped after the last attempt")
        for job in late:
            self.runner.fail_unattended(job, "timed_out", "no result within its time limit")

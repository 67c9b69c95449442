"""From a trigger to jobs: which stages a cause starts, and under which run.

One run spans a trigger's whole chain: the stages a push starts, the stages their
status files start, the ``on_timeout`` fallback of a stage that hung. The root
trigger (the push, the pull request, the manual request) travels down the chain in
every job's context, so the last stage can still report to the right commit.

Every job is queued under an idempotency key derived from its cause —
``<trigger>:<stage>`` for a trigger, ``file:<workspace>:<path>@<version>:<stage>``
for a status file, ``<job>:on_timeout`` for a fallback — so the runner and the
status-file watcher, which both notice a finished stage, queue its successors once.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from pilothouse.core.settings import Settings
from pilothouse.integrations.git import zero_sha
from pilothouse.pipeline import config, store
from pilothouse.pipeline.errors import UnknownStage
from pilothouse.pipeline.repos import RepoCache
from pilothouse.pipeline.triggers import (
    GithubPullRequestTrigger,
    GithubPushTrigger,
    GitPollTrigger,
)
from pilothouse.workspace import database
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger(__name__)
TERMINAL_FILE_STATUSES = frozenset({"succeeded", "failed", "timed_out", "skipped"})


class Planner:
    """Turns causes into queued jobs."""

    def __init__(
        self,
        service: WorkspaceService,
        repos: RepoCache,
        settings: Settings,
        wake: Callable[[], None] = lambda: None,
    ) -> None:
        self.service = service
        self.repos = repos
        self.settings = settings
        self.wake = wake

    # -- triggers from the inbox -----------------------------------------------------

    def process(self, trigger: store.TriggerRow) -> str:
        """Expand one trigger into a run; returns ``done`` or ``ignored``."""
        with database.begin_read(self.service.engine) as conn:
            repo = store.get_repo(conn, trigger.workspace_id)
        if repo is None:
            return "ignored"
        payload = trigger.payload
        kind = trigger.kind
        if kind == "file_change":
            queued = self.after_status(
                repo,
                trigger.workspace_id,
                str(payload["path"]),
                dict(payload["document"]),
                int(payload["version"]),
            )
            return "done" if queued else "ignored"
        if kind in {"github.push", "git.poll"} and (
            payload.get("deleted") or not payload.get("branch")
        ):
            return "ignored"  # before any network: tags and deleted branches start nothing
        mirror = self.repos.mirror(repo)
        if kind != "git.poll":  # the poller fetched just before it queued this
            mirror.fetch()
        changed: list[str] = []
        if kind in {"github.push", "git.poll"}:
            revision = str(payload["after"])
            changed = list(payload.get("changed_files") or [])
            if not changed:
                before = payload.get("before")
                changed = _paths(
                    mirror.changed_files(None if zero_sha(before) else before, revision)
                )
        elif kind == "github.pull_request":
            revision = str(payload["head_sha"])
            changed = _paths(mirror.changed_files(str(payload["base_sha"]), revision))
        else:  # manual, schedule
            revision = mirror.resolve(str(payload.get("revision") or repo.branch))
        pipeline = self.repos.pipeline_at(repo, revision)
        chosen = self._select(pipeline, kind, payload, changed)
        if not chosen:
            return "ignored"
        root = {"kind": kind, "trigger_id": trigger.id, "revision": revision, **_public(payload)}
        with database.begin_write(self.service.engine) as conn:
            run_id = store.create_run(
                conn,
                trigger.workspace_id,
                pipeline=pipeline.name,
                trigger_id=trigger.id,
                trigger_kind=kind,
                revision=revision,
                now=self.service.clock.now(),
            )
            for stage in chosen:
                self._enqueue(
                    conn,
                    trigger.workspace_id,
                    pipeline,
                    stage,
                    run_id=run_id,
                    key=f"{trigger.id}:{stage.name}",
                    revision=revision,
                    context={"trigger": root, "changed_files": changed},
                )
        self.wake()
        return "done"

    def _select(
        self, pipeline: config.Pipeline, kind: str, payload: dict[str, Any], changed: list[str]
    ) -> list[config.Stage]:
        if kind in {"manual", "schedule"}:
            name = str(payload["stage"])
            stage = pipeline.agents.get(name)
            if stage is None:
                raise UnknownStage(
                    f"the pipeline has no agent {name!r}",
                    details={"stage": name, "known": sorted(pipeline.agents)},
                )
            return [stage]
        chosen = []
        for stage in pipeline.agents.values():
            for trig in stage.triggers:
                if _fires(trig, kind, payload) and stage.matches_paths(changed):
                    chosen.append(stage)
                    break
        return chosen

    # -- stages after stages --------------------------------------------------------

    def after_status(
        self,
        repo: store.Repo,
        workspace_id: str,
        path: str,
        document: dict[str, Any],
        version: int,
    ) -> list[str]:
        """Queue the stages a terminal status file starts; returns the job ids."""
        status = document.get("status")
        if status not in TERMINAL_FILE_STATUSES:
            return []
        revision = document.get("revision") or self.repos.mirror(repo).resolve(repo.branch)
        pipeline = self.repos.pipeline_at(repo, str(revision))
        writer = document.get("stage")
        followers = [  # a stage's own write never retriggers it
            s for s in pipeline.downstream_of(path, status=str(status)) if s.name != writer
        ]
        if not followers:
            return []
        queued: list[str] = []
        now = self.service.clock.now()
        with database.begin_write(self.service.engine) as conn:
            run = store.get_run(conn, str(document.get("run_id") or ""), workspace_id)
            cause = {"kind": "file_change", "path": path, "version": version, "status": status}
            if run is not None and run.jobs:
                root = dict(run.jobs[0].context.get("trigger", {}))
                changed = list(run.jobs[0].context.get("changed_files", []))
                run_id = run.id
            else:
                root, changed = dict(cause, revision=revision), []
                run_id = store.create_run(
                    conn,
                    workspace_id,
                    pipeline=pipeline.name,
                    trigger_id=f"file:{path}@{version}",
                    trigger_kind="file_change",
                    revision=str(revision),
                    now=now,
                )
            for stage in followers:
                if changed and not stage.matches_paths(changed):
                    continue
                job_id = self._enqueue(
                    conn,
                    workspace_id,
                    pipeline,
                    stage,
                    run_id=run_id,
                    key=f"file:{workspace_id}:{path}@{version}:{stage.name}",
                    revision=str(revision),
                    context={"trigger": root, "cause": cause, "changed_files": changed},
                )
                if job_id:
                    queued.append(job_id)
            store.settle_run(conn, run_id, now)
        if queued:
            self.wake()
        return queued

    def on_timeout(self, repo: store.Repo, job: store.Job, fallback: str) -> str | None:
        """Queue the fallback stage of a stage that ran out of time."""
        pipeline = self.repos.pipeline_at(repo, job.revision or repo.branch)
        stage = pipeline.agents.get(fallback)
        if stage is None:
            log.warning("on_timeout names %r, which the pipeline does not have", fallback)
            return None
        with database.begin_write(self.service.engine) as conn:
            job_id = self._enqueue(
                conn,
                job.workspace_id,
                pipeline,
                stage,
                run_id=job.run_id,
                key=f"{job.id}:on_timeout",
                revision=job.revision,
                context={
                    "trigger": job.context.get("trigger", {}),
                    "cause": {"kind": "on_timeout", "stage": job.stage, "job_id": job.id},
                    "changed_files": job.context.get("changed_files", []),
                },
            )
        self.wake()
        return job_id

    def _enqueue(
        self,
        conn: Any,
        workspace_id: str,
        pipeline: config.Pipeline,
        stage: config.Stage,
        *,
        run_id: str,
        key: str,
        revision: str | None,
        context: dict[str, Any],
    ) -> str | None:
        timeout = stage.timeout_seconds or self.settings.pipeline.default_timeout_seconds
        return store.enqueue_job(
            conn,
            workspace_id=workspace_id,
            run_id=run_id,
            pipeline=pipeline.name,
            stage=stage.name,
            idempotency_key=key,
            context={**context, "concurrency": pipeline.concurrency},
            revision=revision,
            max_attempts=stage.retries + 1,
            timeout_seconds=int(timeout),
            now=self.service.clock.now(),
            status="awaiting_approval" if stage.approval_required else "queued",
        )


def _fires(trigger: config.Trigger, kind: str, payload: dict[str, Any]) -> bool:
    branch = str(payload.get("branch") or "")
    if kind == "github.push":
        return isinstance(trigger, GithubPushTrigger) and trigger.matches(branch)
    if kind == "git.poll":
        return isinstance(trigger, GitPollTrigger) and trigger.matches(branch)
    if kind == "github.pull_request":
        return isinstance(trigger, GithubPullRequestTrigger) and trigger.matches(
            str(payload.get("action")), str(payload.get("base_ref") or "")
        )
    return False


def _paths(changes: Any) -> list[str]:
    found: set[str] = set()
    for change in changes:
        found.add(change.path)
        if change.old_path:
            found.add(change.old_path)
    return sorted(found)


def _public(payload: dict[str, Any]) -> dict[str, Any]:
    """The trigger fields worth carrying down the chain (not the changed-file list)."""
    return {k: v for k, v in payload.items() if k not in {"changed_files"}}

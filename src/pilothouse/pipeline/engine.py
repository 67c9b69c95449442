"""The pipeline façade: what the CLI, REST, MCP and the webhook receiver call.

:class:`Pipelines` checks the caller's role on the workspace (through the workspace
service, like every other operation), keeps the repository registry, receives
GitHub deliveries, starts manual runs, and answers questions about runs and
agents. The threads that do the work live in :mod:`~pilothouse.pipeline.workers`
and are started by ``serve``/``worker``, or driven step by step by tests.
"""

from __future__ import annotations

import secrets
from dataclasses import asdict
from typing import Any

from pilothouse.core import ids
from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.integrations import github
from pilothouse.integrations.git import kind_of
from pilothouse.integrations.git.errors import NotFound as GitNotFound
from pilothouse.pipeline import config, fields, health, store
from pilothouse.pipeline.identities import Identities
from pilothouse.pipeline.planning import Planner
from pilothouse.pipeline.reporting import GitHubReporter
from pilothouse.pipeline.repos import PIPELINE_FILE, RepoCache
from pilothouse.pipeline.running import Runner
from pilothouse.pipeline.workers import Workers
from pilothouse.workspace import database
from pilothouse.workspace.errors import Forbidden, InvalidArgument, NotFound
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface, Permission
from pilothouse.workspace.service import WorkspaceService

MAX_LOG_BYTES = 1024 * 1024


class Pipelines:
    """Repositories, triggers, runs and agents of every workspace."""

    def __init__(
        self,
        service: WorkspaceService,
        settings: Settings,
        *,
        workers: int | None = None,
    ) -> None:
        self.service = service
        self.settings = settings
        self.repos = RepoCache(settings.repo_cache_dir)
        self.identities = Identities(service)
        self.planner = Planner(service, self.repos, settings)
        url = settings.server.public_url or f"http://{settings.server.host}:{settings.server.port}"
        self.runner = Runner(
            service,
            settings,
            self.repos,
            self.identities,
            self.planner,
            GitHubReporter(settings),
            url,
        )
        self._workers_count = workers
        self._workers: Workers | None = None

    @property
    def workers(self) -> Workers:
        if self._workers is None:
            self._workers = Workers(
                self.service,
                self.settings,
                self.repos,
                self.planner,
                self.runner,
                self.identities.admin,
                workers=self._workers_count,
            )
            self.planner.wake = self._workers.wake
        return self._workers

    def start(self) -> None:
        self.workers.start()

    def stop(self) -> None:
        if self._workers is not None:
            self._workers.stop()
        self.runner.reporter.close()

    # -- repositories -----------------------------------------------------------------

    def add_repo(
        self,
        actor: Actor,
        workspace: str,
        url: str,
        *,
        branch: str = "main",
        webhook_secret: str | None = None,
        token: str | None = None,
        full_name: str | None = None,
    ) -> tuple[store.Repo, str]:
        """Register the workspace's GitOps repository; returns it and its webhook secret.

        The remote is cloned (a bare mirror) before anything is stored, so a wrong URL
        or token is an error now, not at the first push.
        """
        if not url or not isinstance(url, str):
            raise InvalidArgument("a repository URL is required")
        if not branch or branch.startswith("-") or ".." in branch:
            raise InvalidArgument(f"invalid branch name {branch!r}")
        if full_name is not None and not store.FULL_NAME.fullmatch(full_name):
            raise InvalidArgument(f"full_name must be owner/name, not {full_name!r}")
        remote = actor.interface in {Interface.REST, Interface.MCP, Interface.UI}
        local = kind_of(url) in ("local", "file")
        if remote and local and not self.settings.pipeline.allow_local_repositories:
            raise Forbidden(
                "a local path or file:// remote can be registered only from the CLI "
                "(or with pipeline.allow_local_repositories)",
                details={"url": url},
            )
        if webhook_secret is not None and len(webhook_secret) < 16:
            raise InvalidArgument("a webhook secret needs at least 16 characters")
        with self.service.workspace_read(actor, workspace, Permission.MANAGE) as (conn, ws):
            workspace_id = ws.id
            existing = store.get_repo(conn, ws.id)
        # re-registering keeps the secret GitHub already signs with, unless a new one is given
        secret = webhook_secret or (existing.webhook_secret if existing else None)
        secret = secret or secrets.token_urlsafe(32)
        probe = self.repos.probe(workspace_id, url, token)  # a fresh clone: URL, token, branch
        try:
            probe.resolve(f"refs/heads/{branch}")
        except GitNotFound:
            self.repos.discard(probe)
            raise GitNotFound(
                f"the repository has no branch {branch!r}", details={"branch": branch}
            ) from None
        with self.service.workspace_unit(actor, workspace, Permission.MANAGE) as (unit, ws):
            repo = store.put_repo(
                unit.conn,
                ws.id,
                url=probe.url,
                branch=branch,
                webhook_secret=secret,
                token=token,
                full_name=full_name,
                created_by=actor.principal.id,
                now=unit.now,
            )
            unit.record(
                ws.id,
                action="repo.register",
                target=probe.url,
                event="repo.registered",
                data={"url": probe.url, "branch": branch, "full_name": full_name},
            )
        self.repos.install(workspace_id, probe, token)
        return repo, secret

    def get_repo(self, actor: Actor, workspace: str) -> store.Repo:
        with self.service.workspace_read(actor, workspace) as (conn, ws):
            repo = store.get_repo(conn, ws.id)
        if repo is None:
            raise NotFound(
                f"workspace {workspace} has no repository; run `pilothouse repo add`",
                details={"workspace": workspace},
            )
        return repo

    # -- GitHub -----------------------------------------------------------------------

    def receive_github(
        self,
        workspace: str,
        *,
        event: str | None,
        delivery: str | None,
        signature: str | None,
        body: bytes,
    ) -> dict[str, Any]:
        """Verify, deduplicate and queue one delivery; cheap enough to answer at once.

        An unknown workspace, one without a repository and a wrong signature all get the
        same ``invalid_signature``: the endpoint does not tell strangers which exist.
        """
        if not event:
            raise InvalidArgument("missing X-GitHub-Event header")
        if not delivery or len(delivery) > 200:
            raise InvalidArgument("missing or invalid X-GitHub-Delivery header")
        try:
            repo = self.get_repo(self.identities.admin, workspace)
            github.verify_signature(repo.webhook_secret, body, signature)
        except (NotFound, github.InvalidSignature):
            health.webhook("bad_signature")
            raise github.InvalidSignature(
                "the signature does not match this workspace's webhook secret"
            ) from None
        parsed = github.parse_event(event, body)
        if isinstance(parsed, github.PingEvent):
            health.webhook("ping")
            return {"ok": True, "event": "ping"}
        payload: dict[str, Any]
        if isinstance(parsed, github.PushEvent):
            if parsed.deleted or github.branch_of(parsed.ref) is None:
                health.webhook("ignored")  # tags and deleted branches start nothing
                return {"ok": True, "ignored": True, "reason": f"ref {parsed.ref}"}
            kind = "github.push"
            payload = {
                "delivery": delivery,
                "ref": parsed.ref,
                "branch": github.branch_of(parsed.ref),
                "before": parsed.before,
                "after": parsed.after,
                "deleted": parsed.deleted,
                "forced": parsed.forced,
                "repository": parsed.repository.full_name,
                "changed_files": github.push_changed_paths(parsed),
            }
        elif isinstance(parsed, github.PullRequestEvent):
            kind = "github.pull_request"  # which actions start what is the pipeline's to say
            pr = parsed.pull_request
            payload = {
                "delivery": delivery,
                "action": parsed.action,
                "number": parsed.number,
                "head_sha": pr.head.sha,
                "base_sha": pr.base.sha,
                "head_ref": pr.head.ref,
                "base_ref": pr.base.ref,
                "sha": pr.head.sha,
                "repository": parsed.repository.full_name,
            }
        else:
            health.webhook("ignored")
            return {"ok": True, "ignored": True, "reason": f"event {event}"}
        with database.begin_write(self.service.engine) as conn:
            trigger_id, duplicate = store.submit_trigger(
                conn,
                repo.workspace_id,
                kind=kind,
                dedup_key=f"github:{delivery}",
                payload=payload,
                now=self.service.clock.now(),
            )
        health.webhook("duplicate" if duplicate else "accepted")
        if not duplicate and self._workers is not None:
            self._workers.wake()
        return {"ok": True, "duplicate": duplicate, "trigger_id": trigger_id}

    # -- pipelines and runs -----------------------------------------------------------

    def show(self, actor: Actor, workspace: str, revision: str | None = None) -> dict[str, Any]:
        """The pipeline at ``revision`` (default: the branch tip), as data."""
        repo = self.get_repo(actor, workspace)
        mirror = self.repos.mirror(repo)
        sha = mirror.resolve(revision or repo.branch)
        pipeline = self.repos.pipeline_at(repo, sha)
        return {"revision": sha, **describe(pipeline)}

    def trigger(
        self, actor: Actor, workspace: str, stage: str, *, revision: str | None = None
    ) -> dict[str, Any]:
        """Queue a manual run of one stage; returns the trigger id."""
        if not isinstance(stage, str) or not fields.AGENT_NAME.fullmatch(stage):
            raise InvalidArgument(f"{stage!r} is not an agent name", details={"stage": stage})
        with self.service.workspace_unit(actor, workspace, Permission.WRITE) as (unit, ws):
            if store.get_repo(unit.conn, ws.id) is None:
                raise NotFound(f"workspace {workspace} has no repository")
            key = ids.new_id("manual")  # every manual request is its own trigger
            trigger_id, _ = store.submit_trigger(
                unit.conn,
                ws.id,
                kind="manual",
                dedup_key=key,
                payload={"stage": stage, "revision": revision, "by": actor.principal.name},
                now=unit.now,
            )
            unit.record(
                ws.id,
                action="pipeline.trigger",
                target=stage,
                data={"stage": stage, "revision": revision, "trigger_id": trigger_id},
            )
        if self._workers is not None:
            self._workers.wake()
        return {"trigger_id": trigger_id, "stage": stage}

    def trigger_status(self, actor: Actor, workspace: str, trigger_id: str) -> dict[str, Any]:
        with self.service.workspace_read(actor, workspace) as (conn, ws):
            found = store.get_trigger(conn, ws.id, trigger_id)
        if found is None:
            raise NotFound(f"no trigger {trigger_id}", details={"trigger_id": trigger_id})
        return found

    def runs(self, actor: Actor, workspace: str, *, limit: int = 20) -> list[store.Run]:
        if not 1 <= limit <= 200:
            raise InvalidArgument("limit must be between 1 and 200")
        with self.service.workspace_read(actor, workspace) as (conn, ws):
            return store.list_runs(conn, ws.id, limit=limit)

    def run(self, actor: Actor, workspace: str, run_id: str) -> store.Run:
        with self.service.workspace_read(actor, workspace) as (conn, ws):
            found = store.get_run(conn, run_id, ws.id)
        if found is None:
            raise NotFound(f"no run {run_id} in {workspace}", details={"run_id": run_id})
        return found

    def cancel(self, actor: Actor, workspace: str, run_id: str) -> store.Run:
        self.run(actor, workspace, run_id)
        with self.service.workspace_unit(actor, workspace, Permission.WRITE) as (unit, ws):
            touched = store.cancel(unit.conn, ws.id, run_id, unit.now)
            if touched:  # a run already over has nothing to cancel, nothing to record
                unit.record(
                    ws.id,
                    action="pipeline.cancel",
                    target=run_id,
                    event="pipeline.run_cancelled",
                    data={"run_id": run_id, "jobs": touched},
                )
        return self.run(actor, workspace, run_id)

    def approve(self, actor: Actor, workspace: str, run_id: str, stage: str) -> store.Run:
        """Let a stage declared ``approval: required`` run (workspace admins)."""
        self.run(actor, workspace, run_id)
        with self.service.workspace_unit(actor, workspace, Permission.MANAGE) as (unit, ws):
            moved = store.approve(unit.conn, ws.id, run_id, stage, unit.now)
            if not moved:
                raise NotFound(
                    f"no stage {stage!r} awaiting approval in run {run_id}",
                    details={"run_id": run_id, "stage": stage},
                )
            unit.record(
                ws.id,
                action="pipeline.approve",
                target=stage,
                event="pipeline.stage_approved",
                data={"run_id": run_id, "stage": stage},
            )
        if self._workers is not None:
            self._workers.wake()
        return self.run(actor, workspace, run_id)

    def logs(self, actor: Actor, workspace: str, run_id: str, stage: str | None = None) -> str:
        """Each stage's captured stdout/stderr and result, as one text."""
        run = self.run(actor, workspace, run_id)
        parts = []
        for job in run.jobs:
            if stage is not None and job.stage != stage:
                continue
            parts.append(f"== {job.stage} [{job.status}] {job.summary or ''}".rstrip())
            for name in ("stdout.log", "stderr.log"):
                path = f"/runs/{run_id}/{job.stage}/{name}"
                try:
                    data = self.service.read_file(actor, workspace, path).content
                except PilothouseError:
                    continue
                if data:
                    text = data[-MAX_LOG_BYTES:].decode("utf-8", "replace")
                    parts.append(f"-- {name}\n{text.rstrip()}")
        if not parts:
            raise NotFound(f"run {run_id} has no stage {stage!r}" if stage else "no logs yet")
        return "\n".join(parts) + "\n"

    def agents(self, actor: Actor, workspace: str) -> list[dict[str, Any]]:
        """Per stage: invocations, successes, failures, mean duration, last run."""
        with self.service.workspace_read(actor, workspace) as (conn, ws):
            return store.stage_stats(conn, ws.id)


def describe(pipeline: config.Pipeline) -> dict[str, Any]:
    """A pipeline as JSON-able data."""
    agents = {}
    for name, stage in pipeline.agents.items():
        agents[name] = {
            "triggers": [{"kind": t.kind, **asdict(t)} for t in stage.triggers],
            "uses": {"kind": stage.uses.kind, **asdict(stage.uses)},
            "writes": stage.writes,
            "reads": list(stage.reads),
            "requires_lock": stage.requires_lock,
            "lock_tree": stage.lock_tree,
            "timeout_seconds": stage.timeout_seconds,
            "on_timeout": stage.on_timeout,
            "retries": stage.retries,
            "approval_required": stage.approval_required,
            "model": stage.model,
            "when": list(stage.when),
        }
    return {
        "name": pipeline.name,
        "workspace": pipeline.workspace,
        "concurrency": pipeline.concurrency,
        "file": PIPELINE_FILE,
        "agents": agents,
    }

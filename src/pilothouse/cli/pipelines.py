"""``pilothouse repo``, ``pipeline``, ``agents`` and ``worker``: the pipeline from the shell."""

from __future__ import annotations

import logging
import signal
import sys
import threading
from pathlib import Path
from typing import Annotated, Any

import prometheus_client
import typer

from pilothouse.cli.session import (
    ApiKeyOpt,
    HomeOpt,
    LogLevel,
    LogLevelOpt,
    Output,
    OutputOpt,
    WsArg,
    emit,
    open_service,
    pairs,
    session,
    settings_for,
    stdout,
    table,
)
from pilothouse.pipeline import config, health, store
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.errors import InvalidArgument

repo_app = typer.Typer(help="The GitOps repository of a workspace.", no_args_is_help=True)
pipeline_app = typer.Typer(
    help="Validate pilothouse.yaml, trigger stages, follow runs.", no_args_is_help=True
)
RunIdArg = Annotated[str, typer.Argument(help="Run id (see `pipeline runs`).")]


def _runs_table(runs: list[store.Run]) -> None:
    table(
        None,
        ["run id", "trigger", "revision", "status", "stages", "started", "finished"],
        [
            [
                r.id,
                r.trigger_kind,
                (r.revision or "")[:12],
                r.status,
                " → ".join(f"{j.stage}:{j.status}" for j in r.jobs),
                d["created_at"],
                d["finished_at"],
            ]
            for r, d in ((r, r.as_dict()) for r in runs)
        ],
    )


# -- repo -------------------------------------------------------------------------------


@repo_app.command("add")
def repo_add(
    workspace: WsArg,
    url: Annotated[str, typer.Argument(help="Local path, file://, https:// or ssh:// remote.")],
    branch: Annotated[str, typer.Option(help="Branch the pipeline follows.")] = "main",
    webhook_secret: Annotated[
        str | None,
        typer.Option(help="GitHub webhook secret (≥ 16 chars); generated and printed if omitted."),
    ] = None,
    token: Annotated[
        str | None,
        typer.Option(envvar="PILOTHOUSE_GIT_TOKEN", help="Token for https remotes and GitHub."),
    ] = None,
    full_name: Annotated[
        str | None, typer.Option(help="owner/name on GitHub, for commit statuses and comments.")
    ] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Register (or replace) the workspace's repository; clones a mirror to check it."""
    with session(home, api_key, output) as s:
        repo, secret = s.pipelines.add_repo(
            s.actor,
            workspace,
            url,
            branch=branch,
            webhook_secret=webhook_secret,
            token=token,
            full_name=full_name,
        )
        data = {**repo.public(), "webhook_secret": secret}

        def render() -> None:
            pairs(data)
            stdout.print(
                "\nPoint GitHub at <server>"
                f"{data['webhook_path']} (content type application/json) with this secret; "
                "it is not shown again.",
                highlight=False,
            )

        emit(output, data, render)


@repo_app.command("show")
def repo_show(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """The registered repository (never its token or secret)."""
    with session(home, api_key, output) as s:
        data = s.pipelines.get_repo(s.actor, workspace).public()
        emit(output, data, lambda: pairs(data))


@repo_app.command("log")
def repo_log(
    workspace: WsArg,
    revision: Annotated[str | None, typer.Option(help="Default: the registered branch.")] = None,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    fetch: Annotated[bool, typer.Option(help="Fetch from the remote first.")] = False,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Recent commits of the repository."""
    with session(home, api_key, output) as s:
        engine = s.pipelines
        repo = engine.get_repo(s.actor, workspace)
        mirror = engine.repos.mirror(repo)
        if fetch:
            mirror.fetch()
        commits = mirror.log(revision or repo.branch, limit=limit)
        data = [
            {"sha": c.sha, "author": c.author_name, "email": c.author_email, "summary": c.summary}
            for c in commits
        ]
        emit(
            output,
            data,
            lambda: table(
                None,
                ["sha", "author", "summary"],
                [[d["sha"][:12], d["author"], d["summary"]] for d in data],
            ),
        )


# -- pipeline ---------------------------------------------------------------------------


@pipeline_app.command("validate")
def pipeline_validate(
    path: Annotated[Path, typer.Argument(help="A pilothouse.yaml file ('-' for stdin).")],
    output: OutputOpt = Output.TEXT,
) -> None:
    """Check a pipeline file offline; problems print as FILE:LINE:COLUMN: where: what."""
    if str(path) == "-":
        text, source = sys.stdin.read(), "<stdin>"
    else:
        try:
            text, source = path.read_text(encoding="utf-8"), str(path)
        except (OSError, UnicodeDecodeError) as e:
            raise InvalidArgument(f"cannot read {path}: {e}") from None
    report = config.check_pipeline(text, source=source)
    data = report.to_dict()

    def render() -> None:
        for line in report.lines():
            typer.echo(line)
        if report.ok and report.pipeline is not None:
            typer.echo(
                f"{source}: ok — pipeline {report.pipeline.name!r}, "
                f"{len(report.pipeline.agents)} agents"
            )

    emit(output, data, render)
    if not report.ok:
        raise typer.Exit(1)


@pipeline_app.command("show")
def pipeline_show(
    workspace: WsArg,
    revision: Annotated[str | None, typer.Option(help="Default: the registered branch.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """The pipeline read from the repository at REVISION."""
    with session(home, api_key, output) as s:
        data = s.pipelines.show(s.actor, workspace, revision)

        def render() -> None:
            stdout.print(f"{data['name']} at {data['revision'][:12]}", highlight=False)
            table(
                None,
                ["agent", "triggers", "uses", "writes", "lock"],
                [
                    [
                        name,
                        ", ".join(t["kind"] for t in a["triggers"]),
                        a["uses"]["kind"],
                        a["writes"],
                        a["lock_tree"],
                    ]
                    for name, a in data["agents"].items()
                ],
            )

        emit(output, data, render)


@pipeline_app.command("trigger")
def pipeline_trigger(
    workspace: WsArg,
    stage: Annotated[str, typer.Argument(help="The agent (stage) to run.")],
    revision: Annotated[str | None, typer.Option(help="Default: the branch tip.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Queue a manual run of one stage; a running `serve` or `worker` picks it up."""
    with session(home, api_key, output) as s:
        data = s.pipelines.trigger(s.actor, workspace, stage, revision=revision)
        emit(output, data, lambda: pairs(data))


@pipeline_app.command("runs")
def pipeline_runs(
    workspace: WsArg,
    limit: Annotated[int, typer.Option(min=1, max=200)] = 20,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Recent runs, newest first, with each stage's status."""
    with session(home, api_key, output) as s:
        found = s.pipelines.runs(s.actor, workspace, limit=limit)
        emit(output, [r.as_dict() for r in found], lambda: _runs_table(found))


@pipeline_app.command("run")
def pipeline_run(
    workspace: WsArg,
    run_id: RunIdArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """One run and its stages."""
    with session(home, api_key, output) as s:
        run = s.pipelines.run(s.actor, workspace, run_id)

        def render() -> None:
            _runs_table([run])
            table(
                None,
                ["stage", "status", "attempts", "summary"],
                [[j.stage, j.status, j.attempts, j.summary] for j in run.jobs],
            )

        emit(output, run.as_dict(), render)


@pipeline_app.command("logs")
def pipeline_logs(
    workspace: WsArg,
    run_id: RunIdArg,
    stage: Annotated[str | None, typer.Option(help="Only this stage.")] = None,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
) -> None:
    """Captured stdout/stderr of a run's stages."""
    with session(home, api_key, Output.TEXT) as s:
        sys.stdout.write(s.pipelines.logs(s.actor, workspace, run_id, stage))


@pipeline_app.command("cancel")
def pipeline_cancel(
    workspace: WsArg,
    run_id: RunIdArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Cancel a run: queued stages end, running ones are stopped."""
    with session(home, api_key, output) as s:
        run = s.pipelines.cancel(s.actor, workspace, run_id)
        emit(output, run.as_dict(), lambda: _runs_table([run]))


@pipeline_app.command("approve")
def pipeline_approve(
    workspace: WsArg,
    run_id: RunIdArg,
    stage: Annotated[str, typer.Argument(help="The stage waiting for approval.")],
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Let a stage declared `approval: required` run (workspace admins)."""
    with session(home, api_key, output) as s:
        run = s.pipelines.approve(s.actor, workspace, run_id, stage)
        emit(output, run.as_dict(), lambda: _runs_table([run]))


def agents(
    workspace: WsArg,
    home: HomeOpt = None,
    api_key: ApiKeyOpt = None,
    output: OutputOpt = Output.TEXT,
) -> None:
    """Agent health: invocations, successes, failures, mean duration, last run."""
    with session(home, api_key, output) as s:
        rows: list[dict[str, Any]] = s.pipelines.agents(s.actor, workspace)
        emit(
            output,
            rows,
            lambda: table(
                None,
                ["agent", "runs", "ok", "failed", "running", "mean s", "last run"],
                [
                    [
                        r["stage"],
                        r["invocations"],
                        r["succeeded"],
                        r["failed"],
                        r["running"],
                        r["mean_seconds"],
                        r["last_run"],
                    ]
                    for r in rows
                ],
            ),
        )


def worker(
    home: HomeOpt = None,
    workers: Annotated[
        int | None, typer.Option(min=0, max=64, help="Jobs at once (default 2).")
    ] = None,
    log_level: LogLevelOpt = LogLevel.INFO,
    drain: Annotated[
        bool,
        typer.Option(help="Run what is queued now (and what it triggers), then exit."),
    ] = False,
    metrics_port: Annotated[
        int | None,
        typer.Option(help="Serve Prometheus /metrics of the workers on 127.0.0.1:PORT."),
    ] = None,
) -> None:
    """Run pipeline workers standalone against the store (beside or instead of `serve`)."""
    settings = settings_for(home)
    logging.basicConfig(stream=sys.stderr, level=log_level.value.upper(), format="%(message)s")
    service = open_service(settings)
    engine = Pipelines(service, settings, workers=workers)
    if drain:
        try:
            steps = engine.workers.drain()
        finally:
            service.close()
        typer.echo(f"drained: {steps} triggers and jobs done, nothing left to run", err=True)
        return
    done = threading.Event()
    for sig in (signal.SIGINT, signal.SIGTERM):
        signal.signal(sig, lambda *_: done.set())
    if metrics_port is not None:
        prometheus_client.start_http_server(
            metrics_port, addr="127.0.0.1", registry=health.REGISTRY
        )
    engine.start()
    typer.echo(
        f"Pilothouse worker: {engine.workers.count} workers on {settings.home.resolve()}",
        err=True,
    )
    try:
        done.wait()
    finally:
        typer.echo("stopping: finishing running jobs…", err=True)
        engine.stop()
        service.close()

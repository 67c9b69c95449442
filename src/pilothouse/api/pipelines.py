"""Pipelines over HTTP, and the GitHub webhook receiver.

``POST /webhooks/github/{workspace}`` authenticates by signature, not by key: the
body's HMAC (``X-Hub-Signature-256``) with the webhook secret of the repository
registered for that workspace. It only verifies, deduplicates by
``X-GitHub-Delivery`` and queues — one insert — so GitHub gets its answer in
milliseconds; fetching and planning happen in the dispatcher.
"""

from __future__ import annotations

from typing import Annotated, Any

import anyio.to_thread
from fastapi import APIRouter, Depends, Request, status
from fastapi.responses import PlainTextResponse
from pydantic import BaseModel, ConfigDict, Field

from pilothouse.api import API
from pilothouse.api.auth import ActorDep
from pilothouse.integrations import github
from pilothouse.pipeline import config, store
from pilothouse.pipeline.engine import Pipelines

router = APIRouter(tags=["pipelines"])


def pipelines_of(request: Request) -> Pipelines:
    found: Pipelines = request.app.state.pipelines
    return found


PipelinesDep = Annotated[Pipelines, Depends(pipelines_of)]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class RepoAdd(_Body):
    url: str = Field(min_length=1, max_length=2048)
    branch: str = Field("main", min_length=1, max_length=255)
    webhook_secret: str | None = Field(None, min_length=16, max_length=128)
    token: str | None = Field(None, max_length=4096)
    full_name: str | None = Field(None, pattern=store.FULL_NAME.pattern, max_length=255)


class Validate(_Body):
    text: str = Field(max_length=256 * 1024)


class Trigger(_Body):
    stage: str = Field(min_length=1, max_length=64)
    revision: str | None = Field(None, max_length=255)


@router.post("/webhooks/github/{workspace}")
async def github_webhook(workspace: str, request: Request, pipelines: PipelinesDep) -> Any:
    """Receive a GitHub delivery: ``ping``, ``push``, ``pull_request``."""
    headers = request.headers
    if not headers.get(github.SIGNATURE_HEADER):  # refuse before reading up to 25 MB
        raise github.InvalidSignature(f"missing {github.SIGNATURE_HEADER} header")
    body = await request.body()
    return await anyio.to_thread.run_sync(
        lambda: pipelines.receive_github(
            workspace,
            event=headers.get(github.EVENT_HEADER),
            delivery=headers.get(github.DELIVERY_HEADER),
            signature=headers.get(github.SIGNATURE_HEADER),
            body=body,
        )
    )


@router.put(f"{API}/workspaces/{{workspace}}/repo", status_code=status.HTTP_201_CREATED)
def add_repo(
    workspace: str, body: RepoAdd, pipelines: PipelinesDep, actor: ActorDep
) -> dict[str, Any]:
    """Register (or replace) the workspace's GitOps repository.

    The answer carries ``webhook_secret`` — the only time it is shown.
    """
    repo, secret = pipelines.add_repo(
        actor,
        workspace,
        body.url,
        branch=body.branch,
        webhook_secret=body.webhook_secret,
        token=body.token,
        full_name=body.full_name,
    )
    return {**repo.public(), "webhook_secret": secret}


@router.get(f"{API}/workspaces/{{workspace}}/repo")
def get_repo(workspace: str, pipelines: PipelinesDep, actor: ActorDep) -> dict[str, Any]:
    return pipelines.get_repo(actor, workspace).public()


@router.post(f"{API}/pipeline/validate")
def validate(body: Validate, actor: ActorDep) -> dict[str, Any]:
    """Check a ``pilothouse.yaml`` text offline: problems and warnings with line:column."""
    return config.check_pipeline(body.text).to_dict()


@router.get(f"{API}/workspaces/{{workspace}}/pipeline")
def show(
    workspace: str, pipelines: PipelinesDep, actor: ActorDep, revision: str | None = None
) -> dict[str, Any]:
    return pipelines.show(actor, workspace, revision)


@router.post(
    f"{API}/workspaces/{{workspace}}/pipeline/triggers", status_code=status.HTTP_202_ACCEPTED
)
def trigger(
    workspace: str, body: Trigger, pipelines: PipelinesDep, actor: ActorDep
) -> dict[str, Any]:
    """Queue a manual run of one stage."""
    return pipelines.trigger(actor, workspace, body.stage, revision=body.revision)


@router.get(f"{API}/workspaces/{{workspace}}/pipeline/triggers/{{trigger_id}}")
def trigger_status(
    workspace: str, trigger_id: str, pipelines: PipelinesDep, actor: ActorDep
) -> dict[str, Any]:
    return pipelines.trigger_status(actor, workspace, trigger_id)


@router.get(f"{API}/workspaces/{{workspace}}/pipeline/runs")
def runs(
    workspace: str, pipelines: PipelinesDep, actor: ActorDep, limit: int = 20
) -> list[dict[str, Any]]:
    return [r.as_dict() for r in pipelines.runs(actor, workspace, limit=limit)]


@router.get(f"{API}/workspaces/{{workspace}}/pipeline/runs/{{run_id}}")
def run(workspace: str, run_id: str, pipelines: PipelinesDep, actor: ActorDep) -> dict[str, Any]:
    return pipelines.run(actor, workspace, run_id).as_dict()


@router.post(f"{API}/workspaces/{{workspace}}/pipeline/runs/{{run_id}}/cancel")
def cancel(workspace: str, run_id: str, pipelines: PipelinesDep, actor: ActorDep) -> dict[str, Any]:
    return pipelines.cancel(actor, workspace, run_id).as_dict()


class Approve(_Body):
    stage: str = Field(min_length=1, max_length=64)


@router.post(f"{API}/workspaces/{{workspace}}/pipeline/runs/{{run_id}}/approve")
def approve(
    workspace: str, run_id: str, body: Approve, pipelines: PipelinesDep, actor: ActorDep
) -> dict[str, Any]:
    """Let a stage declared ``approval: required`` run (workspace admins)."""
    return pipelines.approve(actor, workspace, run_id, body.stage).as_dict()


@router.get(
    f"{API}/workspaces/{{workspace}}/pipeline/runs/{{run_id}}/logs",
    response_class=PlainTextResponse,
)
def logs(
    workspace: str,
    run_id: str,
    pipelines: PipelinesDep,
    actor: ActorDep,
    stage: str | None = None,
) -> str:
    return pipelines.logs(actor, workspace, run_id, stage)


@router.get(f"{API}/workspaces/{{workspace}}/pipeline/agents")
def agents(workspace: str, pipelines: PipelinesDep, actor: ActorDep) -> list[dict[str, Any]]:
    """Agent health: invocations, successes, failures, mean duration, last run per stage."""
    return pipelines.agents(actor, workspace)

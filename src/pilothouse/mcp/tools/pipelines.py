"""``repo`` and ``pipeline``: the workspace's GitOps repository and the pipeline it declares.

A workspace registers one repository (``repo add``); its ``pilothouse.yaml`` *is*
the pipeline, read at whatever revision a run started from. So the two tools go
together: ``repo`` answers what the repository says (files, content, diffs and
history at any revision, from the server's local mirror — no network but
``add`` and ``fetch``), and ``pipeline`` shows, validates, triggers and follows
the runs of what it declares. Both go through
:class:`~pilothouse.pipeline.engine.Pipelines`, which checks the caller's role
like every other workspace operation.

Paths in the repository are relative to its root (``manifests/app.yaml``), unlike
workspace files; ``..``, absolute paths and ``.git`` are refused, not repaired.
File content comes back like the ``file`` tool's: text as ``content`` when it is
UTF-8, else ``content_base64``. What is shown of a repository never includes its
token or webhook secret — except that secret once, in the answer to ``add``.
"""

from __future__ import annotations

import base64
import hashlib
from dataclasses import asdict
from typing import Annotated, Any

from pydantic import Field

from pilothouse.integrations.git import CommitInfo, Mirror
from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.tools import files as file_tool
from pilothouse.mcp.wire import Arguments, TextList, WorkspaceRef
from pilothouse.pipeline import config, store
from pilothouse.workspace.errors import NotFound, TooLarge

MAX_FILES = 10_000
"""Most paths ``repo files`` lists in one reply; narrow it with ``prefix``."""

MAX_PATCH_CHARS = 1024 * 1024
"""Longest patch ``repo diff`` returns inline (1 Mi characters); narrow it with ``paths``."""

repo = registry.tool(
    "repo",
    title="GitOps repository",
    description="The workspace's GitOps repository, read from the server's mirror at any "
    "revision. Paths are relative to the repository root, e.g. manifests/app.yaml.",
)
pipeline = registry.tool(
    "pipeline",
    title="Pipeline",
    description="The pipeline declared by pilothouse.yaml in the workspace's repository: "
    "its stages, manual triggers, runs, logs and per-agent health.",
)

Revision = Annotated[
    str | None,
    Field(
        min_length=1,
        max_length=256,
        description="A branch, tag, sha or expression such as main~2; default the "
        "registered branch.",
    ),
]
RepoPath = Annotated[
    str,
    Field(
        min_length=1,
        max_length=4096,
        description="A file path relative to the repository root, e.g. manifests/app.yaml.",
    ),
]
RunId = Annotated[str, Field(min_length=1, max_length=64, description="A run id (run_...).")]


class WorkspaceArgs(Arguments):
    workspace: WorkspaceRef


# -- repo -------------------------------------------------------------------------------


class AddArgs(Arguments):
    workspace: WorkspaceRef
    url: str = Field(
        min_length=1,
        max_length=2048,
        description="Clone URL: https://…, ssh://…, git@host:org/repo.git or a local path; "
        "never with credentials in it (use token).",
    )
    branch: str = Field("main", min_length=1, max_length=255, description="Branch to follow.")
    webhook_secret: str | None = Field(
        None,
        min_length=16,
        max_length=128,
        description="Secret GitHub signs deliveries with; default a new random one.",
    )
    token: str | None = Field(
        None, max_length=4096, description="Access token for an https remote (never shown)."
    )
    full_name: str | None = Field(
        None,
        pattern=store.FULL_NAME.pattern,
        max_length=255,
        description="owner/name on GitHub, for commit statuses.",
    )


class FilesArgs(Arguments):
    workspace: WorkspaceRef
    revision: Revision = None
    prefix: str = Field(
        "", max_length=4096, description="Only files under this folder, e.g. manifests/."
    )


class ReadArgs(Arguments):
    workspace: WorkspaceRef
    path: RepoPath
    revision: Revision = None
    as_base64: bool = Field(False, description="Return content_base64 even for text.")


class DiffArgs(Arguments):
    workspace: WorkspaceRef
    base: str = Field(
        min_length=1, max_length=256, description="The revision to compare from, e.g. main~1."
    )
    head: Revision = None
    paths: TextList = Field(
        default_factory=list, description="Only these files or folders (default all)."
    )


class LogArgs(Arguments):
    workspace: WorkspaceRef
    revision: Revision = None
    limit: int = Field(20, ge=1, le=200, description="Most commits to return (1-200).")
    path: str | None = Field(
        None, min_length=1, max_length=4096, description="Only commits that changed this path."
    )


@repo.action("add", AddArgs, read_only=False, destructive=True, open_world=True, waits=True)
def add(call: Call, args: AddArgs) -> Reply:
    """Register (or replace) the repository; the reply shows webhook_secret this once."""
    found, secret = call.pipelines.add_repo(
        call.actor,
        args.workspace,
        args.url,
        branch=args.branch,
        webhook_secret=args.webhook_secret,
        token=args.token,
        full_name=args.full_name,
    )
    return {**found.public(), "webhook_secret": secret}


@repo.action("info", WorkspaceArgs, read_only=True)
def info(call: Call, args: WorkspaceArgs) -> Reply:
    """URL, branch, GitHub name and webhook path of the registered repository."""
    return _registered(call, args.workspace).public()


@repo.action("files", FilesArgs, read_only=True)
def list_files(call: Call, args: FilesArgs) -> Reply:
    """Every file path under a folder at a revision, recursively."""
    found, mirror = _mirror(call, args.workspace)
    sha = mirror.resolve(args.revision or found.branch)
    paths = mirror.list_tree(sha, args.prefix)
    return {
        "revision": sha,
        "prefix": args.prefix,
        "files": paths[:MAX_FILES],
        "truncated": len(paths) > MAX_FILES,
    }


@repo.action("read", ReadArgs, read_only=True)
def read(call: Call, args: ReadArgs) -> Reply:
    """A file's content at a revision: text, or base64 for binary."""
    found, mirror = _mirror(call, args.workspace)
    sha = mirror.resolve(args.revision or found.branch)
    data = mirror.read_file(sha, args.path)
    if len(data) > file_tool.MAX_INLINE_BYTES:
        raise TooLarge(
            f"{args.path} is {len(data)} bytes; MCP reads inline at most "
            f"{file_tool.MAX_INLINE_BYTES}",
            details={"path": args.path, "size": len(data), "limit": file_tool.MAX_INLINE_BYTES},
        )
    reply: Reply = {
        "path": args.path,
        "revision": sha,
        "size": len(data),
        "sha256": hashlib.sha256(data).hexdigest(),
    }
    if not args.as_base64:
        try:
            return {**reply, "encoding": "utf-8", "content": data.decode("utf-8")}
        except UnicodeDecodeError:
            pass
    return {**reply, "encoding": "base64", "content_base64": base64.b64encode(data).decode()}


@repo.action("diff", DiffArgs, read_only=True)
def diff(call: Call, args: DiffArgs) -> Reply:
    """The unified patch from base to head (default the registered branch)."""
    found, mirror = _mirror(call, args.workspace)
    base = mirror.resolve(args.base)
    head = mirror.resolve(args.head or found.branch)
    patch = mirror.diff(base, head, args.paths or None)
    return {
        "base": base,
        "head": head,
        "paths": args.paths,
        "patch": patch[:MAX_PATCH_CHARS],
        "truncated": len(patch) > MAX_PATCH_CHARS,
    }


@repo.action("log", LogArgs, read_only=True)
def log(call: Call, args: LogArgs) -> Reply:
    """Commits reachable from a revision, newest first, optionally touching a path."""
    found, mirror = _mirror(call, args.workspace)
    sha = mirror.resolve(args.revision or found.branch)
    commits = mirror.log(sha, args.limit, args.path)
    return {"revision": sha, "path": args.path, "commits": [_commit(c) for c in commits]}


@repo.action("fetch", WorkspaceArgs, read_only=False, idempotent=True, open_world=True, waits=True)
def fetch(call: Call, args: WorkspaceArgs) -> Reply:
    """Update the mirror from the remote; the branches that moved and every branch tip."""
    found, mirror = _mirror(call, args.workspace)
    moved = mirror.fetch()
    tips = {name: mirror.resolve(name) for name in mirror.branches()}
    return {
        "branch": found.branch,
        "tip": tips.get(found.branch),
        "moved": [asdict(update) for update in moved],
        "branches": tips,
    }


# -- pipeline ---------------------------------------------------------------------------


class ShowArgs(Arguments):
    workspace: WorkspaceRef
    revision: Revision = None


class ValidateArgs(Arguments):
    text: str = Field(
        strict=True,
        max_length=256 * 1024,
        description="The complete pilothouse.yaml text to check (offline).",
    )


class TriggerArgs(Arguments):
    workspace: WorkspaceRef
    stage: str = Field(min_length=1, max_length=64, description="The stage (agent) to run.")
    revision: Revision = None


class RunsArgs(Arguments):
    workspace: WorkspaceRef
    limit: int = Field(20, ge=1, le=200, description="Most runs to return, newest first (1-200).")


class RunArgs(Arguments):
    workspace: WorkspaceRef
    run_id: RunId


class LogsArgs(RunArgs):
    stage: str | None = Field(
        None, min_length=1, max_length=64, description="Only this stage's logs."
    )


class TriggerStatusArgs(Arguments):
    workspace: WorkspaceRef
    trigger_id: str = Field(
        min_length=1, max_length=64, description="The trigger id (trg_...) trigger returned."
    )


@pipeline.action("list", WorkspaceArgs, read_only=True)
def list_pipeline(call: Call, args: WorkspaceArgs) -> Reply:
    """The pipeline at the registered branch's tip: its stages and what triggers them."""
    found = _registered(call, args.workspace)
    return {"branch": found.branch, **call.pipelines.show(call.actor, args.workspace)}


@pipeline.action("show", ShowArgs, read_only=True)
def show(call: Call, args: ShowArgs) -> Reply:
    """The pipeline as declared at a revision (default the branch tip)."""
    _registered(call, args.workspace)
    return call.pipelines.show(call.actor, args.workspace, args.revision)


@pipeline.action("validate", ValidateArgs, read_only=True)
def validate(_call: Call, args: ValidateArgs) -> Reply:
    """Check a pilothouse.yaml text offline: problems and warnings with line and column."""
    report = config.check_pipeline(args.text)
    return {**report.to_dict(), "lines": report.lines()}


@pipeline.action("trigger", TriggerArgs, read_only=False, destructive=True, open_world=True)
def trigger(call: Call, args: TriggerArgs) -> Reply:
    """Queue a manual run of one stage; follow it with trigger_status, then run."""
    return call.pipelines.trigger(call.actor, args.workspace, args.stage, revision=args.revision)


@pipeline.action("trigger_status", TriggerStatusArgs, read_only=True)
def trigger_status(call: Call, args: TriggerStatusArgs) -> Reply:
    """Whether a trigger was planned yet (pending, done, failed), and the runs it started."""
    found = call.pipelines.trigger_status(call.actor, args.workspace, args.trigger_id)
    # A top-level "error" key marks an error reply on this wire; a failed trigger is not one.
    reason = found.pop("error", None)
    return {**found, "reason": reason}


@pipeline.action("runs", RunsArgs, read_only=True)
def runs(call: Call, args: RunsArgs) -> Reply:
    """Recent runs, newest first, with each stage's status."""
    found = call.pipelines.runs(call.actor, args.workspace, limit=args.limit)
    return {"runs": [r.as_dict() for r in found]}


@pipeline.action("run", RunArgs, read_only=True)
def run(call: Call, args: RunArgs) -> Reply:
    """One run: trigger, revision, status and its stages."""
    return call.pipelines.run(call.actor, args.workspace, args.run_id).as_dict()


@pipeline.action("cancel", RunArgs, read_only=False, destructive=True, idempotent=True)
def cancel(call: Call, args: RunArgs) -> Reply:
    """Cancel a run's pending and running stages."""
    return call.pipelines.cancel(call.actor, args.workspace, args.run_id).as_dict()


class ApproveArgs(Arguments):
    workspace: WorkspaceRef
    run_id: str = Field(min_length=1, max_length=64, description="The run (run_...).")
    stage: str = Field(min_length=1, max_length=64, description="The stage awaiting approval.")


@pipeline.action("approve", ApproveArgs, read_only=False, destructive=True)
def approve(call: Call, args: ApproveArgs) -> Reply:
    """Let a stage declared `approval: required` run (needs an admin of the workspace)."""
    return call.pipelines.approve(call.actor, args.workspace, args.run_id, args.stage).as_dict()


@pipeline.action("logs", LogsArgs, read_only=True)
def logs(call: Call, args: LogsArgs) -> Reply:
    """Each stage's captured stdout/stderr and result, as one text."""
    text = call.pipelines.logs(call.actor, args.workspace, args.run_id, args.stage)
    return {"run_id": args.run_id, "stage": args.stage, "logs": text}


@pipeline.action("agents", WorkspaceArgs, read_only=True)
def agents(call: Call, args: WorkspaceArgs) -> Reply:
    """Per stage: invocations, successes, failures, running, mean seconds, last run."""
    return {"agents": call.pipelines.agents(call.actor, args.workspace)}


# -- helpers ----------------------------------------------------------------------------


def _registered(call: Call, workspace: str) -> store.Repo:
    """The workspace's repository; ``not_found`` saying how to register one if it has none."""
    try:
        return call.pipelines.get_repo(call.actor, workspace)
    except NotFound:
        call.service.get_workspace(call.actor, workspace)  # an unknown workspace says so itself
        raise NotFound(
            f"workspace {workspace} has no repository; register one with the repo tool "
            "(action=add, url=<clone url>)",
            details={"workspace": workspace},
        ) from None


def _mirror(call: Call, workspace: str) -> tuple[store.Repo, Mirror]:
    found = _registered(call, workspace)  # the role check, once
    return found, call.pipelines.repos.mirror(found)


def _commit(commit: CommitInfo) -> dict[str, Any]:
    return {
        "sha": commit.sha,
        "summary": commit.summary,
        "message": commit.message,
        "author_name": commit.author_name,
        "author_email": commit.author_email,
        "time": commit.time.isoformat(),
        "parents": list(commit.parents),
    }

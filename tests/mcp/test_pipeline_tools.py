"""The ``repo`` and ``pipeline`` tools over a real bare repository and the real engine.

The engine's workers are not started: a test queues a trigger through MCP and then
drives the dispatcher and a worker one step at a time until neither has anything
left, so every run is over before the next assertion and nothing waits on a clock.
"""

from __future__ import annotations

import base64
import hashlib
import subprocess
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import anyio.to_thread
import pytest
from mcp.client import Client
from mcp.server.mcpserver import MCPServer

from pilothouse.mcp import build_server, fixed_resolver
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.errors import Forbidden
from pilothouse.workspace.models import Actor, Workspace
from pilothouse.workspace.roles import Interface
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Payload = dict[str, Any]
Call = Callable[..., Awaitable[Payload]]
WS = "gitops-prod"

PIPELINE = """\
pipeline:
  workspace: gitops-prod
  agents:
    validator:
      trigger: manual
      uses: builtin:noop
      writes: /status/validated.json
"""
MANIFEST = "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\ndata: {replicas: '1'}\n"


def git(cwd: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-c", "user.name=Dev", "-c", "user.email=dev@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
        timeout=60,
    )
    return done.stdout.strip()


@dataclass
class Origin:
    """A bare remote and a work clone that commits and pushes to its ``main``."""

    bare: Path
    work: Path

    def commit(self, files: dict[str, str | bytes], message: str) -> str:
        for path, content in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            if isinstance(content, bytes):
                target.write_bytes(content)
            else:
                target.write_text(content)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return git(self.work, "rev-parse", "HEAD")


@pytest.fixture
def origin(tmp_path: Path) -> Origin:
    bare, work = tmp_path / "origin.git", tmp_path / "work"
    git(tmp_path, "init", "-q", "--bare", "-b", "main", str(bare))
    git(tmp_path, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", "-b", "main")
    found = Origin(bare, work)
    found.commit({"pilothouse.yaml": PIPELINE, "manifests/app.yaml": MANIFEST}, "seed")
    return found


@pytest.fixture
def pipelines(service: WorkspaceService) -> Iterator[Pipelines]:
    # the test repositories are local paths, which remote callers may register only when allowed
    settings = service.settings.model_copy(
        update={
            "pipeline": service.settings.pipeline.model_copy(
                update={"allow_local_repositories": True}
            )
        }
    )
    engine = Pipelines(service, settings)
    try:
        yield engine
    finally:
        engine.stop()


@pytest.fixture
def server(
    service: WorkspaceService, alice: Actor, workspace: Workspace, pipelines: Pipelines
) -> MCPServer:
    return build_server(service, fixed_resolver(alice), pipelines=pipelines)


@pytest.fixture
async def registered(call: Call, origin: Origin) -> Payload:
    """The origin registered as gitops-prod's repository through ``repo add``."""
    added = await call("repo", "add", workspace=WS, url=str(origin.bare))
    assert "error" not in added, added
    return added


@pytest.fixture
def drain(pipelines: Pipelines) -> Callable[[], Awaitable[int]]:
    """Run dispatcher and worker steps until both are idle; returns how many did work."""

    def steps() -> int:
        for busy in range(100):
            dispatched = pipelines.workers.dispatch_one()
            worked = pipelines.workers.work_one()
            if not dispatched and not worked:
                return busy
        raise AssertionError("the engine still had work after 100 steps")

    async def run() -> int:
        with anyio.fail_after(30):
            return await anyio.to_thread.run_sync(steps)

    return run


# -- repo -------------------------------------------------------------------------------


async def test_add_shows_the_webhook_secret_once_and_never_the_token(
    call: Call, registered: Payload, workspace: Workspace, origin: Origin
) -> None:
    assert registered["branch"] == "main"
    assert registered["url"] == str(origin.bare)
    assert registered["has_token"] is False
    assert registered["webhook_path"] == f"/webhooks/github/{workspace.id}"
    assert len(registered["webhook_secret"]) >= 16
    info = await call("repo", "info", workspace=WS)
    assert info == {k: v for k, v in registered.items() if k != "webhook_secret"}
    assert "token" not in info


async def test_add_keeps_a_given_webhook_secret_and_refuses_a_short_one(
    call: Call, origin: Origin
) -> None:
    secret = "a-secret-of-enough-length"
    added = await call("repo", "add", workspace=WS, url=str(origin.bare), webhook_secret=secret)
    assert added["webhook_secret"] == secret
    short = await call("repo", "add", workspace=WS, url=str(origin.bare), webhook_secret="short")
    assert short["error"]["code"] == "invalid_argument"


async def test_add_of_a_missing_remote_or_branch_stores_nothing(
    call: Call, origin: Origin, tmp_path: Path
) -> None:
    nowhere = await call("repo", "add", workspace=WS, url=str(tmp_path / "nowhere.git"))
    assert nowhere["error"]["code"] == "git_unreachable"
    no_branch = await call("repo", "add", workspace=WS, url=str(origin.bare), branch="release")
    assert no_branch["error"]["code"] == "git_not_found"
    info = await call("repo", "info", workspace=WS)
    assert info["error"]["code"] == "not_found"


async def test_files_lists_the_tree_at_the_branch_tip_or_under_a_prefix(
    call: Call, registered: Payload, origin: Origin
) -> None:
    tip = git(origin.work, "rev-parse", "HEAD")
    listing = await call("repo", "files", workspace=WS)
    assert listing == {
        "revision": tip,
        "prefix": "",
        "files": ["manifests/app.yaml", "pilothouse.yaml"],
        "truncated": False,
    }
    under = await call("repo", "files", workspace=WS, prefix="manifests/")
    assert under["files"] == ["manifests/app.yaml"]


async def test_read_returns_text_at_a_revision_with_its_digest(
    call: Call, registered: Payload, origin: Origin
) -> None:
    first = git(origin.work, "rev-parse", "HEAD")
    second = origin.commit({"manifests/app.yaml": MANIFEST.replace("'1'", "'2'")}, "scale")
    fetched = await call("repo", "fetch", workspace=WS)
    assert fetched["tip"] == second
    assert fetched["moved"] == [{"branch": "main", "old": first, "new": second}]
    assert fetched["branches"] == {"main": second}
    now = await call("repo", "read", workspace=WS, path="manifests/app.yaml")
    assert now["revision"] == second
    assert now["encoding"] == "utf-8"
    assert "replicas: '2'" in now["content"]
    assert now["sha256"] == hashlib.sha256(now["content"].encode()).hexdigest()
    then = await call("repo", "read", workspace=WS, path="manifests/app.yaml", revision=first)
    assert then["content"] == MANIFEST
    short = await call("repo", "read", workspace=WS, path="manifests/app.yaml", revision="main~1")
    assert short["revision"] == first


async def test_binary_files_are_read_as_base64(
    call: Call, registered: Payload, origin: Origin
) -> None:
    data = bytes(range(256))
    origin.commit({"assets/logo.bin": data}, "binary")
    await call("repo", "fetch", workspace=WS)
    read = await call("repo", "read", workspace=WS, path="assets/logo.bin")
    assert "content" not in read
    assert read["encoding"] == "base64"
    assert base64.b64decode(read["content_base64"]) == data
    text = await call("repo", "read", workspace=WS, path="pilothouse.yaml", as_base64=True)
    assert base64.b64decode(text["content_base64"]).decode() == PIPELINE


async def test_diff_and_log_describe_what_changed(
    call: Call, registered: Payload, origin: Origin
) -> None:
    first = git(origin.work, "rev-parse", "HEAD")
    second = origin.commit(
        {"manifests/app.yaml": MANIFEST.replace("'1'", "'2'"), "README.md": "hi\n"}, "scale up"
    )
    await call("repo", "fetch", workspace=WS)
    diff = await call("repo", "diff", workspace=WS, base=first)
    assert (diff["base"], diff["head"], diff["truncated"]) == (first, second, False)
    assert "-data: {replicas: '1'}" in diff["patch"]
    assert "+data: {replicas: '2'}" in diff["patch"]
    assert "README.md" in diff["patch"]
    only = await call("repo", "diff", workspace=WS, base=first, head=second, paths="manifests/")
    assert "manifests/app.yaml" in only["patch"] and "README.md" not in only["patch"]
    log = await call("repo", "log", workspace=WS)
    assert [c["summary"] for c in log["commits"]] == ["scale up", "seed"]
    newest = log["commits"][0]
    assert (newest["sha"], newest["parents"]) == (second, [first])
    assert (newest["author_name"], newest["author_email"]) == ("Dev", "dev@example.com")
    assert [c["sha"] for c in (await call("repo", "log", workspace=WS, limit=1))["commits"]] == [
        second
    ]
    touched = await call("repo", "log", workspace=WS, path="pilothouse.yaml")
    assert [c["sha"] for c in touched["commits"]] == [first]
    too_many = await call("repo", "log", workspace=WS, limit=201)
    assert too_many["error"]["code"] == "invalid_argument"


async def test_a_missing_path_is_git_not_found_and_an_escaping_one_is_refused(
    call: Call, registered: Payload
) -> None:
    missing = await call("repo", "read", workspace=WS, path="manifests/nope.yaml")
    assert missing["error"]["code"] == "git_not_found"
    for bad in ("../x", "manifests/../../etc/passwd", "/etc/passwd", ".git/config"):
        refused = await call("repo", "read", workspace=WS, path=bad)
        assert refused["error"]["code"] == "invalid_argument", bad
    escaping = await call("repo", "files", workspace=WS, prefix="../")
    assert escaping["error"]["code"] == "invalid_argument"
    unknown = await call("repo", "read", workspace=WS, path="pilothouse.yaml", revision="nope")
    assert unknown["error"]["code"] == "git_not_found"


# -- pipeline ---------------------------------------------------------------------------


async def test_without_a_repository_the_pipeline_says_how_to_register_one(call: Call) -> None:
    for action in ("list", "show"):
        reply = await call("pipeline", action, workspace=WS)
        assert reply["error"]["code"] == "not_found"
        assert "repo tool" in reply["error"]["message"]
    elsewhere = await call("pipeline", "list", workspace="staging")
    assert elsewhere["error"]["code"] == "not_found"
    assert "staging" in elsewhere["error"]["message"]


async def test_list_and_show_describe_the_declared_stages(
    call: Call, registered: Payload, origin: Origin
) -> None:
    tip = git(origin.work, "rev-parse", "HEAD")
    listed = await call("pipeline", "list", workspace=WS)
    assert (listed["branch"], listed["revision"], listed["name"]) == ("main", tip, WS)
    validator = listed["agents"]["validator"]
    assert validator["triggers"] == [{"kind": "manual"}]
    assert validator["uses"] == {"kind": "builtin", "name": "noop"}
    assert validator["writes"] == "/status/validated.json"
    shown = await call("pipeline", "show", workspace=WS, revision=tip)
    assert shown == {k: v for k, v in listed.items() if k != "branch"}


async def test_validate_checks_text_offline_with_line_and_column(call: Call) -> None:
    good = await call("pipeline", "validate", text=PIPELINE)
    assert (good["ok"], good["problems"]) == (True, [])
    misspelt = PIPELINE.replace("      trigger: manual", "      trigers: manual")
    bad = await call("pipeline", "validate", text=misspelt)
    assert bad["ok"] is False
    where = {(p["line"], p["column"], p["path"]) for p in bad["problems"]}
    assert (5, 7, "pipeline.agents.validator.trigers") in where
    assert any("did you mean 'trigger'" in p["message"] for p in bad["problems"])
    assert any(line.startswith("pilothouse.yaml:5:7:") for line in bad["lines"])
    broken = await call("pipeline", "validate", text="pipeline: [\n")
    assert broken["ok"] is False
    assert broken["problems"][0]["line"] >= 1


async def test_a_manual_trigger_runs_and_shows_in_runs_logs_and_agents(
    call: Call, registered: Payload, origin: Origin, drain: Callable[[], Awaitable[int]]
) -> None:
    tip = git(origin.work, "rev-parse", "HEAD")
    queued = await call("pipeline", "trigger", workspace=WS, stage="validator")
    assert queued["stage"] == "validator"
    pending = await call(
        "pipeline", "trigger_status", workspace=WS, trigger_id=queued["trigger_id"]
    )
    assert (pending["status"], pending["run_ids"], pending["reason"]) == ("pending", [], None)
    assert await drain() > 0
    planned = await call(
        "pipeline", "trigger_status", workspace=WS, trigger_id=queued["trigger_id"]
    )
    assert planned["status"] == "done"
    (run_id,) = planned["run_ids"]
    runs = await call("pipeline", "runs", workspace=WS, limit=5)
    assert [(r["id"], r["status"]) for r in runs["runs"]] == [(run_id, "succeeded")]
    run = await call("pipeline", "run", workspace=WS, run_id=run_id)
    assert (run["trigger"], run["revision"]) == ("manual", tip)
    assert [(s["stage"], s["status"]) for s in run["stages"]] == [("validator", "succeeded")]
    logs = await call("pipeline", "logs", workspace=WS, run_id=run_id)
    assert logs["logs"].startswith("== validator [succeeded]")
    only = await call("pipeline", "logs", workspace=WS, run_id=run_id, stage="validator")
    assert only["logs"] == logs["logs"]
    absent = await call("pipeline", "logs", workspace=WS, run_id=run_id, stage="deployer")
    assert absent["error"]["code"] == "not_found"
    agents = await call("pipeline", "agents", workspace=WS)
    (row,) = agents["agents"]
    assert (row["stage"], row["invocations"], row["succeeded"], row["failed"]) == (
        "validator",
        1,
        1,
        0,
    )
    status = await call("file", "read", workspace=WS, path="/status/validated.json")
    assert run_id in status["content"]


async def test_a_queued_run_can_be_cancelled_and_then_never_runs(
    call: Call, registered: Payload, pipelines: Pipelines, drain: Callable[[], Awaitable[int]]
) -> None:
    queued = await call("pipeline", "trigger", workspace=WS, stage="validator")
    with anyio.fail_after(30):
        assert await anyio.to_thread.run_sync(pipelines.workers.dispatch_one)
    planned = await call(
        "pipeline", "trigger_status", workspace=WS, trigger_id=queued["trigger_id"]
    )
    (run_id,) = planned["run_ids"]
    cancelled = await call("pipeline", "cancel", workspace=WS, run_id=run_id)
    assert cancelled["status"] == "cancelled"
    assert await drain() == 0
    again = await call("pipeline", "cancel", workspace=WS, run_id=run_id)
    assert again["status"] == "cancelled"
    assert [s["status"] for s in again["stages"]] == ["cancelled"]


async def test_unknown_runs_and_triggers_are_not_found(call: Call, registered: Payload) -> None:
    for action in ("run", "cancel", "logs"):
        reply = await call("pipeline", action, workspace=WS, run_id="run_nope")
        assert reply["error"]["code"] == "not_found", action
    approve = await call("pipeline", "approve", workspace=WS, run_id="run_nope", stage="v")
    assert approve["error"]["code"] == "not_found"
    status = await call("pipeline", "trigger_status", workspace=WS, trigger_id="trg_nope")
    assert status["error"]["code"] == "not_found"
    assert (await call("pipeline", "runs", workspace=WS))["runs"] == []


async def test_a_trigger_of_an_undeclared_stage_fails_when_planned(
    call: Call, registered: Payload, drain: Callable[[], Awaitable[int]]
) -> None:
    queued = await call("pipeline", "trigger", workspace=WS, stage="deployer")
    await drain()
    status = await call("pipeline", "trigger_status", workspace=WS, trigger_id=queued["trigger_id"])
    assert status["status"] == "failed"
    assert "deployer" in status["reason"]
    assert status["run_ids"] == []


async def test_a_read_scoped_key_may_look_but_not_register_or_trigger(
    call: Call,
    registered: Payload,
    service: WorkspaceService,
    validator: Actor,
    pipelines: Pipelines,
    origin: Origin,
    caller: Callable[[Client], Call],
) -> None:
    server = build_server(service, fixed_resolver(validator), pipelines=pipelines)
    async with Client(server) as client:
        as_validator = caller(client)
        files = await as_validator("repo", "files", workspace=WS)
        assert "pilothouse.yaml" in files["files"]
        assert "agents" in await as_validator("pipeline", "show", workspace=WS)
        info = await as_validator("repo", "info", workspace=WS)
        assert "webhook_secret" not in info
        added = await as_validator("repo", "add", workspace=WS, url=str(origin.bare))
        assert added["error"]["code"] == "forbidden"
        queued = await as_validator("pipeline", "trigger", workspace=WS, stage="validator")
        assert queued["error"]["code"] == "forbidden"


async def test_the_tools_declare_which_actions_read_and_which_destroy(
    client: Client, call: Call
) -> None:
    with anyio.fail_after(10):
        listed = {t.name: t for t in (await client.list_tools()).tools}
    for name in ("repo", "pipeline"):
        hints = listed[name].annotations
        assert hints is not None
        assert (hints.read_only_hint, hints.destructive_hint) == (False, True)
        assert hints.open_world_hint is True
    described = await call("pipeline", "describe")
    flags = {a["action"]: (a["read_only"], a["destructive"]) for a in described["actions"]}
    assert flags == {
        "list": (True, False),
        "show": (True, False),
        "validate": (True, False),
        "trigger": (False, True),
        "trigger_status": (True, False),
        "runs": (True, False),
        "run": (True, False),
        "cancel": (False, True),
        "approve": (False, True),
        "logs": (True, False),
        "agents": (True, False),
    }
    repo = await call("repo", "describe")
    assert [a["action"] for a in repo["actions"] if a["read_only"]] == [
        "info",
        "files",
        "read",
        "diff",
        "log",
    ]


async def test_remote_callers_may_not_register_local_paths_by_default(
    service: WorkspaceService, alice: Actor, workspace: Workspace, tmp_path: Path
):
    engine = Pipelines(service, service.settings)
    remote = alice.via(Interface.MCP)
    with pytest.raises(Forbidden):
        engine.add_repo(remote, workspace.name, str(tmp_path))
    with pytest.raises(Forbidden):
        engine.add_repo(remote, workspace.name, f"file://{tmp_path}")


# -- validate ---------------------------------------------------------------------------

BROKEN = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api}
spec:
  replica: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers: [{name: api, image: "nginx:1.27"}]
"""


async def test_validate_checks_raw_text_and_lists_its_rules(call: Call) -> None:
    report = await call("validate", "run", text=BROKEN)
    assert report["status"] == "failed" and report["resources"] == 1
    typo = [f for f in report["findings"] if f["rule_id"] == "schema-unknown-field"]
    assert [(f["line"], f["field"]) for f in typo] == [(5, "$.spec.replica")]
    listed = await call("validate", "rules")
    assert "ref.service-selector" in listed["categories"]
    assert len(listed["rules"]) >= 40
    neither = await call("validate", "run")
    assert neither["error"]["code"] == "invalid_argument"


async def test_validate_runs_on_a_revision_of_the_registered_repository(
    call: Call, registered: Payload, origin: Origin
) -> None:
    clean = await call("validate", "run", workspace=WS)
    assert clean["counts"]["error"] == 0, clean["findings"]
    origin.commit({"manifests/broken.yaml": BROKEN}, "typo")
    await call("repo", "fetch", workspace=WS)
    report = await call("validate", "run", workspace=WS, changed=["manifests/broken.yaml"])
    assert report["status"] == "failed"
    assert {f["file"] for f in report["findings"]} == {"manifests/broken.yaml"}

"""A real GitOps repository, a live server and a running engine, for pipeline tests."""

from __future__ import annotations

import json
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx

from pilothouse.api import background
from pilothouse.api.app import create_app
from pilothouse.core.clock import ManualClock
from pilothouse.core.settings import Settings
from pilothouse.integrations.github import sign
from pilothouse.pipeline.engine import Pipelines
from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService
from tests.api.conftest import serve

SECRET = "s3cret-for-tests-0123456789"
WORKSPACE = "gitops-prod"

# The command agent every stage of the test pipeline runs. It records what it saw
# (event, environment, the locks the server reports) to a trace file and behaves
# as configs/mode.json at the revision says: ok, fail, hang or tempfail.
STAGE_SCRIPT = r"""
import json, os, sys, time, urllib.request
stage = sys.argv[1]
event = json.load(sys.stdin)
mode = json.load(open("configs/mode.json")).get(stage, "ok")
seen = {"stage": stage, "event": event, "cwd_has_manifests": os.path.isdir("manifests"),
        "lock_token": os.environ.get("PILOTHOUSE_LOCK_TOKEN"),
        "fencing": os.environ.get("PILOTHOUSE_FENCING_TOKEN"),
        "run_id": os.environ["PILOTHOUSE_RUN_ID"], "mode": mode}
if os.environ.get("PILOTHOUSE_LOCK_TOKEN"):
    request = urllib.request.Request(
        os.environ["PILOTHOUSE_URL"] + "/api/v1/workspaces/" + os.environ["PILOTHOUSE_WORKSPACE"]
        + "/locks", headers={"Authorization": "Bearer " + os.environ["PILOTHOUSE_TOKEN"]})
    seen["locks"] = json.load(urllib.request.urlopen(request, timeout=10))
with open(os.environ["TRACE"], "a") as trace:
    trace.write(json.dumps(seen) + "\n")
print(f"{stage} looked at {len(event['changed_files'])} files", file=sys.stderr)
if mode == "hang":
    time.sleep(120)
if mode == "tempfail":
    sys.exit(75)
status = "failed" if mode == "fail" else "succeeded"
print(json.dumps({"status": status, "summary": f"{stage} {status}",
                  "findings": [{"stage": stage, "files": event["changed_files"]}]}))
"""


def pipeline_yaml(trace: Path, *, tester_timeout: str = "2m", extra: str = "") -> str:
    py = json.dumps(sys.executable)
    env = f"{{TRACE: {json.dumps(str(trace))}}}"
    return (
        f"""\
pipeline:
  workspace: {WORKSPACE}
  agents:
    validator:
      trigger: [github.push, github.pull_request]
      uses: {{command: [{py}, agents/stage.py, validator]}}
      env: {env}
      retries: 1
      writes: /status/validated.json
    tester:
      trigger: file_change:/status/validated.json
      uses: {{command: [{py}, agents/stage.py, tester]}}
      env: {env}
      writes: /status/tested.json
      timeout: {tester_timeout}
      on_timeout: notifier
    deployer:
      trigger: file_change:/status/tested.json
      requires_lock: /status/deploy.lock
      uses: {{command: [{py}, agents/stage.py, deployer]}}
      env: {env}
      writes: /status/deployed.json
    notifier:
      trigger: manual
      uses: builtin:noop
      writes: /status/notified.json
"""
        + extra
    )


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
    bare: Path
    work: Path
    trace: Path

    def commit(self, files: dict[str, str], message: str) -> tuple[str, str]:
        """Commit and push to main; returns (before, after)."""
        has_head = bool(git(self.work, "rev-list", "--all", "-n", "1"))
        before = git(self.work, "rev-parse", "HEAD") if has_head else "0" * 40
        for path, text in files.items():
            target = self.work / path
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(text)
        git(self.work, "add", "-A")
        git(self.work, "commit", "-q", "-m", message)
        git(self.work, "push", "-q", "origin", "HEAD:main")
        return before, git(self.work, "rev-parse", "HEAD")

    def set_modes(self, modes: dict[str, str], message: str = "modes") -> tuple[str, str]:
        return self.commit({"configs/mode.json": json.dumps(modes)}, message)

    def traces(self) -> list[dict[str, Any]]:
        if not self.trace.exists():
            return []
        return [json.loads(line) for line in self.trace.read_text().splitlines() if line]


def make_origin(root: Path, *, tester_timeout: str = "2m", extra: str = "") -> Origin:
    bare = root / "origin.git"
    work = root / "work"
    trace = root / "trace.jsonl"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", "-b", "main")
    origin = Origin(bare, work, trace)
    origin.commit(
        {
            "pilothouse.yaml": pipeline_yaml(trace, tester_timeout=tester_timeout, extra=extra),
            "agents/stage.py": STAGE_SCRIPT,
            "manifests/app.yaml": "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: app}\n",
            "configs/mode.json": "{}",
        },
        "seed",
    )
    return origin


def push_payload(before: str, after: str, files: list[str]) -> dict[str, Any]:
    return {
        "ref": "refs/heads/main",
        "before": before,
        "after": after,
        "created": False,
        "deleted": False,
        "forced": False,
        "repository": {"full_name": "acme/gitops", "clone_url": "https://example.invalid/x.git"},
        "head_commit": {"id": after, "added": [], "modified": files, "removed": []},
        "commits": [{"id": after, "added": [], "modified": files, "removed": []}],
    }


@dataclass
class Stack:
    url: str
    service: WorkspaceService
    pipelines: Pipelines
    admin: Actor
    admin_key: str
    origin: Origin
    clock: ManualClock

    def deliver(
        self, event: str, payload: dict[str, Any], delivery: str, *, secret: str = SECRET
    ) -> httpx.Response:
        body = json.dumps(payload).encode()
        return httpx.post(
            f"{self.url}/webhooks/github/{WORKSPACE}",
            content=body,
            headers={
                "X-GitHub-Event": event,
                "X-GitHub-Delivery": delivery,
                "X-Hub-Signature-256": sign(secret, body),
                "Content-Type": "application/json",
            },
            timeout=10,
        )

    def http(self) -> httpx.Client:
        """A REST client as the admin."""
        return httpx.Client(
            base_url=self.url, headers={"Authorization": f"Bearer {self.admin_key}"}, timeout=10
        )

    def status(self, path: str) -> dict[str, Any]:
        content = self.service.read_file(self.admin, WORKSPACE, path).content
        value: dict[str, Any] = json.loads(content)
        return value

    def runs(self) -> list[Any]:
        return self.pipelines.runs(self.admin, WORKSPACE)

    def wait_for(self, what: Callable[[], Any], timeout: float = 60.0) -> Any:
        """Poll a condition until it holds (bounded); the engine runs in other threads."""
        deadline = time.monotonic() + timeout
        pause = threading.Event()
        while True:
            value = what()
            if value:
                return value
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met within {timeout} s")
            pause.wait(0.05)

    def settled_run(self, timeout: float = 60.0) -> Any:
        def done() -> Any:
            found = self.runs()
            return found[0] if found and found[0].status != "running" else None

        return self.wait_for(done, timeout)


@contextmanager
def stack(
    root: Path,
    *,
    workers: int = 2,
    start: bool = True,
    github_url: str | None = None,
    **origin_kw: Any,
) -> Iterator[Stack]:
    origin = make_origin(root, **origin_kw)
    clock = ManualClock(datetime.now(UTC))
    settings = Settings(
        home=root / "home",
        intelligence={"embedder": "none"},
        pipeline={
            "poll_seconds": 0.2,
            "lease_seconds": 3,  # the keeper renews (and notices cancels) every second
            "retry_base_seconds": 0.01,
            "github_api_url": github_url or "http://127.0.0.1:9",
        },
    )
    service = WorkspaceService(settings, clock=clock)
    _, key = service.initialize("alice")
    admin = service.local_actor()
    service.create_workspace(admin, WORKSPACE)
    pipelines = Pipelines(service, settings, workers=workers)
    pipelines.add_repo(
        admin,
        WORKSPACE,
        str(origin.bare),
        webhook_secret=SECRET,
        token="ghp_fake_token" if github_url else None,
        full_name="acme/gitops" if github_url else None,
    )
    extensions = (background.pipeline_workers,) if start else ()
    try:
        for url in serve(create_app(service, pipelines=pipelines, extensions=extensions)):
            pipelines.runner.server_url = url
            yield Stack(url, service, pipelines, admin, key.key, origin, clock)
    finally:
        pipelines.stop()
        service.close()

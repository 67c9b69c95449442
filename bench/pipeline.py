"""Webhook-to-status-file latency of the pipeline engine, with ``noop`` stages.

    python bench/pipeline.py                  # 100 deliveries
    python bench/pipeline.py --deliveries 300 --workers 4

A real server on loopback, a real bare git repository, signed GitHub ``push``
deliveries one after another. For each: the time from sending the POST to

* the webhook's answer (GitHub wants one within 10 s),
* the first status file (``/status/validated.json`` written as ``running``),
* the end of the three-stage chain (``/status/deployed.json`` ``succeeded``).
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import httpx

# bench/ holds mcp.py, which would shadow the mcp SDK: put the repository root first instead
sys.path[0] = str(Path(__file__).resolve().parents[1])

from tests.api.conftest import serve  # noqa: E402

from pilothouse.api import background  # noqa: E402
from pilothouse.api.app import create_app  # noqa: E402
from pilothouse.core.settings import Settings  # noqa: E402
from pilothouse.integrations.github import sign  # noqa: E402
from pilothouse.pipeline.engine import Pipelines  # noqa: E402
from pilothouse.workspace.service import WorkspaceService  # noqa: E402

SECRET = "bench-secret-0123456789abcdef"
PIPELINE = """\
pipeline:
  workspace: bench
  agents:
    validator:
      trigger: github.push
      uses: builtin:noop
      writes: /status/validated.json
    tester:
      trigger: file_change:/status/validated.json
      uses: builtin:noop
      writes: /status/tested.json
    deployer:
      trigger: file_change:/status/tested.json
      requires_lock: /status/deploy.lock
      uses: builtin:noop
      writes: /status/deployed.json
"""


def git(cwd: Path, *args: str) -> str:
    return subprocess.run(
        ["git", "-c", "user.name=b", "-c", "user.email=b@example.com", *args],
        cwd=cwd,
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()


def origin(root: Path) -> tuple[Path, str]:
    bare, work = root / "origin.git", root / "work"
    git(root, "init", "-q", "--bare", "-b", "main", str(bare))
    git(root, "clone", "-q", str(bare), str(work))
    git(work, "checkout", "-q", "-b", "main")
    (work / "pilothouse.yaml").write_text(PIPELINE)
    (work / "manifests").mkdir()
    (work / "manifests" / "app.yaml").write_text("kind: ConfigMap\n")
    git(work, "add", "-A")
    git(work, "commit", "-q", "-m", "seed")
    git(work, "push", "-q", "origin", "HEAD:main")
    return bare, git(work, "rev-parse", "HEAD")


def pct(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--deliveries", type=int, default=100)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    print(
        f"python {platform.python_version()} · {os.cpu_count()} cpus · "
        f"{args.deliveries} deliveries · {args.workers} workers · SQLite"
    )
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        bare, sha = origin(root)
        settings = Settings(home=root / "home", intelligence={"embedder": "none"})
        service = WorkspaceService(settings)
        service.initialize("bench")
        admin = service.local_actor()
        service.create_workspace(admin, "bench")
        pipelines = Pipelines(service, settings, workers=args.workers)
        pipelines.add_repo(admin, "bench", str(bare), webhook_secret=SECRET)
        seen: dict[str, threading.Event] = {}
        lock = threading.Lock()

        def on_event(event: Any) -> None:
            if event.type != "file.written":
                return
            with lock:
                for key in (event.path, f"{event.path}#{event.data.get('version')}"):
                    seen.setdefault(key, threading.Event()).set()

        subscription = service.bus.subscribe(on_event)
        app = create_app(service, pipelines=pipelines, extensions=(background.pipeline_workers,))
        answer_ms: list[float] = []
        first_ms: list[float] = []
        chain_ms: list[float] = []
        for url in serve(app):
            pipelines.runner.server_url = url
            with httpx.Client(base_url=url, timeout=30) as http:
                for i in range(args.deliveries):
                    body = json.dumps(
                        {
                            "ref": "refs/heads/main",
                            "before": "0" * 40,
                            "after": sha,
                            "created": False,
                            "deleted": False,
                            "forced": False,
                            "repository": {
                                "full_name": "bench/gitops",
                                "clone_url": "https://example.invalid/bench.git",
                            },
                            "commits": [
                                {
                                    "id": sha,
                                    "added": [],
                                    "modified": ["manifests/app.yaml"],
                                    "removed": [],
                                }
                            ],
                        }
                    ).encode()
                    # each run writes each status file twice (running, then final)
                    first_key = f"/status/validated.json#{2 * i + 1}"
                    last_key = f"/status/deployed.json#{2 * i + 2}"
                    with lock:
                        first = seen.setdefault(first_key, threading.Event())
                        last = seen.setdefault(last_key, threading.Event())
                    started = time.perf_counter()
                    response = http.post(
                        "/webhooks/github/bench",
                        content=body,
                        headers={
                            "X-GitHub-Event": "push",
                            "X-GitHub-Delivery": f"bench-{i}",
                            "X-Hub-Signature-256": sign(SECRET, body),
                        },
                    )
                    answer_ms.append((time.perf_counter() - started) * 1000)
                    response.raise_for_status()
                    if not first.wait(60):
                        raise SystemExit(f"delivery {i}: no status file within 60 s")
                    first_ms.append((time.perf_counter() - started) * 1000)
                    if not last.wait(120):
                        raise SystemExit(f"delivery {i}: the chain did not finish within 120 s")
                    chain_ms.append((time.perf_counter() - started) * 1000)
        subscription.close()
        pipelines.stop()
        service.close()
    print(f"\n{'from the POST to':38} {'p50':>9} {'p95':>9} {'max':>9}")
    for name, values in (
        ("the webhook's answer", answer_ms),
        ("the first status file (running)", first_ms),
        ("the end of the 3-stage chain", chain_ms),
    ):
        print(
            f"{name:38} {statistics.median(values):7.1f}ms {pct(values, 0.95):7.1f}ms "
            f"{max(values):7.1f}ms"
        )


if __name__ == "__main__":
    main()

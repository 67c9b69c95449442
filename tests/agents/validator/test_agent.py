"""The validator as a pipeline stage, and its LLM review with pydantic-ai's test models."""

from __future__ import annotations

import json
import logging
import threading
import time
from pathlib import Path

from pydantic_ai.messages import ModelMessage, ModelResponse, ToolCallPart
from pydantic_ai.models.function import AgentInfo, FunctionModel

from pilothouse.agents.validator import loading, review
from pilothouse.agents.validator.validating import Validator
from pilothouse.core.settings import Settings
from pilothouse.pipeline.executing import AgentContext
from tests.fakes.github import serve_fake_github
from tests.pipeline.engine_support import WORKSPACE, git, stack

CHECKER = """\
    checker:
      trigger: github.pull_request
      uses: builtin:validator
      model: test
      writes: /status/checked.json
"""

API = """\
apiVersion: apps/v1
kind: Deployment
metadata: {name: api, labels: {app: api}}
spec:
  replica: 2
  selector: {matchLabels: {app: api}}
  template:
    metadata: {labels: {app: api}}
    spec:
      containers:
        - name: api
          image: nginx:1.27
          resources:
            requests: {cpu: 100m, memory: 1Gi}
            limits: {memory: 2Gi}
"""


def test_a_pull_request_is_validated_with_history_and_reported_to_github(tmp_path: Path):
    with (
        serve_fake_github() as (github_url, fake),
        stack(tmp_path, github_url=github_url, extra=CHECKER) as s,
    ):
        record = {
            "app": "api",
            "namespace": "default",
            "revision": "0" * 40,
            "outcome": "failed",
            "reason": "OOMKilled under load",
            "at": "2026-10-01T10:00:00Z",
            "features": {"image": "nginx:1.26", "memory_limit": "4Gi"},
        }
        s.service.write_file(
            s.admin,
            WORKSPACE,
            "/history/deployments/2026-10-01T10-00-00Z-api.json",
            json.dumps(record).encode(),
        )
        base = git(s.origin.work, "rev-parse", "HEAD")
        git(s.origin.work, "checkout", "-q", "-b", "api")
        (s.origin.work / "manifests" / "api.yaml").write_text(API)
        git(s.origin.work, "add", "-A")
        git(s.origin.work, "commit", "-q", "-m", "api")
        git(s.origin.work, "push", "-q", "origin", "api")
        head = git(s.origin.work, "rev-parse", "HEAD")
        number = fake.seed_pull(head="api")
        payload = {
            "action": "opened",
            "number": number,
            "pull_request": {
                "head": {"sha": head, "ref": "api"},
                "base": {"sha": base, "ref": "main"},
                "merged": False,
            },
            "repository": {"full_name": "acme/gitops"},
        }
        s.deliver("pull_request", payload, "v-1")
        s.wait_for(
            lambda: any(
                j.stage == "checker" and j.status not in {"running", "queued"}
                for r in s.runs()
                for j in r.jobs
            )
        )
        status = s.status("/status/checked.json")
        assert status["status"] == "failed"
        assert status["counts"]["error"] >= 2
        rules = {f["rule_id"] for f in status["findings"]}
        assert {"schema-unknown-field", "history-same-app-failed"} <= rules
        assert {f["file"] for f in status["findings"]} == {"manifests/api.yaml"}
        assert status["review"]["decision"] in {"approve", "flag", "block"}
        contexts = {(st["context"], st["state"]) for st in fake.statuses[head]}
        assert ("pilothouse/validate", "failure") in contexts
        comment = next(
            c["body"] for c in fake.comments[number] if "pilothouse / validate" in c["body"]
        )
        assert "| 🛑 | `manifests/api.yaml:5` | `schema-unknown-field` |" in comment


def _context(tmp_path: Path, source: loading.Source) -> AgentContext:
    return AgentContext(
        workspace=None,  # type: ignore[arg-type]
        workspace_name="ws",
        pipeline="p",
        stage="validator",
        run_id="run_1",
        revision="abc",
        changed_files=["manifests/db.yaml"],
        trigger={"kind": "manual"},
        settings=Settings(home=tmp_path),
        logger=logging.getLogger("test"),
        env={},
        read_repo_file=source.read,
        checkout=lambda: tmp_path,
        deadline=time.monotonic() + 30,
        cancelled=threading.Event(),
        search=lambda _q, _n, _p: ["/reports/incident-42.md"],
    )


SECRET_DB = """\
apiVersion: v1
kind: Secret
metadata: {name: db}
stringData: {password: hunter2-very-secret}
---
apiVersion: apps/v1
kind: Deployment
metadata: {name: db, labels: {app: db}}
spec:
  replicas: 2
  selector: {matchLabels: {app: db}}
  template:
    metadata: {labels: {app: db}}
    spec:
      containers:
        - name: db
          image: postgres:16.4
          env: [{name: DB_PASSWORD, value: also-secret-value}]
"""


def test_the_llm_review_is_typed_redacted_and_may_use_tools(tmp_path: Path):
    files = {"manifests/db.yaml": SECRET_DB, "agents/validator.md": "Be strict about databases."}
    source = loading.Source(sorted(files), lambda p: files[p].encode())
    report = Validator().validate(source)
    seen: list[str] = []

    def model(messages: list[ModelMessage], info: AgentInfo) -> ModelResponse:
        text = json.dumps(
            [m.model_dump() if hasattr(m, "model_dump") else str(m) for m in messages], default=str
        )
        seen.append(text)
        if len(seen) == 1:
            return ModelResponse(parts=[ToolCallPart("search_workspace", {"query": "db outages"})])
        answer = {
            "decision": "block",
            "reasons": ["plain-text database password"],
            "extra_findings": [
                {
                    "category": "security.secret-in-env",
                    "severity": "error",
                    "file": "manifests/db.yaml",
                    "line": 18,
                    "message": "the password is in the manifest",
                }
            ],
        }
        tool = info.output_tools[0].name
        return ModelResponse(parts=[ToolCallPart(tool, answer)])

    verdict = review.review(_context(tmp_path, source), report, source, model=FunctionModel(model))
    assert verdict.decision == "block" and verdict.error is None
    assert [(f.rule_id, f.line) for f in verdict.extra_findings] == [("llm-review", 18)]
    everything = "".join(seen)
    assert "hunter2-very-secret" not in everything and "also-secret-value" not in everything
    assert "Be strict about databases." in everything
    assert "/reports/incident-42.md" in everything  # the tool's answer went back to the model


def test_a_failing_provider_is_a_flag_not_a_crash(tmp_path: Path):
    files = {"manifests/db.yaml": SECRET_DB}
    source = loading.Source(sorted(files), lambda p: files[p].encode())

    def broken(_messages: list[ModelMessage], _info: AgentInfo) -> ModelResponse:
        raise ConnectionError("provider down")

    verdict = review.review(
        _context(tmp_path, source),
        Validator().validate(source),
        source,
        model=FunctionModel(broken),
    )
    assert verdict.decision == "flag" and "ConnectionError" in verdict.reasons[0]

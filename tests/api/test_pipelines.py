"""Pipelines over REST, on a live server with running workers."""

from __future__ import annotations

from pathlib import Path

import httpx
from tests.pipeline.engine_support import WORKSPACE, stack

P = f"/api/v1/workspaces/{WORKSPACE}"


def test_rest_shows_triggers_follows_and_cancels_runs(tmp_path: Path):
    with stack(tmp_path) as s, s.http() as http:
        repo = http.get(f"{P}/repo").json()
        assert repo["branch"] == "main" and repo["has_token"] is False
        assert "webhook_secret" not in repo and "token" not in repo
        shown = http.get(f"{P}/pipeline").json()
        assert shown["agents"]["deployer"]["lock_tree"] == "/status/"
        queued = http.post(f"{P}/pipeline/triggers", json={"stage": "notifier"})
        assert queued.status_code == 202
        run = s.settled_run()
        listed = http.get(f"{P}/pipeline/runs").json()
        assert [(r["id"], r["status"]) for r in listed] == [(run.id, "succeeded")]
        detail = http.get(f"{P}/pipeline/runs/{run.id}").json()
        assert [st["stage"] for st in detail["stages"]] == ["notifier"]
        logs = http.get(f"{P}/pipeline/runs/{run.id}/logs")
        assert logs.status_code == 200 and "notifier [succeeded]" in logs.text
        agents = http.get(f"{P}/pipeline/agents").json()
        assert [(a["stage"], a["succeeded"]) for a in agents] == [("notifier", 1)]
        status = http.get(f"{P}/pipeline/triggers/{queued.json()['trigger_id']}").json()
        assert status["status"] == "done" and status["run_ids"] == [run.id]
        nothing = http.post(f"{P}/pipeline/runs/{run.id}/approve", json={"stage": "notifier"})
        assert nothing.status_code == 404
        metrics = http.get("/metrics").text
        assert 'pilothouse_agent_invocations_total{stage="notifier",status="succeeded"}' in metrics
        missing = http.get(f"{P}/pipeline/runs/run_nope")
        assert missing.status_code == 404 and missing.json()["error"]["code"] == "not_found"


def test_rest_validates_offline_and_refuses_local_repositories(tmp_path: Path):
    with stack(tmp_path) as s, s.http() as http:
        bad = http.post(
            "/api/v1/pipeline/validate",
            json={"text": "pipeline:\n  workspace: w\n  agents:\n    v:\n      trigers: manual\n"},
        ).json()
        assert bad["ok"] is False
        assert (5, 7) in [(p["line"], p["column"]) for p in bad["problems"]]  # the typo
        local = http.put(f"{P}/repo", json={"url": str(s.origin.bare)})
        assert local.status_code == 403 and local.json()["error"]["code"] == "forbidden"
        short = http.put(
            f"{P}/repo", json={"url": "https://example.invalid/x.git", "webhook_secret": "short"}
        )
        assert short.status_code == 422
        anonymous = httpx.get(f"{s.url}{P}/pipeline/runs")
        assert anonymous.status_code == 401


def test_every_code_of_the_new_domains_has_its_own_status():
    from pilothouse.api.errors import STATUS
    from pilothouse.integrations.git import errors as git_errors
    from pilothouse.integrations.github import errors as github_errors
    from pilothouse.integrations.registry import errors as registry_errors
    from pilothouse.pipeline import errors as pipeline_errors

    for module in (git_errors, github_errors, registry_errors, pipeline_errors):
        assert set(module.CODES) <= set(STATUS), module.__name__

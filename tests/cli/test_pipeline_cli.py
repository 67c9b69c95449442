"""``pilothouse repo``, ``pipeline``, ``agents`` against a real bare repository."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from tests.pipeline.engine_support import make_origin

Cli = Any
WS = "gitops-prod"


def test_repo_add_trigger_runs_logs_and_agents(
    cli: Cli, initialised: dict[str, Any], tmp_path: Path, home: Path
):
    origin = make_origin(tmp_path)
    assert cli("workspace", "create", WS).code == 0
    added = cli("repo", "add", WS, str(origin.bare), "-o", "json")
    assert added.code == 0, added.err
    body = added.json()
    assert len(body["webhook_secret"]) >= 32 and body["branch"] == "main"
    assert "webhook_secret" not in cli("repo", "show", WS, "-o", "json").json()
    shown = cli("pipeline", "show", WS, "-o", "json").json()
    assert list(shown["agents"]) == ["validator", "tester", "deployer", "notifier"]
    assert shown["agents"]["deployer"]["lock_tree"] == "/status/"
    queued = cli("pipeline", "trigger", WS, "notifier", "-o", "json")
    assert queued.code == 0, queued.err
    drained = cli("worker", "--drain")
    assert drained.code == 0 and "drained: 2" in drained.err
    runs = cli("pipeline", "runs", WS, "-o", "json").json()
    assert [(r["trigger"], r["status"]) for r in runs] == [("manual", "succeeded")]
    detail = cli("pipeline", "run", WS, runs[0]["id"], "-o", "json").json()
    assert [s["stage"] for s in detail["stages"]] == ["notifier"]
    table = cli("agents", WS, "-o", "json").json()
    assert [(r["stage"], r["succeeded"]) for r in table] == [("notifier", 1)]
    log = cli("repo", "log", WS, "-o", "json").json()
    assert log[0]["summary"] == "seed"
    missing = cli("pipeline", "run", WS, "run_nope")
    assert missing.code == 1 and missing.err.startswith("error: not_found:")


def test_repo_add_refuses_an_unreachable_remote(cli: Cli, initialised: dict[str, Any]):
    assert cli("workspace", "create", WS).code == 0
    result = cli("repo", "add", WS, "/nonexistent/repo.git")
    assert result.code == 1
    assert result.err.startswith("error: git_")
    assert "Traceback" not in result.err


def test_pipeline_validate_reports_line_and_column(cli: Cli, tmp_path: Path):
    good = tmp_path / "good.yaml"
    good.write_text(
        "pipeline:\n  workspace: w\n  agents:\n    v:\n      trigger: manual\n"
        "      uses: builtin:noop\n"
    )
    ok = cli("pipeline", "validate", str(good))
    assert ok.code == 0 and "ok" in ok.out
    bad = tmp_path / "bad.yaml"
    bad.write_text(
        "pipeline:\n  workspace: w\n  agents:\n    v:\n      trigger: file_chnage:/x.json\n"
    )
    result = cli("pipeline", "validate", str(bad))
    assert result.code == 1
    assert f"{bad}:5:16: pipeline.agents.v.trigger:" in result.out
    as_json = cli("pipeline", "validate", str(bad), "-o", "json")
    assert as_json.json()["problems"][0]["line"] == 5

"""``pilothouse validate PATH``: formats, exit codes, --changed-only."""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any

from tests.pipeline.engine_support import git

Cli = Any
GOOD = """\
apiVersion: v1
kind: ConfigMap
metadata: {name: settings}
data: {LOG_LEVEL: info}
"""
BAD = """\
apiVersion: v1
kind: Service
metadata: {name: api}
spec:
  selector: {app: nothing-here}
  ports: [{port: 80}]
  typo: true
"""


def repo(root: Path, files: dict[str, str]) -> Path:
    for path, text in files.items():
        (root / path).parent.mkdir(parents=True, exist_ok=True)
        (root / path).write_text(text)
    return root


def test_a_clean_tree_exits_0_and_errors_exit_1_with_file_and_line(cli: Cli, tmp_path: Path):
    clean = repo(tmp_path / "clean", {"manifests/settings.yaml": GOOD})
    ok = cli("validate", str(clean), "--no-registry")
    assert ok.code == 0, ok.out
    assert "1 resources in 1 files: 0 errors" in ok.out
    broken = repo(tmp_path / "broken", {"manifests/api.yaml": BAD})
    bad = cli("validate", str(broken), "--no-registry")
    assert bad.code == 1
    assert "manifests/api.yaml:7: error schema.unknown-field" in bad.out
    assert "manifests/api.yaml:5: error ref.service-selector" in bad.out


def test_json_sarif_and_junit_outputs_parse(cli: Cli, tmp_path: Path):
    broken = repo(tmp_path / "broken", {"manifests/api.yaml": BAD})
    data = json.loads(cli("validate", str(broken), "--no-registry", "-o", "json").out)
    assert data["status"] == "failed" and data["counts"]["error"] == 2
    sarif = json.loads(cli("validate", str(broken), "--no-registry", "-o", "sarif").out)
    run = sarif["runs"][0]
    assert sarif["version"] == "2.1.0" and run["tool"]["driver"]["name"] == "pilothouse-validator"
    located = {
        (r["ruleId"], r["locations"][0]["physicalLocation"]["region"]["startLine"])
        for r in run["results"]
        if r["level"] == "error"
    }
    assert located == {("schema-unknown-field", 7), ("ref-service-selector", 5)}
    suites = ET.fromstring(cli("validate", str(broken), "--no-registry", "-o", "junit").out)
    assert suites.get("failures") == "1"
    assert len(suites.findall(".//failure")) == 2


def test_changed_only_reports_just_what_changed_since_a_revision(cli: Cli, tmp_path: Path):
    tree = repo(tmp_path / "tree", {"manifests/api.yaml": BAD})
    git(tree, "init", "-q", "-b", "main")
    git(tree, "add", "-A")
    git(tree, "commit", "-q", "-m", "old problems")
    (tree / "manifests" / "settings.yaml").write_text(GOOD)
    git(tree, "add", "-A")
    result = cli("validate", str(tree), "--no-registry", "--changed-only", "HEAD", "-o", "json")
    assert result.code == 0 and json.loads(result.out)["findings"] == []
    unknown = cli("validate", str(tree), "--no-registry", "--changed-only", "nope")
    assert unknown.code == 2


def test_a_missing_directory_or_version_could_not_run(cli: Cli, tmp_path: Path):
    assert cli("validate", str(tmp_path / "missing")).code == 2
    tree = repo(tmp_path / "t", {"manifests/s.yaml": GOOD})
    assert cli("validate", str(tree), "--kubernetes-version", "1.2").code == 2

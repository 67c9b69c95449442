"""config.* and history.* checks on small corpora."""

from __future__ import annotations

import json

import pytest

from pilothouse.agents.validator.checks.configs import ConfigCheck
from pilothouse.agents.validator.checks.history import HistoryCheck, Record, same_or_tighter
from pilothouse.agents.validator.loading import parse_documents
from pilothouse.agents.validator.model import Corpus
from pilothouse.agents.validator.policies import parse_quantity

RANKER = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ranker
  labels: {app: ranker}
spec:
  replicas: 2
  selector: {matchLabels: {app: ranker}}
  template:
    metadata: {labels: {app: ranker}}
    spec:
      containers:
        - name: ranker
          image: registry.example.com/ml/ranker:2.3.0
          env:
            - {name: MODEL_VERSION, value: "2.3.0"}
          resources:
            requests: {cpu: 500m, memory: 1Gi}
            limits: {cpu: "1", memory: 2Gi}
"""


def corpus(text: str = RANKER, configs: dict[str, object] | None = None) -> Corpus:
    manifests, problems = parse_documents(text, "manifests/ranker.yaml")
    assert problems == []
    return Corpus(manifests=manifests, config_files=dict(configs or {}))


def test_a_config_naming_another_model_version_than_the_env_is_an_error_at_the_env_line():
    found = list(
        ConfigCheck().run(
            corpus(configs={"configs/models.yaml": {"ranker": {"model_version": "2.4.0"}}})
        )
    )
    assert [(f.rule_id, f.severity, f.line) for f in found] == [
        ("config-env-mismatch", "error", 16)
    ]
    assert "2.4.0" in found[0].message and found[0].evidence[0].ref == "configs/models.yaml"


def test_configs_in_other_shapes_are_related_by_name_and_agreeing_values_pass():
    listed = {"configs/apps.json": {"apps": [{"name": "ranker", "version": "v2.3.0"}]}}
    assert list(ConfigCheck().run(corpus(configs=listed))) == []
    other = {"configs/apps.json": {"apps": [{"name": "ranker", "image_tag": "2.2.9"}]}}
    found = list(ConfigCheck().run(corpus(configs=other)))
    assert [(f.rule_id, f.severity) for f in found] == [("config-image-mismatch", "warning")]
    unrelated = {"configs/apps.json": {"search": {"model_version": "9.9"}}}
    assert list(ConfigCheck().run(corpus(configs=unrelated))) == []


def test_a_missing_workspace_artifact_is_an_error_only_when_the_workspace_can_be_asked():
    text = RANKER.replace(
        '{name: MODEL_VERSION, value: "2.3.0"}',
        '{name: MODEL_URL, value: "pilothouse://ml/models/ranker-2.3.0.onnx"}',
    )
    present = {"/models/ranker-2.3.0.onnx"}
    assert list(ConfigCheck(lambda p: p in present).run(corpus(text))) == []
    missing = list(ConfigCheck(lambda p: False).run(corpus(text)))
    assert [(f.rule_id, f.line) for f in missing] == [("config-artifact-missing", 16)]
    assert list(ConfigCheck().run(corpus(text))) == []


def test_artifacts_are_checked_in_custom_resources_too():
    text = (
        "apiVersion: serving.example.com/v1\nkind: InferenceService\nmetadata:\n"
        "  name: ranker-shadow\nspec:\n  model:\n"
        "    uri: pilothouse://ml/models/ranker-2.5.0.onnx\n"
    )
    missing = list(ConfigCheck(lambda p: False).run(corpus(text)))
    assert [(f.rule_id, f.line, f.field) for f in missing] == [
        ("config-artifact-missing", 7, "$.spec.model.uri")
    ]


class Records:
    def __init__(self, records: list[Record], similar: list[str] | None = None) -> None:
        self._records = records
        self._similar = similar or []

    def records(self) -> list[Record]:
        return self._records

    def similar(self, text: str, limit: int) -> list[str]:
        return self._similar[:limit]


def record(app: str, outcome: str, at: str, **features: object) -> Record:
    doc = {"app": app, "outcome": outcome, "at": at, "reason": "OOMKilled", "features": features}
    return Record.parse(f"/history/deployments/{at}-{app}.json", json.dumps(doc).encode())  # type: ignore[return-value]


def test_the_same_app_failing_with_a_tighter_setting_is_an_error_citing_the_record():
    failed = record("ranker", "failed", "2026-10-01T10:00:00Z", memory_limit="3Gi", cpu_limit="2")
    found = list(HistoryCheck(Records([failed])).run(corpus()))
    assert [(f.rule_id, f.severity) for f in found] == [("history-same-app-failed", "error")]
    assert found[0].evidence[0].ref == failed.path
    roomier = record("ranker", "failed", "2026-10-01T10:00:00Z", memory_limit="1Gi")
    assert list(HistoryCheck(Records([roomier])).run(corpus())) == []


def test_a_later_success_with_the_same_setting_clears_the_failure():
    failed = record("ranker", "failed", "2026-10-01T10:00:00Z", memory_limit="2Gi")
    fixed = record("ranker", "succeeded", "2026-10-02T10:00:00Z", memory_limit="2Gi")
    assert list(HistoryCheck(Records([failed, fixed])).run(corpus())) == []


def test_a_similar_failure_of_another_app_is_a_warning():
    other = record(
        "reranker",
        "rolled_back",
        "2026-09-01T00:00:00Z",
        image="registry.example.com/ml/ranker:2.2.0",
        memory_limit="4Gi",
    )
    found = list(HistoryCheck(Records([other])).run(corpus()))
    assert [(f.rule_id, f.severity) for f in found] == [("history-similar-failed", "warning")]
    by_meaning = list(HistoryCheck(Records([other], [other.path])).run(corpus()))
    assert len(by_meaning) == 1


def test_malformed_history_documents_are_ignored():
    assert Record.parse("/history/deployments/x.json", b"not json") is None
    assert Record.parse("/history/deployments/x.json", b'{"app": "a"}') is None


@pytest.mark.parametrize(
    ("text", "value"),
    [("500m", 0.5), ("2", 2.0), ("512Mi", 512 * 2**20), ("1e3", 1000.0), ("1.5Gi", 1.5 * 2**30)],
)
def test_quantities_parse_like_kubernetes(text: str, value: float):
    assert parse_quantity(text) == value


def test_bad_quantities_are_refused_and_comparisons_need_a_common_resource():
    with pytest.raises(ValueError):
        parse_quantity("lots")
    assert same_or_tighter({"memory_limit": "1Gi"}, {"memory_limit": "2Gi"})
    assert not same_or_tighter({"memory_limit": "3Gi"}, {"memory_limit": "2Gi"})
    assert not same_or_tighter({"cpu_limit": "1"}, {"memory_limit": "2Gi"})

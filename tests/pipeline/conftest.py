"""The issue's seed pipeline, and a shortcut from YAML text to located problems."""

from __future__ import annotations

import textwrap
from collections.abc import Callable

import pytest

from pilothouse.pipeline import config
from pilothouse.pipeline.errors import Problem

SEED = """\
pipeline:
  workspace: gitops-pipeline-prod
  agents:
    validator:
      trigger: github.pull_request
      writes: /status/validated.json
    tester:
      trigger: file_change:/status/validated.json
      writes: /status/tested.json
    deployer:
      trigger: file_change:/status/tested.json
      requires_lock: /status/deploy.lock
      writes: /status/deployed.json
    monitor:
      trigger: schedule:5m
      reads: /status/deployed.json
"""


@pytest.fixture
def seed() -> str:
    return SEED


@pytest.fixture
def problems_in() -> Callable[[str], list[Problem]]:
    """Problems of a dedented YAML text; fails the test if the text is valid."""

    def check(text: str) -> list[Problem]:
        report = config.check_pipeline(textwrap.dedent(text))
        assert report.problems, "expected the pipeline to be refused"
        assert report.pipeline is None
        return list(report.problems)

    return check

"""One validation: load the revision, run every check, apply the policies, sort.

The checks see the *whole* revision (a reference is only broken or not in the
context of everything else), but with ``changed`` only findings about changed files
are kept — plus reference findings elsewhere that cite a changed file (deleting a
ConfigMap breaks the Deployment that mounts it, in a file nobody touched).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from pilothouse.agents.validator import loading, policies
from pilothouse.agents.validator.checks.configs import ConfigCheck
from pilothouse.agents.validator.checks.history import HistoryCheck, HistorySource
from pilothouse.agents.validator.checks.images import RegistryCheck
from pilothouse.agents.validator.checks.references import ReferenceCheck
from pilothouse.agents.validator.checks.schema import SchemaCheck
from pilothouse.agents.validator.checks.workload import WorkloadCheck
from pilothouse.agents.validator.formats import ORDER, counts
from pilothouse.agents.validator.model import Check, Finding, RuleInfo
from pilothouse.core import collector
from pilothouse.integrations.registry import RegistryClient

POLICIES_FILE = policies.DEFAULT_FILE
LLM_REVIEW = RuleInfo("llm-review", "config.mismatch", "warning", "a finding of the LLM review")


@dataclass
class Report:
    findings: list[Finding]
    resources: int
    files: list[str]
    skipped: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def counts(self) -> dict[str, int]:
        return counts(self.findings)

    @property
    def status(self) -> str:
        return "failed" if self.counts["error"] else "succeeded"

    def summary(self) -> str:
        n = self.counts
        return (
            f"{self.resources} resources in {len(self.files)} files: {n['error']} errors, "
            f"{n['warning']} warnings, {n['info']} info"
        )

    def to_dict(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "summary": self.summary(),
            "resources": self.resources,
            "files": len(self.files),
            "skipped": self.skipped,
            "counts": self.counts,
            "seconds": round(self.seconds, 3),
            "findings": [f.to_dict() for f in self.findings],
        }


class Validator:
    """Holds what is worth keeping between runs: compiled schemas, a registry cache."""

    def __init__(
        self,
        *,
        kubernetes_version: str | None = None,
        registry: RegistryClient | None = None,
    ) -> None:
        self.schema = SchemaCheck(kubernetes_version)
        self.registry = registry

    @staticmethod
    def rules() -> list[RuleInfo]:
        """Every rule the validator can report, for ``rules`` listings and SARIF."""
        found = [*loading.RULES, LLM_REVIEW]
        for check in (SchemaCheck, ReferenceCheck, WorkloadCheck, ConfigCheck, HistoryCheck):
            found.extend(check.rules)
        found.extend(RegistryCheck.rules)
        return sorted({r.rule_id: r for r in found}.values(), key=lambda r: (r.category, r.rule_id))

    def _checks(
        self,
        policy: policies.Policies,
        history: HistorySource | None,
        artifact_exists: Callable[[str], bool] | None,
        changed: set[str] | None,
    ) -> list[Check]:
        checks: list[Check] = [
            self.schema,
            ReferenceCheck(),
            WorkloadCheck(policy),
            ConfigCheck(artifact_exists),
        ]
        if history is not None:  # it searches the workspace per workload: only changed ones
            checks.append(
                HistoryCheck(
                    history, changed=None if changed is None else lambda m: m.file in changed
                )
            )
        if self.registry is not None:
            checks.append(RegistryCheck(self.registry))
        return checks

    def validate(
        self,
        source: loading.Source,
        *,
        changed: Iterable[str] | None = None,
        history: HistorySource | None = None,
        artifact_exists: Callable[[str], bool] | None = None,
    ) -> Report:
        """Validate a revision; ``changed`` (repository paths) limits what is reported.

        The cyclic garbage collector is paused meanwhile (:mod:`pilothouse.core.collector`):
        it would otherwise spend more time walking the loaded manifests than the checks.
        """
        with collector.paused():
            return self._validate(source, changed, history, artifact_exists)

    def _validate(
        self,
        source: loading.Source,
        changed: Iterable[str] | None,
        history: HistorySource | None,
        artifact_exists: Callable[[str], bool] | None,
    ) -> Report:
        started = time.perf_counter()
        wanted = None if changed is None else set(changed)
        policy, problems = self._policies(source)
        loaded = loading.load(source)
        corpus = loaded.corpus
        corpus.externals |= policy.externals_set()
        findings = list(corpus.findings) + problems
        for check in self._checks(policy, history, artifact_exists, wanted):
            findings.extend(check.run(corpus))
        findings = policy.apply(findings)
        if wanted is not None:
            findings = _about(findings, wanted, deleted=bool(wanted - set(source.files)))
        unique = {f.key(): f for f in findings}
        ordered = sorted(
            unique.values(), key=lambda f: (ORDER[f.severity], f.file, f.line or 0, f.rule_id)
        )
        files = sorted({m.file for m in corpus.manifests} | {f.file for f in corpus.findings})
        return Report(
            ordered,
            resources=len(corpus.manifests),
            files=files,
            skipped=loaded.skipped,
            seconds=time.perf_counter() - started,
        )

    @staticmethod
    def _policies(source: loading.Source) -> tuple[policies.Policies, list[Finding]]:
        if POLICIES_FILE not in source.files:
            return policies.Policies(), []
        text = loading.read_text(source, POLICIES_FILE, "policies-invalid")
        if isinstance(text, Finding):
            return policies.Policies(), [text]
        data = loading.parse_data(text, POLICIES_FILE, "policies-invalid")
        if isinstance(data, Finding):
            return policies.Policies(), [data]
        kept, invalid = policies.load_valid_sections(data, POLICIES_FILE)
        if invalid is None:
            return kept, []
        return kept, [
            Finding(
                "yaml.syntax",
                "policies-invalid",
                "error",
                f"{POLICIES_FILE}: {problem['path'] or '(top level)'}: {problem['message']}; "
                + (
                    f"the '{problem['loc'][0]}' section is ignored, the rest applies"
                    if problem["loc"]
                    else "defaults apply"
                ),
                POLICIES_FILE,
                loading.line_of(text, problem["loc"]),
                hint="Fix this field; until then the section it belongs to is ignored",
            )
            for problem in invalid.details["problems"]
        ]


def _about(findings: list[Finding], changed: set[str], *, deleted: bool) -> list[Finding]:
    """Findings about changed files, or citing one; a deletion may break any reference."""
    kept = []
    for f in findings:
        cited = {e.ref.split(":", 1)[0] for e in f.evidence if e.kind == "file"}
        if f.file in changed or cited & changed or (deleted and f.category.startswith("ref.")):
            kept.append(f)
    return kept

"""The validator's vocabulary: manifests with their line numbers, findings, rules.

Every check — schema, references, resources, images, security, history, LLM — takes
a :class:`Corpus` (all manifests of one revision, indexed) and yields
:class:`Finding` values. A finding's ``category`` is a stable contract (see
:data:`CATEGORIES`); ``rule_id`` names the exact rule inside it, and severities follow
one principle: **error** for what will fail or is dangerous, **warning** for risk,
**info** for style and for checks that could not run (a registry that did not answer).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import asdict, dataclass, field
from typing import Any, Literal, Protocol

Severity = Literal["error", "warning", "info"]
SEVERITIES: tuple[Severity, ...] = ("error", "warning", "info")

CATEGORIES: tuple[str, ...] = (
    "yaml.syntax",
    "schema.invalid",
    "schema.unknown-field",
    "schema.unknown-kind",
    "api.deprecated",
    "ref.service-selector",
    "ref.selector-mismatch",
    "ref.target-port",
    "ref.probe-port",
    "ref.ingress-backend",
    "ref.ingress-tls-secret",
    "ref.hpa-target",
    "ref.configmap",
    "ref.secret",
    "ref.pvc",
    "ref.serviceaccount",
    "ref.role-binding",
    "ref.pdb-selector",
    "ref.networkpolicy-selector",
    "ref.duplicate-resource",
    "resources.limits-missing",
    "resources.requests-missing",
    "resources.request-exceeds-limit",
    "resources.out-of-bounds",
    "image.unpinned",
    "image.not-found",
    "image.registry-not-allowed",
    "security.privileged",
    "security.privilege-escalation",
    "security.run-as-root",
    "security.host-namespace",
    "security.host-path",
    "security.capabilities",
    "security.secret-in-env",
    "reliability.probe-missing",
    "reliability.single-replica",
    "config.mismatch",
    "config.artifact-missing",
    "history.similar-failure",
)
"""Every finding category; a stable contract, documented in docs/validator.md."""


@dataclass(frozen=True)
class ResourceRef:
    api_version: str
    kind: str
    namespace: str | None
    name: str

    def __str__(self) -> str:
        where = f"{self.namespace}/" if self.namespace else ""
        return f"{self.kind} {where}{self.name}"

    def to_dict(self) -> dict[str, Any]:
        return {
            "apiVersion": self.api_version,
            "kind": self.kind,
            "namespace": self.namespace,
            "name": self.name,
        }


@dataclass(frozen=True)
class Evidence:
    """A citation: another file, a registry answer, a history document, a policy."""

    kind: Literal["file", "registry", "history", "policy", "llm"]
    ref: str  # a path (``manifests/svc.yaml:12``), a URL, a workspace path
    detail: str = ""


@dataclass(frozen=True)
class Finding:
    category: str
    rule_id: str
    severity: Severity
    message: str
    file: str
    line: int | None = None
    resource: ResourceRef | None = None
    field: str | None = None  # JSON path, e.g. $.spec.template.spec.containers[0].image
    hint: str = ""
    evidence: tuple[Evidence, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        data = asdict(self)
        data["resource"] = self.resource.to_dict() if self.resource else None
        data["evidence"] = [asdict(e) for e in self.evidence]
        return data

    def key(self) -> tuple[Any, ...]:
        return (self.file, self.line or 0, self.rule_id, self.field or "", self.message)


@dataclass
class Manifest:
    """One YAML document of one file: a Kubernetes object (or something that is not)."""

    file: str  # repository-relative path
    index: int  # document number in the file, from 0
    line: int  # 1-based line where the document starts
    body: dict[str, Any]
    lines: Mapping[str, int] = field(default_factory=dict)  # JSON path -> 1-based line

    @property
    def kind(self) -> str:
        return str(self.body.get("kind") or "")

    @property
    def api_version(self) -> str:
        return str(self.body.get("apiVersion") or "")

    @property
    def metadata(self) -> dict[str, Any]:
        meta = self.body.get("metadata")
        return meta if isinstance(meta, dict) else {}

    @property
    def name(self) -> str:
        return str(self.metadata.get("name") or "")

    @property
    def namespace(self) -> str | None:
        value = self.metadata.get("namespace")
        return str(value) if value else None

    @property
    def ref(self) -> ResourceRef:
        return ResourceRef(self.api_version, self.kind, self.namespace, self.name)

    def line_of(self, path: str) -> int:
        """The line of ``path`` or of its nearest ancestor that has one."""
        probe = path
        while probe:
            if probe in self.lines:
                return self.lines[probe]
            cut = max(probe.rfind("."), probe.rfind("["))
            probe = probe[:cut] if cut > 1 else ""
        return self.line

    def finding(
        self,
        category: str,
        rule_id: str,
        severity: Severity,
        message: str,
        *,
        path: str | None = None,
        hint: str = "",
        evidence: Iterable[Evidence] = (),
    ) -> Finding:
        """A finding about this object, located at ``path`` (a JSON path) if given."""
        return Finding(
            category=category,
            rule_id=rule_id,
            severity=severity,
            message=message,
            file=self.file,
            line=self.line_of(path) if path else self.line,
            resource=self.ref,
            field=path,
            hint=hint,
            evidence=tuple(evidence),
        )


@dataclass
class Verdict:
    """The LLM review's answer (see :mod:`~pilothouse.agents.validator.review`)."""

    decision: str  # approve | flag | block
    reasons: list[str]
    extra_findings: list[Finding] = field(default_factory=list)
    model: str = ""
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {
            "decision": self.decision,
            "reasons": self.reasons,
            "extra_findings": [f.to_dict() for f in self.extra_findings],
            "model": self.model,
            "error": self.error,
        }


@dataclass(frozen=True)
class RuleInfo:
    rule_id: str
    category: str
    severity: Severity  # the default; policies may change it
    summary: str


class Check(Protocol):
    """A family of rules; ``rules`` documents them, ``run`` applies them."""

    rules: tuple[RuleInfo, ...]

    def run(self, corpus: Corpus) -> Iterator[Finding]: ...


@dataclass
class Corpus:
    """All manifests of one revision, indexed for cross-resource checks."""

    manifests: list[Manifest]
    findings: list[Finding] = field(default_factory=list)  # from loading (yaml.syntax, …)
    externals: set[tuple[str, str | None, str]] = field(default_factory=set)  # kind, ns, name
    default_namespace: str = "default"
    config_files: dict[str, Any] = field(default_factory=dict)  # configs/** parsed, by path

    def objects(self, *kinds: str) -> Iterator[Manifest]:
        for manifest in self.manifests:
            if manifest.kind in kinds:
                yield manifest

    def namespace_of(self, manifest: Manifest) -> str:
        return manifest.namespace or self.default_namespace

    def find(self, kind: str, namespace: str | None, name: str) -> Manifest | None:
        for manifest in self.objects(kind):
            if manifest.name == name and (
                namespace is None or self.namespace_of(manifest) == namespace
            ):
                return manifest
        return None

    def exists(self, kind: str, namespace: str | None, name: str) -> bool:
        """In the repository, or declared in policies as existing outside it."""
        if self.find(kind, namespace, name) is not None:
            return True
        return (kind, namespace, name) in self.externals or (kind, None, name) in self.externals

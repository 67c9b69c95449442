"""Where a manifest keeps its pods: the one place that knows workload shapes.

Many checks — references, resources, security, reliability — look at the pods an
object will run, not at the object. Kubernetes nests the pod spec at three depths
(a Pod is one; Deployment, StatefulSet, DaemonSet, ReplicaSet and Job keep it in
``spec.template``; a CronJob in ``spec.jobTemplate.spec.template``), so this module
answers once "is there a pod template, where is it, what labels does it carry" and
hands back JSON paths that :meth:`Manifest.line_of` understands. It never raises on
malformed input: a template that is not a mapping is simply no template, and
schema checks report the malformation.

Selectors live here too, because "which pods does this select" is asked by Services,
PodDisruptionBudgets, NetworkPolicies and controllers alike. :class:`PodIndex` is
built once per run and answers through an inverted (label, value) index, so a
repository of thousands of Services and workloads is matched in linear time rather
than in Services times pods.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from pilothouse.agents.validator.model import Corpus, Manifest

__all__ = [
    "CONTAINER_LISTS",
    "CONTROLLER_KINDS",
    "TEMPLATE_KINDS",
    "WORKLOAD_KINDS",
    "Pod",
    "PodIndex",
    "PodTemplate",
    "Selector",
    "label_selector",
    "pod_template",
]

TEMPLATE_KINDS: frozenset[str] = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet", "Job", "ReplicationController"}
)
"""Kinds whose pod template sits at ``spec.template``."""

CONTROLLER_KINDS: frozenset[str] = frozenset(
    {"Deployment", "StatefulSet", "DaemonSet", "ReplicaSet"}
)
"""Kinds with a ``spec.selector`` that must match their own template labels."""

WORKLOAD_KINDS: frozenset[str] = TEMPLATE_KINDS | {"CronJob", "Pod"}
"""Every kind :func:`pod_template` understands."""

CONTAINER_LISTS: tuple[str, ...] = ("initContainers", "containers")
"""Pod spec fields holding containers, in start order (ephemeral ones are not run)."""


@dataclass(frozen=True)
class PodTemplate:
    """The pod a workload runs: its spec, where that spec is, and its labels."""

    spec: dict[str, Any]
    path: str  # JSON path of the pod spec, e.g. ``$.spec.template.spec``
    labels: dict[str, str]

    def containers(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Each (container, its JSON path), initContainers first; non-mappings skipped."""
        for key in CONTAINER_LISTS:
            items = self.spec.get(key)
            if not isinstance(items, list):
                continue
            for i, container in enumerate(items):
                if isinstance(container, dict):
                    yield container, f"{self.path}.{key}[{i}]"

    def main_container(self) -> tuple[dict[str, Any], str] | None:
        """The first regular (not init) container and its path."""
        items = self.spec.get("containers")
        for i, container in enumerate(items if isinstance(items, list) else []):
            if isinstance(container, dict):
                return container, f"{self.path}.containers[{i}]"
        return None

    def volumes(self) -> Iterator[tuple[dict[str, Any], str]]:
        """Each (volume, its JSON path); non-mappings skipped."""
        items = self.spec.get("volumes")
        if isinstance(items, list):
            for i, volume in enumerate(items):
                if isinstance(volume, dict):
                    yield volume, f"{self.path}.volumes[{i}]"


def _mapping(value: Any) -> dict[str, Any] | None:
    return value if isinstance(value, dict) else None


def as_dict(value: Any) -> dict[str, Any]:
    """``value`` if it is a mapping, else an empty one: manifests are untrusted input."""
    return value if isinstance(value, dict) else {}


def as_list(value: Any) -> list[Any]:
    """``value`` if it is a list, else an empty one."""
    return value if isinstance(value, list) else []


def app_names(manifest: Manifest) -> set[str]:
    """The names an app goes by: the object's name and its ``app`` labels."""
    names = {manifest.name}
    labels = as_dict(manifest.metadata.get("labels"))
    for key in ("app", "app.kubernetes.io/name"):
        if isinstance(labels.get(key), str):
            names.add(labels[key])
    return {n for n in names if n}


def _labels(metadata: dict[str, Any] | None) -> dict[str, str]:
    raw = _mapping((metadata or {}).get("labels")) or {}
    return {str(k): str(v) for k, v in raw.items() if v is not None}


def pod_template(manifest: Manifest) -> PodTemplate | None:
    """The pod template of a workload, or None for other kinds and malformed bodies."""
    kind = manifest.kind
    body = manifest.body
    if kind == "Pod":
        spec = _mapping(body.get("spec"))
        if spec is None:
            return None
        return PodTemplate(spec, "$.spec", _labels(_mapping(body.get("metadata"))))
    if kind in TEMPLATE_KINDS:
        template = _mapping((_mapping(body.get("spec")) or {}).get("template"))
        prefix = "$.spec.template"
    elif kind == "CronJob":
        job = _mapping((_mapping(body.get("spec")) or {}).get("jobTemplate"))
        job_spec = _mapping((job or {}).get("spec"))
        template = _mapping((job_spec or {}).get("template"))
        prefix = "$.spec.jobTemplate.spec.template"
    else:
        return None
    if template is None:
        return None
    spec = _mapping(template.get("spec"))
    if spec is None:
        return None
    return PodTemplate(spec, f"{prefix}.spec", _labels(_mapping(template.get("metadata"))))


@dataclass(frozen=True)
class Selector:
    """A label selector: ``matchLabels`` plus ``matchExpressions`` (already validated)."""

    match_labels: dict[str, str]
    expressions: tuple[tuple[str, str, frozenset[str]], ...] = ()

    @property
    def empty(self) -> bool:
        """An empty selector selects every pod (PDB, NetworkPolicy) — nothing to verify."""
        return not self.match_labels and not self.expressions

    @property
    def exact(self) -> bool:
        """Only ``matchLabels``: a mismatch is certain, not a matter of interpretation."""
        return not self.expressions

    def matches(self, labels: Mapping[str, str]) -> bool:
        for key, value in self.match_labels.items():
            if labels.get(key) != value:
                return False
        for key, operator, values in self.expressions:
            present = key in labels
            if operator == "In" and not (present and labels[key] in values):
                return False
            if operator == "NotIn" and present and labels[key] in values:
                return False
            if operator == "Exists" and not present:
                return False
            if operator == "DoesNotExist" and present:
                return False
        return True


_OPERATORS = frozenset({"In", "NotIn", "Exists", "DoesNotExist"})


def label_selector(value: Any, *, plain: bool = False) -> Selector | None:
    """A selector from raw YAML, or None when it is absent or malformed (then: skip).

    ``plain`` reads a Service-style map (``{app: web}``) instead of a LabelSelector.
    """
    if not isinstance(value, dict):
        return None
    if plain:
        return Selector({str(k): str(v) for k, v in value.items() if v is not None})
    labels = value.get("matchLabels") or {}
    raw = value.get("matchExpressions") or []
    if not isinstance(labels, dict) or not isinstance(raw, list):
        return None
    expressions: list[tuple[str, str, frozenset[str]]] = []
    for item in raw:
        operator = item.get("operator") if isinstance(item, dict) else None
        if not isinstance(operator, str) or operator not in _OPERATORS:
            return None
        values = item.get("values") or []
        if not isinstance(values, list):
            return None
        expressions.append(
            (str(item.get("key")), str(item["operator"]), frozenset(str(v) for v in values))
        )
    return Selector(
        {str(k): str(v) for k, v in labels.items() if v is not None}, tuple(expressions)
    )


@dataclass(frozen=True)
class Pod:
    """A pod template and the object that runs it."""

    manifest: Manifest
    template: PodTemplate
    namespace: str


@dataclass
class PodIndex:
    """Every pod template of a corpus, by namespace and by (label, value)."""

    pods: list[Pod] = field(default_factory=list)
    _by_namespace: dict[str, list[int]] = field(default_factory=dict)
    _by_label: dict[tuple[str, str, str], list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, corpus: Corpus) -> PodIndex:
        index = cls()
        for manifest in corpus.manifests:
            template = pod_template(manifest)
            if template is not None:
                index.add(Pod(manifest, template, corpus.namespace_of(manifest)))
        return index

    def add(self, pod: Pod) -> None:
        i = len(self.pods)
        self.pods.append(pod)
        self._by_namespace.setdefault(pod.namespace, []).append(i)
        for key, value in pod.template.labels.items():
            self._by_label.setdefault((pod.namespace, key, value), []).append(i)

    def in_namespace(self, namespace: str) -> list[Pod]:
        return [self.pods[i] for i in self._by_namespace.get(namespace, [])]

    def select(self, namespace: str, selector: Selector) -> list[Pod]:
        """Pods of ``namespace`` that ``selector`` selects (all of them when it is empty)."""
        if selector.match_labels:
            postings = []
            for key, value in selector.match_labels.items():
                posting = self._by_label.get((namespace, key, value))
                if not posting:
                    return []
                postings.append(posting)
            candidates = min(postings, key=len)
        else:
            candidates = self._by_namespace.get(namespace, [])
        return [self.pods[i] for i in candidates if selector.matches(self.pods[i].template.labels)]

"""``history.similar-failure``: has a configuration like this one failed before?

Deployment outcomes live in the workspace as ``/history/deployments/<time>-<app>.json``
(``{app, namespace, revision, outcome, reason, at, features: {image, cpu_request,
cpu_limit, memory_request, memory_limit, replicas, env_keys}, report}``). For each
workload, two questions:

* **The same app, the same or a tighter setting** — a failed or rolled-back record of
  this app whose image is the one being deployed, or whose resources were at least
  as generous as the new ones (every limit and request the new manifest sets is ≤
  the failed one's): this will very likely fail again → **error**, citing the record.
* **Something like it, elsewhere** — records found by meaning (the workspace's
  ``search similar`` over the history documents, with the workload described in
  words) or by the same image repository, that failed with a tighter-or-equal
  setting → **warning**, citing them.

A record that succeeded later with the same setting clears the earlier failure:
only the newest outcome per (app, setting) counts.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Any, Protocol

from pilothouse.agents.validator.model import Corpus, Evidence, Finding, Manifest, RuleInfo
from pilothouse.agents.validator.policies import parse_quantity
from pilothouse.agents.validator.workloads import app_names, as_dict, as_list, pod_template

FAILED = frozenset({"failed", "rolled_back"})
WORKLOADS = ("Deployment", "StatefulSet", "DaemonSet")
RESOURCES = ("cpu_request", "cpu_limit", "memory_request", "memory_limit")
HISTORY_DIR = "/history/deployments/"

RULES = (
    RuleInfo(
        "history-same-app-failed",
        "history.similar-failure",
        "error",
        "this app failed before with the same image or the same or a tighter setting",
    ),
    RuleInfo(
        "history-similar-failed",
        "history.similar-failure",
        "warning",
        "a similar configuration failed before (by meaning or image)",
    ),
)


@dataclass(frozen=True)
class Record:
    path: str
    app: str
    namespace: str | None
    outcome: str
    reason: str
    at: str
    features: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def parse(cls, path: str, data: bytes) -> Record | None:
        try:
            doc = json.loads(data)
        except ValueError:
            return None
        if not isinstance(doc, dict) or not doc.get("app") or not doc.get("outcome"):
            return None
        features = doc.get("features") if isinstance(doc.get("features"), dict) else {}
        return cls(
            path,
            str(doc["app"]),
            str(doc["namespace"]) if doc.get("namespace") else None,
            str(doc["outcome"]),
            str(doc.get("reason") or ""),
            str(doc.get("at") or ""),
            dict(features or {}),
        )


class HistorySource(Protocol):
    """Where records come from: the workspace (the agent) or a directory (the CLI)."""

    def records(self) -> list[Record]: ...

    def similar(self, text: str, limit: int) -> list[str]:
        """Paths of history documents closest in meaning to ``text``."""
        ...


def features_of(m: Manifest) -> tuple[dict[str, Any], str] | None:
    """The record-shaped features of a workload's main container, and that container's path."""
    template = pod_template(m)
    found = template.main_container() if template else None
    if found is None:
        return None
    main, path = found
    resources = as_dict(main.get("resources"))
    requests, limits = as_dict(resources.get("requests")), as_dict(resources.get("limits"))
    replicas = as_dict(m.body.get("spec")).get("replicas", 1)
    env = [e for e in as_list(main.get("env")) if isinstance(e, dict)]
    return {
        "image": main.get("image"),
        "cpu_request": requests.get("cpu"),
        "cpu_limit": limits.get("cpu"),
        "memory_request": requests.get("memory"),
        "memory_limit": limits.get("memory"),
        "replicas": replicas,
        "env_keys": sorted(str(e.get("name")) for e in env),
    }, path


def describe(m: Manifest, features: dict[str, Any]) -> str:
    """The workload in words, for the semantic search over past reports."""
    parts = [f"{m.kind} {m.name}", f"image {features.get('image')}"]
    for key in RESOURCES:
        if features.get(key):
            parts.append(f"{key.replace('_', ' ')} {features[key]}")
    parts.append(f"replicas {features.get('replicas')}")
    return ", ".join(parts)


def _number(value: Any) -> Fraction | None:
    if value is None:
        return None
    try:
        return parse_quantity(str(value))
    except ValueError:
        return None


def same_or_tighter(new: dict[str, Any], old: dict[str, Any]) -> bool:
    """Every resource the new manifest sets is ≤ the old one (and at least one compares)."""
    compared = 0
    for key in RESOURCES:
        a, b = _number(new.get(key)), _number(old.get(key))
        if a is None or b is None:
            continue
        compared += 1
        if a > b:
            return False
    return compared > 0


def _repository(image: Any) -> str:
    text = str(image or "").split("@", 1)[0]
    last = text.rsplit("/", 1)
    return text.rsplit(":", 1)[0] if ":" in last[-1] else text


class HistoryCheck:
    rules: tuple[RuleInfo, ...] = RULES

    def __init__(self, source: HistorySource, *, changed: Callable[[Manifest], bool] | None = None):
        self.source = source
        self.changed = changed or (lambda _m: True)

    def run(self, corpus: Corpus) -> Iterator[Finding]:
        records = self.source.records()
        if not records:
            return
        latest = _latest_per_setting(records)
        by_path = {r.path: r for r in latest}
        failed_by_app: dict[str, list[Record]] = {}
        for record in latest:
            if record.outcome in FAILED:
                failed_by_app.setdefault(record.app, []).append(record)
        for m in corpus.objects(*WORKLOADS):
            found = features_of(m) if self.changed(m) else None
            if found is None:
                continue
            features, container = found
            names = app_names(m)
            same = [r for name in names for r in failed_by_app.get(name, ())]
            hit = next((r for r in same if self._repeats(features, r)), None)
            if hit is not None:
                when = hit.at[:10] or "a past deploy"
                yield m.finding(
                    "history.similar-failure",
                    "history-same-app-failed",
                    "error",
                    f"{hit.app} {hit.outcome.replace('_', ' ')} on {when} "
                    f"with {self._why(features, hit)}: {hit.reason or 'no reason recorded'}",
                    path=container,
                    hint="Raise the limits (or change what failed) before deploying again",
                    evidence=[Evidence("history", hit.path, hit.reason)],
                )
                continue
            similar = self._similar(m, features, by_path, exclude=names)
            if similar:
                yield m.finding(
                    "history.similar-failure",
                    "history-similar-failed",
                    "warning",
                    f"{len(similar)} similar configuration(s) failed before, e.g. "
                    f"{similar[0].app}: {similar[0].reason or similar[0].outcome}",
                    hint="Compare with the cited incidents before deploying",
                    evidence=[Evidence("history", r.path, r.reason) for r in similar[:3]],
                )

    @staticmethod
    def _repeats(features: dict[str, Any], record: Record) -> bool:
        old = record.features
        if features.get("image") and features.get("image") == old.get("image"):
            return True
        return same_or_tighter(features, old)

    @staticmethod
    def _why(features: dict[str, Any], record: Record) -> str:
        if features.get("image") == record.features.get("image"):
            return f"the same image {features.get('image')}"
        shown = [
            f"{k.replace('_', ' ')} {record.features[k]}"
            for k in RESOURCES
            if record.features.get(k) is not None and features.get(k) is not None
        ]
        return "the same or a tighter setting (" + ", ".join(shown) + ")"

    def _similar(
        self,
        m: Manifest,
        features: dict[str, Any],
        by_path: dict[str, Record],
        *,
        exclude: set[str],
    ) -> list[Record]:
        found: list[Record] = []
        candidates = [
            by_path[p] for p in self.source.similar(describe(m, features), 5) if p in by_path
        ]
        repo = _repository(features.get("image"))
        candidates += [
            r for r in by_path.values() if repo and _repository(r.features.get("image")) == repo
        ]
        for record in candidates:
            if record.app in exclude or record.outcome not in FAILED or record in found:
                continue
            if same_or_tighter(features, record.features):
                found.append(record)
        return found


def _latest_per_setting(records: Sequence[Record]) -> list[Record]:
    """The newest outcome per (app, image, resources): a later success clears a failure."""
    newest: dict[tuple[Any, ...], Record] = {}
    for record in sorted(records, key=lambda r: (r.at, r.path)):
        key = (
            record.app,
            str(record.features.get("image")),
            *(str(record.features.get(k)) for k in RESOURCES),
        )
        newest[key] = record
    return list(newest.values())

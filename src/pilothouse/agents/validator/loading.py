"""Reading a revision's manifests: every document, every field's line.

Findings point at lines, so documents are *composed* (PyYAML's node tree, which
keeps marks) and each JSON path (``$.spec.replicas``) is mapped to the line of its
key. A file that does not parse is one ``yaml.syntax`` error with the parser's line;
the other documents of the repository are still checked.

What is read: ``manifests/**/*.y{a,}ml`` (a ``kustomization.yaml`` there lists its
``resources:``, which are followed, also outside ``manifests/``), ``configs/**``
(YAML or JSON, kept for the config checks), and ``configs/policies.yaml``. A
directory holding a ``Chart.yaml`` is a Helm chart: out of scope, reported once as
skipped (info).
"""

from __future__ import annotations

import json
import posixpath
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pilothouse.agents.validator.model import Corpus, Finding, Manifest

MANIFEST_SUFFIXES = (".yaml", ".yml")
MAX_FILE_BYTES = 4 * 1024 * 1024
_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when present: ~10x faster


@dataclass
class Source:
    """A repository at one revision, as the validator reads it."""

    files: list[str]  # every path, repository-relative
    read: Callable[[str], bytes]


@dataclass
class Loaded:
    corpus: Corpus
    skipped: list[str] = field(default_factory=list)


def _paths(node: Node, path: str, out: dict[str, int]) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                child = f"{path}.{key.value}"
                out[child] = key.start_mark.line + 1
                _paths(value, child, out)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _paths(item, f"{path}[{i}]", out)


def parse_documents(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """Every non-empty document of ``text``; a syntax error is one finding."""
    manifests: list[Manifest] = []
    try:
        nodes = list(yaml.compose_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        return [], [
            Finding(
                category="yaml.syntax",
                rule_id="yaml-syntax",
                severity="error",
                message=f"YAML does not parse: {problem}",
                file=file,
                line=mark.line + 1 if mark else 1,
                hint="Fix the indentation or quoting at this line; nothing in the file is checked",
            )
        ]
    index = 0
    constructor = _Loader("")
    for node in nodes:
        if node is None:
            continue
        try:
            body = constructor.construct_document(node)
        except yaml.YAMLError as e:
            return manifests, [
                Finding(
                    "yaml.syntax",
                    "yaml-syntax",
                    "error",
                    f"YAML does not load: {e}",
                    file,
                    node.start_mark.line + 1,
                )
            ]
        if body is None:
            continue
        lines: dict[str, int] = {}
        _paths(node, "$", lines)
        if isinstance(body, dict):
            manifests.append(Manifest(file, index, node.start_mark.line + 1, body, lines))
        index += 1
    return manifests, []


def _kustomized(source: Source, start: str, seen: set[str]) -> Iterable[str]:
    """Files a kustomization lists (recursively), repository-relative."""
    if start in seen:
        return []
    seen.add(start)
    try:
        data = yaml.safe_load(source.read(start)) or {}
    except yaml.YAMLError:
        return []
    base = posixpath.dirname(start)
    found: list[str] = []
    entries = data.get("resources", []) if isinstance(data, dict) else []
    for entry in entries if isinstance(entries, list) else []:
        target = posixpath.normpath(posixpath.join(base, str(entry)))
        if target.startswith(".."):
            continue
        nested = f"{target}/kustomization.yaml"
        if nested in source.files:
            found.extend(_kustomized(source, nested, seen))
        elif target in source.files:
            found.append(target)
    return found


def load(source: Source, *, only: set[str] | None = None) -> Loaded:
    """The corpus of a revision; ``only`` limits which files' findings matter (all load)."""
    files = set(source.files)
    charts = sorted({posixpath.dirname(p) for p in files if posixpath.basename(p) == "Chart.yaml"})

    def in_chart(path: str) -> bool:
        return any(path.startswith(chart + "/") for chart in charts)

    wanted: list[str] = []
    kustomizations = [p for p in files if posixpath.basename(p) == "kustomization.yaml"]
    for path in sorted(files):
        if path.startswith("manifests/") and path.endswith(MANIFEST_SUFFIXES):
            if in_chart(path) or posixpath.basename(path) == "kustomization.yaml":
                continue
            wanted.append(path)
    seen: set[str] = set()
    for k in sorted(kustomizations):
        if k.startswith("manifests/"):
            wanted.extend(p for p in _kustomized(source, k, seen) if not in_chart(p))
    corpus = Corpus(manifests=[])
    for path in dict.fromkeys(wanted):
        data = source.read(path)
        if len(data) > MAX_FILE_BYTES:
            corpus.findings.append(
                Finding("yaml.syntax", "file-too-large", "error", "file over 4 MiB", path, 1)
            )
            continue
        manifests, problems = parse_documents(data.decode("utf-8", "replace"), path)
        corpus.manifests.extend(manifests)
        corpus.findings.extend(problems)
    for path in sorted(files):
        if path.startswith("configs/") and path.endswith((".yaml", ".yml", ".json")):
            try:
                text = source.read(path).decode("utf-8", "replace")
                corpus.config_files[path] = (
                    json.loads(text) if path.endswith(".json") else yaml.safe_load(text)
                )
            except (ValueError, yaml.YAMLError):
                corpus.findings.append(
                    Finding(
                        "yaml.syntax",
                        "config-syntax",
                        "error",
                        "configuration file does not parse",
                        path,
                        1,
                    )
                )
    for chart in charts:
        corpus.findings.append(
            Finding(
                "schema.unknown-kind",
                "helm-chart-skipped",
                "info",
                "Helm chart not validated (out of scope): render it and commit the output",
                f"{chart}/Chart.yaml",
                1,
            )
        )
    if only is not None:
        corpus.findings = [f for f in corpus.findings if f.file in only]
    return Loaded(corpus, skipped=[f"{c}/" for c in charts])


def from_directory(root: str) -> Source:
    """A working tree (the standalone CLI) as a :class:`Source`."""
    import os

    files = []
    for folder, dirs, names in os.walk(root):
        dirs[:] = [d for d in dirs if d != ".git"]
        for name in names:
            full = os.path.join(folder, name)
            files.append(os.path.relpath(full, root).replace(os.sep, "/"))

    def read(path: str) -> bytes:
        with open(os.path.join(root, path), "rb") as handle:
            return handle.read()

    return Source(sorted(files), read)


def manifest_from(body: dict[str, Any], file: str = "inline.yaml") -> Manifest:
    """A manifest without line information (for tests and raw-text callers)."""
    return Manifest(file, 0, 1, body, {})

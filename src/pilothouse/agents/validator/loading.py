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

import datetime
import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pilothouse.agents.validator.model import Corpus, Finding, Manifest, RuleInfo

RULES = (
    RuleInfo("yaml-syntax", "yaml.syntax", "error", "a manifest file does not parse as YAML"),
    RuleInfo("file-too-large", "yaml.syntax", "error", "a manifest file is over 4 MiB"),
    RuleInfo("config-syntax", "yaml.syntax", "error", "a configs/ file does not parse"),
    RuleInfo("policies-invalid", "yaml.syntax", "error", "configs/policies.yaml is invalid"),
    RuleInfo("helm-chart-skipped", "schema.unknown-kind", "info", "Helm charts are not validated"),
)
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


class _FileNodes:
    """A file's node trees, composed only when a finding first needs a line number."""

    __slots__ = ("_nodes", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self._nodes: list[Node | None] | None = None

    def node(self, position: int) -> Node | None:
        if self._nodes is None:
            self._nodes = list(yaml.compose_all(self.text, Loader=_Loader))
        return self._nodes[position] if position < len(self._nodes) else None


class LineMap(Mapping[str, int]):
    """JSON path -> line of one document, built on first use (most documents never need it)."""

    __slots__ = ("_file", "_map", "_position")

    def __init__(self, file: _FileNodes, position: int) -> None:
        self._file: _FileNodes | None = file
        self._position = position
        self._map: dict[str, int] = {}

    def _built(self) -> dict[str, int]:
        if self._file is not None:
            node = self._file.node(self._position)
            if node is not None:
                _paths(node, "$", self._map)
            self._file = None
        return self._map

    def __getitem__(self, key: str) -> int:
        return self._built()[key]

    def __contains__(self, key: object) -> bool:
        return key in self._built()

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


_SEPARATOR = re.compile(r"^---(?:[ \t]|$)", re.MULTILINE)


def _starts(text: str) -> list[int]:
    """The first content line (1-based) of each document, from its ``---`` separator."""
    lines = text.split("\n")

    def content(line: str) -> bool:
        stripped = line.strip()
        return bool(stripped) and not stripped.startswith("#")

    marks = [i for i, line in enumerate(lines) if line.startswith("---") and _SEPARATOR.match(line)]
    if not marks or any(content(line) for line in lines[: marks[0]]):
        marks.insert(0, -1)  # content before the first separator is the first document
    found = []
    for mark in marks:
        line = mark + 1
        while line < len(lines) and not content(lines[line]):
            line += 1
        found.append(line + 1)
    return found


def parse_documents(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """Every non-empty document of ``text``; a syntax error is one finding.

    Documents are loaded by libyaml in one pass (the fast path); the line of each key
    is found only if a finding asks for it, by composing the file then.
    """
    try:
        bodies = list(yaml.load_all(text, Loader=_Loader))
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
    nodes = _FileNodes(text)
    starts = _starts(text)
    if len(starts) != len(bodies):  # an unusual layout: take the exact starts from the nodes
        starts = [
            n.start_mark.line + 1 if n else 1 for n in (nodes.node(i) for i in range(len(bodies)))
        ]
    manifests: list[Manifest] = []
    index = 0
    for position, body in enumerate(bodies):
        if body is None:
            continue
        if isinstance(body, dict):
            manifests.append(
                Manifest(file, index, starts[position], _plain(body), LineMap(nodes, position))
            )
        index += 1
    return manifests, []


def _plain(value: Any) -> Any:
    """Dates that YAML turned into ``date`` objects go back to text, as Kubernetes reads them."""
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()} if _has_dates(value) else value
    if isinstance(value, list):
        return [_plain(v) for v in value] if _has_dates(value) else value
    if isinstance(value, (datetime.date, datetime.datetime)):
        return value.isoformat()
    return value


def _has_dates(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_dates(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_dates(v) for v in value)
    return isinstance(value, (datetime.date, datetime.datetime))


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


def _generated(source: Source, kustomization: str) -> set[tuple[str, str | None, str]]:
    """ConfigMaps and Secrets a kustomization generates: they exist, though no file holds them."""
    try:
        data = yaml.safe_load(source.read(kustomization)) or {}
    except yaml.YAMLError:
        return set()
    if not isinstance(data, dict):
        return set()
    namespace = data.get("namespace") if isinstance(data.get("namespace"), str) else None
    made: set[tuple[str, str | None, str]] = set()
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        for entry in data.get(key) or []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                made.add((kind, entry.get("namespace") or namespace, entry["name"]))
    return made


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
    for k in sorted(kustomizations):
        corpus.externals |= _generated(source, k)
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

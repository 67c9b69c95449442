"""Reading a revision's manifests: every document, and any field's line on demand.

Documents are loaded by the Rust parser when a file means the same to it as to
PyYAML, else by PyYAML (:mod:`.fastload`). Findings point at lines: the line of a
JSON path (``$.spec.replicas``) is read off the block-style text when a finding asks
for it (:mod:`.lines`), and only where the text cannot say (flow style over several
lines, aliases, merge keys) is the file *composed* into PyYAML's node tree, whose
marks are exact. A file that does not parse is one ``yaml.syntax`` error with the
parser's line; the other documents of the repository are still checked.

What is read: ``manifests/**/*.y{a,}ml`` (a ``kustomization.yaml`` there lists its
``resources:``, which are followed, also outside ``manifests/``), ``configs/**``
(YAML or JSON, kept for the config checks), and ``configs/policies.yaml``. A
directory holding a ``Chart.yaml`` is a Helm chart: out of scope, reported once as
skipped (info).
"""

from __future__ import annotations

import json
import posixpath
import re
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pilothouse.agents.validator import fastload
from pilothouse.agents.validator.lines import Layout, Segment, locate, segments
from pilothouse.agents.validator.model import Corpus, Finding, Manifest, RuleInfo
from pilothouse.agents.validator.policies import DEFAULT_FILE as POLICIES_FILE

RULES = (
    RuleInfo("yaml-syntax", "yaml.syntax", "error", "a manifest file does not parse as YAML"),
    RuleInfo("file-too-large", "yaml.syntax", "error", "a manifest file is over 4 MiB"),
    RuleInfo("config-syntax", "yaml.syntax", "error", "a configs/ file does not parse"),
    RuleInfo("policies-invalid", "yaml.syntax", "error", "configs/policies.yaml is invalid"),
    RuleInfo("helm-chart-skipped", "schema.unknown-kind", "info", "Helm charts are not validated"),
)
MANIFEST_SUFFIXES = (".yaml", ".yml")
KUSTOMIZATIONS = frozenset({"kustomization.yaml", "kustomization.yml", "Kustomization"})
MAX_FILE_BYTES = 4 * 1024 * 1024
MAX_ALIASES = 100
"""More aliases than this in one file is refused: each one re-expands what it names
("billion laughs"), and every check walks the expanded tree."""
_ALIAS = re.compile(r"(?:^|[\s\[{,:-])\*[^\s,\]}]")


class _Loader(getattr(yaml, "CSafeLoader", yaml.SafeLoader)):  # type: ignore[misc]
    """libyaml when present (~10x faster); dates stay text, as Kubernetes reads them."""


_Loader.add_constructor(
    "tag:yaml.org,2002:timestamp",
    lambda loader, node: loader.construct_scalar(node),
)


@dataclass
class Source:
    """A repository at one revision, as the validator reads it."""

    files: list[str]  # every path, repository-relative
    read: Callable[[str], bytes]


@dataclass
class Loaded:
    corpus: Corpus
    skipped: list[str] = field(default_factory=list)


def _paths(node: Node, path: str, out: dict[str, int], seen: set[int] | None = None) -> None:
    out.setdefault(path, node.start_mark.line + 1)
    seen = set() if seen is None else seen
    if isinstance(node, (MappingNode, SequenceNode)):
        if id(node) in seen:
            return  # an alias: the anchored node is mapped where it stands
        seen.add(id(node))
    if isinstance(node, MappingNode):
        for key, value in node.value:
            if isinstance(key, ScalarNode):
                child = f"{path}.{key.value}"
                out[child] = key.start_mark.line + 1
                _paths(value, child, out, seen)
    elif isinstance(node, SequenceNode):
        for i, item in enumerate(node.value):
            _paths(item, f"{path}[{i}]", out, seen)


def line_of(text: str, loc: Iterable[str | int]) -> int:
    """The line of the deepest key of ``loc`` (a field path as parts) found in ``text``.

    For the few small files reported by path rather than parsed as manifests
    (``configs/policies.yaml``); 1 when nothing of the path is there.
    """
    try:
        node = yaml.compose(text, Loader=_Loader)
    except (yaml.YAMLError, ValueError, RecursionError):
        return 1
    if node is None:
        return 1
    mapped: dict[str, int] = {}
    _paths(node, "$", mapped)
    path, line = "$", mapped.get("$", 1)
    for part in loc:
        path += f"[{part}]" if isinstance(part, int) else f".{part}"
        if path not in mapped:
            break
        line = mapped[path]
    return line


class _FileNodes:
    """A file's text, and its node trees composed only if a line cannot be read off the text."""

    __slots__ = ("_layout", "_nodes", "ranges", "text")

    def __init__(self, text: str, ranges: list[tuple[int, int]] | None = None) -> None:
        self.text = text
        self.ranges = ranges  # rows [begin, stop) of each document; None: compose instead
        self._layout: Layout | None = None
        self._nodes: list[Node | None] | None = None

    @property
    def layout(self) -> Layout:
        if self._layout is None:
            self._layout = Layout(self.text.split("\n"))
        return self._layout

    def node(self, position: int) -> Node | None:
        if self._nodes is None:
            self._nodes = list(yaml.compose_all(self.text, Loader=_Loader))
        return self._nodes[position] if position < len(self._nodes) else None


class LineMap(Mapping[str, int]):
    """JSON path -> line of one document, looked up when a finding asks.

    The line is read off the text (:func:`~.lines.locate`, block style); where that
    cannot answer, the file is composed once and every path of the document mapped.
    """

    __slots__ = ("_body", "_composed", "_file", "_found", "_item", "_position")

    def __init__(
        self, file: _FileNodes, position: int, body: dict[str, Any], item: int | None = None
    ) -> None:
        self._file = file
        self._position = position
        self._body = body
        self._item = item  # the document is a v1 List; this maps its item
        self._found: dict[str, int | None] = {}
        self._composed: dict[str, int] | None = None

    def _lookup(self, path: str) -> int | None:
        if path in self._found:
            return self._found[path]
        parts = segments(self._body, path)
        line = None
        if parts is not None:
            ranges = self._file.ranges
            if ranges is not None and self._position < len(ranges):
                begin, stop = ranges[self._position]
                prefix: list[Segment] = [] if self._item is None else ["items", self._item]
                line = locate(self._file.layout, begin, stop, prefix + parts)
            if line is None:
                line = self._built().get(path)
        self._found[path] = line
        return line

    def _built(self) -> dict[str, int]:
        if self._composed is None:
            self._composed = {}
            node = self._file.node(self._position)
            if node is not None and self._item is not None:
                node = _list_item(node, self._item)
            if node is not None:
                _paths(node, "$", self._composed)
        return self._composed

    def __getitem__(self, key: str) -> int:
        line = self._lookup(key)
        if line is None:
            raise KeyError(key)
        return line

    def __contains__(self, key: object) -> bool:
        return isinstance(key, str) and self._lookup(key) is not None

    def __iter__(self) -> Iterator[str]:
        return iter(self._built())

    def __len__(self) -> int:
        return len(self._built())


def _list_item(document: Node, i: int) -> Node | None:
    """The node of ``items[i]`` in a ``v1 List`` document."""
    if isinstance(document, MappingNode):
        for key, value in document.value:
            items = isinstance(key, ScalarNode) and key.value == "items"
            if items and isinstance(value, SequenceNode) and i < len(value.value):
                item: Node = value.value[i]
                return item
    return None


def _is_list(body: dict[str, Any]) -> bool:
    """A ``v1 List`` (what ``kubectl get -o yaml`` exports): kubectl applies each item."""
    return (
        body.get("kind") == "List"
        and body.get("apiVersion") == "v1"
        and isinstance(body.get("items"), list)
    )


_SEPARATOR = re.compile(r"\n---(?=[ \t\n]|$)")  # searched in "\n" + text: a literal start
_DOCUMENT_END = re.compile(r"\n\.\.\.")


def _documents(text: str) -> tuple[list[int], list[tuple[int, int]] | None]:
    """Each document's first content line (1-based), and its rows ``[begin, stop)``.

    The rows are None when the layout is unusual (content on a ``---`` line, ``...``
    document ends): lines are then found by composing.
    """
    rows = text.split("\n")

    def content(line: str) -> bool:
        stripped = line.strip()
        return bool(stripped) and not stripped.startswith("#")

    marks, row, at = [], 0, 0
    for match in _SEPARATOR.finditer("\n" + text):  # the row of each, counted once
        row += text.count("\n", at, match.start())
        at = match.start()
        marks.append(row)
    plain = all(not content(rows[m][3:]) for m in marks) and not _DOCUMENT_END.search("\n" + text)
    if not marks or any(content(line) for line in rows[: marks[0]]):
        marks.insert(0, -1)  # content before the first separator is the first document
    found, ranges = [], []
    for k, mark in enumerate(marks):
        line = mark + 1
        while line < len(rows) and not content(rows[line]):
            line += 1
        found.append(line + 1)
        ranges.append((mark + 1, marks[k + 1] if k + 1 < len(marks) else len(rows)))
    return found, ranges if plain else None


def parse_documents(text: str, file: str) -> tuple[list[Manifest], list[Finding]]:
    """Every non-empty document of ``text``; a syntax error is one finding.

    Documents are loaded in one pass, by the Rust parser when the file means the same
    to it (:mod:`.fastload`), else by PyYAML; the line of a field is found only if a
    finding asks for it (:class:`LineMap`).
    """
    try:
        if "&" in text and _ALIAS.search(text) and _aliases(text) > MAX_ALIASES:
            return [], [_syntax(file, f"more than {MAX_ALIASES} YAML aliases", 1)]
        starts, ranges = _documents(text)
        bodies = fastload.load_all(text)
        if bodies is None or len(bodies) != len(starts):
            bodies = list(yaml.load_all(text, Loader=_Loader))
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None) or getattr(e, "context_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        return [], [_syntax(file, f"YAML does not parse: {problem}", mark.line + 1 if mark else 1)]
    except (ValueError, RecursionError) as e:  # an integer too long, nesting too deep
        return [], [_syntax(file, f"YAML does not load: {type(e).__name__}", 1)]
    nodes = _FileNodes(text, ranges)
    if len(starts) != len(bodies):  # an unusual layout: take the exact starts from the nodes
        nodes.ranges = None
        starts = [
            n.start_mark.line + 1 if n else 1 for n in (nodes.node(i) for i in range(len(bodies)))
        ]
    manifests: list[Manifest] = []
    index = 0
    for position, body in enumerate(bodies):
        if body is None:
            continue
        if isinstance(body, dict) and _is_list(body):
            document = nodes.node(position)  # Lists are rare: their item lines are read now
            for i, item in enumerate(body["items"]):
                node = _list_item(document, i) if document is not None else None
                line = node.start_mark.line + 1 if node is not None else starts[position]
                if isinstance(item, dict):
                    located = LineMap(nodes, position, item, i)
                    manifests.append(Manifest(file, index, line, item, located))
        elif isinstance(body, dict):
            manifests.append(
                Manifest(file, index, starts[position], body, LineMap(nodes, position, body))
            )
        index += 1
    return manifests, []


def _syntax(file: str, message: str, line: int, rule: str = "yaml-syntax") -> Finding:
    return Finding(
        category="yaml.syntax",
        rule_id=rule,
        severity="error",
        message=message,
        file=file,
        line=line,
        hint="Fix the file at this line; nothing in it is checked",
    )


def _aliases(text: str) -> int:
    return sum(isinstance(e, yaml.AliasEvent) for e in yaml.parse(text, Loader=_Loader))


def read_text(source: Source, path: str, rule: str = "yaml-syntax") -> str | Finding:
    """A file's text, or the finding that says why it cannot be read."""
    data = source.read(path)
    if len(data) > MAX_FILE_BYTES:
        return Finding("yaml.syntax", "file-too-large", "error", "file over 4 MiB", path, 1)
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as e:
        line = data[: e.start].count(b"\n") + 1
        return _syntax(path, "not UTF-8 text, which kubectl refuses", line, rule)


def read_data(source: Source, path: str, rule: str, *, text_scalars: bool = False) -> Any:
    """One YAML or JSON document, or the finding that says why it cannot be read.

    ``text_scalars`` keeps YAML scalars as written (``1.10`` stays ``"1.10"``, not the
    float 1.1): configuration values are compared as text.
    """
    text = read_text(source, path, rule)
    if isinstance(text, Finding):
        return text
    return parse_data(text, path, rule, text_scalars=text_scalars)


def parse_data(text: str, path: str, rule: str, *, text_scalars: bool = False) -> Any:
    """:func:`read_data` on text already read."""
    try:
        if path.endswith(".json"):
            return json.loads(text)
        return yaml.load(text, Loader=yaml.BaseLoader if text_scalars else _Loader)
    except json.JSONDecodeError as e:
        return _syntax(path, f"JSON does not parse: {e.msg}", e.lineno, rule)
    except yaml.YAMLError as e:
        mark = getattr(e, "problem_mark", None)
        problem = getattr(e, "problem", None) or str(e).splitlines()[0]
        return _syntax(path, f"YAML does not parse: {problem}", mark.line + 1 if mark else 1, rule)
    except (ValueError, RecursionError) as e:
        return _syntax(path, f"does not load: {type(e).__name__}", 1, rule)


def _kustomized(
    kustomizations: dict[str, dict[str, Any]],
    files: set[str],
    start: str,
    seen: set[str],
    namespace: str | None = None,
) -> Iterable[tuple[str, str | None]]:
    """Files a kustomization lists (recursively), with the namespace kustomize gives them."""
    if start in seen:
        return []
    seen.add(start)
    data = kustomizations.get(start, {})
    own = data.get("namespace")
    namespace = namespace or (own if isinstance(own, str) else None)  # the outer one wins
    base = posixpath.dirname(start)
    found: list[tuple[str, str | None]] = []
    entries = data.get("resources")
    for entry in entries if isinstance(entries, list) else []:
        target = posixpath.normpath(posixpath.join(base, str(entry)))
        if target.startswith(".."):
            continue
        nested = next((f"{target}/{k}" for k in KUSTOMIZATIONS if f"{target}/{k}" in files), None)
        if nested is not None:
            found.extend(_kustomized(kustomizations, files, nested, seen, namespace))
        elif target in files:
            found.append((target, namespace))
    return found


def _not_manifests(path: str, data: dict[str, Any]) -> set[str]:
    """Files a kustomization reads that are not objects: generator inputs and patches."""
    base = posixpath.dirname(path)
    named: list[str] = []
    for key in ("configMapGenerator", "secretGenerator"):
        for entry in data.get(key) or [] if isinstance(data.get(key), list) else []:
            if isinstance(entry, dict):
                for field in ("files", "envs"):
                    items = entry.get(field)
                    named += [
                        str(i).split("=", 1)[-1] for i in items or [] if isinstance(items, list)
                    ]
                if isinstance(entry.get("env"), str):
                    named.append(entry["env"])
    for key in ("patchesStrategicMerge", "patchesJson6902", "patches"):
        items = data.get(key)
        for entry in items if isinstance(items, list) else []:
            target = entry.get("path") if isinstance(entry, dict) else entry
            if isinstance(target, str):
                named.append(target)
    return {posixpath.normpath(posixpath.join(base, n)) for n in named}


def _generated(data: dict[str, Any]) -> set[tuple[str, str | None, str]]:
    """ConfigMaps and Secrets a kustomization generates: they exist, though no file holds them."""
    namespace = data.get("namespace") if isinstance(data.get("namespace"), str) else None
    made: set[tuple[str, str | None, str]] = set()
    for key, kind in (("configMapGenerator", "ConfigMap"), ("secretGenerator", "Secret")):
        entries = data.get(key)
        for entry in entries if isinstance(entries, list) else []:
            if isinstance(entry, dict) and isinstance(entry.get("name"), str):
                own = entry.get("namespace")
                made.add((kind, own if isinstance(own, str) else namespace, entry["name"]))
    return made


def load(source: Source) -> Loaded:
    """The corpus of a revision: its manifests, configs and what kustomizations generate."""
    files = set(source.files)
    charts = sorted({posixpath.dirname(p) for p in files if posixpath.basename(p) == "Chart.yaml"})

    def in_chart(path: str) -> bool:
        return any(path.startswith(chart + "/") for chart in charts)

    corpus = Corpus(manifests=[])
    kustomizations: dict[str, dict[str, Any]] = {}
    skipped: set[str] = set()
    for path in sorted(p for p in files if posixpath.basename(p) in KUSTOMIZATIONS):
        data = read_data(source, path, "yaml-syntax")
        if isinstance(data, Finding):
            corpus.findings.append(data)
        elif isinstance(data, dict):
            kustomizations[path] = data
            corpus.externals |= _generated(data)
            skipped |= _not_manifests(path, data)
    wanted: dict[str, str | None] = {
        path: None
        for path in sorted(files)
        if path.startswith("manifests/")
        and path.endswith(MANIFEST_SUFFIXES)
        and posixpath.basename(path) not in KUSTOMIZATIONS
        and path not in skipped
        and not in_chart(path)
    }
    seen: set[str] = set()
    for k in kustomizations:
        if k.startswith("manifests/"):
            for path, namespace in _kustomized(kustomizations, files, k, seen):
                if not in_chart(path) and path not in skipped:
                    wanted[path] = namespace or wanted.get(path)
    for path, namespace in wanted.items():
        text = read_text(source, path)
        if isinstance(text, Finding):
            corpus.findings.append(text)
            continue
        manifests, problems = parse_documents(text, path)
        for manifest in manifests if namespace else ():
            metadata = manifest.body.get("metadata")
            if isinstance(metadata, dict):
                metadata["namespace"] = namespace  # what kustomize renders
        corpus.manifests.extend(manifests)
        corpus.findings.extend(problems)
    for path in sorted(files):
        if path == POLICIES_FILE:
            continue  # the policies are read, typed, by the validator itself
        if path.startswith("configs/") and path.endswith((".yaml", ".yml", ".json")):
            data = read_data(source, path, "config-syntax", text_scalars=True)
            if isinstance(data, Finding):
                corpus.findings.append(data)
            else:
                corpus.config_files[path] = data
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

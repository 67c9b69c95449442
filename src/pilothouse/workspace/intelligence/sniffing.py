"""What kind of text is this? Decided from the bytes, with the name as a hint.

Agents write status files without extensions and logs named ``output``; the
extension alone would misfile them. Binary content (NUL bytes, or not UTF-8) is
never indexed. Among text, the first test that fits wins: JSON that parses, YAML
that looks like Kubernetes or parses to a mapping, Markdown headings or fences,
timestamped log lines, code markers, else plain text.

YAML is parsed with libyaml's ``CSafeLoader`` when PyYAML was built with it (the
wheels are): the pure-Python loader cost more than everything else the indexer
does per chunk, embedding aside.
"""

from __future__ import annotations

import json
import re
from typing import Any

import yaml

KINDS = ("yaml", "json", "markdown", "log", "code", "text")
MAX_INDEXED_BYTES = 8 * 1024 * 1024

EXTENSIONS = {
    ".yaml": "yaml",
    ".yml": "yaml",
    ".json": "json",
    ".md": "markdown",
    ".markdown": "markdown",
    ".log": "log",
    ".py": "code",
    ".go": "code",
    ".ts": "code",
    ".js": "code",
    ".sh": "code",
    ".rs": "code",
    ".java": "code",
    ".tf": "code",
    ".txt": "text",
}
TIMESTAMP = re.compile(
    r"^\s*(\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}|\w{3} +\d+ \d{2}:\d{2}:\d{2}|[IWEF]\d{4} \d{2}:)"
)
HEADING = re.compile(r"^#{1,6} \S", re.MULTILINE)
CODE = re.compile(
    r"^(#!|def |class |func |package |import |from \S+ import |fn |public class |resource \")",
    re.MULTILINE,
)
YAML_KEY = re.compile(r"^[A-Za-z_][\w.-]*:( |$)", re.MULTILINE)
SafeLoader: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def decode(data: bytes) -> str | None:
    """The text of ``data``, or None when it is binary or too large to index."""
    if len(data) > MAX_INDEXED_BYTES or b"\x00" in data[:65536]:
        return None
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        return None


def _extension(path: str) -> str:
    name = path.rsplit("/", 1)[-1].lower()
    return name[name.rfind(".") :] if "." in name else ""


def kind_of(path: str, text: str) -> str:
    """One of :data:`KINDS`."""
    hint = EXTENSIONS.get(_extension(path))
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            json.loads(text)
            return "json"
        except ValueError:
            pass
    if hint in ("markdown", "code", "log"):
        return hint
    if hint == "yaml" or "apiVersion:" in text or YAML_KEY.search(text):
        try:
            docs = [d for d in yaml.load_all(text, Loader=SafeLoader) if d is not None]
        except yaml.YAMLError:
            docs = []
        if docs and all(isinstance(d, (dict, list)) for d in docs):
            return "yaml"
    if HEADING.search(text) or "\n```" in text:
        return "markdown"
    lines = [ln for ln in text.splitlines() if ln.strip()][:200]
    if lines and sum(bool(TIMESTAMP.match(ln)) for ln in lines) >= max(2, len(lines) * 0.3):
        return "log"
    if CODE.search(text):
        return "code"
    return hint or "text"

"""Cutting text into chunks along its structure.

A chunk is the unit of search: what a hit cites (path, version, line range) and
what gets embedded. Cuts follow the structure people think in — one chunk per
YAML document (with its ``kind``/``name`` in the metadata), a JSON object by its
top-level keys when it is large, Markdown by heading, logs and other text by
overlapping line windows — and a chunk's text is always the source as written
(comments, order and spacing kept, never re-serialised), so snippets quote the
file exactly.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from typing import Any

import yaml

from pilothouse.workspace.intelligence.sniffing import SafeLoader

SMALL = 2000  # characters: below this a JSON file is one chunk
TARGET = 1500  # characters a grouped or windowed chunk aims at
WINDOW_LINES = 30
OVERLAP_LINES = 6
DOC_SEPARATOR = re.compile(r"^---(\s.*)?$")
MD_HEADING = re.compile(r"^(#{1,6})\s+(.*?)\s*#*\s*$")
FENCE = re.compile(r"^\s*(```|~~~)")


@dataclass(frozen=True)
class Chunk:
    text: str
    line_start: int  # 1-based, inclusive
    line_end: int
    metadata: dict[str, Any] = field(default_factory=dict)


def chunk(text: str, kind: str) -> list[Chunk]:
    """The chunks of ``text`` of the given kind; never empty chunks."""
    lines = text.splitlines()
    if not any(ln.strip() for ln in lines):
        return []
    if kind == "yaml":
        found = _yaml(lines)
    elif kind == "json":
        found = _json(text, lines)
    elif kind == "markdown":
        found = _markdown(lines)
    else:
        found = windows(lines, 1, len(lines))
    return [c for c in found if c.text.strip()]


def _slice(lines: list[str], start: int, end: int, metadata: dict[str, Any] | None = None) -> Chunk:
    """Lines ``start..end`` (1-based, inclusive), trimmed of blank edges."""
    while start < end and not lines[start - 1].strip():
        start += 1
    while end > start and not lines[end - 1].strip():
        end -= 1
    return Chunk("\n".join(lines[start - 1 : end]), start, end, metadata or {})


def windows(lines: list[str], first: int, last: int) -> list[Chunk]:
    """Overlapping windows over lines ``first..last``, bounded in lines and characters."""
    out: list[Chunk] = []
    start = first
    while start <= last:
        end = start
        size = len(lines[start - 1])
        while end < last and end - start + 1 < WINDOW_LINES and size + len(lines[end]) < TARGET:
            end += 1
            size += len(lines[end - 1]) + 1
        out.append(_slice(lines, start, end))
        if end >= last:
            break
        start = max(end - OVERLAP_LINES + 1, start + 1)
    return out


def _yaml_metadata(source: str) -> dict[str, Any]:
    try:
        doc = yaml.load(source, Loader=SafeLoader)
    except yaml.YAMLError:
        return {"parse_error": True}
    if not isinstance(doc, dict):
        return {}
    meta: dict[str, Any] = {}
    for key in ("apiVersion", "kind"):
        if isinstance(doc.get(key), str):
            meta[key] = doc[key]
    md = doc.get("metadata")
    if isinstance(md, dict):
        for key in ("name", "namespace"):
            if isinstance(md.get(key), str):
                meta[key] = md[key]
    return meta


def _yaml(lines: list[str]) -> list[Chunk]:
    out: list[Chunk] = []
    start = 1
    for number, line in enumerate([*lines, "---"], start=1):
        if DOC_SEPARATOR.match(line):
            if number - 1 >= start:
                piece = _slice(lines, start, number - 1)
                if piece.text.strip():
                    meta = _yaml_metadata(piece.text)
                    out.append(Chunk(piece.text, piece.line_start, piece.line_end, meta))
            start = number + 1
    return out


def _scalars(value: Any) -> dict[str, Any]:
    if not isinstance(value, dict):
        return {}
    meta: dict[str, Any] = {}
    for key, item in list(value.items())[:50]:
        if isinstance(item, (str, int, float, bool)) and len(str(item)) <= 200:
            meta[str(key)] = item
        if len(meta) >= 20:
            break
    return meta


def _top_level_spans(text: str) -> list[tuple[str, int, int]]:
    """``(key, start offset, end offset)`` of each member of a top-level JSON object."""
    decoder = json.JSONDecoder()
    spans: list[tuple[str, int, int]] = []
    i = text.index("{") + 1
    ws = re.compile(r"[\s,]*")
    while True:
        i = ws.match(text, i).end()  # type: ignore[union-attr]
        if i >= len(text) or text[i] == "}":
            return spans
        key, after_key = decoder.raw_decode(text, i)
        colon = text.index(":", after_key)
        value_start = ws.match(text, colon + 1).end()  # type: ignore[union-attr]
        _, end = decoder.raw_decode(text, value_start)
        spans.append((key, i, end))
        i = end


def _json(text: str, lines: list[str]) -> list[Chunk]:
    try:
        value = json.loads(text)
    except ValueError:
        return windows(lines, 1, len(lines))
    meta = _scalars(value)
    if len(text) <= SMALL or not isinstance(value, dict) or len(lines) < 3:
        return [Chunk(text.strip("\n"), 1, len(lines), meta)]
    offsets = [0]
    for line in lines:
        offsets.append(offsets[-1] + len(line) + 1)

    def line_of(offset: int) -> int:
        lo, hi = 0, len(offsets) - 1
        while lo < hi:
            mid = (lo + hi + 1) // 2
            if offsets[mid] <= offset:
                lo = mid
            else:
                hi = mid - 1
        return lo + 1

    out: list[Chunk] = []
    group: list[tuple[str, int, int]] = []
    for span in _top_level_spans(text):
        group.append(span)
        if sum(e - s for _, s, e in group) >= TARGET:
            out.append(_group(lines, group, line_of, meta))
            group = []
    if group:
        out.append(_group(lines, group, line_of, meta))
    return out


def _group(
    lines: list[str], group: list[tuple[str, int, int]], line_of: Any, meta: dict[str, Any]
) -> Chunk:
    first, last = line_of(group[0][1]), line_of(group[-1][2] - 1)
    piece = _slice(lines, first, last)
    return Chunk(
        piece.text, piece.line_start, piece.line_end, {**meta, "keys": [k for k, _, _ in group]}
    )


def _markdown(lines: list[str]) -> list[Chunk]:
    sections: list[tuple[int, str]] = [(1, "")]
    fenced = False
    for number, line in enumerate(lines, start=1):
        if FENCE.match(line):
            fenced = not fenced
            continue
        match = None if fenced else MD_HEADING.match(line)
        if match and number > 1:
            sections.append((number, match.group(2)))
        elif match:
            sections[0] = (1, match.group(2))
    out: list[Chunk] = []
    for index, (start, heading) in enumerate(sections):
        end = sections[index + 1][0] - 1 if index + 1 < len(sections) else len(lines)
        if end < start:
            continue
        piece = _slice(lines, start, end)
        meta = {"heading": heading} if heading else {}
        if len(piece.text) <= TARGET * 2:
            out.append(Chunk(piece.text, piece.line_start, piece.line_end, meta))
        else:
            out.extend(
                Chunk(w.text, w.line_start, w.line_end, meta)
                for w in windows(lines, piece.line_start, piece.line_end)
            )
    return out

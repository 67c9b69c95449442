"""The line of a field, read off the text of a block-style YAML document.

Findings point at the line of the field they are about. Composing the file with
PyYAML keeps every node's mark, but costs as much as loading it again, and nearly
every file of a real repository has some finding (a missing probe is an info). So
the line is looked up in the text instead: block-style YAML, which is what
manifests are written in, puts each key of a mapping at one indentation and each
item of a sequence behind a ``-`` at one indentation, and a field path
(``$.spec.template.spec.containers[1].image``) is followed down those columns.

:func:`locate` answers ``None`` whenever the text is not plain block style on the
way down (a flow collection ``{…}``/``[…]``, an alias, a merge key ``<<``, a quoted
key with escapes, a complex key): the caller then composes the file, which is exact.
It never guesses: a tested property is that on every document of the labelled
corpora it either agrees with the composed node tree or says ``None``.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from typing import Any

Segment = str | int
_KEY_END = re.compile(r"[ \t]*:(?:[ \t]|$)")


def segments(body: Any, path: str) -> list[Segment] | None:
    """``$.a.b[2].c`` as ``["a", "b", 2, "c"]``, or None if ``body`` has no such field.

    Keys may hold dots (``kubectl.kubernetes.io/last-applied-configuration``), so each
    key is matched against the keys the mapping really has, longest first.
    """
    if not path.startswith("$"):
        return None
    out: list[Segment] = []
    node, rest = body, path[1:]
    while rest:
        if rest[0] == "[":
            close = rest.find("]")
            if close < 0 or not isinstance(node, list) or not rest[1:close].isdigit():
                return None
            index = int(rest[1:close])
            if index >= len(node):
                return None
            out.append(index)
            node, rest = node[index], rest[close + 1 :]
        elif rest[0] == "." and isinstance(node, dict):
            key = _longest_key(node, rest[1:])
            if key is None:
                return None
            out.append(key)
            node, rest = node[key], rest[1 + len(key) :]
        else:
            return None
    return out


def _longest_key(mapping: dict[Any, Any], rest: str) -> str | None:
    ends = [i for i, c in enumerate(rest) if c in ".["] + [len(rest)]
    for end in reversed(ends):
        key = rest[:end]
        if key in mapping:
            return key
    return None


class Layout:
    """A file's rows with, for each, its indentation (-1: blank or comment) and the next
    row at the same or a lower indentation — so a scan steps over nested blocks."""

    __slots__ = ("indents", "nexts", "rows")

    def __init__(self, rows: list[str]) -> None:
        self.rows = rows
        count = len(rows)
        indents = [
            len(line) - len(line.lstrip(" ")) if (text := line.lstrip()) and text[0] != "#" else -1
            for line in rows
        ]
        nexts = [count] * count
        open_rows: list[int] = []  # content rows whose next sibling is not seen yet
        for i, indent in enumerate(indents):
            if indent < 0:
                continue
            while open_rows and indents[open_rows[-1]] >= indent:
                nexts[open_rows.pop()] = i
            open_rows.append(i)
        self.indents, self.nexts = indents, nexts

    def first_content(self, row: int, stop: int) -> int | None:
        while row < stop:
            if self.indents[row] >= 0:
                return row
            row += 1
        return None


def _is_item(text: str) -> bool:
    return text == "-" or text.startswith(("- ", "-\t"))


class _Region:
    """The entries of one mapping or sequence: rows from ``row`` at column ``column``.

    The first row may start mid-line (``- name: web``: the item's first key is at the
    column after the dash). ``same_column_sequence`` marks a sequence written at its
    key's own indentation (``containers:`` then ``- name:`` below it, unindented),
    which ends at the first entry that is not an item.
    """

    __slots__ = ("column", "first_inline", "row", "same_column_sequence", "stop")

    def __init__(
        self, row: int, stop: int, column: int, *, first_inline: bool, same_column_sequence: bool
    ) -> None:
        self.row, self.stop, self.column = row, stop, column
        self.first_inline = first_inline
        self.same_column_sequence = same_column_sequence

    def entries(self, layout: Layout) -> Iterator[tuple[int, str]]:
        """(row, text from the entry's column) for each entry, in order."""
        rows, indents, nexts = layout.rows, layout.indents, layout.nexts
        column, row = self.column, self.row
        if self.first_inline:
            yield row, rows[row][column:]
            row += 1
        while row < self.stop:
            indent = indents[row]
            if indent < 0:
                row += 1
                continue
            if indent < column:
                return
            if indent > column:  # inside the first entry of an inline item: step over it
                row = nexts[row]
                continue
            text = rows[row][indent:]
            if self.same_column_sequence and not _is_item(text):
                return
            yield row, text
            row = nexts[row]


def _key_matches(text: str, key: str) -> bool:
    if text.startswith(key):
        return _KEY_END.match(text, len(key)) is not None
    for quote in ('"', "'"):
        quoted = f"{quote}{key}{quote}"
        if text.startswith(quoted) and "\\" not in key and quote not in key:
            return _KEY_END.match(text, len(quoted)) is not None
    return False


def _below(layout: Layout, row: int, column: int, stop: int, *, inline: str) -> _Region | None:
    """The region of the value that starts after ``row`` (a key or an item at ``column``)."""
    value = inline.split(" #", 1)[0].strip()
    if value and not value.startswith(("&", "!", "|", ">")):
        return None  # a scalar, a flow collection or an alias on the line: no rows below
    next_row = layout.first_content(row + 1, stop)
    if next_row is None:
        return None
    indent = layout.indents[next_row]
    if indent > column:
        return _Region(next_row, stop, indent, first_inline=False, same_column_sequence=False)
    if indent == column and _is_item(layout.rows[next_row][indent:]):
        return _Region(next_row, stop, indent, first_inline=False, same_column_sequence=True)
    return None


def locate(layout: Layout, begin: int, stop: int, path: Sequence[Segment]) -> int | None:
    """The 1-based line of ``path`` in the document at rows ``[begin, stop)``, or None.

    None means "not plain block style on the way down": compose the file instead.
    """
    row = layout.first_content(begin, stop)
    if row is None:
        return None
    if not path:
        return row + 1
    region: _Region | None = _Region(
        row, stop, layout.indents[row], first_inline=False, same_column_sequence=False
    )
    found = row
    for depth, segment in enumerate(path):
        if region is None:
            return None
        hit = _find(layout, region, segment)
        if hit is None:
            return None
        found, column, text = hit
        inline = text[1:].lstrip(" \t") if isinstance(segment, int) else _after_key(text)
        if isinstance(segment, int) and inline.startswith("*"):
            return None  # an alias: its node is where the anchor is, compose to find it
        if depth == len(path) - 1:
            if isinstance(segment, int) and (not inline or inline.startswith("#")):
                below = layout.first_content(found + 1, stop)  # "-" alone: the item is below
                return None if below is None else below + 1
            break  # a key's line (the line of its key, whatever its value)
        if _one_line_flow(inline):
            break  # {app: web, tier: api} on one line: everything inside is on it
        if isinstance(segment, int):
            content = inline
            if content and not content.startswith(("&", "!", "#")):
                # the item's content starts on its own line: "- name: web" or "- - x"
                region = _Region(
                    found,
                    stop,
                    column + len(text) - len(content),
                    first_inline=True,
                    same_column_sequence=False,
                )
                continue
            region = _below(layout, found, column, stop, inline=content)
        else:
            region = _below(layout, found, column, stop, inline=inline)
    return found + 1


def _one_line_flow(value: str) -> bool:
    """A flow collection that opens and closes on this line (``["sh", "-c"]``)."""
    if not value.startswith(("{", "[")):
        return False
    depth, quote, i = 0, "", 0
    while i < len(value):
        char = value[i]
        if quote:
            if quote == '"' and char == "\\":
                i += 1  # an escaped character
            elif char == quote:
                if quote == "'" and value[i + 1 : i + 2] == "'":
                    i += 1  # '' inside single quotes
                else:
                    quote = ""
        elif char in "'\"":
            quote = char
        elif char in "{[":
            depth += 1
        elif char in "}]":
            depth -= 1
            if depth == 0:
                rest = value[i + 1 :].strip()
                return not rest or rest.startswith("#")
        i += 1
    return False


def _find(layout: Layout, region: _Region, segment: Segment) -> tuple[int, int, str] | None:
    """The row, column and text of the entry ``segment`` names in ``region``."""
    seen = 0
    last = None  # a repeated key: the last one counts, as when loading
    for row, text in region.entries(layout):
        column = len(layout.rows[row]) - len(text)
        if isinstance(segment, int):
            if not _is_item(text):
                return None  # a mapping where a sequence was expected
            if seen == segment:
                return row, column, text
            seen += 1
        elif _is_item(text):
            continue  # an item of a sequence written at its key's indentation
        elif _key_matches(text, segment):
            last = row, column, text
        elif text.startswith(("<<", "?", "{", "[", "*")):
            return None  # merge keys, complex keys, flow style: compose instead
    return last


def _after_key(text: str) -> str:
    """What follows ``key:`` on its line."""
    if text[:1] in ('"', "'"):
        close = text.find(text[0], 1)
        text = text[close + 1 :] if close > 0 else text
    match = _KEY_END.search(text)
    return text[match.end() :] if match else ""

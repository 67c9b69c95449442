"""Reading ``pilothouse.yaml`` into data *and* the node tree it came from.

PyYAML's ``safe_load`` throws away where things were, so the text is composed
into nodes first (which keep their line and column), checked for what plain YAML
silently accepts but a config file must not — duplicate keys (the last one
would win), non-string keys (``on:`` is the boolean ``True`` in YAML 1.1) — and
only then constructed. Validation errors come back as pydantic locations such
as ``("pipeline", "agents", "tester", "trigger")``; :meth:`Document.locate`
walks the same path through the nodes to find the line and column.

The reader is defensive because the file comes from a repository anyone with
push access can edit: it refuses files over 256 KiB, aliases (``*name``, the
"billion laughs" bomb needs them) and nesting deeper than 64 levels (the
composer recurses).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import yaml
from yaml.nodes import MappingNode, Node, ScalarNode, SequenceNode

from pilothouse.pipeline.errors import Problem

MAX_BYTES = 256 * 1024
MAX_DEPTH = 64
KEY = "[key]"
"""The pydantic location item meaning "the key itself, not its value"."""

_STR_TAG = "tag:yaml.org,2002:str"
_MERGE_TAG = "tag:yaml.org,2002:merge"
_PLAIN_KEY = re.compile(r"[A-Za-z_][A-Za-z0-9_-]*")


@dataclass(frozen=True)
class Location:
    line: int
    column: int
    path: str


class _Refused(yaml.MarkedYAMLError):
    pass


class _Loader(yaml.SafeLoader):
    """A safe loader that refuses aliases and deep nesting while composing."""

    def __init__(self, stream: str) -> None:
        super().__init__(stream)
        self._depth = 0

    def compose_node(self, parent: Node | None, index: int) -> Node | None:
        if self.check_event(yaml.AliasEvent):
            raise _Refused(
                problem="aliases (*name) are not allowed; repeat the value",
                problem_mark=self._next_mark(),
            )
        self._depth += 1
        try:
            if self._depth > MAX_DEPTH:
                raise _Refused(
                    problem=f"nested deeper than {MAX_DEPTH} levels", problem_mark=self._next_mark()
                )
            return super().compose_node(parent, index)
        finally:
            self._depth -= 1

    def _next_mark(self) -> Any:
        event: yaml.Event = self.peek_event()  # type: ignore[no-untyped-call]
        return event.start_mark


def _timestamp_as_text(loader: yaml.SafeLoader, node: Node) -> Any:
    # Dates have no meaning in a pipeline file, and a bad one (2024-02-30) would
    # raise an unlocated ValueError; as text it gets a normal, located type error.
    assert isinstance(node, ScalarNode)
    return loader.construct_scalar(node)


_Loader.add_constructor("tag:yaml.org,2002:timestamp", _timestamp_as_text)


@dataclass(frozen=True)
class Document:
    """The composed node tree of a YAML file and the plain data built from it."""

    root: Node
    data: Any

    def locate(self, loc: Sequence[str | int]) -> Location:
        """Line, column and rendered path of the node at pydantic location ``loc``.

        Items that name no node are skipped: pydantic inserts some of its own
        (a list index for a value given as a single item, union member names),
        and a missing key has no node, so its parent is reported instead.
        """
        node = self.root
        key_node: Node | None = None
        matched: list[str | int] = []
        point_at_key = False
        for item in loc:
            if item == KEY:
                point_at_key = key_node is not None
                break
            if isinstance(node, MappingNode) and isinstance(item, str):
                for key, value in node.value:
                    if isinstance(key, ScalarNode) and key.value == item:
                        key_node, node = key, value
                        matched.append(item)
                        break
            elif (
                isinstance(node, SequenceNode)
                and isinstance(item, int)
                and 0 <= item < len(node.value)
            ):
                key_node, node = None, node.value[item]
                matched.append(item)
        target = key_node if point_at_key and key_node is not None else node
        mark = target.start_mark
        return Location(line=mark.line + 1, column=mark.column + 1, path=render(matched))

    def locate_key(self, loc: Sequence[str | int]) -> Location:
        """Like :meth:`locate`, pointing at the last key rather than its value."""
        return self.locate((*loc, KEY))


def render(path: Sequence[str | int]) -> str:
    """``pipeline.agents.tester.trigger[0]['github.push'].branches``."""
    text = ""
    for item in path:
        if isinstance(item, int):
            text += f"[{item}]"
        elif _PLAIN_KEY.fullmatch(item):
            text += f".{item}" if text else item
        else:
            text += f"[{item!r}]"
    return text


def read(text: str) -> tuple[Document | None, list[Problem]]:
    """Compose, check and construct ``text``; problems instead of a document if it is unfit."""
    size = len(text.encode("utf-8", errors="surrogatepass"))
    if size > MAX_BYTES:
        message = f"the file is {size} bytes; the limit is {MAX_BYTES} (256 KiB)"
        return None, [Problem(1, 1, "", message)]
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as e:
        line = text.count("\n", 0, e.position) + 1
        column = e.position - (text.rfind("\n", 0, e.position) + 1) + 1
        return None, [Problem(line, column, "", f"unacceptable character #x{e.character:04x}")]
    try:
        root = loader.get_single_node()
        if root is None:
            return None, [Problem(1, 1, "", "the file is empty; expected a 'pipeline:' mapping")]
        problems = list(_check_keys(root))
        if problems:
            return None, problems
        data = loader.construct_document(root)
    except yaml.MarkedYAMLError as e:
        return None, [_syntax_problem(e)]
    except ValueError as e:  # e.g. an integer literal of more than 4300 digits
        return None, [Problem(1, 1, "", f"cannot read a value: {e}")]
    finally:
        loader.dispose()
    return Document(root=root, data=data), []


def _syntax_problem(error: yaml.MarkedYAMLError) -> Problem:
    mark = error.problem_mark or error.context_mark
    message = error.problem or error.context or "invalid YAML"
    if error.context and error.problem and error.context_mark is not None:
        message += f" ({error.context} at line {error.context_mark.line + 1})"
    if mark is None:
        return Problem(1, 1, "", message)
    return Problem(mark.line + 1, mark.column + 1, "", message)


def _check_keys(node: Node, path: tuple[str | int, ...] = ()) -> Iterator[Problem]:
    """Duplicate and non-string keys anywhere below ``node``."""
    if isinstance(node, SequenceNode):
        for index, item in enumerate(node.value):
            yield from _check_keys(item, (*path, index))
        return
    if not isinstance(node, MappingNode):
        return
    first_seen: dict[str, Node] = {}
    for key, value in node.value:
        mark = key.start_mark
        if key.tag == _MERGE_TAG:
            yield Problem(
                mark.line + 1, mark.column + 1, render(path), "merge keys (<<) are not allowed"
            )
            continue
        if not isinstance(key, ScalarNode) or key.tag != _STR_TAG:
            shown = key.value if isinstance(key, ScalarNode) else "a collection"
            yield Problem(
                mark.line + 1,
                mark.column + 1,
                render(path),
                f"key {shown!r} is not a string; quote it",
            )
            continue
        if key.value in first_seen:
            first = first_seen[key.value].start_mark
            yield Problem(
                mark.line + 1,
                mark.column + 1,
                render((*path, key.value)),
                f"duplicate key {key.value!r} (first defined at line {first.line + 1})",
            )
        else:
            first_seen[key.value] = key
        yield from _check_keys(value, (*path, key.value))

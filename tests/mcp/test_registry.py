from __future__ import annotations

from typing import Any, Literal

import pytest

from pilothouse.mcp import Registry
from pilothouse.mcp.registry import Call
from pilothouse.mcp.wire import Arguments


class Named(Arguments):
    name: str


class Counted(Arguments):
    name: int


class Picked(Arguments):
    colour: Literal["red", "green"] = "red"


class OtherPicked(Arguments):
    colour: Literal["green", "blue"]


def handler(_call: Call, _args: Any) -> dict[str, Any]:
    """Do nothing, politely."""
    return {}


def test_an_argument_name_with_two_types_in_one_tool_is_refused() -> None:
    registry = Registry()
    registry.tool("t", title="T", description="A tool.")
    registry.register("t", "a", Named, handler, read_only=True)
    with pytest.raises(ValueError, match="two types"):
        registry.register("t", "b", Counted, handler, read_only=True)
    assert list(registry.get("t").actions) == ["a"]  # type: ignore[union-attr]


def test_enums_of_one_argument_are_merged_across_actions() -> None:
    registry = Registry()
    spec = registry.tool("t", title="T", description="A tool.")
    registry.register("t", "a", Picked, handler, read_only=True)
    registry.register("t", "b", OtherPicked, handler, read_only=True)
    assert spec.input_schema()["properties"]["colour"]["enum"] == ["red", "green", "blue"]


def test_duplicate_and_reserved_action_names_are_refused() -> None:
    registry = Registry()
    registry.tool("t", title="T", description="A tool.")
    registry.register("t", "a", Named, handler, read_only=True)
    with pytest.raises(ValueError, match="already has"):
        registry.register("t", "a", Named, handler, read_only=True)
    with pytest.raises(ValueError, match="already has"):
        registry.register("t", "describe", Named, handler, read_only=True)


def test_actions_need_a_declared_tool() -> None:
    with pytest.raises(KeyError, match="declare it"):
        Registry().register("nowhere", "a", Named, handler, read_only=True)


def test_annotations_follow_the_flags_of_the_actions() -> None:
    registry = Registry()
    spec = registry.tool("t", title="T", description="A tool.")
    registry.register("t", "look", Named, handler, read_only=True)
    hints = spec.annotations()
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
        True,
        False,
        True,
    )
    registry.register("t", "wipe", Picked, handler, read_only=False, destructive=True)
    hints = spec.annotations()
    assert (hints.read_only_hint, hints.destructive_hint, hints.idempotent_hint) == (
        False,
        True,
        False,
    )


def test_the_tool_description_lists_each_action_with_its_arguments() -> None:
    registry = Registry()
    spec = registry.tool("t", title="T", description="A tool.")
    registry.register("t", "look", Named, handler, read_only=True)
    registry.register("t", "pick", Picked, handler, read_only=True)
    text = spec.tool_description()
    assert "- look(name): Do nothing, politely." in text
    assert "- pick(colour?): Do nothing, politely." in text
    assert "- describe():" in text

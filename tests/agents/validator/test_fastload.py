"""The fast loader returns what PyYAML returns, or defers to it."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from pilothouse.agents.validator import fastload, loading

DATA = Path(__file__).resolve().parents[2] / "data"


def pyyaml(text: str) -> list[Any] | str:
    try:
        return list(yaml.load_all(text, Loader=loading._Loader))
    except (yaml.YAMLError, ValueError, RecursionError) as e:
        return f"error: {type(e).__name__}"


def agrees(text: str) -> bool:
    """The fast path answered (True) the same as PyYAML, or deferred (False)."""
    fast = fastload.load_all(text)
    if fast is None:
        return False
    # Empty documents are skipped by the loader: a file of comments is [None] to one
    # and [] to the other. repr: True == 1 and nan != nan, but the types must match.
    slow = pyyaml(text)
    slow = [d for d in slow if d is not None] if isinstance(slow, list) else slow
    assert repr([d for d in fast if d is not None]) == repr(slow), text
    return True


# Scalars made of the characters YAML 1.1 and 1.2 resolve differently.
SCALARS = st.one_of(
    st.text(alphabet="0123456789_.:+-eExXoObB", min_size=1, max_size=8),
    st.text(alphabet="aZ1 .:-,#&*!|>%@`'\"?[]{}<=~\\", min_size=1, max_size=6),
    st.sampled_from(
        [
            "yes",
            "Yes",
            "YES",
            "no",
            "No",
            "NO",
            "on",
            "On",
            "ON",
            "off",
            "Off",
            "OFF",
            "y",
            "n",
            "true",
            "False",
            "null",
            "~",
            "=",
            "<<",
            ".inf",
            ".NaN",
            "0644",
            "0o644",
            "0x1F",
            "0b101",
            "1_000",
            "1:30",
            "1:30:00",
            "1e3",
            "1e+3",
            "1.5e3",
            "1.5e+3",
            ".5",
            "1.",
            "08",
            "010",
            "2001-12-14",
            "2001-12-14t21:59:43.10-05:00",
            "1.10",
            "v1.2.3",
        ]
    ),
)
PLACES = [
    "key: {}\n",
    "- {}\n",
    "{}: value\n",
    "list: [a, {}, b]\n",
    "map: {{k: {}}}\n",
    "nested:\n  - x: {}\n    y: 1\n",
    "anchored: &a {}\n",
    "text: |\n  {}\n",
    "--- {}\n",
    "key: {} # comment\n",
]


@settings(max_examples=int(os.environ.get("FASTLOAD_EXAMPLES", "600")), deadline=None)
@given(scalar=SCALARS, place=st.sampled_from(PLACES))
def test_any_scalar_in_any_place_loads_as_pyyaml_loads_it(scalar: str, place: str) -> None:
    agrees(place.format(scalar))


@pytest.mark.parametrize(
    "text",
    [
        "port: on\n",  # a boolean to Kubernetes and PyYAML, a string to YAML 1.2
        "on: push\n",
        "mode: 0644\n",
        "size: 1_000\n",
        "ttl: 1:30\n",
        "ratio: 1e3\n",
        "data: !!binary aGVsbG8=\n",
        "x: !custom y\n",
        "a: [1, 2\n",  # a syntax error: PyYAML reports it with its line
    ],
)
def test_files_whose_meaning_differs_go_to_pyyaml(text: str) -> None:
    assert fastload.load_all(text) is None


def test_quoted_and_ordinary_values_take_the_fast_path() -> None:
    text = (
        'apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: web, labels: {on: "on"}}\n'
        "spec:\n  replicas: 3\n  template:\n    spec:\n      containers:\n"
        "        - {name: app, image: 'web:1.10', args: ['yes', \"0644\"], cpu: 1.5}\n"
        "---\n# only a comment\n---\nkind: B\n"
    )
    assert "labels: {on:" in text and agrees(text.replace("{on:", "{x:"))


def test_every_yaml_file_of_the_test_corpora_loads_the_same() -> None:
    fast = 0
    for file in sorted(DATA.rglob("*.y*ml")):
        fast += agrees(file.read_text("utf-8"))
    assert fast > 50  # most files take the fast path

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from pilothouse.workspace import paths
from pilothouse.workspace.errors import InvalidPath


@pytest.mark.parametrize(
    ("given_path", "canonical"),
    [
        ("status/validated.json", "/status/validated.json"),
        ("//status///validated.json", "/status/validated.json"),
        ("/status/./validated.json", "/status/validated.json"),
        ("/cafe\u0301.md", "/caf\u00e9.md"),
    ],
)
def test_paths_are_normalised(given_path: str, canonical: str):
    assert paths.normalise(given_path) == canonical


@pytest.mark.parametrize(
    "bad",
    [
        "",
        "/",
        "/status/",
        "../etc/passwd",
        "/a/../b",
        "/a\x00b",
        "/a\nb",
        "/a\x7fb",
        "a\\b",
        "/ leading",
        "/" + "x" * 256,
        "/a" * 600,
    ],
)
def test_ambiguous_or_dangerous_paths_are_refused(bad: str):
    with pytest.raises(InvalidPath) as refused:
        paths.normalise(bad)
    assert refused.value.code == "invalid_path"


segment = st.text(
    alphabet=st.characters(blacklist_categories=("Cc", "Cs"), blacklist_characters="/\\"),
    min_size=1,
    max_size=12,
).filter(lambda s: s.strip() == s and s not in (".", ".."))


@given(st.lists(st.one_of(segment, st.just("."), st.just("")), min_size=1, max_size=8))
def test_normalising_is_idempotent_and_never_yields_dot_segments(parts: list[str]):
    raw = "/".join(parts)
    try:
        once = paths.normalise(raw)
    except InvalidPath:
        return
    assert paths.normalise(once) == once
    assert once.startswith("/") and "//" not in once
    assert ".." not in once.split("/") and "." not in once.split("/")


@given(st.lists(segment, min_size=1, max_size=5), st.lists(segment, min_size=1, max_size=3))
def test_under_is_true_exactly_for_descendants(base: list[str], rest: list[str]):
    directory = "/" + "/".join(base)
    assert paths.under(directory + "/" + "/".join(rest), directory)
    assert paths.under(directory, directory)
    assert not paths.under(directory + "x/y", directory)
    assert paths.under(directory, "/")

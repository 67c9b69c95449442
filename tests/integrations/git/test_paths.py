from __future__ import annotations

import pytest

from pilothouse.integrations.git import InvalidArgument
from pilothouse.integrations.git.paths import MAX_PATH_LENGTH, clean_path, clean_prefix


@pytest.mark.parametrize(
    "path",
    ["pilothouse.yaml", "manifests/app.yaml", "agents/deployer.md", ".github/ci.yml", "a..b"],
)
def test_clean_paths_pass_unchanged(path: str):
    assert clean_path(path) == path


@pytest.mark.parametrize(
    "path",
    [
        "",
        "/etc/passwd",
        "../x",
        "a/../b",
        "a/./b",
        "./a",
        "a//b",
        "a/",
        ".git/config",
        "sub/.GIT/hooks",
        "a\\b",
        "a\0b",
        "a\nb",
        "x" * (MAX_PATH_LENGTH + 1),
    ],
)
def test_paths_that_escape_or_confuse_are_refused(path: str):
    with pytest.raises(InvalidArgument):
        clean_path(path)


def test_a_prefix_may_be_the_root_or_end_with_a_slash():
    assert clean_prefix("") == ""
    assert clean_prefix("/") == ""
    assert clean_prefix("manifests/") == "manifests"
    with pytest.raises(InvalidArgument):
        clean_prefix("../manifests")

from __future__ import annotations

import pytest

from pilothouse.pipeline import config, documents
from pilothouse.pipeline.errors import Problem


def problems_of(text: str) -> list[Problem]:
    report = config.check_pipeline(text)
    assert report.pipeline is None
    return list(report.problems)


def test_a_file_over_256_kib_is_refused_before_parsing():
    text = "pipeline:\n  workspace: w\n" + "# padding\n" * 30_000

    assert problems_of(text) == [
        Problem(1, 1, "", f"the file is {len(text)} bytes; the limit is 262144 (256 KiB)")
    ]


def test_a_file_of_exactly_256_kib_is_read():
    head = "pipeline: {workspace: w, agents: {a: {trigger: manual}}}\n"
    text = head + "#" * (documents.MAX_BYTES - len(head) - 1) + "\n"

    assert config.check_pipeline(text).ok


def test_an_alias_is_refused_where_it_is_used():
    text = "pipeline:\n  workspace: w\n  agents:\n    a: &base {trigger: manual}\n    b: *base\n"

    assert problems_of(text) == [
        Problem(5, 8, "", "aliases (*name) are not allowed; repeat the value")
    ]


def test_a_billion_laughs_bomb_is_refused_quickly():
    lines = ['a0: &a0 ["lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol", "lol"]']
    lines += [f"a{i}: &a{i} [{', '.join(f'*a{i - 1}' for _ in range(9))}]" for i in range(1, 10)]

    problems = problems_of("\n".join(lines) + "\n")

    assert problems[0].line == 2 and "aliases" in problems[0].message


def test_a_merge_key_is_refused():
    text = "pipeline:\n  <<: {workspace: w}\n  agents: {a: {trigger: manual}}\n"

    assert problems_of(text) == [Problem(2, 3, "pipeline", "merge keys (<<) are not allowed")]


def test_deep_nesting_is_refused_instead_of_overflowing_the_stack():
    text = "pipeline: " + "[" * 5_000 + "]" * 5_000 + "\n"

    problems = problems_of(text)

    assert problems[0].message == "nested deeper than 64 levels"
    assert problems[0].line == 1


def test_duplicate_keys_are_found_at_any_depth():
    text = (
        "pipeline:\n"
        "  workspace: w\n"
        "  agents:\n"
        "    a:\n"
        "      trigger: manual\n"
        "      env: {A: x, A: y}\n"
    )

    assert problems_of(text) == [
        Problem(6, 19, "pipeline.agents.a.env.A", "duplicate key 'A' (first defined at line 6)")
    ]


def test_keys_equal_only_after_quoting_are_duplicates():
    text = "pipeline:\n  workspace: w\n  'workspace': v\n  agents: {a: {trigger: manual}}\n"

    assert problems_of(text)[0].message == "duplicate key 'workspace' (first defined at line 2)"


def test_a_second_document_is_refused():
    text = "pipeline: {workspace: w, agents: {a: {trigger: manual}}}\n---\nmore: 1\n"

    problem = problems_of(text)[0]
    assert (problem.line, problem.column) == (2, 1)
    assert "expected a single document" in problem.message


def test_a_control_character_is_refused_with_its_position():
    problem = problems_of("pipeline:\n  workspace: w\x07\n")[0]

    assert (problem.line, problem.column) == (2, 15)
    assert problem.message == "unacceptable character #x0007"


def test_an_unknown_tag_is_refused_with_its_position():
    problem = problems_of("pipeline:\n  workspace: !!python/object:os.system w\n")[0]

    assert (problem.line, problem.column) == (2, 14)


def test_a_date_like_value_stays_text():
    text = "pipeline: {workspace: w, agents: {a: {trigger: manual, model: 2024-02-30}}}"

    assert config.load_pipeline(text).agents["a"].model == "2024-02-30"


def test_an_enormous_integer_literal_is_refused_not_crashed():
    problem = problems_of("pipeline: {workspace: w, concurrency: " + "9" * 5_000 + "}\n")[0]

    assert problem.message.startswith("cannot read a value")


LOCATED = """\
# header
pipeline:
  workspace: w
  agents:
    a:
      trigger: [manual, github.push]
"""


@pytest.mark.parametrize(
    ("loc", "expected"),
    [
        (("pipeline",), (3, 3, "pipeline")),
        (("pipeline", "agents", "a", "trigger", 1), (6, 25, "pipeline.agents.a.trigger[1]")),
        (("pipeline", "agents", "a", "trigger", 7), (6, 16, "pipeline.agents.a.trigger")),
        (("pipeline", "agents", "a", "missing"), (6, 7, "pipeline.agents.a")),
        (("pipeline", "agents", "a", "[key]"), (5, 5, "pipeline.agents.a")),
        (("pipeline", "agents", "function-after[x]", "a"), (6, 7, "pipeline.agents.a")),
    ],
)
def test_locations_walk_the_node_tree_and_skip_what_names_no_node(
    loc: tuple[str | int, ...], expected: tuple[int, int, str]
):
    document, problems = documents.read(LOCATED)
    assert document is not None and problems == []

    where = document.locate(loc)

    assert (where.line, where.column, where.path) == expected


def test_paths_render_odd_keys_in_brackets():
    assert documents.render(["pipeline", "agents", "a", "trigger", 0, "github.push", "x"]) == (
        "pipeline.agents.a.trigger[0]['github.push'].x"
    )

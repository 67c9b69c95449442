"""Lines read off the text agree with PyYAML's composed node tree, or defer to it."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest
import yaml

from pilothouse.agents.validator import loading
from pilothouse.agents.validator.lines import Layout, locate, segments

DATA = Path(__file__).resolve().parents[2] / "data"


def composed(text: str) -> dict[str, int]:
    """Every path of the first document, the exact way: PyYAML's marks."""
    out: dict[str, int] = {}
    loading._paths(yaml.compose(text, Loader=loading._Loader), "$", out)
    return out


def located(text: str, path: str) -> int | None:
    body = yaml.load(text, Loader=loading._Loader)
    parts = segments(body, path)
    if parts is None:
        return None  # a merge key: the loaded mapping has no "<<"
    rows = text.split("\n")
    return locate(Layout(rows), 0, len(rows), parts)


def agreement(text: str) -> tuple[int, int]:
    """(paths the text answers, paths it defers); fails on any disagreement."""
    answered = deferred = 0
    for path, line in composed(text).items():
        found = located(text, path)
        if found is None:
            deferred += 1
        else:
            assert found == line, (path, found, line)
            answered += 1
    return answered, deferred


TRICKY = textwrap.dedent(
    """\
    # a comment before everything
    apiVersion: apps/v1
    kind: Deployment
    metadata:
      name: web   # trailing comment
      annotations:
        kubectl.kubernetes.io/last-applied-configuration: "{}"
        "quoted.key/x": 'v'
      labels: {app: web, tier: [a, b]}
    spec:
      replicas: 2
      replicas: 3
      template:
        spec:
          containers:
          - name: app
            image: web:1

            command:
              - sh
              - -c
            args: |
              name: not-a-key
              - not an item
            env:
            -
              name: A
              value: "1"
            - &shared
              name: B
              value: b
          - name: side
            ports: [{containerPort: 80}]
    """
)


def test_block_style_paths_are_read_off_the_text_and_agree_with_the_node_tree() -> None:
    answered, deferred = agreement(TRICKY)
    assert deferred == 0 and answered > 25
    assert located(TRICKY, "$.spec.replicas") == 12  # a repeated key: the last one counts
    assert located(TRICKY, "$.spec.template.spec.containers[0].env[0]") == 27  # "-" alone
    assert located(TRICKY, "$.metadata.labels.tier[1]") == 9  # a one-line flow collection
    assert located(TRICKY, "$.metadata.annotations.quoted.key/x") == 8


def test_what_the_text_cannot_answer_is_deferred_never_guessed() -> None:
    text = textwrap.dedent(
        """\
        base: &base
          cpu: 1
        a:
          <<: *base
          memory: 2
        b: *base
        c: {x: 1,
            y: 2}
        items:
          - *base
        """
    )
    answered, deferred = agreement(text)
    assert deferred >= 4 and answered >= 4
    assert located(text, "$.a.cpu") is None  # merged from the anchor
    assert located(text, "$.c.y") is None  # a flow collection over two lines
    assert located(text, "$.items[0]") is None  # an alias


def test_every_manifest_of_the_test_corpora_agrees_or_defers() -> None:
    answered = deferred = 0
    for file in sorted(DATA.rglob("*.y*ml")):
        text = file.read_text("utf-8")
        rows = Layout(text.split("\n"))
        _, ranges = loading._documents(text)
        for m in loading.parse_documents(text, str(file))[0]:
            lines = m.lines
            assert isinstance(lines, loading.LineMap)
            for path, line in lines._built().items():
                assert lines[path] == line, (file, path, lines[path], line)
                parts = segments(m.body, path)
                if ranges is None or parts is None or file.name == "expected.yaml":
                    continue  # the labels are flow style over many lines: not manifests
                begin, stop = ranges[lines._position]
                prefix: list[str | int] = [] if lines._item is None else ["items", lines._item]
                if locate(rows, begin, stop, prefix + parts) is None:
                    deferred += 1
                else:
                    answered += 1
    assert answered > 2500
    assert deferred < answered / 10  # the text answers nearly everything


@pytest.mark.parametrize(
    "path", ["$.spec.template.spec.containers[2]", "$.nope", "$.spec.replicas.x", "x"]
)
def test_fields_that_are_not_there_have_no_line(path: str) -> None:
    manifests, _ = loading.parse_documents(TRICKY, "m.yaml")
    assert path not in manifests[0].lines


def test_documents_of_one_file_are_looked_up_in_their_own_rows() -> None:
    text = "# header\n---\nkind: A\nspec:\n  x: 1\n---\n\nkind: B\nspec:\n  x: 2\n"
    first, second = loading.parse_documents(text, "m.yaml")[0]
    assert (first.line_of("$.spec.x"), second.line_of("$.spec.x")) == (5, 10)
    assert (first.line, second.line) == (3, 8)

from __future__ import annotations

import itertools
import json

from hypothesis import given
from hypothesis import strategies as st

from pilothouse.workspace.intelligence import chunking, sniffing

MANIFEST = """\
# the ranker, pinned
apiVersion: apps/v1
kind: Deployment
metadata:
  name: ranker
  namespace: ml
spec:
  replicas: 2   # two is enough
---
apiVersion: v1
kind: Service
metadata:
  name: ranker
"""


def test_each_yaml_document_is_one_chunk_with_kind_name_and_exact_lines():
    first, second = chunking.chunk(MANIFEST, "yaml")
    assert first.metadata == {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "name": "ranker",
        "namespace": "ml",
    }
    assert (first.line_start, first.line_end) == (1, 8)
    assert "# two is enough" in first.text  # comments kept, never re-serialised
    assert second.metadata["kind"] == "Service"
    assert (second.line_start, second.line_end) == (10, 13)
    lines = MANIFEST.splitlines()
    assert second.text == "\n".join(lines[9:13])


def test_large_json_is_cut_by_top_level_keys_and_small_json_is_whole():
    small = json.dumps({"status": "failed", "stage": "deployer"})
    [whole] = chunking.chunk(small, "json")
    assert whole.metadata == {"status": "failed", "stage": "deployer"}
    big = json.dumps({f"key{i}": "x" * 300 for i in range(20)}, indent=2)
    pieces = chunking.chunk(big, "json")
    assert len(pieces) > 1
    keys = [k for piece in pieces for k in piece.metadata["keys"]]
    assert keys == [f"key{i}" for i in range(20)]
    lines = big.splitlines()
    for piece in pieces:
        assert piece.text == "\n".join(lines[piece.line_start - 1 : piece.line_end])


def test_markdown_is_cut_by_heading_but_not_inside_code_fences():
    text = "# Incident\nintro\n```\n# not a heading\n```\n## Cause\nbad tag\n## Fix\nrepinned\n"
    pieces = chunking.chunk(text, "markdown")
    assert [p.metadata.get("heading") for p in pieces] == ["Incident", "Cause", "Fix"]
    assert pieces[0].text.endswith("```")


@given(st.lists(st.text(alphabet="abc xyz:0123", max_size=90), min_size=1, max_size=200))
def test_line_windows_cover_every_line_and_overlap(lines: list[str]):
    text = "\n".join(lines)
    pieces = chunking.chunk(text, "log")
    covered = {n for p in pieces for n in range(p.line_start, p.line_end + 1)}
    wanted = {i + 1 for i, line in enumerate(lines) if line.strip()}
    assert wanted <= covered
    for piece in pieces:
        assert piece.text == "\n".join(lines[piece.line_start - 1 : piece.line_end])
    for before, after in itertools.pairwise(pieces):
        assert after.line_start <= before.line_end + 1


def test_kind_is_sniffed_from_content_not_only_the_extension():
    assert sniffing.kind_of("/status/validated", '{"status": "succeeded"}') == "json"
    assert sniffing.kind_of("/output", MANIFEST) == "yaml"
    log = "2026-11-01T10:00:00Z INFO started\n2026-11-01T10:00:02Z ERROR OOMKilled\n"
    assert sniffing.kind_of("/runs/1/stdout", log) == "log"
    assert sniffing.kind_of("/notes", "# Title\n\nsome words\n") == "markdown"
    assert sniffing.kind_of("/tool", "#!/bin/sh\necho hi\n") == "code"
    assert sniffing.kind_of("/readme", "just words here") == "text"
    assert sniffing.decode(b"\x00\x01binary") is None
    assert sniffing.decode("é".encode("latin-1")) is None

"""Embedders batch and cache correctly; the vector scan returns the exact nearest rows."""

from __future__ import annotations

import importlib.util
import json
from typing import Any

import numpy as np
import pytest
from tests.fakes import embeddings as fake_embeddings

from pilothouse.workspace.intelligence import vectors
from pilothouse.workspace.intelligence.embedders import (
    EmbedderUnavailable,
    Matrix,
    OpenAICompatible,
    QueryCache,
    normalise,
)
from pilothouse.workspace.intelligence.vectors import Block, nearest


class Counting:
    """A bag-of-words embedder that records its calls and can be made to fail."""

    name = "counting"

    def __init__(self) -> None:
        self.calls: list[list[str]] = []
        self.broken = False

    def embed(self, texts: list[str]) -> Matrix:
        if self.broken:
            raise EmbedderUnavailable("the endpoint is down")
        self.calls.append(list(texts))
        return normalise(np.asarray([fake_embeddings.vector(t) for t in texts], np.float32) + 1e-3)


def test_an_endpoint_gets_large_calls_in_batches_and_rows_stay_in_order():
    seen: list[str] = []
    embedder = OpenAICompatible(
        "http://embed.test/v1",
        "m",
        None,
        batch=64,
        transport=fake_embeddings.transport(model_seen=seen),
    )
    texts = [f"deployment {i} of app-{i % 7} failed" for i in range(150)]
    together = embedder.embed(texts)
    assert len(seen) == 3  # 64 + 64 + 22
    alone = np.vstack([embedder.embed([t]) for t in texts[::37]])
    np.testing.assert_allclose(together[::37], alone, rtol=1e-6)


def test_the_query_cache_embeds_a_repeated_query_once_and_forgets_the_oldest():
    inner = Counting()
    cache = QueryCache(inner, size=2)
    first = cache.embed(["pods were killed"])
    again = cache.embed(["pods were killed"])
    assert len(inner.calls) == 1 and np.array_equal(first, again)
    with pytest.raises(ValueError):
        again[0, 0] = 1.0  # shared between callers: read-only
    cache.embed(["b"])
    cache.embed(["c"])  # evicts "pods were killed"
    cache.embed(["pods were killed"])
    assert len(inner.calls) == 4
    cache.embed(["x", "y"])  # the indexer's many-text calls pass through
    cache.embed(["x", "y"])
    assert len(inner.calls) == 6


def test_a_query_whose_embedding_fails_is_answered_lexically(make_service: Any):
    flaky = Counting()
    service = make_service(flaky, intelligence={"query_cache": 0})
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    service.write_file(me, "ws", "/a.json", json.dumps({"reason": "certificate expired"}).encode())
    service.write_file(me, "ws", "/b.json", json.dumps({"reason": "memory limit"}).encode())
    service.index_pending()
    assert service.search(me, "ws", "certificate").mode == "hybrid"
    flaky.broken = True
    result = service.search(me, "ws", "certificate")
    assert result.mode == "lexical"
    assert [hit.path for hit in result.hits] == ["/a.json"]


def _clustered(rows: int, seed: int) -> Matrix:
    """Unit rows in tight clusters, so many scores lie within a half-precision step."""
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(rows // 100, 384)).astype(np.float32)
    picks = centres[rng.integers(0, len(centres), rows)]
    return normalise(picks + rng.normal(0, 0.01, picks.shape).astype(np.float32))


def test_the_half_precision_scan_still_returns_the_exact_nearest_rows():
    matrix = _clustered(vectors.HALF_FROM + 5_000, seed=3)
    ids = np.arange(10, 10 + len(matrix), dtype=np.int64) * 3
    block = Block(ids, matrix, int(ids[-1]), "m")
    rng = np.random.default_rng(4)
    for _ in range(8):
        query = normalise(matrix[rng.integers(0, len(matrix))][None, :] + 0.02)[0]
        got = nearest(block, query, 200)
        exact = matrix @ query
        order = np.argsort(-exact, kind="stable")[:200]
        # the same 200 rows; their scores agree to float32 rounding (the product over a
        # subset of rows may sum in another order), so near-equal ones may swap places
        assert {chunk for chunk, _ in got} == {int(ids[i]) for i in order}
        by_id = dict(zip(ids.tolist(), exact.tolist(), strict=True))
        assert all(abs(score - by_id[chunk]) < 1e-6 for chunk, score in got)
        assert [score for _, score in got] == sorted((score for _, score in got), reverse=True)
    if importlib.util.find_spec("torch") is not None:
        assert block.half is not None  # the scan ran in half precision


def test_cosines_are_looked_up_by_chunk_id_and_absent_ids_are_skipped():
    matrix = _clustered(300, seed=5)
    ids = np.arange(1, 301, dtype=np.int64) * 2  # even ids only
    block = Block(ids, matrix, 600, "m")
    query = matrix[7]
    found = block.cosines([16, 3, 600, 601], query)
    assert set(found) == {16, 600}
    assert found[16] == pytest.approx(1.0, abs=1e-5)
    assert found[600] == pytest.approx(float(matrix[299] @ query), abs=1e-6)
    empty = Block(np.zeros(0, np.int64), np.zeros((0, 0), np.float32), 0, "m")
    assert empty.cosines([1], query) == {}
    assert nearest(empty, query, 5) == []


def test_the_local_model_embeds_many_texts_like_one_at_a_time(minilm: Any):
    texts = [
        "OOMKilled after the memory limit was lowered",
        "ok",
        "readiness probe failed on port 8080: connection refused " * 8,
        "canary rolled back: p99 latency above budget",
    ] * 9
    together = minilm.embed(texts)
    alone = np.vstack([minilm.embed([t]) for t in texts[:4]])
    # int8 activations are scaled per forward pass, over padding too, so batch mates
    # move a vector a little: most stay above 0.99, a 3-token text padded to its
    # longer batch mates' length measured 0.967
    cosines = np.sum(together[:4] * alone, axis=1)
    assert cosines.min() > 0.95 and np.median(cosines) > 0.99
    assert np.array_equal(np.argmax(together[:4] @ alone.T, axis=1), np.arange(4))
    np.testing.assert_allclose(np.linalg.norm(together, axis=1), 1.0, atol=1e-5)


def test_a_local_model_that_cannot_load_is_not_loaded_again(monkeypatch: pytest.MonkeyPatch):
    from pilothouse.workspace.intelligence import minilm

    attempts: list[int] = []

    def build(self: minilm.LocalMiniLM) -> Any:
        attempts.append(1)
        raise EmbedderUnavailable("int8 is not available with this torch")

    monkeypatch.setattr(minilm.LocalMiniLM, "_build", build)
    model = minilm.LocalMiniLM()
    for _ in range(3):
        with pytest.raises(EmbedderUnavailable, match="int8 is not available"):
            model.embed(["a"])
    assert len(attempts) == 1

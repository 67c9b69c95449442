"""Search benchmark: ingest rate and query latency at 10k and 100k chunks.

    python bench/search.py                 # 10k and 100k chunks, hybrid and lexical
    python bench/search.py --sizes 10000   # quicker

Method. Ingest is measured through the real path — files written through the
façade, the indexing queue drained by the indexer (sniff, chunk, embed with the
bundled all-MiniLM-L6-v2, store chunks, vectors and FTS rows) — on a sample of
``--ingest-docs`` documents, and reported as chunks/s, with the model and without
it (lexical only). To reach 100k chunks in minutes rather than an hour of CPU
embedding, the scale indexes are then filled through the same indexer with a
"pool" embedder that reuses real MiniLM vectors of a few thousand distinct chunks
(plus noise), so the matrix is full-size and realistic while only query latency
is measured on it. Queries use the real model for the query vector, embedded
afresh for every query (the server's cache of recent query vectors is off).
"""

from __future__ import annotations

import argparse
import json
import platform
import random
import sqlite3
import statistics
import tempfile
import time
from pathlib import Path

import numpy as np

from pilothouse.core.settings import Settings
from pilothouse.workspace.intelligence.embedders import Matrix, normalise
from pilothouse.workspace.intelligence.minilm import LocalMiniLM
from pilothouse.workspace.service import WorkspaceService

APPS = ["ranker", "embedding-svc", "checkout-api", "feature-store", "gateway", "trainer"]
REASONS = [
    "OOMKilled after the memory limit was lowered to {m}Mi",
    "readiness probe failed on port {p}: connection refused",
    "ImagePullBackOff: tag {v} not found in registry.example.com",
    "canary rolled back: p99 latency {l} ms above the 500 ms budget",
    "CrashLoopBackOff: missing key MODEL_PATH in configmap {a}-config",
    "rollout succeeded in {l} seconds with {r} replicas",
    "HPA scaled {a} from {r} to {m} replicas under load",
    "certificate for {a}.example.com expired; ingress served 495",
]
QUERIES = [
    "container ran out of RAM and was killed",
    "image tag missing from the registry",
    "latency too high so the canary was reverted",
    "pods restarting because a config value is absent",
    "tls cert expiry on the ingress",
    "probe could not connect",
]


def document(i: int, rng: random.Random, chunks_per_doc: int) -> bytes:
    docs = []
    for j in range(chunks_per_doc):
        app = rng.choice(APPS)
        reason = rng.choice(REASONS).format(
            m=rng.choice([256, 512, 1024]),
            p=rng.randint(8000, 9000),
            v=f"1.{rng.randint(0, 30)}.{rng.randint(0, 9)}",
            l=rng.randint(100, 2000),
            a=app,
            r=rng.randint(1, 12),
        )
        docs.append(
            json.dumps(
                {
                    "app": app,
                    "run": f"{i}-{j}",
                    "outcome": rng.choice(["failed", "succeeded"]),
                    "reason": reason,
                    "namespace": rng.choice(["ml", "prod", "staging"]),
                }
            )
        )
    return ("\n---\n".join(docs) + "\n").encode() if chunks_per_doc > 1 else docs[0].encode()


class PoolEmbedder:
    """Real MiniLM vectors for a pool of texts, reused with noise for the rest."""

    def __init__(self, model: LocalMiniLM, pool: list[str]) -> None:
        self.model = model
        self.name = model.name
        self.pool = model.embed(pool)
        self.rng = np.random.default_rng(7)

    def embed(self, texts: list[str]) -> Matrix:
        if len(texts) == 1:
            return self.model.embed(texts)  # queries get their real vector
        picks = self.pool[self.rng.integers(0, len(self.pool), len(texts))]
        noise = self.rng.normal(0, 0.05, picks.shape).astype(np.float32)
        return normalise(picks + noise)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def measure_ingest(home: Path, model: LocalMiniLM | None, docs: int) -> tuple[int, float]:
    service = WorkspaceService(Settings(home=home), embedder=model)
    service.initialize("bench")
    me = service.local_actor()
    service.create_workspace(me, "ingest")
    rng = random.Random(1)
    for i in range(docs):
        service.write_file(me, "ingest", f"/history/{i:06d}.yaml", document(i, rng, 4))
    started = time.perf_counter()
    service.index_pending()
    elapsed = time.perf_counter() - started
    chunks = service.search_status(me, "ingest")["chunks"]
    service.close()
    return chunks, elapsed


def build_scale(home: Path, embedder: PoolEmbedder, target: int, per_doc: int) -> WorkspaceService:
    # no cache of query vectors: the queries repeat, and every one must pay its embedding
    settings = Settings(home=home, intelligence={"query_cache": 0})
    service = WorkspaceService(settings, embedder=embedder)
    service.initialize("bench")
    me = service.local_actor()
    service.create_workspace(me, "scale")
    rng = random.Random(2)
    files = target // per_doc
    started = time.perf_counter()
    for i in range(files):
        service.write_file(me, "scale", f"/history/{i:06d}.yaml", document(i, rng, per_doc))
        if i % 200 == 199:
            service.index_pending()
    service.index_pending()
    print(f"  built {target} chunks in {time.perf_counter() - started:.0f} s", flush=True)
    return service


def measure_queries(service: WorkspaceService, mode: str, rounds: int) -> tuple[float, float]:
    me = service.local_actor()
    service.search(me, "scale", "warm up", mode=mode)
    timings = []
    for i in range(rounds):
        query = QUERIES[i % len(QUERIES)]
        started = time.perf_counter()
        service.search(me, "scale", query, mode=mode, limit=10)
        timings.append((time.perf_counter() - started) * 1000)
    return statistics.median(timings), percentile(timings, 0.95)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 100_000])
    parser.add_argument("--ingest-docs", type=int, default=1000, help="documents of 4 chunks")
    parser.add_argument("--rounds", type=int, default=60, help="queries per mode and size")
    args = parser.parse_args()

    print(
        f"python {platform.python_version()} · sqlite {sqlite3.sqlite_version} · "
        f"{__import__('os').cpu_count()} cpus"
    )
    model = LocalMiniLM()
    # load the model and let oneDNN build its kernels for the batch shapes it will
    # see, on other documents than the timed ones: a server does this once
    model.embed([document(i, random.Random(-i), 1).decode() for i in range(1, 257)])
    with tempfile.TemporaryDirectory() as tmp:
        chunks, seconds = measure_ingest(Path(tmp) / "a", model, args.ingest_docs)
        semantic_rate = chunks / seconds
        chunks_l, seconds_l = measure_ingest(Path(tmp) / "b", None, args.ingest_docs)
        lexical_rate = chunks_l / seconds_l
    print("\ningest (files written, then the queue drained by the indexer)")
    print(
        f"  with MiniLM embeddings : {semantic_rate:8.0f} chunks/s  ({chunks} chunks)  goal >= 300"
    )
    print(f"  lexical only           : {lexical_rate:8.0f} chunks/s")

    pool_texts = [document(i, random.Random(i), 1).decode() for i in range(2000)]
    pool = PoolEmbedder(model, pool_texts)
    print("\nquery latency (ms), limit 10")
    print(f"  {'chunks':>8}  {'mode':8} {'p50':>8} {'p95':>8}")
    for size in args.sizes:
        with tempfile.TemporaryDirectory() as tmp:
            service = build_scale(Path(tmp), pool, size, per_doc=20)
            for mode in ("hybrid", "lexical"):
                p50, p95 = measure_queries(service, mode, args.rounds)
                goal = "  (goal p50 <= 30 ms)" if size >= 100_000 else ""
                print(f"  {size:>8}  {mode:8} {p50:8.1f} {p95:8.1f}{goal}", flush=True)
            service.close()


if __name__ == "__main__":
    main()

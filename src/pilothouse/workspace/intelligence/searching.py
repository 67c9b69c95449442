"""Hybrid search with citations, and "files like this one".

Two rankings feed a query: the lexical one (BM25 over an OR of the query's terms)
and the semantic one (cosine over the workspace's vector matrix). Their union is
re-scored on one scale, standard scores: every candidate gets its exact cosine
(lexical-only candidates too, read from their stored vector) as a z-score against
the semantic ranking's candidates, plus a bonus of ``LEXICAL_WEIGHT`` times its
BM25 z-score among the lexical candidates when that is above their mean. Meaning
decides; words the query shares with a chunk lift it by a fraction of the spread
of cosines that query has, so the bonus means as much for a query whose
candidates are all alike as for one where they differ widely. Plain
reciprocal-rank fusion at equal weights lets the noisy OR-of-words ranking pull
paraphrase queries down — on the labelled set in ``tests/data/search`` this fusion
never does worse than semantic alone, with the float32 model or the int8 one
(see ``tests/workspace/intelligence``).

Candidates are then checked against the live files (a deleted file's chunks never
show; a moved file shows under its new path) and the filters: path prefix, kind,
time, metadata, and whether older versions count (``include_history``).
"""

from __future__ import annotations

import json
import logging
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, String, cast, distinct, func, select

from pilothouse.workspace.intelligence.embedders import (
    Embedder,
    EmbedderUnavailable,
    Matrix,
    model_text,
    normalise,
)
from pilothouse.workspace.intelligence.lexical import LexicalIndex, terms
from pilothouse.workspace.intelligence.vectors import Block, VectorIndex, nearest
from pilothouse.workspace.models import _Serialisable
from pilothouse.workspace.schema import chunks, file_versions, files

LEXICAL_WEIGHT = 0.3
CANDIDATES = 200
PAGE = 40  # candidates read from the database at a time, best first
SNIPPET = 240
MODES = ("hybrid", "semantic", "lexical")
SEARCH_WORKERS = 4  # searches embedding their query at once; more wait their turn

log = logging.getLogger(__name__)
_WORKERS = ThreadPoolExecutor(SEARCH_WORKERS, thread_name_prefix="search")  # threads start lazily


@dataclass(frozen=True)
class Hit(_Serialisable):
    path: str
    version: int
    score: float
    line_start: int
    line_end: int
    snippet: str
    kind: str
    metadata: dict[str, Any] = field(default_factory=dict)
    latest: bool = True


@dataclass(frozen=True)
class Filters:
    path_prefix: str | None = None
    kinds: tuple[str, ...] = ()
    since: datetime | None = None
    until: datetime | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    include_history: bool = False


@dataclass(frozen=True)
class Candidate:
    chunk_id: int
    row: Any


def _rows(conn: Connection, workspace_id: str, ids: Sequence[int]) -> dict[int, Any]:
    found: dict[int, Any] = {}
    for start in range(0, len(ids), 500):
        batch = list(ids[start : start + 500])
        rows = conn.execute(
            select(
                chunks.c.id,
                chunks.c.file_id,
                chunks.c.version,
                chunks.c.kind,
                chunks.c.line_start,
                chunks.c.line_end,
                chunks.c.text,
                chunks.c.meta,
                files.c.path,
                files.c.version.label("newest"),
                file_versions.c.created_at,
            )
            .join(files, files.c.id == chunks.c.file_id)
            .join(
                file_versions,
                (file_versions.c.file_id == chunks.c.file_id)
                & (file_versions.c.version == chunks.c.version),
            )
            .where(
                chunks.c.id.in_(batch),
                chunks.c.workspace_id == workspace_id,
                files.c.deleted_at.is_(None),
            )
        )
        found.update({int(r.id): r for r in rows})
    return found


def _passes(row: Any, f: Filters) -> bool:
    if not f.include_history and row.version != row.newest:
        return False
    if f.path_prefix and not (
        row.path.startswith(f.path_prefix) or row.path == f.path_prefix.rstrip("/")
    ):
        return False
    if f.kinds and row.kind not in f.kinds:
        return False
    if f.since and row.created_at < f.since:
        return False
    if f.until and row.created_at >= f.until:
        return False
    if f.metadata:
        meta = json.loads(row.meta)
        if any(str(meta.get(k)) != v for k, v in f.metadata.items()):
            return False
    return True


def snippet(text: str, query_terms: Sequence[str]) -> str:
    """The stretch of ``text`` with the most query terms, matches marked ``**like this**``."""
    # Long terms match by a 5-letter stem ("crash" finds "crashed"), short ones whole.
    forms = [
        re.escape(t[:5]) + r"\w*" if len(t) > 5 else re.escape(t) + r"\b"
        for t in query_terms
        if len(t) >= 3
    ]
    if not forms:
        return text[:SNIPPET]
    pattern = re.compile(r"\b(?:" + "|".join(forms) + ")", re.IGNORECASE)
    hits = [m.start() for m in pattern.finditer(text)]
    if not hits:
        return text[:SNIPPET].strip()
    best_start, best_count = 0, -1
    for start in hits:
        count = sum(1 for h in hits if start <= h < start + SNIPPET)
        if count > best_count:
            best_start, best_count = start, count
    begin = max(0, best_start - 40)
    window = text[begin : begin + SNIPPET]
    marked = pattern.sub(lambda m: f"**{m.group(0)}**", window).strip()
    return ("…" if begin > 0 else "") + marked + ("…" if begin + SNIPPET < len(text) else "")


def _vector_of(row: Any, model: str | None) -> Matrix | None:
    if row.vector is None or model is None or row.model != model:
        return None
    return np.frombuffer(row.vector, dtype=np.float32)


def query(
    conn: Connection,
    workspace_id: str,
    text: str,
    *,
    mode: str,
    limit: int,
    filters: Filters,
    lexical: LexicalIndex,
    vectors: VectorIndex,
    embedder: Embedder | None,
) -> tuple[str, list[Hit]]:
    """``(mode actually used, hits)``; semantic modes fall back to lexical without a model.

    The query is embedded and scored against the matrix on a worker thread while
    this one runs the lexical ranking: the model, numpy and SQLite all release the
    GIL, so a hybrid search costs about the slower of the two, not their sum. An
    embedder that fails (an endpoint down) makes it a lexical search, as if there
    were no model.
    """
    used = mode if embedder is not None else "lexical"
    wanted_terms = terms(text)
    pool = max(CANDIDATES, limit * 20)
    lexical_scores: dict[int, float] = {}
    semantic_scores: dict[int, float] = {}
    query_vector: Matrix | None = None
    ranking: Future[tuple[Matrix, list[tuple[int, float]]]] | None = None
    block: Block | None = None
    if used in ("hybrid", "semantic") and embedder is not None:
        block = vectors.matrix(conn, workspace_id, embedder.name)
        ranking = _WORKERS.submit(_semantic, embedder, text, block, pool)
    if used in ("hybrid", "lexical"):
        lexical_scores = dict(lexical.search(conn, workspace_id, text, pool))
    if ranking is not None:
        try:
            query_vector, nearest = ranking.result()
            semantic_scores = dict(nearest)
        except EmbedderUnavailable as e:
            log.warning("query embedding failed, searching lexically: %s", e.message)
            if used == "semantic":  # the lexical ranking has not run yet
                lexical_scores = dict(lexical.search(conn, workspace_id, text, pool))
            used = "lexical"
    scores = _fuse(used, lexical_scores, semantic_scores, block, query_vector)
    return used, _best(conn, workspace_id, scores, filters, limit, wanted_terms)


def _fuse(
    used: str,
    lexical_scores: dict[int, float],
    semantic_scores: dict[int, float],
    block: Block | None,
    query_vector: Matrix | None,
) -> dict[int, float]:
    """Every candidate's score in the mode used (see the module's docstring)."""
    if used == "lexical":
        return lexical_scores
    candidates = {*lexical_scores, *semantic_scores}
    missing = [c for c in candidates if c not in semantic_scores]
    if missing and block is not None and query_vector is not None:
        semantic_scores = {**semantic_scores, **block.cosines(missing, query_vector)}
    if used == "semantic":
        return {c: semantic_scores.get(c, -1.0) for c in candidates}
    semantic_mean, semantic_spread = _spread(semantic_scores.values())
    lexical_mean, lexical_spread = _spread(lexical_scores.values())
    fused: dict[int, float] = {}
    for chunk_id in candidates:
        score = (semantic_scores.get(chunk_id, -1.0) - semantic_mean) / semantic_spread
        if chunk_id in lexical_scores:
            lexical_z = (lexical_scores[chunk_id] - lexical_mean) / lexical_spread
            score += LEXICAL_WEIGHT * max(0.0, lexical_z)
        fused[chunk_id] = score
    return fused


def _best(
    conn: Connection,
    workspace_id: str,
    scores: dict[int, float],
    filters: Filters,
    limit: int,
    query_terms: Sequence[str],
) -> list[Hit]:
    """The ``limit`` best candidates that are live and pass the filters, as hits.

    Candidates are read from the database best first, a page at a time, until
    ``limit`` have passed and the next one scores lower than the last of them — so
    a search reads a few dozen rows rather than all of its candidates, and ties
    are still broken by path and line as if every candidate had been read.
    """
    ordered = sorted(scores, key=lambda c: -scores[c])
    page = max(2 * limit, PAGE)
    passed: list[tuple[float, Any]] = []
    start = 0
    while start < len(ordered):
        if len(passed) >= limit:
            kth = sorted((score for score, _ in passed), reverse=True)[limit - 1]
            if scores[ordered[start]] < kth:
                break
        batch = ordered[start : start + page]
        start += page
        rows = _rows(conn, workspace_id, batch)
        passed.extend(
            (scores[c], rows[c]) for c in batch if c in rows and _passes(rows[c], filters)
        )
    passed.sort(key=lambda item: (-item[0], item[1].path, item[1].line_start))
    return [_hit(row, score, query_terms) for score, row in passed[:limit]]


def _semantic(
    embedder: Embedder, text: str, block: Block, pool: int
) -> tuple[Matrix, list[tuple[int, float]]]:
    vector = embedder.embed([model_text(text)])[0]
    return vector, nearest(block, vector, pool)


def _spread(scores: Iterable[float]) -> tuple[float, float]:
    """Mean and standard deviation of a ranking's scores (deviation 1 when flat)."""
    values = np.fromiter(scores, dtype=np.float64)
    if len(values) == 0:
        return 0.0, 1.0
    deviation = float(values.std())
    return float(values.mean()), deviation if deviation > 1e-9 else 1.0


def _hit(row: Any, score: float, query_terms: Sequence[str]) -> Hit:
    return Hit(
        path=row.path,
        version=int(row.version),
        score=round(float(score), 6),
        line_start=int(row.line_start),
        line_end=int(row.line_end),
        snippet=snippet(row.text, query_terms),
        kind=row.kind,
        metadata=json.loads(row.meta),
        latest=row.version == row.newest,
    )


def similar(
    conn: Connection,
    workspace_id: str,
    *,
    source_chunks: Sequence[Any],
    source_text: str,
    exclude_file: str | None,
    limit: int,
    filters: Filters,
    lexical: LexicalIndex,
    vectors: VectorIndex,
    embedder: Embedder | None,
) -> tuple[str, list[Hit]]:
    """Files most like a text (or an indexed file's chunks), best chunk per file."""
    if embedder is not None:
        own = [v for v in (_vector_of(c, embedder.name) for c in source_chunks) if v is not None]
        if own:
            probe = normalise(np.mean(np.vstack(own), axis=0, keepdims=True))[0]
        else:
            probe = embedder.embed([model_text(source_text)])[0]
        ranked = vectors.top(conn, workspace_id, embedder.name, probe, CANDIDATES * 5)
        mode = "semantic"
    else:
        words = terms(source_text)[:24]
        ranked = lexical.search(conn, workspace_id, " ".join(words), CANDIDATES * 5)
        mode = "lexical"
    rows = _rows(conn, workspace_id, [cid for cid, _ in ranked])
    best: dict[str, tuple[float, Any]] = {}
    for chunk_id, score in ranked:
        row = rows.get(chunk_id)
        if row is None or row.file_id == exclude_file or not _passes(row, filters):
            continue
        if row.file_id not in best:
            best[row.file_id] = (score, row)
    ordered = sorted(best.values(), key=lambda item: -item[0])[:limit]
    query_terms = terms(source_text)[:24]
    return mode, [_hit(row, score, query_terms) for score, row in ordered]


def source_chunks(conn: Connection, file_id: str, version: int) -> list[Any]:
    return list(
        conn.execute(
            select(chunks.c.vector, chunks.c.model).where(
                chunks.c.file_id == file_id, chunks.c.version == version
            )
        )
    )


def counts(conn: Connection, workspace_id: str) -> dict[str, int]:
    """Indexed documents (file versions) and chunks of a workspace."""
    total, documents = conn.execute(
        select(
            func.count(),
            func.count(distinct(chunks.c.file_id + ":" + cast(chunks.c.version, String))),
        ).where(chunks.c.workspace_id == workspace_id)
    ).one()
    return {"documents": int(documents), "chunks": int(total)}

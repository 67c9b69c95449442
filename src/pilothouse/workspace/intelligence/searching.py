"""Hybrid search with citations, and "files like this one".

Two rankings feed a query: the lexical one (BM25 over an OR of the query's terms)
and the semantic one (cosine over the workspace's vector matrix). Their union is
re-scored: every candidate gets its exact cosine (lexical-only candidates too,
looked up in the matrix), plus a bonus of ``LEXICAL_WEIGHT`` times its BM25
score normalised to the best one. Meaning decides; shared words break near-ties.
Plain reciprocal-rank fusion at equal weights lets the noisy OR-of-words ranking
pull paraphrase queries down — on the labelled set in ``tests/data/search`` this
fusion never does worse than semantic alone (see ``tests/workspace/intelligence``).

Candidates are then checked against the live files (a deleted file's chunks never
show; a moved file shows under its new path) and the filters: path prefix, kind,
time, metadata, and whether older versions count (``include_history``).
"""

from __future__ import annotations

import json
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy import Connection, String, cast, distinct, func, select

from pilothouse.workspace.intelligence.embedders import Embedder, Matrix, model_text, normalise
from pilothouse.workspace.intelligence.lexical import LexicalIndex, terms
from pilothouse.workspace.intelligence.vectors import VectorIndex
from pilothouse.workspace.models import _Serialisable
from pilothouse.workspace.schema import chunks, file_versions, files

LEXICAL_WEIGHT = 0.05
CANDIDATES = 200
SNIPPET = 240
MODES = ("hybrid", "semantic", "lexical")


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
                chunks.c.vector,
                chunks.c.model,
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
    """``(mode actually used, hits)``; semantic modes fall back to lexical without a model."""
    used = mode if embedder is not None else "lexical"
    wanted_terms = terms(text)
    pool = max(CANDIDATES, limit * 20)
    lexical_scores: dict[int, float] = {}
    semantic_scores: dict[int, float] = {}
    query_vector: Matrix | None = None
    if used in ("hybrid", "lexical"):
        lexical_scores = dict(lexical.search(conn, workspace_id, text, pool))
    if used in ("hybrid", "semantic") and embedder is not None:
        query_vector = embedder.embed([model_text(text)])[0]
        semantic_scores = dict(vectors.top(conn, workspace_id, embedder.name, query_vector, pool))
    rows = _rows(conn, workspace_id, list({*lexical_scores, *semantic_scores}))
    best_lexical = max(lexical_scores.values(), default=0.0) or 1.0
    scored: list[tuple[float, Any]] = []
    for chunk_id, row in rows.items():
        if not _passes(row, filters):
            continue
        if used == "lexical":
            score = lexical_scores.get(chunk_id, 0.0)
        else:
            semantic = semantic_scores.get(chunk_id)
            if semantic is None and query_vector is not None:
                vector = _vector_of(row, embedder.name if embedder else None)
                semantic = float(vector @ query_vector) if vector is not None else 0.0
            score = semantic or 0.0
            if used == "hybrid":
                score += LEXICAL_WEIGHT * lexical_scores.get(chunk_id, 0.0) / best_lexical
        scored.append((score, row))
    scored.sort(key=lambda item: (-item[0], item[1].path, item[1].line_start))
    return used, [_hit(row, score, wanted_terms) for score, row in scored[:limit]]


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

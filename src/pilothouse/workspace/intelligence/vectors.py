"""One float32 matrix per workspace, in memory, scored exactly with numpy.

Exact search over a contiguous matrix is a single matrix-vector product: at 100k
chunks by 384 dimensions that is ~38 M multiply-adds, with no approximate-index
recall loss to explain. It is bound by memory, not arithmetic: one core reads the
154 MB of a 100k-row float32 matrix in ~16 ms. So from ``HALF_FROM`` rows on, when
PyTorch is installed (the local model needs it anyway), the block also keeps a
float16 copy, which torch's half-precision kernel scans in a third of that time.
That scan only picks candidates: every row whose half-precision score is within
``HALF_MARGIN`` of the k-th best is rescored in float32 with numpy, and those exact
scores decide. A half-precision score is within 1.3e-3 of the exact one for unit
vectors (inputs rounded to 11 bits, sums kept in float32, the result rounded to
float16), so a row of the true top k can never fall outside the margin of twice
that: the answer is the exact one. The matrix mirrors the ``chunks`` table
(vectors of the current model only). Before each search one indexed lookup —
the highest chunk id of the workspace — tells whether rows were added (by this
process or another); only those are loaded and appended. Rows deleted since
(re-indexed or purged versions) may linger in the matrix, which is harmless:
every candidate is re-read from the database, where they no longer exist. The
stale share is bounded by a full reload once more than ``RELOAD_AFTER`` rows
were appended, or when this process's indexer drops chunks.
"""

from __future__ import annotations

import functools
import importlib.util
import threading
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from pilothouse.workspace.intelligence.embedders import Matrix
from pilothouse.workspace.schema import chunks

RELOAD_AFTER = 50_000
HALF_FROM = 20_000  # rows; below this the float32 product alone is quick
HALF_MARGIN = 4e-3  # > 2 x the largest error of a half-precision score (1.3e-3)


@dataclass
class Block:
    ids: npt.NDArray[np.int64]
    matrix: Matrix
    max_id: int
    model: str
    appended: int = 0
    half: Any = None
    """A float16 torch copy of ``matrix`` for the candidate scan, made on first use."""

    def cosines(self, chunk_ids: Sequence[int], query: Matrix) -> dict[int, float]:
        """Exact cosines of the given chunks that are in the block (ids are ascending)."""
        if len(self.ids) == 0:
            return {}
        wanted = np.asarray(chunk_ids, dtype=np.int64)
        at = np.searchsorted(self.ids, wanted).clip(0, len(self.ids) - 1)
        found = self.ids[at] == wanted
        scores = self.matrix[at[found]] @ query.reshape(-1)
        return {int(c): float(v) for c, v in zip(wanted[found], scores, strict=True)}

    def candidates(self, query: Matrix, k: int) -> npt.NDArray[np.intp] | None:
        """Rows that may be among the ``k`` best (None: score them all exactly)."""
        if len(self.ids) < HALF_FROM or not _torch_available():
            return None
        import torch

        if self.half is None:
            self.half = torch.from_numpy(self.matrix.astype(np.float16))
        with torch.inference_mode():
            approx = (self.half @ torch.from_numpy(query.astype(np.float16))).float().numpy()
        kth = np.partition(approx, len(approx) - k)[len(approx) - k]
        return np.flatnonzero(approx >= kth - HALF_MARGIN)


class VectorIndex:
    def __init__(self) -> None:
        self._blocks: dict[str, Block] = {}
        self._lock = threading.Lock()

    def _top_id(self, conn: Connection, workspace_id: str) -> int:
        return int(
            conn.execute(
                select(func.coalesce(func.max(chunks.c.id), 0)).where(
                    chunks.c.workspace_id == workspace_id
                )
            ).scalar_one()
        )

    def _load(self, conn: Connection, workspace_id: str, model: str, after: int) -> Block:
        rows = conn.execute(
            select(chunks.c.id, chunks.c.vector)
            .where(
                chunks.c.workspace_id == workspace_id,
                chunks.c.model == model,
                chunks.c.vector.is_not(None),
                chunks.c.id > after,
            )
            .order_by(chunks.c.id)
        ).all()
        ids = np.fromiter((r.id for r in rows), dtype=np.int64, count=len(rows))
        if rows:
            matrix = np.frombuffer(b"".join(r.vector for r in rows), dtype=np.float32)
            matrix = matrix.reshape(len(rows), -1)
        else:
            matrix = np.zeros((0, 0), dtype=np.float32)
        return Block(ids, matrix, int(ids[-1]) if len(ids) else after, model)

    def matrix(self, conn: Connection, workspace_id: str, model: str) -> Block:
        """The up-to-date block of a workspace for ``model``."""
        top = self._top_id(conn, workspace_id)
        with self._lock:
            block = self._blocks.get(workspace_id)
            fresh_enough = (
                block is not None and block.model == model and block.appended < RELOAD_AFTER
            )
            if block is not None and fresh_enough:
                if block.max_id >= top:
                    return block
                extra = self._load(conn, workspace_id, model, block.max_id)
                if len(extra.ids) == 0:
                    matrix = block.matrix
                elif len(block.ids) == 0:
                    matrix = extra.matrix
                else:
                    matrix = np.vstack([block.matrix, extra.matrix])
                merged = Block(
                    np.concatenate([block.ids, extra.ids]),
                    matrix,
                    max(top, extra.max_id),
                    model,
                    block.appended + len(extra.ids),
                )
                self._blocks[workspace_id] = merged
                return merged
            block = self._load(conn, workspace_id, model, 0)
            block.max_id = max(block.max_id, top)
            self._blocks[workspace_id] = block
            return block

    def top(
        self, conn: Connection, workspace_id: str, model: str, query: Matrix, limit: int
    ) -> list[tuple[int, float]]:
        """``(chunk id, cosine)`` of the ``limit`` nearest chunks, best first."""
        return nearest(self.matrix(conn, workspace_id, model), query, limit)

    def forget(self, workspace_id: str | None = None) -> None:
        with self._lock:
            if workspace_id is None:
                self._blocks.clear()
            else:
                self._blocks.pop(workspace_id, None)


def nearest(block: Block, query: Matrix, limit: int) -> list[tuple[int, float]]:
    """``(chunk id, cosine)`` of the ``limit`` rows of ``block`` nearest ``query``, best first.

    Needs no database: a search computes it on a worker thread (numpy releases the
    GIL) while the lexical ranking runs.
    """
    if len(block.ids) == 0:
        return []
    query = query.reshape(-1)
    k = min(limit, len(block.ids))
    rows = block.candidates(query, k)
    scores = block.matrix @ query if rows is None else block.matrix[rows] @ query
    best = np.argpartition(-scores, k - 1)[:k]
    best = best[np.argsort(-scores[best])]
    if rows is not None:
        return [(int(block.ids[rows[i]]), float(scores[i])) for i in best]
    return [(int(block.ids[i]), float(scores[i])) for i in best]


@functools.cache
def _torch_available() -> bool:
    return importlib.util.find_spec("torch") is not None

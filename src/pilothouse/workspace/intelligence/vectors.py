"""One float32 matrix per workspace, in memory, scored exactly with numpy.

Exact search over a contiguous matrix is a single matrix-vector product: at 100k
chunks by 384 dimensions that is ~38 M multiply-adds, a few milliseconds, with no
approximate-index recall loss to explain. The matrix mirrors the ``chunks`` table
(vectors of the current model only); before each search it is brought up to date
cheaply — rows with ids above the highest loaded id are appended, and a full
reload happens only when rows disappeared (a purge or a re-index), detected by the
row count. That also picks up chunks indexed by other processes.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from pilothouse.workspace.intelligence.embedders import Matrix
from pilothouse.workspace.schema import chunks


@dataclass
class _Block:
    ids: npt.NDArray[np.int64]
    matrix: Matrix
    max_id: int
    model: str


class VectorIndex:
    def __init__(self) -> None:
        self._blocks: dict[str, _Block] = {}
        self._lock = threading.Lock()

    def _stats(self, conn: Connection, workspace_id: str, model: str) -> tuple[int, int]:
        count, top = conn.execute(
            select(func.count(), func.coalesce(func.max(chunks.c.id), 0)).where(
                chunks.c.workspace_id == workspace_id,
                chunks.c.model == model,
                chunks.c.vector.is_not(None),
            )
        ).one()
        return int(count), int(top)

    def _load(self, conn: Connection, workspace_id: str, model: str, after: int) -> _Block:
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
        return _Block(ids, matrix, int(ids[-1]) if len(ids) else after, model)

    def matrix(self, conn: Connection, workspace_id: str, model: str) -> _Block:
        """The up-to-date block of a workspace for ``model``."""
        count, top = self._stats(conn, workspace_id, model)
        with self._lock:
            block = self._blocks.get(workspace_id)
            if block is not None and block.model == model:
                if len(block.ids) == count and block.max_id == top:
                    return block
                if top > block.max_id:
                    fresh = self._load(conn, workspace_id, model, block.max_id)
                    if len(block.ids) + len(fresh.ids) == count:
                        merged = _Block(
                            np.concatenate([block.ids, fresh.ids]),
                            fresh.matrix
                            if len(block.ids) == 0
                            else np.vstack([block.matrix, fresh.matrix]),
                            fresh.max_id,
                            model,
                        )
                        self._blocks[workspace_id] = merged
                        return merged
            block = self._load(conn, workspace_id, model, 0)
            self._blocks[workspace_id] = block
            return block

    def top(
        self, conn: Connection, workspace_id: str, model: str, query: Matrix, limit: int
    ) -> list[tuple[int, float]]:
        """``(chunk id, cosine)`` of the ``limit`` nearest chunks, best first."""
        block = self.matrix(conn, workspace_id, model)
        if len(block.ids) == 0:
            return []
        scores = block.matrix @ query.reshape(-1)
        k = min(limit, len(scores))
        best = np.argpartition(-scores, k - 1)[:k]
        best = best[np.argsort(-scores[best])]
        return [(int(block.ids[i]), float(scores[i])) for i in best]

    def forget(self, workspace_id: str | None = None) -> None:
        with self._lock:
            if workspace_id is None:
                self._blocks.clear()
            else:
                self._blocks.pop(workspace_id, None)

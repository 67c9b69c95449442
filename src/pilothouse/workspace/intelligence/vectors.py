"""One float32 matrix per workspace, in memory, scored exactly with numpy.

Exact search over a contiguous matrix is a single matrix-vector product: at 100k
chunks by 384 dimensions that is ~38 M multiply-adds, a few milliseconds, with no
approximate-index recall loss to explain. The matrix mirrors the ``chunks`` table
(vectors of the current model only). Before each search one indexed lookup —
the highest chunk id of the workspace — tells whether rows were added (by this
process or another); only those are loaded and appended. Rows deleted since
(re-indexed or purged versions) may linger in the matrix, which is harmless:
every candidate is re-read from the database, where they no longer exist. The
stale share is bounded by a full reload once more than ``RELOAD_AFTER`` rows
were appended, or when this process's indexer drops chunks.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
from sqlalchemy import Connection, func, select

from pilothouse.workspace.intelligence.embedders import Matrix
from pilothouse.workspace.schema import chunks

RELOAD_AFTER = 50_000


@dataclass
class _Block:
    ids: npt.NDArray[np.int64]
    matrix: Matrix
    max_id: int
    model: str
    appended: int = 0


class VectorIndex:
    def __init__(self) -> None:
        self._blocks: dict[str, _Block] = {}
        self._lock = threading.Lock()

    def _top_id(self, conn: Connection, workspace_id: str) -> int:
        return int(
            conn.execute(
                select(func.coalesce(func.max(chunks.c.id), 0)).where(
                    chunks.c.workspace_id == workspace_id
                )
            ).scalar_one()
        )

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
                merged = _Block(
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

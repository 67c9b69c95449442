"""The intelligence of one service instance: its indexes, model and indexer.

One object wires the seams together for :class:`WorkspaceService`: the lexical
index for the database's dialect, the in-memory vector matrices, the embedder the
settings name (loaded lazily) behind the cache of recent query vectors, and the
:class:`~.indexing.Indexer` that feeds them. At start it also notices vectors made
by a different model than the one configured now and queues those workspaces for
re-indexing.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any

from sqlalchemy import Engine, select

from pilothouse.core.settings import IntelligenceSettings
from pilothouse.workspace import database
from pilothouse.workspace.blobs import BlobStore
from pilothouse.workspace.intelligence import embedders, indexing, lexical
from pilothouse.workspace.intelligence.embedders import Embedder
from pilothouse.workspace.intelligence.vectors import VectorIndex
from pilothouse.workspace.schema import chunks, index_queue

AUTO: Any = object()
"""Pass as ``embedder`` to use whatever the settings name."""


class Intelligence:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        settings: IntelligenceSettings,
        clock: Callable[[], datetime],
        embedder: Embedder | None = AUTO,
    ) -> None:
        self.engine = engine
        self.settings = settings
        chosen: Embedder | None = embedders.make(settings) if embedder is AUTO else embedder
        self.embedder: Embedder | None = (
            embedders.QueryCache(chosen, settings.query_cache)
            if chosen is not None and settings.query_cache > 0
            else chosen
        )
        self.lexical = lexical.for_dialect(engine.dialect.name)
        self.vectors = VectorIndex()
        self.indexer = indexing.Indexer(
            engine,
            blobs,
            self.lexical,
            self.embedder,
            clock,
            on_dropped=self.vectors.forget,
        )
        self._clock = clock

    @property
    def mode(self) -> str:
        return "hybrid" if self.embedder is not None else "lexical"

    @property
    def model(self) -> str | None:
        return self.embedder.name if self.embedder is not None else None

    def requeue_stale_models(self) -> int:
        """Queue every workspace whose vectors came from another model; returns how many."""
        if self.embedder is None:
            return 0
        with database.begin_write(self.engine) as conn:
            stale = [
                r[0]
                for r in conn.execute(
                    select(chunks.c.workspace_id)
                    .where(chunks.c.model.is_not(None), chunks.c.model != self.embedder.name)
                    .distinct()
                )
            ]
            for workspace_id in stale:
                pending = conn.execute(
                    select(index_queue.c.id).where(index_queue.c.workspace_id == workspace_id)
                ).first()
                if pending is None:
                    indexing.enqueue_live(conn, workspace_id, self._clock())
        return len(stale)

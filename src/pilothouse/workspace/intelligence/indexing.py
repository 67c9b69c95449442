"""The indexing queue and the worker that drains it.

Writes never wait for indexing. A file version written to a workspace with
intelligence on gets an ``index`` row in ``index_queue`` inside the write's own
transaction, so a crash can lose no work and a restart resumes where it stopped.
The :class:`Indexer` (a thread of ``pilothouse serve``; the CLI drains the queue
in-process before it searches) claims rows with a lease, reads the blob, sniffs
and chunks the text, embeds the chunks of the whole claim in one call (the
embedder batches them) and stores chunks, vectors and lexical entries in one
transaction — replacing whatever an earlier attempt left for the same version,
so a retried row is harmless.

Deletions need no work on the index: searches only return chunks of live files
(joining ``files``), and a moved file keeps its id. Purges queue a ``drop`` row
that removes the chunks for good.
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
from sqlalchemy import Connection, Engine, delete, func, insert, or_, select, update

from pilothouse.workspace import database
from pilothouse.workspace.blobs import BlobStore
from pilothouse.workspace.errors import NotFound
from pilothouse.workspace.intelligence import chunking, sniffing
from pilothouse.workspace.intelligence.embedders import (
    Embedder,
    EmbedderUnavailable,
    model_text,
)
from pilothouse.workspace.intelligence.lexical import LexicalIndex
from pilothouse.workspace.schema import chunks, files, index_queue

log = logging.getLogger(__name__)
LEASE_SECONDS = 300
MAX_ATTEMPTS = 5


def enqueue(
    conn: Connection,
    workspace_id: str,
    file_id: str,
    version: int,
    sha256: str | None,
    now: datetime,
    op: str = "index",
) -> None:
    conn.execute(
        insert(index_queue).values(
            workspace_id=workspace_id,
            file_id=file_id,
            version=version,
            sha256=sha256,
            op=op,
            enqueued_at=now,
        )
    )


def enqueue_live(conn: Connection, workspace_id: str, now: datetime) -> int:
    """Queue every live file's newest version (turning intelligence on, re-indexing)."""
    rows = conn.execute(
        select(files.c.id, files.c.version, files.c.sha256).where(
            files.c.workspace_id == workspace_id, files.c.deleted_at.is_(None)
        )
    ).all()
    for row in rows:
        enqueue(conn, workspace_id, row.id, int(row.version), row.sha256, now)
    return len(rows)


def depth(conn: Connection, workspace_id: str | None = None) -> int:
    stmt = (
        select(func.count()).select_from(index_queue).where(index_queue.c.attempts < MAX_ATTEMPTS)
    )
    if workspace_id is not None:
        stmt = stmt.where(index_queue.c.workspace_id == workspace_id)
    return int(conn.execute(stmt).scalar_one())


@dataclass(frozen=True)
class Prepared:
    """A version cut into chunks, ready to store."""

    row: Any
    kind: str
    pieces: list[chunking.Chunk]


class Indexer:
    def __init__(
        self,
        engine: Engine,
        blobs: BlobStore,
        lexical: LexicalIndex,
        embedder: Embedder | None,
        clock: Callable[[], datetime],
        *,
        on_indexed: Callable[[str], None] | None = None,
        on_dropped: Callable[[str], None] | None = None,
    ) -> None:
        self.engine = engine
        self.blobs = blobs
        self.lexical = lexical
        self.embedder = embedder
        self.now = clock
        self.on_indexed = on_indexed or (lambda _ws: None)
        self.on_dropped = on_dropped or (lambda _ws: None)
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    @property
    def model(self) -> str | None:
        return self.embedder.name if self.embedder else None

    def _claim(self, limit: int, workspace_id: str | None) -> list[Any]:
        now = self.now()
        with database.begin_write(self.engine) as conn:
            stmt = (
                select(index_queue)
                .where(
                    index_queue.c.attempts < MAX_ATTEMPTS,
                    or_(index_queue.c.lease_until.is_(None), index_queue.c.lease_until <= now),
                )
                .order_by(index_queue.c.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
            if workspace_id is not None:
                stmt = stmt.where(index_queue.c.workspace_id == workspace_id)
            rows = conn.execute(stmt).all()
            if rows:
                conn.execute(
                    update(index_queue)
                    .where(index_queue.c.id.in_([r.id for r in rows]))
                    .values(
                        lease_until=now + timedelta(seconds=LEASE_SECONDS),
                        attempts=index_queue.c.attempts + 1,
                    )
                )
            return list(rows)

    def _paths(self, rows: Sequence[Any]) -> dict[str, str]:
        ids = list({row.file_id for row in rows if row.op != "drop"})
        if not ids:
            return {}
        with database.begin_read(self.engine) as conn:
            return {
                r.id: r.path
                for r in conn.execute(select(files.c.id, files.c.path).where(files.c.id.in_(ids)))
            }

    def _prepare(self, row: Any, path: str) -> Prepared:
        if row.op == "drop" or row.sha256 is None:
            return Prepared(row, "", [])
        try:
            data = self.blobs.read(row.sha256)
        except NotFound:
            return Prepared(row, "", [])
        text = sniffing.decode(data)
        if text is None:
            return Prepared(row, "binary", [])
        kind = sniffing.kind_of(path, text)
        return Prepared(row, kind, chunking.chunk(text, kind))

    def _vectors(self, prepared: Sequence[Prepared]) -> list[bytes | None]:
        """One embedding call for the whole claim: the embedder batches and sorts by length."""
        texts = [model_text(p.text) for item in prepared for p in item.pieces]
        if not texts or self.embedder is None:
            return [None] * len(texts)
        try:
            matrix = np.ascontiguousarray(self.embedder.embed(texts), dtype=np.float32)
        except EmbedderUnavailable as e:
            log.warning("embedding failed, indexing lexically only: %s", e.message)
            return [None] * len(texts)
        return [row.tobytes() for row in matrix]

    def _store(self, prepared: Sequence[Prepared], vectors: list[bytes | None]) -> None:
        """Replace the chunks of every claimed version in one transaction.

        The rows are applied in queue order — a later row for the same version
        replaces an earlier one, a ``drop`` removes everything of its file, even
        chunks an earlier row of this claim would have added — but the database
        sees one delete, one multi-row insert and one FTS insert per claim.
        """
        now = self.now()
        model = self.model
        file_ids = list({item.row.file_id for item in prepared})
        with database.begin_write(self.engine) as conn:
            stored: dict[str, list[tuple[int, int]]] = {}
            for r in conn.execute(
                select(chunks.c.id, chunks.c.file_id, chunks.c.version).where(
                    chunks.c.file_id.in_(file_ids)
                )
            ):
                stored.setdefault(r.file_id, []).append((int(r.id), int(r.version)))
            doomed: list[int] = []
            dropped: set[str] = set()
            planned: dict[tuple[str, int], list[dict[str, Any]]] = {}
            position = 0
            for item in prepared:
                row = item.row
                drop = row.op == "drop"
                keep = []
                for chunk_id, version in stored.get(row.file_id, []):
                    if drop or version == row.version:
                        doomed.append(chunk_id)
                        dropped.add(row.workspace_id)
                    else:
                        keep.append((chunk_id, version))
                stored[row.file_id] = keep
                for key in [k for k in planned if k[0] == row.file_id]:
                    if drop or key[1] == row.version:
                        del planned[key]
                values = []
                for ordinal, piece in enumerate(item.pieces):
                    vector = vectors[position]
                    position += 1
                    values.append(
                        {
                            "workspace_id": row.workspace_id,
                            "file_id": row.file_id,
                            "version": row.version,
                            "kind": item.kind,
                            "ordinal": ordinal,
                            "line_start": piece.line_start,
                            "line_end": piece.line_end,
                            "text": piece.text,
                            "meta": json.dumps(piece.metadata, default=str),
                            "model": model if vector is not None else None,
                            "vector": vector,
                            "created_at": now,
                        }
                    )
                if values:
                    planned[(row.file_id, row.version)] = values
            for start in range(0, len(doomed), 500):
                batch = doomed[start : start + 500]
                self.lexical.remove(conn, batch)
                conn.execute(delete(chunks).where(chunks.c.id.in_(batch)))
            rows = [values for group in planned.values() for values in group]
            if rows:
                ids = conn.execute(
                    insert(chunks).returning(chunks.c.id, sort_by_parameter_order=True), rows
                ).scalars()
                self.lexical.add(
                    conn,
                    [
                        (int(i), v["workspace_id"], v["text"])
                        for i, v in zip(ids, rows, strict=True)
                    ],
                )
            conn.execute(
                delete(index_queue).where(index_queue.c.id.in_([item.row.id for item in prepared]))
            )
        for workspace_id in dropped:
            self.on_dropped(workspace_id)

    def run_once(self, *, limit: int = 64, workspace_id: str | None = None) -> int:
        """Index up to ``limit`` queued versions; returns how many rows were done."""
        rows = self._claim(limit, workspace_id)
        if not rows:
            return 0
        paths = self._paths(rows)
        prepared = [self._prepare(row, paths.get(row.file_id, "")) for row in rows]
        self._store(prepared, self._vectors(prepared))
        for workspace in {row.workspace_id for row in rows}:
            self.on_indexed(workspace)
        return len(rows)

    def drain(self, *, workspace_id: str | None = None, limit: int = 100_000) -> int:
        """Run until the queue (of one workspace) is empty or ``limit`` rows are done."""
        done = 0
        while done < limit:
            worked = self.run_once(workspace_id=workspace_id)
            if not worked:
                break
            done += worked
        return done

    # -- background -----------------------------------------------------------------

    def start(self, subscribe: Callable[[Callable[[Any], None]], Any], poll: float) -> Any:
        subscription = subscribe(
            lambda event: self._wake.set() if event.type == "file.written" else None
        )
        self._thread = threading.Thread(
            target=self._loop, args=(poll,), name="indexer", daemon=True
        )
        self._thread.start()
        return subscription

    def stop(self, timeout: float = 30.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._thread is not None:
            self._thread.join(timeout)

    def _loop(self, poll: float) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # fan-out boundary: a bad batch must not end the indexer
                log.exception("indexing round failed")
                worked = 0
            if not worked:
                self._wake.wait(poll)
                self._wake.clear()

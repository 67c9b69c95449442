"""Lexical search behind the ``LexicalIndex`` protocol.

SQLite: one FTS5 table per workspace (``porter unicode61`` tokenizer, so
"crashed" finds "crash"), with external content (the text stays in ``chunks``
only), ranked by BM25. One table per workspace rather than one with a workspace
column: filtering on an unindexed column reads every matching row's content to
throw most of it away, which at 100k chunks cost more than the ranking itself;
and BM25's word statistics then come from the workspace's own documents, not
from every tenant's. A query becomes an OR of its terms: a paraphrase shares
few words with its target, and requiring all of them would find nothing. That
same OR makes lexical ranking noisy for paraphrases, which is why hybrid search
weights it below the semantic ranking (:mod:`.searching`).

PostgreSQL: ``to_tsvector``/``websearch``-style OR query ranked by ``ts_rank``,
computed at query time (correct, unindexed; a GIN index comes with scale-out).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from typing import Any, Protocol

from sqlalchemy import Connection, select, text

from pilothouse.workspace.schema import FTS_COLUMNS, chunks, fts_table

TOKEN = re.compile(r"[^\W_]+", re.UNICODE)
_STOPWORDS = """
a an and are as at be but by for from has have in into is it its of on or that
the their then there these this to was were will with what which who why how
when after before our we you your i my me they them did does do not no so than
too very can
"""
STOPWORDS = frozenset(_STOPWORDS.split())
MAX_TERMS = 32


def terms(query: str) -> list[str]:
    """Distinct lowercase terms of a query, stopwords dropped, in order."""
    seen: list[str] = []
    for token in TOKEN.findall(query.lower()):
        if token not in STOPWORDS and token not in seen and len(token) <= 64:
            seen.append(token)
    return seen[:MAX_TERMS]


class LexicalIndex(Protocol):
    def add(self, conn: Connection, rows: Sequence[tuple[int, str, str]]) -> None:
        """Index ``(chunk id, workspace id, text)`` rows."""
        ...

    def remove(self, conn: Connection, chunk_ids: Sequence[int]) -> None: ...

    def search(
        self, conn: Connection, workspace_id: str, query: str, limit: int
    ) -> list[tuple[int, float]]:
        """``(chunk id, score)``, best first; higher is better."""
        ...


class SQLiteFTS:
    def add(self, conn: Connection, rows: Sequence[tuple[int, str, str]]) -> None:
        for workspace_id, group in _by_workspace(rows).items():
            table = fts_table(workspace_id)
            conn.execute(
                text(f"CREATE VIRTUAL TABLE IF NOT EXISTS {table} USING fts5({FTS_COLUMNS})")
            )
            conn.execute(
                text(f"INSERT INTO {table} (rowid, text) VALUES (:id, :t)"),
                [{"id": cid, "t": body} for cid, body in group],
            )

    def remove(self, conn: Connection, chunk_ids: Sequence[int]) -> None:
        """Unindex chunks that are still in ``chunks`` (the delete needs their text)."""
        for start in range(0, len(chunk_ids), 500):
            found = conn.execute(
                select(chunks.c.id, chunks.c.workspace_id, chunks.c.text).where(
                    chunks.c.id.in_(list(chunk_ids[start : start + 500]))
                )
            )
            for workspace_id, group in _by_workspace(found).items():
                table = fts_table(workspace_id)
                if _exists(conn, table):
                    conn.execute(
                        text(
                            f"INSERT INTO {table} ({table}, rowid, text) VALUES ('delete', :id, :t)"
                        ),
                        [{"id": cid, "t": body} for cid, body in group],
                    )

    def search(
        self, conn: Connection, workspace_id: str, query: str, limit: int
    ) -> list[tuple[int, float]]:
        wanted = terms(query)
        table = fts_table(workspace_id)
        if not wanted or not _exists(conn, table):
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in wanted)
        rows = conn.execute(
            text(
                f"SELECT rowid, bm25({table}) AS rank FROM {table} "
                f"WHERE {table} MATCH :match ORDER BY rank LIMIT :limit"
            ),
            {"match": match, "limit": limit},
        )
        return [(int(r.rowid), -float(r.rank)) for r in rows]


def _by_workspace(rows: Iterable[Any]) -> dict[str, list[tuple[int, str]]]:
    """``(chunk id, workspace id, text)`` rows grouped by workspace."""
    groups: dict[str, list[tuple[int, str]]] = {}
    for chunk_id, workspace_id, body in rows:
        groups.setdefault(workspace_id, []).append((int(chunk_id), body))
    return groups


def _exists(conn: Connection, table: str) -> bool:
    return (
        conn.execute(
            text("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = :n"), {"n": table}
        ).first()
        is not None
    )


class PostgresFullText:
    def add(self, conn: Connection, rows: Sequence[tuple[int, str, str]]) -> None:
        return None  # computed from chunks.text at query time

    def remove(self, conn: Connection, chunk_ids: Sequence[int]) -> None:
        return None

    def search(
        self, conn: Connection, workspace_id: str, query: str, limit: int
    ) -> list[tuple[int, float]]:
        wanted = terms(query)
        if not wanted:
            return []
        rows = conn.execute(
            text(
                "SELECT id, ts_rank(to_tsvector('english', text), q) AS rank "
                "FROM chunks, to_tsquery('english', :q) AS q "
                "WHERE workspace_id = :ws AND to_tsvector('english', text) @@ q "
                "ORDER BY rank DESC LIMIT :limit"
            ),
            {"q": " | ".join(wanted), "ws": workspace_id, "limit": limit},
        )
        return [(int(r.id), float(r.rank)) for r in rows]


def for_dialect(name: str) -> LexicalIndex:
    return SQLiteFTS() if name == "sqlite" else PostgresFullText()

"""Lexical search behind the ``LexicalIndex`` protocol.

SQLite: an FTS5 table (``porter unicode61`` tokenizer, so "crashed" finds
"crash") ranked by BM25. A query becomes an OR of its terms: a paraphrase shares
few words with its target, and requiring all of them would find nothing. That
same OR makes lexical ranking noisy for paraphrases, which is why hybrid search
weights it below the semantic ranking (:mod:`.searching`).

PostgreSQL: ``to_tsvector``/``websearch``-style OR query ranked by ``ts_rank``,
computed at query time (correct, unindexed; a GIN index comes with scale-out).
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import Protocol

from sqlalchemy import Connection, text

from pilothouse.workspace.schema import FTS_TABLE

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
        if rows:
            conn.execute(
                text(f"INSERT INTO {FTS_TABLE} (rowid, text, workspace_id) VALUES (:id, :t, :w)"),
                [{"id": cid, "w": ws, "t": body} for cid, ws, body in rows],
            )

    def remove(self, conn: Connection, chunk_ids: Sequence[int]) -> None:
        for start in range(0, len(chunk_ids), 500):
            batch = list(chunk_ids[start : start + 500])
            marks = ",".join(str(int(c)) for c in batch)
            conn.execute(text(f"DELETE FROM {FTS_TABLE} WHERE rowid IN ({marks})"))

    def search(
        self, conn: Connection, workspace_id: str, query: str, limit: int
    ) -> list[tuple[int, float]]:
        wanted = terms(query)
        if not wanted:
            return []
        match = " OR ".join('"' + t.replace('"', '""') + '"' for t in wanted)
        rows = conn.execute(
            text(
                f"SELECT rowid, bm25({FTS_TABLE}) AS rank FROM {FTS_TABLE} "
                f"WHERE {FTS_TABLE} MATCH :match AND workspace_id = :ws "
                "ORDER BY rank LIMIT :limit"
            ),
            {"match": match, "ws": workspace_id, "limit": limit},
        )
        return [(int(r.rowid), -float(r.rank)) for r in rows]


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

"""Intelligence: every text file indexed on write, searchable by meaning.

Pieces, each behind a seam with a local default:

- :mod:`.sniffing` decides whether bytes are text and what kind (yaml, json,
  markdown, log, code, text) from the content, with the extension as a hint;
- :mod:`.chunking` cuts text along its structure, keeping the source as written
  and every chunk's line range;
- :mod:`.lexical` is the ``LexicalIndex`` (SQLite FTS5 with BM25; PostgreSQL
  full-text search);
- :mod:`.embedders` is the ``Embedder`` (the bundled all-MiniLM-L6-v2, an
  OpenAI-compatible ``/v1/embeddings`` endpoint, or none);
- :mod:`.vectors` keeps one float32 matrix per workspace in memory and scores it
  exactly with numpy;
- :mod:`.indexing` drains the durable queue; :mod:`.searching` fuses rankings.
"""

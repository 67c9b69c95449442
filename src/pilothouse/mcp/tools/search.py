"""``search``: ask the workspace by meaning, with citations.

``query`` fuses semantic and lexical rankings (``mode`` hybrid, the default);
``similar`` finds the files most like a path or a text — what an agent uses to
find past deployments like the manifest in front of it. Without an embedding
model both say ``mode: "lexical"`` and still answer.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal

from pydantic import Field

from pilothouse.mcp import registry
from pilothouse.mcp.registry import Call, Reply
from pilothouse.mcp.wire import Arguments, TextList, TextMap, Version, WorkspaceRef

search = registry.tool(
    "search",
    title="Search",
    description="Hybrid semantic + lexical search over the workspace's text files; every hit "
    "cites path, version and line range.",
)

Hits = Field(10, ge=1, le=100, description="Hits to return (1-100).")
Prefix = Field(None, max_length=4096, description="Only files under this directory.")
Kinds: Any = Field(
    default_factory=list, description="yaml, json, markdown, log, code or text (any of)."
)


class QueryArgs(Arguments):
    workspace: WorkspaceRef
    query: str = Field(min_length=1, max_length=4000, description="What you look for, in words.")
    mode: Literal["hybrid", "semantic", "lexical"] = "hybrid"
    limit: int = Hits
    path_prefix: str | None = Prefix
    kinds: TextList = Kinds
    since: datetime | None = Field(None, description="Only versions written at or after.")
    until: datetime | None = Field(None, description="Only versions written before.")
    metadata: TextMap = Field(default_factory=dict, description="Chunk metadata to match.")
    include_history: bool = Field(False, description="Old versions count too.")


class SimilarArgs(Arguments):
    workspace: WorkspaceRef
    path: str | None = Field(None, max_length=4096, description="A file to find others like.")
    version: Version = None
    text: str | None = Field(None, max_length=200_000, description="Or a raw text instead.")
    limit: int = Hits
    path_prefix: str | None = Prefix
    kinds: TextList = Kinds
    include_history: bool = False


class WorkspaceArgs(Arguments):
    workspace: WorkspaceRef


@search.action("query", QueryArgs, read_only=True)
def query(call: Call, args: QueryArgs) -> Reply:
    """Chunks that answer a question, best first: path, version, lines, snippet, score."""
    return call.service.search(
        call.actor,
        args.workspace,
        args.query,
        mode=args.mode,
        limit=args.limit,
        path_prefix=args.path_prefix,
        kinds=args.kinds,
        since=args.since,
        until=args.until,
        metadata=args.metadata,
        include_history=args.include_history,
    ).to_dict()


@search.action("similar", SimilarArgs, read_only=True)
def similar(call: Call, args: SimilarArgs) -> Reply:
    """Files most like ``path`` (and ``version``) or ``text``, best chunk of each."""
    return call.service.search_similar(
        call.actor,
        args.workspace,
        path=args.path,
        version=args.version,
        text=args.text,
        limit=args.limit,
        path_prefix=args.path_prefix,
        kinds=args.kinds,
        include_history=args.include_history,
    ).to_dict()


@search.action("reindex", WorkspaceArgs, read_only=False, idempotent=True)
def reindex(call: Call, args: WorkspaceArgs) -> Reply:
    """Queue every live file for indexing again (admins)."""
    return {"queued": call.service.reindex(call.actor, args.workspace)}


@search.action("status", WorkspaceArgs, read_only=True)
def status(call: Call, args: WorkspaceArgs) -> Reply:
    """queue_depth, documents, chunks, model, mode of the workspace's index."""
    return call.service.search_status(call.actor, args.workspace)

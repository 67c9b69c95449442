"""Search quality on the labelled set in tests/data/search (63 paraphrased queries)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

DATA = Path(__file__).resolve().parents[2] / "data" / "search"


def _recall(service: Any, me: Any, mode: str, queries: list[dict[str, Any]]) -> tuple[float, float]:
    at1 = at5 = 0
    for item in queries:
        ranked: list[str] = []
        for hit in service.search(me, "ws", item["query"], mode=mode, limit=50).hits:
            name = hit.path.rsplit("/", 1)[1]
            if name not in ranked:
                ranked.append(name)
        relevant = set(item["relevant"])
        at1 += bool(relevant & set(ranked[:1]))
        at5 += bool(relevant & set(ranked[:5]))
    return at1 / len(queries), at5 / len(queries)


def test_hybrid_never_does_worse_than_semantic_and_beats_lexical(make_service: Any, minilm: Any):
    queries = yaml.safe_load((DATA / "queries.yaml").read_text())
    assert len(queries) >= 20
    service = make_service(minilm)
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    documents = sorted((DATA / "docs").iterdir())
    assert len(documents) >= 50
    for document in documents:
        service.write_file(me, "ws", f"/history/{document.name}", document.read_bytes())
    service.index_pending()
    lexical = _recall(service, me, "lexical", queries)
    semantic = _recall(service, me, "semantic", queries)
    hybrid = _recall(service, me, "hybrid", queries)
    print(f"recall@1/@5 lexical {lexical} semantic {semantic} hybrid {hybrid}")
    assert hybrid[0] >= semantic[0] and hybrid[1] >= semantic[1]
    assert hybrid[0] > lexical[0] and hybrid[1] > lexical[1]
    assert hybrid[1] >= 0.85

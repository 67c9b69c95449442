from __future__ import annotations

import json
from typing import Any

import pytest
from tests.fakes import embeddings as fake_embeddings

from pilothouse.workspace.intelligence.embedders import OpenAICompatible
from pilothouse.workspace.service import WorkspaceService

HISTORY = {
    "/history/ranker-oom.json": {
        "app": "ranker",
        "outcome": "failed",
        "reason": "OOMKilled: the container exceeded its 512Mi memory limit right after rollout",
    },
    "/history/checkout-ok.json": {
        "app": "checkout-api",
        "outcome": "succeeded",
        "reason": "routine rollout, all probes green",
    },
    "/reports/cert.md": "# Incident\n\nThe TLS certificate on the public ingress expired.\n",
}


def _seed(service: WorkspaceService) -> Any:
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    for path, body in HISTORY.items():
        data = body if isinstance(body, str) else json.dumps(body, indent=2)
        service.write_file(me, "ws", path, data.encode())
    return me


def test_without_a_model_search_is_lexical_and_says_so(make_service: Any):
    service = make_service(None)
    me = _seed(service)
    assert service.search_status(me, "ws")["queue_depth"] == 3
    service.index_pending("ws")
    result = service.search(me, "ws", "certificate expired")
    assert result.mode == "lexical"
    assert result.hits[0].path == "/reports/cert.md"
    assert "**certificate**" in result.hits[0].snippet
    assert (result.hits[0].line_start, result.hits[0].line_end) == (1, 3)


def test_semantic_search_finds_a_paraphrase_with_no_shared_words(make_service: Any, minilm: Any):
    service = make_service(minilm)
    me = _seed(service)
    service.index_pending()
    result = service.search(me, "ws", "pod ran out of RAM and was terminated", limit=3)
    assert result.mode == "hybrid"
    assert result.hits[0].path == "/history/ranker-oom.json"
    assert result.hits[0].metadata["app"] == "ranker"
    semantic = service.search(me, "ws", "pod ran out of RAM", mode="semantic", limit=1)
    assert semantic.hits[0].path == "/history/ranker-oom.json"


def test_deleted_files_leave_results_and_moved_ones_keep_their_new_path(
    make_service: Any, minilm: Any
):
    service = make_service(minilm)
    me = _seed(service)
    service.index_pending()
    service.delete_file(me, "ws", "/history/ranker-oom.json")
    hits = service.search(me, "ws", "OOMKilled memory limit").hits
    assert "/history/ranker-oom.json" not in [h.path for h in hits]
    service.move_file(me, "ws", "/reports/cert.md", "/reports/2026/tls.md")
    assert service.search(me, "ws", "certificate expired").hits[0].path == "/reports/2026/tls.md"
    service.purge_file(me, "ws", "/history/ranker-oom.json")
    service.index_pending()
    assert service.search_status(me, "ws")["documents"] == 2


def test_old_versions_are_searchable_only_when_asked(make_service: Any):
    service = make_service(None)
    me = _seed(service)
    service.write_file(me, "ws", "/reports/cert.md", b"# Incident\n\nresolved: renewed.\n")
    service.index_pending()
    assert service.search(me, "ws", "certificate").hits == ()
    old = service.search(me, "ws", "certificate", include_history=True).hits
    assert [(h.path, h.version, h.latest) for h in old] == [("/reports/cert.md", 1, False)]


def test_filters_by_path_kind_and_metadata(make_service: Any):
    service = make_service(None)
    me = _seed(service)
    service.index_pending()
    by_path = service.search(me, "ws", "rollout", path_prefix="/history/")
    assert {h.path for h in by_path.hits} == {
        "/history/ranker-oom.json",
        "/history/checkout-ok.json",
    }
    by_meta = service.search(me, "ws", "rollout", metadata={"outcome": "failed"})
    assert [h.path for h in by_meta.hits] == ["/history/ranker-oom.json"]
    assert service.search(me, "ws", "rollout", kinds=["markdown"]).hits == ()
    with pytest.raises(Exception) as bad:
        service.search(me, "ws", "x", kinds=["pdf"])
    assert getattr(bad.value, "code", "") == "invalid_argument"


def test_similar_finds_past_outcomes_like_a_new_manifest(make_service: Any, minilm: Any):
    service = make_service(minilm)
    me = _seed(service)
    service.index_pending()
    manifest = (
        "apiVersion: apps/v1\nkind: Deployment\nmetadata:\n  name: ranker\nspec:\n"
        "  template:\n    spec:\n      containers:\n      - name: ranker\n"
        "        resources:\n          limits:\n            memory: 512Mi\n"
    )
    result = service.search_similar(me, "ws", text=manifest, limit=2)
    assert result.hits[0].path == "/history/ranker-oom.json"
    by_path = service.search_similar(me, "ws", path="/history/ranker-oom.json")
    assert "/history/ranker-oom.json" not in [h.path for h in by_path.hits]


def test_the_queue_survives_a_restart(make_service: Any):
    first = make_service(None)
    _seed(first)
    first.close()
    second = make_service(None)
    me = second.local_actor()
    assert second.search_status(me, "ws")["queue_depth"] == 3
    assert second.index_pending() == 3
    assert second.search_status(me, "ws")["documents"] == 3


def test_a_new_model_triggers_reindexing(make_service: Any):
    seen: list[str] = []
    old = OpenAICompatible(
        "http://embed.test/v1", "old-model", None, transport=fake_embeddings.transport()
    )
    first = make_service(old)
    me = _seed(first)
    first.index_pending()
    first.close()
    new = OpenAICompatible(
        "http://embed.test/v1",
        "new-model",
        "k",
        transport=fake_embeddings.transport(model_seen=seen),
    )
    second = make_service(new)
    assert second.intelligence.requeue_stale_models() == 1
    second.index_pending()
    assert seen and set(seen) == {"new-model"}
    hits = second.search(me, "ws", "certificate expired ingress", mode="semantic").hits
    assert hits[0].path == "/reports/cert.md"


def test_a_failing_embedding_endpoint_degrades_to_lexical_indexing(make_service: Any):
    broken = OpenAICompatible(
        "http://embed.test/v1", "m", None, transport=fake_embeddings.transport(fail=True)
    )
    service = make_service(broken)
    me = _seed(service)
    service.index_pending()
    assert service.search_status(me, "ws")["chunks"] == 3
    assert (
        service.search(me, "ws", "certificate", mode="lexical").hits[0].path == "/reports/cert.md"
    )


def test_workspaces_with_intelligence_off_queue_nothing(make_service: Any):
    service = make_service(None)
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "quiet", intelligence=False)
    service.write_file(me, "quiet", "/a.txt", b"hello")
    assert service.search_status(me, "quiet")["queue_depth"] == 0
    service.update_workspace(me, "quiet", intelligence=True)
    assert service.search_status(me, "quiet")["queue_depth"] == 1

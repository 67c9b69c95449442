from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import pytest

from pilothouse.workspace.models import Actor
from pilothouse.workspace.service import WorkspaceService

pytestmark = pytest.mark.anyio

Call = Callable[..., Awaitable[dict[str, Any]]]
WS = "gitops-prod"


async def test_webhooks_are_created_rotated_listed_and_deleted(
    call: Call, service: WorkspaceService
) -> None:
    refused = await call("webhook", "create", workspace=WS, url="http://127.0.0.1:9/hook")
    assert refused["error"]["code"] == "invalid_argument"  # private targets are refused
    service.settings.server.allow_private_webhook_targets = True
    created = await call(
        "webhook",
        "create",
        workspace=WS,
        url="http://127.0.0.1:9/hook",
        event_types="file.*,lock.acquired",
    )
    assert created["event_types"] == ["file.*", "lock.acquired"]
    assert created["secret"].startswith("whsec_")
    rotated = await call("webhook", "rotate_secret", workspace=WS, webhook_id=created["id"])
    assert rotated["secret"] != created["secret"]
    listed = await call("webhook", "list", workspace=WS)
    assert [w["id"] for w in listed["webhooks"]] == [created["id"]]
    assert listed["webhooks"][0]["secret"] is None
    await call("webhook", "delete", workspace=WS, webhook_id=created["id"])
    assert (await call("webhook", "list", workspace=WS))["webhooks"] == []


async def test_download_url_is_signed_and_names_the_version(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    service.write_file(alice, WS, "/models/w.bin", b"weights")
    link = await call("download", "url", workspace=WS, path="/models/w.bin", ttl_seconds=60)
    assert link["version"] == 1
    assert "/download/" in link["url"]
    _info, stream = service.open_download(link["token"])
    with stream:
        assert stream.read() == b"weights"


async def test_import_refuses_private_sources_and_reports_status(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    refused = await call("import", "url", workspace=WS, url="http://10.1.2.3/x", path="/x")
    assert refused["error"]["code"] == "invalid_argument"
    missing = await call("import", "status", workspace=WS, import_id="imp_nope")
    assert missing["error"]["code"] == "not_found"


async def test_search_answers_lexically_and_reports_its_index(
    call: Call, service: WorkspaceService, alice: Actor
) -> None:
    service.write_file(alice, WS, "/reports/cert.md", b"# Incident\nTLS certificate expired\n")
    status = await call("search", "status", workspace=WS)
    assert status["queue_depth"] == 1
    service.intelligence.indexer.embedder = None  # lexical indexing: no model load here
    service.index_pending(WS)
    found = await call("search", "query", workspace=WS, query="certificate", mode="lexical")
    [hit] = found["hits"]
    assert (hit["path"], hit["line_start"], hit["line_end"]) == ("/reports/cert.md", 1, 2)
    assert "**certificate**" in hit["snippet"]
    bad = await call("search", "query", workspace=WS, query="x", kinds="pdf")
    assert bad["error"]["code"] == "invalid_argument"

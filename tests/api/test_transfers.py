"""Signed download links and URL imports, against real HTTP on loopback."""

from __future__ import annotations

import hashlib
import os
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx
import pytest

from pilothouse.workspace import sharelinks

WS = "/api/v1/workspaces/gitops-prod"
PAYLOAD = os.urandom(300_000)


@pytest.fixture
def source() -> Iterator[str]:
    """A file server: /weights.bin, /moved (redirect), /huge (too large), /missing (404)."""

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            if self.path == "/weights.bin":
                self.send_response(200)
                self.send_header("Content-Length", str(len(PAYLOAD)))
                self.end_headers()
                self.wfile.write(PAYLOAD)
            elif self.path == "/moved":
                self.send_response(302)
                self.send_header("Location", "/weights.bin")
                self.send_header("Content-Length", "0")
                self.end_headers()
            elif self.path == "/private":
                ok = self.headers.get("Authorization") == "Bearer s3cret"
                self.send_response(200 if ok else 401)
                self.send_header("Content-Length", "2" if ok else "0")
                self.end_headers()
                if ok:
                    self.wfile.write(b"ok")
            elif self.path == "/huge":
                self.send_response(200)
                self.send_header("Content-Length", str(50 * 1024 * 1024))
                self.end_headers()
            else:
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


def test_signed_link_downloads_without_a_key_and_honours_range(api: httpx.Client, live: Any):
    api.put(f"{WS}/files/models/v1.bin", content=PAYLOAD)
    api.put(f"{WS}/files/models/v1.bin", content=b"newer")
    link = api.post(f"{WS}/downloads", json={"path": "/models/v1.bin", "version": 1}).json()
    assert link["url"].startswith(live.url + "/download/")
    with httpx.Client() as anonymous:
        whole = anonymous.get(link["url"])
        assert whole.status_code == 200 and whole.content == PAYLOAD
        part = anonymous.get(link["url"], headers={"Range": "bytes=0-9"})
        assert part.status_code == 206 and part.content == PAYLOAD[:10]
        forged = anonymous.get(link["url"][:-1] + ("0" if link["url"][-1] != "0" else "1"))
        assert forged.status_code == 403 and forged.json()["error"]["code"] == "forbidden"
        live.clock.advance(3601)
        expired = anonymous.get(link["url"])
        assert expired.status_code == 403
        assert "expired" in expired.json()["error"]["message"]


def test_download_links_are_audited(api: httpx.Client):
    api.put(f"{WS}/files/a.bin", content=b"x")
    api.post(f"{WS}/downloads", json={"path": "/a.bin", "ttl_seconds": 60})
    actions = [e["action"] for e in api.get(f"{WS}/audit").json()]
    assert "download.link_create" in actions


def _wait_for_import(client: httpx.Client, job: dict[str, Any]) -> dict[str, Any]:
    cursor = 0
    for _ in range(20):  # each long-poll waits at most 5 s: bounded
        events = client.get(
            "/api/v1/workspaces/ws/events",
            params={"after": cursor, "type": ["import.succeeded", "import.failed"], "wait": 5},
        ).json()
        cursor = events["cursor"]
        if any(e["data"]["import_id"] == job["id"] for e in events["events"]):
            break
    status: dict[str, Any] = client.get(f"/api/v1/workspaces/ws/imports/{job['id']}").json()
    return status


def test_import_fetches_a_url_into_a_new_version_following_redirects(
    live_with_workers: Any, source: str
):
    with live_with_workers.client() as client:
        client.post("/api/v1/workspaces", json={"name": "ws"})
        job = client.post(
            "/api/v1/workspaces/ws/imports", json={"url": f"{source}/moved", "path": "/w.bin"}
        )
        assert job.status_code == 202 and job.json()["status"] == "queued"
        done = _wait_for_import(client, job.json())
        assert done["status"] == "succeeded", done
        assert done["version"] == 1 and done["bytes_done"] == len(PAYLOAD)
        stat = client.get("/api/v1/workspaces/ws/stat/w.bin").json()
        assert stat["sha256"] == hashlib.sha256(PAYLOAD).hexdigest()
        assert stat["metadata"]["source_url"] == f"{source}/moved"


@pytest.mark.parametrize(
    ("path", "code"),
    [("/missing", "import_failed"), ("/huge", "too_large"), ("/private", "import_failed")],
)
def test_failed_imports_report_a_code_and_store_nothing(
    live_with_workers: Any, source: str, path: str, code: str
):
    with live_with_workers.client() as client:
        client.post("/api/v1/workspaces", json={"name": "ws"})
        job = client.post(
            "/api/v1/workspaces/ws/imports", json={"url": source + path, "path": "/x.bin"}
        ).json()
        done = _wait_for_import(client, job)
        assert (done["status"], done["error_code"]) == ("failed", code), done
        assert client.get("/api/v1/workspaces/ws/stat/x.bin").status_code == 404


def test_a_bearer_token_is_passed_to_the_source(live_with_workers: Any, source: str):
    with live_with_workers.client() as client:
        client.post("/api/v1/workspaces", json={"name": "ws"})
        job = client.post(
            "/api/v1/workspaces/ws/imports",
            json={"url": f"{source}/private", "path": "/p.txt", "bearer_token": "s3cret"},
        ).json()
        assert _wait_for_import(client, job)["status"] == "succeeded"
        assert client.get("/api/v1/workspaces/ws/files/p.txt").content == b"ok"


def test_imports_from_private_addresses_are_refused_by_default(api: httpx.Client):
    refused = api.post(f"{WS}/imports", json={"url": "http://127.0.0.1:9/x", "path": "/x"})
    assert refused.status_code == 422
    assert refused.json()["error"]["code"] == "invalid_argument"


@pytest.mark.parametrize(
    ("share", "direct"),
    [
        (
            "https://drive.google.com/file/d/1AbC_d-9/view?usp=sharing",
            "https://drive.google.com/uc?export=download&id=1AbC_d-9",
        ),
        (
            "https://drive.google.com/open?id=XYZ",
            "https://drive.google.com/uc?export=download&id=XYZ",
        ),
        (
            "https://www.dropbox.com/s/abc123/model.bin?dl=0",
            "https://www.dropbox.com/s/abc123/model.bin?dl=1",
        ),
        (
            "https://www.dropbox.com/scl/fi/xyz/data.csv?rlkey=k&dl=0",
            "https://www.dropbox.com/scl/fi/xyz/data.csv?rlkey=k&dl=1",
        ),
        (
            "https://onedrive.live.com/redir?resid=ABC!123&authkey=!K",
            "https://onedrive.live.com/download?resid=ABC!123&authkey=!K",
        ),
        (
            "https://onedrive.live.com/?cid=C1&resid=R1",
            "https://onedrive.live.com/download?cid=C1&resid=R1",
        ),
        (
            "https://contoso.sharepoint.com/:u:/g/EabC?e=x",
            "https://contoso.sharepoint.com/:u:/g/EabC?e=x&download=1",
        ),
        ("https://app.box.com/s/abc123xyz", "https://app.box.com/shared/static/abc123xyz"),
        ("https://example.com/file.bin", "https://example.com/file.bin"),
    ],
)
def test_share_links_are_rewritten_to_direct_downloads(share: str, direct: str):
    assert sharelinks.direct(share) == direct

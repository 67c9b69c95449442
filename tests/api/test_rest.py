from __future__ import annotations

import hashlib
import json
import os
import socket
import threading
from typing import Any

import httpx
import pytest

WS = "/api/v1/workspaces/gitops-prod"


def _error(response: httpx.Response) -> dict[str, Any]:
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"code", "message", "details"}
    return body


def test_healthz_needs_no_key_and_everything_else_does(live: Any):
    with live.client("") as anonymous:
        assert anonymous.get("/healthz").json()["status"] == "ok"
        for method, path in [
            ("GET", "/api/v1/workspaces"),
            ("GET", "/metrics"),
            ("PUT", f"{WS}/files/x"),
        ]:
            response = anonymous.request(method, path)
            assert response.status_code == 401
            assert _error(response)["code"] == "unauthenticated"
            assert response.headers["www-authenticate"] == "Bearer"


def test_malformed_and_unknown_keys_are_refused(live: Any):
    for key in ["phk_unknown", "not-a-key"]:
        with live.client(key) as client:
            response = client.get("/api/v1/workspaces")
            assert response.status_code == 401
    with httpx.Client(base_url=live.url, headers={"Authorization": "Basic abc"}) as client:
        assert _error(client.get("/api/v1/workspaces"))["code"] == "unauthenticated"


def test_upload_and_download_stream_byte_for_byte_with_ranges(api: httpx.Client):
    data = os.urandom(3 * 1024 * 1024 + 17)

    def chunks():
        for start in range(0, len(data), 65536):
            yield data[start : start + 65536]

    written = api.put(f"{WS}/files/artifacts/model.bin", content=chunks()).json()
    assert written["size"] == len(data)
    assert written["sha256"] == hashlib.sha256(data).hexdigest()
    with api.stream("GET", f"{WS}/files/artifacts/model.bin") as response:
        assert response.headers["etag"] == f'"{written["sha256"]}"'
        assert b"".join(response.iter_bytes()) == data
    part = api.get(f"{WS}/files/artifacts/model.bin", headers={"Range": "bytes=10-19"})
    assert part.status_code == 206
    assert part.content == data[10:20]
    assert part.headers["content-range"] == f"bytes 10-19/{len(data)}"
    tail = api.get(f"{WS}/files/artifacts/model.bin", headers={"Range": "bytes=-5"})
    assert tail.content == data[-5:]
    beyond = api.get(f"{WS}/files/artifacts/model.bin", headers={"Range": f"bytes={len(data)}-"})
    assert beyond.status_code == 416
    assert _error(beyond)["code"] == "range_not_satisfiable"


def test_status_json_is_stored_exactly_as_sent(api: httpx.Client):
    text = b'{"status": "succeeded",   "findings": []}\n'
    api.put(f"{WS}/files/status/validated.json", content=text)
    assert api.get(f"{WS}/files/status/validated.json").content == text


def test_domain_errors_map_to_statuses_with_stable_codes(api: httpx.Client):
    api.put(f"{WS}/files/a.json", content=b"1")
    cases = [
        (api.get(f"{WS}/files/missing.json"), 404, "not_found"),
        (
            api.put(f"{WS}/files/a.json", params={"if_version": 7}, content=b"2"),
            409,
            "version_conflict",
        ),
        (api.put(f"{WS}/files/bad%00name", content=b"2"), 422, "invalid_path"),
        (
            api.post(f"{WS}/locks", json={"path": "/a.json", "ttl_seconds": 0}),
            422,
            "invalid_argument",
        ),
        (api.get("/api/v1/workspaces/nope"), 404, "not_found"),
        (api.post("/api/v1/workspaces", json={"name": "gitops-prod"}), 409, "conflict"),
        (
            api.post(f"{WS}/files:move", json={"source": "/a.json", "targ": "/b"}),
            422,
            "invalid_argument",
        ),
        (
            api.post(
                f"{WS}/files:move",
                content=b"{not json",
                headers={"content-type": "application/json"},
            ),
            422,
            "invalid_argument",
        ),
        (api.delete("/api/v1/workspaces"), 405, "method_not_allowed"),
    ]
    for response, status, code in cases:
        assert (response.status_code, _error(response)["code"]) == (status, code), response.text


def test_conflicting_lock_is_423_naming_holder_and_expiry(api: httpx.Client):
    grant = api.post(f"{WS}/locks", json={"path": "/status/", "scope": "tree"}).json()
    blocked = api.post(f"{WS}/locks", json={"path": "/status/deployed.json"})
    assert blocked.status_code == 423
    error = _error(blocked)
    assert error["code"] == "lock_held"
    assert error["details"]["lock_id"] == grant["lock_id"]
    assert error["details"]["expires_at"] == grant["expires_at"]
    wrong = api.post(f"{WS}/locks/{grant['lock_id']}/release", json={"token": "phl_x"})
    assert _error(wrong)["code"] == "lock_not_held"
    released = api.post(f"{WS}/locks/{grant['lock_id']}/release", json={"token": grant["token"]})
    assert released.status_code == 200


def test_oversized_bodies_get_413_and_store_nothing(api: httpx.Client, live: Any):
    big_json = {"name": "x" * 70_000}
    response = api.post("/api/v1/workspaces", json=big_json)
    assert response.status_code == 413 and _error(response)["code"] == "too_large"
    limit = live.service.limits.max_file_bytes

    def endless():
        block = b"\0" * 1024 * 1024
        for _ in range(limit // len(block) + 2):
            yield block

    chunked = api.put(f"{WS}/files/huge.bin", content=endless())
    assert chunked.status_code == 413 and _error(chunked)["code"] == "too_large"
    host, port = live.url.removeprefix("http://").split(":")
    with socket.create_connection((host, int(port)), timeout=10) as raw:
        raw.sendall(
            f"PUT {WS}/files/huge.bin HTTP/1.1\r\nHost: x\r\n"
            f"Authorization: Bearer {live.admin_key}\r\n"
            f"Content-Length: {limit + 1}\r\nExpect: 100-continue\r\n\r\n".encode()
        )
        head = raw.recv(4096).decode()
    assert head.startswith("HTTP/1.1 413"), head  # refused before a byte of the body
    assert api.get(f"{WS}/stat/huge.bin").status_code == 404


def test_auth_matrix_viewer_read_scope_expired_and_revoked_keys(api: httpx.Client, live: Any):
    api.post(f"{WS}/agents", json={"name": "watcher", "role": "viewer"})
    api.post(f"{WS}/agents", json={"name": "reader", "role": "member"})
    viewer = api.post(f"{WS}/apikeys", json={"principal": "watcher", "scope": "write"}).json()
    reader = api.post(f"{WS}/apikeys", json={"principal": "reader", "scope": "read"}).json()
    expired = api.post(
        f"{WS}/apikeys",
        json={"principal": "reader", "scope": "write", "expires_at": "2000-01-01T00:00:00Z"},
    )
    assert _error(expired)["code"] == "invalid_argument"
    with live.client(viewer["key"]) as client:
        assert client.get(f"{WS}/files").status_code == 200
        assert _error(client.put(f"{WS}/files/x", content=b"1"))["code"] == "forbidden"
    with live.client(reader["key"]) as client:
        assert client.get(f"{WS}/files").status_code == 200
        denied = client.put(f"{WS}/files/x", content=b"1")
        assert denied.status_code == 403 and _error(denied)["details"]["required_scope"] == "write"
    api.delete(f"{WS}/apikeys/{reader['id']}")
    with live.client(reader["key"]) as client:
        assert _error(client.get(f"{WS}/files"))["code"] == "unauthenticated"


def test_audit_names_the_key_principal_and_interface(api: httpx.Client):
    api.put(f"{WS}/files/a", content=b"1", headers={"X-Request-ID": "trace-42"})
    entry = api.get(f"{WS}/audit", params={"action": "file.write"}).json()[-1]
    assert entry["interface"] == "rest"
    assert entry["request_id"] == "trace-42"
    assert entry["api_key_id"].startswith("key_")
    assert api.get(f"{WS}/audit/verify").json()["ok"] is True


def test_long_poll_returns_when_another_client_writes(api: httpx.Client, live: Any):
    cursor = api.get(f"{WS}/events").json()["cursor"]
    seen: dict[str, Any] = {}

    def poll() -> None:
        with live.client() as client:
            seen.update(client.get(f"{WS}/events", params={"after": cursor, "wait": 10}).json())

    waiter = threading.Thread(target=poll)
    waiter.start()
    api.put(f"{WS}/files/late.json", content=b"{}")
    waiter.join(timeout=15)
    assert [e["path"] for e in seen["events"]] == ["/late.json"]


def test_sse_stream_replays_after_the_cursor_then_follows(api: httpx.Client, live: Any):
    api.put(f"{WS}/files/one", content=b"1")
    first = api.get(f"{WS}/events").json()["events"][-1]["cursor"]
    received: list[dict[str, Any]] = []
    with (
        live.client() as client,
        client.stream(
            "GET", f"{WS}/events/stream", headers={"Last-Event-ID": str(first - 1)}
        ) as stream,
    ):
        writer = threading.Timer(0, lambda: api.put(f"{WS}/files/two", content=b"2"))
        started = False
        for line in stream.iter_lines():
            if line.startswith("data:"):
                received.append(json.loads(line[5:]))
                if not started:
                    writer.start()
                    started = True
                if len(received) == 2:
                    break
    writer.join(timeout=5)
    assert [e["path"] for e in received] == ["/one", "/two"]
    assert received[0]["cursor"] == first


def test_metrics_count_requests_by_route_template(api: httpx.Client):
    api.get(f"{WS}/files")
    text = api.get("/metrics").text
    assert 'route="/api/v1/workspaces/{workspace}/files"' in text


def test_responses_carry_a_request_id(api: httpx.Client):
    assert api.get("/healthz").headers["x-request-id"].startswith("req_")
    echoed = api.get("/healthz", headers={"X-Request-ID": "abc-1"})
    assert echoed.headers["x-request-id"] == "abc-1"


@pytest.mark.parametrize("path", ["../../etc/passwd", "a/../../b", "%2e%2e/x"])
def test_traversal_through_the_url_never_escapes(api: httpx.Client, path: str):
    response = api.put(f"{WS}/files/{path}", content=b"x")
    assert response.status_code in (404, 422)
    assert api.get(f"{WS}/files", params={"recursive": True}).json()["entries"] == []


def test_an_agent_sets_up_a_workspace_and_hands_it_to_a_human(live: Any):
    with live.client() as admin:
        assert admin.post("/api/v1/principals", json={"name": "bootstrapper", "kind": "agent"})
        assert admin.post("/api/v1/principals", json={"name": "dana"}).status_code == 201
        agent_key = admin.post(
            "/api/v1/principals/bootstrapper/apikeys", json={"scope": "admin"}
        ).json()["key"]
        human_key = admin.post("/api/v1/principals/dana/apikeys", json={"scope": "admin"}).json()[
            "key"
        ]
        names = [p["name"] for p in admin.get("/api/v1/principals").json()]
        assert {"alice", "bootstrapper", "dana"} <= set(names)
    with live.client(agent_key) as agent:
        assert agent.post("/api/v1/workspaces", json={"name": "ml-prod"}).status_code == 201
        token = agent.post("/api/v1/workspaces/ml-prod/transfers").json()["token"]
        denied = agent.get("/api/v1/principals")
        assert denied.status_code == 403
    with live.client(human_key) as human:
        claimed = human.post("/api/v1/ownership/claim", json={"token": token})
        assert claimed.status_code == 200 and claimed.json()["state"] == "claimed"
        roles = {
            m["name"]: m["role"] for m in human.get("/api/v1/workspaces/ml-prod/members").json()
        }
        assert roles == {"dana": "owner", "bootstrapper": "admin"}
        again = human.post("/api/v1/ownership/claim", json={"token": token})
        assert again.status_code == 409
        restricted = human.post(
            "/api/v1/workspaces/ml-prod/apikeys", json={"principal": "dana", "scope": "read"}
        ).json()["key"]
    with live.client(restricted) as narrow:
        minted = narrow.post("/api/v1/principals/me/apikeys", json={"scope": "read"})
        assert minted.status_code == 403

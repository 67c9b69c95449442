"""Webhooks against a real receiver on loopback: signatures, retries, restarts."""

from __future__ import annotations

import hashlib
import hmac
import json
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from pilothouse.core.clock import ManualClock
from pilothouse.core.settings import Settings
from pilothouse.workspace.dispatch import WebhookDispatcher
from pilothouse.workspace.service import WorkspaceService


@dataclass
class Receiver:
    url: str
    fail_first: int = 0
    requests: list[dict[str, Any]] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(url="")

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers["Content-Length"]))
            state.requests.append({"headers": dict(self.headers), "body": body})
            failing = len(state.requests) <= state.fail_first
            self.send_response(500 if failing else 204)
            self.send_header("Content-Length", "0")
            self.end_headers()
            if not failing:
                state.arrived.set()

        def log_message(self, *_args: object) -> None:
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    state.url = f"http://127.0.0.1:{server.server_address[1]}/hook"
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield state
    server.shutdown()
    server.server_close()


def _settings(home: Path, *, allow_private: bool = True) -> Settings:
    return Settings(
        home=home,
        server={"allow_private_webhook_targets": allow_private},
        webhooks={"base_delay_seconds": 30, "timeout_seconds": 5, "max_attempts": 3},
    )


def _signature_ok(secret: str, request: dict[str, Any]) -> bool:
    expected = "sha256=" + hmac.new(secret.encode(), request["body"], hashlib.sha256).hexdigest()
    return hmac.compare_digest(expected, request["headers"]["X-Pilothouse-Signature"])


def test_delivery_is_signed_and_retried_after_500s_with_the_same_id(
    tmp_path: Path, receiver: Receiver
):
    receiver.fail_first = 2
    clock = ManualClock()
    service = WorkspaceService(_settings(tmp_path / "home"), clock=clock)
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "gitops-prod")
    hook = service.create_webhook(me, "gitops-prod", receiver.url, event_types=["file.*"])
    service.write_file(me, "gitops-prod", "/status/validated.json", b'{"status":"succeeded"}')
    service.acquire_lock(me, "gitops-prod", "/status/")  # filtered out: not a file event
    dispatcher = WebhookDispatcher(service)
    try:
        assert dispatcher.run_once() == 1
        assert dispatcher.run_once() == 0  # the retry is not due yet
        clock.advance(40)
        assert dispatcher.run_once() == 1
        clock.advance(100)
        assert dispatcher.run_once() == 1
    finally:
        dispatcher.stop()
    assert len(receiver.requests) == 3
    ids = {r["headers"]["X-Pilothouse-Delivery"] for r in receiver.requests}
    assert len(ids) == 1
    assert all(_signature_ok(hook.secret or "", r) for r in receiver.requests)
    body = json.loads(receiver.requests[-1]["body"])
    assert body["event"]["type"] == "file.written"
    assert body["event"]["path"] == "/status/validated.json"
    assert receiver.requests[-1]["headers"]["X-Pilothouse-Event"] == "file.written"
    [log] = service.list_deliveries(me, "gitops-prod")
    assert (log.status, log.attempts, log.last_status_code) == ("delivered", 3, 204)
    service.close()


def test_a_delivery_that_keeps_failing_is_marked_failed(tmp_path: Path, receiver: Receiver):
    receiver.fail_first = 100
    clock = ManualClock()
    service = WorkspaceService(_settings(tmp_path / "home"), clock=clock)
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    service.create_webhook(me, "ws", receiver.url, event_types=["file.written"])
    service.write_file(me, "ws", "/a", b"1")
    dispatcher = WebhookDispatcher(service)
    for _ in range(5):
        dispatcher.run_once()
        clock.advance(3600)
    dispatcher.stop()
    [log] = service.list_deliveries(me, "ws")
    assert (log.status, log.attempts, log.last_status_code) == ("failed", 3, 500)
    service.close()


def test_pending_deliveries_survive_a_restart(tmp_path: Path, receiver: Receiver):
    receiver.fail_first = 1
    clock = ManualClock()
    home = tmp_path / "home"
    first = WorkspaceService(_settings(home), clock=clock)
    first.initialize("alice")
    me = first.local_actor()
    first.create_workspace(me, "ws")
    hook = first.create_webhook(me, "ws", receiver.url, event_types=["file.*"])
    first.write_file(me, "ws", "/a", b"1")
    dispatcher = WebhookDispatcher(first)
    dispatcher.run_once()
    dispatcher.stop()
    first.close()  # the server goes away with a delivery still pending

    clock.advance(3600)
    second = WorkspaceService(_settings(home), clock=clock)
    restarted = WebhookDispatcher(second)
    assert restarted.run_once() == 1
    restarted.stop()
    assert [r["headers"]["X-Pilothouse-Delivery"] for r in receiver.requests] == [
        receiver.requests[0]["headers"]["X-Pilothouse-Delivery"]
    ] * 2
    assert _signature_ok(hook.secret or "", receiver.requests[-1])
    [log] = second.list_deliveries(second.local_actor(), "ws")
    assert log.status == "delivered"
    second.close()


def test_private_targets_are_refused_unless_allowed(tmp_path: Path, receiver: Receiver):
    service = WorkspaceService(_settings(tmp_path / "home", allow_private=False))
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    for url in [receiver.url, "http://169.254.169.254/latest", "http://10.0.0.1/x", "ftp://x/y"]:
        with pytest.raises(Exception) as refused:
            service.create_webhook(me, "ws", url)
        assert getattr(refused.value, "code", None) == "invalid_argument"
    service.close()


def test_rotated_secret_signs_later_deliveries(tmp_path: Path, receiver: Receiver):
    service = WorkspaceService(_settings(tmp_path / "home"))
    service.initialize("alice")
    me = service.local_actor()
    service.create_workspace(me, "ws")
    hook = service.create_webhook(me, "ws", receiver.url, path_glob="/status/*")
    rotated = service.rotate_webhook_secret(me, "ws", hook.id)
    assert rotated.secret and rotated.secret != hook.secret
    service.write_file(me, "ws", "/elsewhere.txt", b"1")  # outside the glob
    service.write_file(me, "ws", "/status/x.json", b"1")
    dispatcher = WebhookDispatcher(service)
    assert dispatcher.run_once() == 1
    dispatcher.stop()
    assert _signature_ok(rotated.secret, receiver.requests[0])
    assert not _signature_ok(hook.secret or "", receiver.requests[0])
    service.close()


def test_webhooks_over_rest_with_the_dispatcher_running(live_with_workers: Any, receiver: Receiver):
    with live_with_workers.client() as api:
        api.post("/api/v1/workspaces", json={"name": "ws"})
        created = api.post(
            "/api/v1/workspaces/ws/webhooks",
            json={"url": receiver.url, "event_types": ["file.written"]},
        )
        assert created.status_code == 201
        hook = created.json()
        assert hook["secret"].startswith("whsec_")
        assert "secret" not in api.get("/api/v1/workspaces/ws/webhooks").json()[0] or (
            api.get("/api/v1/workspaces/ws/webhooks").json()[0]["secret"] is None
        )
        api.put("/api/v1/workspaces/ws/files/status/deployed.json", content=b"{}")
        assert receiver.arrived.wait(timeout=10)
        assert _signature_ok(hook["secret"], receiver.requests[0])
        # the receiver has the request before the dispatcher records the answer: poll (bounded)
        deadline = time.monotonic() + 10
        while (log := api.get("/api/v1/workspaces/ws/deliveries").json())[0][
            "status"
        ] == "pending" and time.monotonic() < deadline:
            threading.Event().wait(0.05)
        assert log[0]["status"] == "delivered"
        metrics = api.get("/metrics").text
        assert 'pilothouse_webhook_deliveries_total{outcome="delivered"} 1.0' in metrics

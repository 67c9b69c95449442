"""Delivering webhooks: claim due outbox rows, POST them signed, record outcomes.

A :class:`WebhookDispatcher` runs in every ``pilothouse serve`` (and later
``pilothouse worker``) process. Rows are leased, so several dispatchers share the
outbox without sending a delivery twice at once; a crashed dispatcher's lease
runs out and another picks the row up — at-least-once, which is why receivers get
a stable ``X-Pilothouse-Delivery`` id to deduplicate on.

Each attempt POSTs the stored payload with::

    X-Pilothouse-Event: file.written
    X-Pilothouse-Delivery: dlv_…            (the same on every retry)
    X-Pilothouse-Timestamp: 1764000000      (this attempt, unix seconds)
    X-Pilothouse-Signature: sha256=<hex HMAC-SHA256(secret, body)>

A 2xx within the timeout delivers it; anything else (other statuses, redirects,
timeouts, refused addresses) schedules a retry with exponential backoff and
jitter, until ``max_attempts`` marks it failed. The target is re-checked against
the private-address guard at every attempt, since DNS can change under us.
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import threading
import time
from collections.abc import Callable

import httpx

from pilothouse.core import netguard
from pilothouse.core.errors import PilothouseError
from pilothouse.workspace import database, webhooks
from pilothouse.workspace.events import Subscription
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger(__name__)
USER_AGENT = "Pilothouse-Webhook/1"


def sign(secret: str, body: bytes) -> str:
    """The ``X-Pilothouse-Signature`` value for ``body``."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


class WebhookDispatcher:
    def __init__(
        self,
        service: WorkspaceService,
        *,
        on_attempt: Callable[[str], None] | None = None,
        client: httpx.Client | None = None,
    ) -> None:
        self.service = service
        self.settings = service.settings.webhooks
        self.allow_private = service.settings.server.allow_private_webhook_targets
        self.on_attempt = on_attempt or (lambda _outcome: None)
        self.client = client or httpx.Client(
            timeout=self.settings.timeout_seconds,
            follow_redirects=False,
            headers={"User-Agent": USER_AGENT},
        )
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Subscription | None = None

    def run_once(self) -> int:
        """Claim and attempt every due delivery once; returns how many were attempted."""
        lease = self.settings.timeout_seconds * 2 + 5
        with database.begin_write(self.service.engine) as conn:
            batch = webhooks.claim(
                conn, self.service.clock.now(), limit=self.settings.batch, lease_seconds=lease
            )
        for due in batch:
            self._attempt(due)
        return len(batch)

    def _attempt(self, due: webhooks.Due) -> None:
        status_code: int | None = None
        error: str | None = None
        try:
            netguard.check(due.url, allow_private=self.allow_private)
            response = self.client.post(
                due.url,
                content=due.payload,
                headers={
                    "Content-Type": "application/json",
                    "X-Pilothouse-Event": due.event_type,
                    "X-Pilothouse-Delivery": due.id,
                    "X-Pilothouse-Timestamp": str(int(time.time())),
                    "X-Pilothouse-Signature": sign(due.secret, due.payload),
                },
            )
            status_code = response.status_code
            delivered = 200 <= status_code < 300
            if not delivered:
                error = f"target answered {status_code}"
        except PilothouseError as e:
            delivered, error = False, e.message
        except httpx.HTTPError as e:
            delivered, error = False, f"{type(e).__name__}: {e}"
        with database.begin_write(self.service.engine) as conn:
            state = webhooks.record_attempt(
                conn,
                due,
                self.service.clock.now(),
                self.settings,
                delivered=delivered,
                status_code=status_code,
                error=error,
            )
        outcome = {"delivered": "delivered", "failed": "failed"}.get(state, "retry")
        self.on_attempt(outcome)
        if not delivered:
            log.info("webhook delivery %s to %s: %s (%s)", due.id, due.url, error, state)

    # -- background thread ----------------------------------------------------------

    def start(self) -> None:
        self._subscription = self.service.bus.subscribe(lambda _event: self._wake.set())
        self._thread = threading.Thread(target=self._loop, name="webhook-dispatcher", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._subscription is not None:
            self._subscription.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self.client.close()

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                worked = self.run_once()
            except Exception:  # fan-out boundary: a bad round must not end the dispatcher
                log.exception("webhook dispatch round failed")
                worked = 0
            if not worked:
                self._wake.wait(self.settings.poll_seconds)
                self._wake.clear()

"""Running URL imports: fetch over HTTP, stream into a new version.

An :class:`Importer` runs beside the webhook dispatcher in ``pilothouse serve``:
it claims queued import jobs, fetches each URL with httpx as a stream and hands
the chunks to ``WorkspaceService.write_file`` as the principal who asked, so the
version, event and audit entry are the same as for an upload. Safeguards:

- every hop (the URL and each redirect, at most ``max_redirects``) passes the
  private-address guard; share links are rewritten (:mod:`.sharelinks`);
- the size is capped by the workspace's ``max_file_bytes`` (checked against
  ``Content-Length`` up front and counted as bytes arrive) and the quota;
- a read timeout per chunk and an overall deadline;
- an OAuth bearer token, if given, goes to the first host only.

The source URL is recorded in the file's metadata (``source_url``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any
from urllib.parse import urljoin, urlsplit

import httpx

from pilothouse.core import netguard
from pilothouse.core.errors import PilothouseError
from pilothouse.workspace import database, principals, sharelinks
from pilothouse.workspace.errors import InvalidArgument, TooLarge
from pilothouse.workspace.events import Subscription
from pilothouse.workspace.models import Actor
from pilothouse.workspace.roles import Interface, Scope
from pilothouse.workspace.service import WorkspaceService

log = logging.getLogger(__name__)
PROGRESS_EVERY = 1024 * 1024


class ImportFailed(PilothouseError):
    code = "import_failed"


class Importer:
    def __init__(self, service: WorkspaceService, *, poll_seconds: float = 1.0) -> None:
        self.service = service
        self.settings = service.settings.imports
        self.allow_private = service.settings.server.allow_private_webhook_targets
        self.poll_seconds = poll_seconds
        self._pool = ThreadPoolExecutor(self.settings.workers, thread_name_prefix="import")
        self._busy = 0
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        self._subscription: Subscription | None = None

    # -- one job --------------------------------------------------------------------

    def run_job(self, row: Any) -> None:
        """Fetch one claimed job to completion, recording success or failure."""
        done = 0
        try:
            actor = self._actor(row)
            token = self.service.import_token(row.id)
            chunks = self._fetch(row.id, row.url, token)
            version = self.service.write_file(actor, row.workspace_id, row.path, chunks)
            done = version.size
            self.service.set_metadata(
                actor, row.workspace_id, row.path, {"source_url": row.url, "import_id": row.id}
            )
            self.service.finish_import(row.id, version=version.version, done=done)
        except PilothouseError as e:
            self.service.finish_import(row.id, error=e.message, error_code=e.code, done=done)
        except httpx.HTTPError as e:
            self.service.finish_import(
                row.id, error=f"{type(e).__name__}: {e}", error_code="fetch_failed", done=done
            )

    def _actor(self, row: Any) -> Actor:
        with database.begin_read(self.service.engine) as conn:
            principal = principals.get(conn, row.created_by)
        return Actor(principal, Interface(row.interface), scope=Scope.WRITE, agent_name="importer")

    def _fetch(self, job_id: str, url: str, token: str | None) -> Iterator[bytes]:
        limit = self.service.limits.max_file_bytes
        deadline = time.monotonic() + self.settings.timeout_seconds
        timeout = httpx.Timeout(self.settings.read_timeout_seconds)
        first_host = urlsplit(url).hostname
        target = sharelinks.direct(url)
        with httpx.Client(timeout=timeout, follow_redirects=False) as client:
            for _hop in range(self.settings.max_redirects + 1):
                netguard.check(target, allow_private=self.allow_private)
                headers = {"User-Agent": "Pilothouse-Import/1"}
                if token and urlsplit(target).hostname == first_host:
                    headers["Authorization"] = f"Bearer {token}"
                with client.stream("GET", target, headers=headers) as response:
                    if response.is_redirect:
                        location = response.headers.get("location", "")
                        target = sharelinks.direct(urljoin(target, location))
                        continue
                    if response.status_code != 200:
                        raise ImportFailed(
                            f"the source answered {response.status_code}",
                            details={"status": response.status_code},
                        )
                    total = _length(response)
                    if total is not None and total > limit:
                        raise TooLarge(
                            f"the source is {total} bytes; the limit is {limit}",
                            details={"size": total, "limit": limit},
                        )
                    done = 0
                    reported = 0
                    for chunk in response.iter_bytes(256 * 1024):
                        if time.monotonic() > deadline:
                            raise ImportFailed("the import took longer than its time limit")
                        done += len(chunk)
                        if done - reported >= PROGRESS_EVERY:
                            self.service.import_progress(job_id, done, total)
                            reported = done
                        yield chunk
                    return
        raise ImportFailed(f"more than {self.settings.max_redirects} redirects")

    # -- background -----------------------------------------------------------------

    def run_once(self) -> int:
        """Claim as many jobs as there are free workers; returns how many started."""
        with self._lock:
            free = self.settings.workers - self._busy
        if free <= 0:
            return 0
        rows = self.service.claim_imports(limit=free)
        for row in rows:
            with self._lock:
                self._busy += 1
            self._pool.submit(self._run_and_release, row)
        return len(rows)

    def _run_and_release(self, row: Any) -> None:
        try:
            self.run_job(row)
        except Exception:  # fan-out boundary: one job's bug must not kill the pool
            log.exception("import %s failed unexpectedly", row.id)
            self.service.finish_import(row.id, error="internal error", error_code="internal")
        finally:
            with self._lock:
                self._busy -= 1
            self._wake.set()

    def start(self) -> None:
        self._subscription = self.service.bus.subscribe(
            lambda event: self._wake.set() if event.type == "import.queued" else None
        )
        self._thread = threading.Thread(target=self._loop, name="importer", daemon=True)
        self._thread.start()

    def stop(self, timeout: float = 10.0) -> None:
        self._stop.set()
        self._wake.set()
        if self._subscription is not None:
            self._subscription.close()
        if self._thread is not None:
            self._thread.join(timeout)
        self._pool.shutdown(wait=True, cancel_futures=True)

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:
                self.run_once()
            except Exception:  # fan-out boundary: keep the loop alive
                log.exception("import claim round failed")
            self._wake.wait(self.poll_seconds)
            self._wake.clear()


def _length(response: httpx.Response) -> int | None:
    value = response.headers.get("content-length")
    if value is None:
        return None
    try:
        return int(value)
    except ValueError:
        raise InvalidArgument("the source sent a malformed Content-Length") from None

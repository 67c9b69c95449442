"""Telling GitHub: a commit status per stage and one PR comment per stage.

Only runs that GitHub started report back, and only when the repository was
registered with its ``owner/name`` and a token. The commit status uses the context
``pilothouse/<stage>``; the pull-request comment is *upserted* under the stage's
key, so a re-run edits its comment instead of adding another. Reporting is
best-effort: GitHub being down must not fail a deployment pipeline, so errors are
logged and counted, never raised.
"""

from __future__ import annotations

import logging
import threading
from typing import Literal

from pilothouse.core.errors import PilothouseError
from pilothouse.core.settings import Settings
from pilothouse.integrations.github import GitHubClient
from pilothouse.pipeline import health, store
from pilothouse.pipeline.executing import Outcome

log = logging.getLogger(__name__)

STATES: dict[str, Literal["success", "failure", "error", "pending"]] = {
    "succeeded": "success",
    "failed": "failure",
    "timed_out": "error",
    "cancelled": "error",
}
ICONS = {"succeeded": "✅", "failed": "❌", "timed_out": "⏱️", "cancelled": "⏹️"}


def comment_body(job: store.Job, outcome: Outcome) -> str:
    lines = [
        f"### {ICONS.get(outcome.status, '•')} pilothouse / {job.stage}: {outcome.status}",
        "",
        outcome.summary or "(no summary)",
    ]
    if outcome.findings:
        lines += ["", "<details><summary>Findings</summary>", ""]
        for finding in outcome.findings[:50]:
            lines.append(f"- {finding}")
        lines += ["", "</details>"]
    lines += ["", f"<sub>run `{job.run_id}` · revision `{(job.revision or '')[:12]}`</sub>"]
    return "\n".join(lines)


class GitHubReporter:
    """One client per token, kept: a TLS connection to GitHub is worth reusing."""

    TIMEOUT_SECONDS = 5.0  # the job's lease is not renewed while this runs

    def __init__(self, settings: Settings) -> None:
        self.base_url = settings.pipeline.github_api_url
        self._clients: dict[str, GitHubClient] = {}
        self._lock = threading.Lock()

    def _client(self, token: str) -> GitHubClient:
        with self._lock:
            client = self._clients.get(token)
            if client is None:
                client = self._clients[token] = GitHubClient(
                    token, base_url=self.base_url, timeout=self.TIMEOUT_SECONDS, get_attempts=2
                )
            return client

    def close(self) -> None:
        with self._lock:
            for client in self._clients.values():
                client.close()
            self._clients.clear()

    def report(self, repo: store.Repo, job: store.Job, outcome: Outcome) -> None:
        trigger = job.context.get("trigger", {})
        if not str(trigger.get("kind", "")).startswith("github.") or not repo.token:
            return
        if not repo.full_name or not job.revision:
            return
        state = STATES.get(outcome.status, "error")
        client = self._client(repo.token)
        try:
            client.create_status(
                repo.full_name,
                job.revision,
                state=state,
                context=outcome.status_context or f"pilothouse/{job.stage}",
                description=outcome.summary or outcome.status,
            )
            number = trigger.get("number")
            if number is not None:
                client.upsert_comment(
                    repo.full_name,
                    int(number),
                    key=f"stage:{job.stage}",
                    body=outcome.comment or comment_body(job, outcome),
                )
        except (PilothouseError, ValueError) as e:  # ValueError: a malformed owner/name
            health.report_failed()
            log.warning("reporting %s to GitHub failed: %s", job.stage, e)

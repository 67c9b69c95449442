"""Agent health: Prometheus figures per stage, and alerts when an agent goes quiet or sour.

Counters and a duration histogram are process-local (each ``serve``/``worker``
exports what it ran; Prometheus sums replicas). The *alerts* are computed from the
job table, so they agree across processes:

* a **scheduled** agent that has not finished a run for three of its intervals;
* an agent whose failure rate over its last ``failure_window`` runs exceeds
  ``failure_rate_threshold``.

An alert is an ``agent.alert`` event in the workspace — which also makes it a
webhook delivery for anyone subscribed — raised once per condition until it clears.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from prometheus_client import CollectorRegistry, Counter, Histogram

from pilothouse.pipeline import store

REGISTRY = CollectorRegistry()
"""The pipeline's figures; ``/metrics`` of ``serve`` and ``worker --metrics-port`` export it."""

INVOCATIONS = Counter(
    "pilothouse_agent_invocations_total",
    "Stage runs finished, by stage and status",
    ["stage", "status"],
    registry=REGISTRY,
)
RETRIES = Counter(
    "pilothouse_agent_retries_total",
    "Stage runs re-queued after a temporary failure",
    ["stage"],
    registry=REGISTRY,
)
DURATION = Histogram(
    "pilothouse_agent_duration_seconds",
    "Stage run time",
    ["stage"],
    buckets=(0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 900, 1800),
    registry=REGISTRY,
)
REPORT_FAILURES = Counter(
    "pilothouse_github_report_failures_total",
    "Commit statuses or comments GitHub refused",
    registry=REGISTRY,
)
WEBHOOKS = Counter(
    "pilothouse_github_webhooks_total",
    "GitHub deliveries received, by outcome",
    ["outcome"],
    registry=REGISTRY,
)


def finished(stage: str, status: str, seconds: float) -> None:
    INVOCATIONS.labels(stage, status).inc()
    DURATION.labels(stage).observe(max(0.0, seconds))


def retried(stage: str) -> None:
    RETRIES.labels(stage).inc()


def report_failed() -> None:
    REPORT_FAILURES.inc()


def webhook(outcome: str) -> None:
    WEBHOOKS.labels(outcome).inc()


@dataclass(frozen=True)
class Alert:
    stage: str
    kind: str  # "silent" | "failing"
    message: str
    details: dict[str, Any]


def silent(
    recent: list[store.Job], stage: str, interval_seconds: float, now: datetime, since: datetime
) -> Alert | None:
    """A scheduled stage with no finished run for three intervals (counted from ``since``)."""
    window = timedelta(seconds=3 * interval_seconds)
    last = max((j.finished_at for j in recent if j.finished_at), default=None)
    reference = last or since
    if now - reference <= window:
        return None
    return Alert(
        stage,
        "silent",
        f"{stage} has not run for {int((now - reference).total_seconds())} s "
        f"(schedule every {interval_seconds:g} s)",
        {"last_run": last.isoformat() if last else None, "interval_seconds": interval_seconds},
    )


def failing(recent: list[store.Job], stage: str, threshold: float, window: int) -> Alert | None:
    """A stage failing more often than ``threshold`` over its last ``window`` finished runs."""
    done = [j for j in recent if j.status in store.TERMINAL and j.status != "cancelled"][:window]
    if len(done) < max(2, window // 2):
        return None
    failures = sum(1 for j in done if j.status in {"failed", "timed_out"})
    rate = failures / len(done)
    if rate <= threshold:
        return None
    return Alert(
        stage,
        "failing",
        f"{stage} failed {failures} of its last {len(done)} runs",
        {"failure_rate": round(rate, 3), "runs": len(done), "threshold": threshold},
    )

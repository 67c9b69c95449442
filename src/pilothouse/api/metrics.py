"""Prometheus metrics of one server process, on a registry of its own.

A private :class:`CollectorRegistry` per app (not the global one) keeps tests and
multiple apps in one process independent. Routes are recorded by template
(``/api/v1/workspaces/{workspace}/files/{path:path}``), never by raw path, so label
cardinality stays bounded whatever clients send.
"""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.exposition import CONTENT_TYPE_LATEST

from pilothouse.pipeline import health

__all__ = ["CONTENT_TYPE_LATEST", "Metrics"]


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.requests = Counter(
            "pilothouse_http_requests_total",
            "HTTP requests by method, route template and status.",
            ["method", "route", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "pilothouse_http_request_duration_seconds",
            "HTTP request latency by method and route template.",
            ["method", "route"],
            registry=self.registry,
            buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
        )
        self.tool_calls = Counter(
            "pilothouse_mcp_tool_calls_total",
            "MCP tool calls by tool, action and outcome (ok or the error code).",
            ["tool", "action", "outcome"],
            registry=self.registry,
        )
        self.webhook_deliveries = Counter(
            "pilothouse_webhook_deliveries_total",
            "Webhook delivery attempts by outcome (delivered, retry, failed).",
            ["outcome"],
            registry=self.registry,
        )

    def observe_request(self, method: str, route: str, status: int, seconds: float) -> None:
        self.requests.labels(method, route, str(status)).inc()
        self.latency.labels(method, route).observe(seconds)

    def render(self) -> bytes:
        """This app's figures, then the pipeline engine's (one registry per process)."""
        return generate_latest(self.registry) + generate_latest(health.REGISTRY)

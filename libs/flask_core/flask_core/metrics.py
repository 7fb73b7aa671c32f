"""Prometheus metrics: request count and latency by route and status, served at /metrics.

With several Hypercorn workers, ``PROMETHEUS_MULTIPROC_DIR`` is set by the launcher and the
exposition merges every worker's values.
"""

from __future__ import annotations

import os
import time

from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
    multiprocess,
)
from quart import Quart, Response, g, request

from .api import route_label

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)


class RequestMetrics:
    """The per-service registry and its HTTP metrics."""

    def __init__(self, namespace: str) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            f"{namespace}_http_requests_total",
            "HTTP requests by route, method and status.",
            ("route", "method", "status"),
            registry=self.registry,
        )
        self.latency = Histogram(
            f"{namespace}_http_request_duration_seconds",
            "HTTP request latency by route.",
            ("route", "method"),
            buckets=LATENCY_BUCKETS,
            registry=self.registry,
        )
        self._children: dict[tuple[str, str, int], tuple[Histogram, Counter]] = {}

    def observe(self, route: str, method: str, status: int, seconds: float) -> None:
        """Count one answered request and its latency."""
        key = (route, method, status)
        children = self._children.get(key)
        if children is None:
            # labels() validates and looks up its child each time; keep the pair once found.
            # The cache holds exactly the label sets the metrics hold themselves.
            children = (
                self.latency.labels(route, method),
                self.requests.labels(route, method, str(status)),
            )
            self._children[key] = children
        latency, count = children
        latency.observe(seconds)
        count.inc()

    def exposition(self) -> bytes:
        if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
            merged = CollectorRegistry()
            multiprocess.MultiProcessCollector(merged)
            return bytes(generate_latest(merged))
        return bytes(generate_latest(self.registry))

    def install(self, app: Quart) -> None:
        @app.before_request
        async def _metrics_start() -> None:
            g.metrics_started = time.perf_counter()

        @app.after_request
        async def _metrics_observe(response: Response) -> Response:
            started = g.get("metrics_started", time.perf_counter())
            seconds = time.perf_counter() - started
            self.observe(route_label(), request.method, response.status_code, seconds)
            return response

    async def view(self) -> Response:
        return Response(self.exposition(), content_type=CONTENT_TYPE_LATEST)

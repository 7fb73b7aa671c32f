"""Prometheus counters of the event pipeline (exposed on the router's /metrics)."""

from __future__ import annotations

from prometheus_client import CollectorRegistry, Counter


class EventMetrics:
    """Counters for ingest outcomes, delivery outcomes and spool replays."""

    def __init__(self, registry: CollectorRegistry | None = None) -> None:
        self.ingested = Counter(
            "router_events_ingested_total",
            "Events by ingest outcome: accepted, duplicate, spooled.",
            ("result",),
            registry=registry,
        )
        self.deliveries = Counter(
            "router_events_deliveries_total",
            "Push attempts to subscribed modules by outcome: delivered, failed, down, dead.",
            ("module", "result"),
            registry=registry,
        )
        self.replayed = Counter(
            "router_events_spool_replayed_total",
            "Spooled events replayed into Redis after an outage.",
            registry=registry,
        )

"""Tunables of event ingest and durable delivery, read once from the environment."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

from flask_core.settings import EnvReader


@dataclass(frozen=True)
class EventSettings:
    dedup_ttl_seconds: int = 86400
    stream_maxlen: int = 100_000
    deadletter_maxlen: int = 10_000
    max_attempts: int = 5
    retry_base_seconds: float = 0.5
    retry_max_seconds: float = 30.0
    lease_ttl_seconds: float = 10.0
    scan_interval_seconds: float = 1.0
    block_ms: int = 1000
    delivery_timeout_seconds: float = 5.0
    spool_retry_seconds: float = 1.0
    recent_ids: int = 10_000

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> EventSettings:
        env = EnvReader(environ)
        return cls(
            dedup_ttl_seconds=env.integer("ROUTER_EVENTS_DEDUP_TTL_SECONDS", 86400, minimum=1),
            stream_maxlen=env.integer("ROUTER_EVENTS_STREAM_MAXLEN", 100_000, minimum=100),
            deadletter_maxlen=env.integer("ROUTER_EVENTS_DEADLETTER_MAXLEN", 10_000, minimum=10),
            max_attempts=env.integer("ROUTER_EVENTS_MAX_ATTEMPTS", 5, minimum=1, maximum=100),
            retry_base_seconds=env.number("ROUTER_EVENTS_RETRY_BASE_SECONDS", 0.5, minimum=0.01),
            retry_max_seconds=env.number("ROUTER_EVENTS_RETRY_MAX_SECONDS", 30.0, minimum=0.01),
            lease_ttl_seconds=env.number("ROUTER_EVENTS_LEASE_TTL_SECONDS", 10.0, minimum=0.5),
            scan_interval_seconds=env.number("ROUTER_EVENTS_SCAN_SECONDS", 1.0, minimum=0.01),
            block_ms=env.integer("ROUTER_EVENTS_BLOCK_MS", 1000, minimum=1, maximum=4000),
            delivery_timeout_seconds=env.number(
                "ROUTER_EVENTS_DELIVERY_TIMEOUT_SECONDS", 5.0, minimum=0.1
            ),
            spool_retry_seconds=env.number("ROUTER_EVENTS_SPOOL_RETRY_SECONDS", 1.0, minimum=0.01),
            recent_ids=env.integer("ROUTER_EVENTS_RECENT_IDS", 10_000, minimum=100),
        )

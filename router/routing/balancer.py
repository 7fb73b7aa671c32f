"""Instance choice: least calls in flight in this process first, ties taken in turn."""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager

from ..registry.models import InstanceView


class Balancer:
    """Orders candidate instances for one call and counts the calls in flight."""

    def __init__(self) -> None:
        self._in_flight: defaultdict[str, int] = defaultdict(int)
        self._turn = itertools.count()

    def order(self, instances: list[InstanceView]) -> list[InstanceView]:
        if len(instances) <= 1:
            return instances
        start = next(self._turn) % len(instances)
        rotated = instances[start:] + instances[:start]
        # sorted() is stable, so instances with equal load keep the round-robin rotation.
        return sorted(rotated, key=lambda instance: self._in_flight[instance.breaker_name])

    def in_flight(self, name: str) -> int:
        return self._in_flight[name]

    @contextmanager
    def track(self, name: str) -> Iterator[None]:
        self._in_flight[name] += 1
        try:
            yield
        finally:
            self._in_flight[name] -= 1

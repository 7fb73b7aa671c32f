"""The in-process memory of recent event ids, the dedup of last resort when Redis is down."""

from __future__ import annotations

from collections import OrderedDict


class RecentIds:
    """A bounded LRU of ``(community, event_id)``; the oldest ids fall out first."""

    def __init__(self, capacity: int) -> None:
        self._capacity = capacity
        self._ids: OrderedDict[tuple[str, str], None] = OrderedDict()

    def seen(self, community: str, event_id: str) -> bool:
        key = (community, event_id)
        if key in self._ids:
            self._ids.move_to_end(key)
            return True
        return False

    def remember(self, community: str, event_id: str) -> None:
        self._ids[(community, event_id)] = None
        self._ids.move_to_end((community, event_id))
        while len(self._ids) > self._capacity:
            self._ids.popitem(last=False)

    def __len__(self) -> int:
        return len(self._ids)

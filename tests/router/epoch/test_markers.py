"""Where the epoch markers live: one key per 256-slot range on a cluster, under the namespace."""

from __future__ import annotations

from redis.crc import REDIS_CLUSTER_HASH_SLOTS, key_slot

from flask_core.keyspace import Keyspace
from router.epoch.markers import CLUSTER_MARKERS, marker_keys


def test_a_marker_is_a_router_key_under_the_namespace() -> None:
    assert Keyspace().redis_epoch_marker("7") == "rh:epoch:{e:7}"
    assert Keyspace("blue", db=2).redis_epoch_marker("7") == "blue:rh:epoch:{e:7}"
    assert marker_keys(Keyspace(), 1) == ["rh:epoch:{e:0}"]


def test_cluster_markers_cover_every_range_of_slots_so_any_master_holds_some() -> None:
    keys = marker_keys(Keyspace("blue"), CLUSTER_MARKERS)
    width = REDIS_CLUSTER_HASH_SLOTS // CLUSTER_MARKERS
    assert [key_slot(key.encode()) // width for key in keys] == list(range(CLUSTER_MARKERS))
    # The three masters of the test cluster (and any master with 256 consecutive slots).
    for first, last in ((0, 5460), (5461, 10922), (10923, 16383)):
        assert any(first <= key_slot(key.encode()) <= last for key in keys)

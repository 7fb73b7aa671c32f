"""REDIS_MODE and its companions are validated at start-up, naming the variable."""

from __future__ import annotations

import pytest

from flask_core.redis_client import RedisTopology, create_redis, is_cluster, parse_sentinels
from flask_core.settings import SettingsError
from router.settings import RouterSettings


def test_standalone_is_the_default() -> None:
    assert RedisTopology.from_env({}) == RedisTopology("standalone")


def test_sentinel_reads_its_nodes_and_master() -> None:
    env = {
        "REDIS_MODE": "sentinel",
        "REDIS_SENTINELS": "a:26379, b:26380",
        "REDIS_SENTINEL_MASTER": "m",
    }
    topology = RedisTopology.from_env(env)
    assert topology == RedisTopology("sentinel", (("a", 26379), ("b", 26380)), "m")
    settings = RouterSettings.from_env(env)
    assert settings.redis_url == "redis://m/0"  # no embedded Redis: Sentinel names the master
    assert RouterSettings.from_env({**env, "REDIS_URL": "redis://:pw@x/3"}).keyspace.db == 3


@pytest.mark.parametrize(
    ("env", "named"),
    [
        ({"REDIS_MODE": "ring"}, "REDIS_MODE"),
        ({"REDIS_MODE": "cluster"}, "REDIS_URL"),
        ({"REDIS_MODE": "cluster", "REDIS_URL": "unix:///tmp/r.sock"}, "REDIS_URL"),
        ({"REDIS_MODE": "cluster", "REDIS_URL": "redis://h:7000/2"}, "REDIS_URL"),
        ({"REDIS_MODE": "sentinel", "REDIS_SENTINEL_MASTER": "m"}, "REDIS_SENTINELS"),
        ({"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "a:1"}, "REDIS_SENTINEL_MASTER"),
        (
            {"REDIS_MODE": "sentinel", "REDIS_SENTINELS": "a", "REDIS_SENTINEL_MASTER": "m"},
            "REDIS_SENTINELS",
        ),
        ({"HUB_NAMESPACE": "a{b}"}, "HUB_NAMESPACE"),
    ],
)
def test_a_bad_setting_stops_start_up_naming_it(env: dict[str, str], named: str) -> None:
    with pytest.raises(SettingsError, match=named):
        RouterSettings.from_env(env)


def test_sentinel_host_lists_are_parsed_strictly() -> None:
    assert parse_sentinels("h:1") == (("h", 1),)
    for bad in ("h:", ":1", "h:99999", "h:x"):
        with pytest.raises(ValueError):
            parse_sentinels(bad)


async def test_the_factory_builds_a_cluster_client_for_cluster_mode() -> None:
    client = create_redis("redis://127.0.0.1:7000/0", topology=RedisTopology("cluster"))
    assert is_cluster(client)
    await client.aclose()
    plain = create_redis("redis://127.0.0.1:6379/0")
    assert not is_cluster(plain)
    await plain.aclose()

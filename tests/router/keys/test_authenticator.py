from __future__ import annotations

from quart import Quart

from flask_core.auth import Principal
from router.keys.material import generate_key
from router.state import RouterState
from tests.support.keys import KeyFactory
from tests.support.waiting import eventually


def _state(app: Quart) -> RouterState:
    state: RouterState = app.extensions["router"]
    return state


async def test_minted_key_authenticates_as_its_principal(app: Quart, api_key: KeyFactory) -> None:
    plaintext = await api_key("core", communities=["c1", "c2"], rate_limit="20/minute")
    principal = await _state(app).keys.authenticator.authenticate(plaintext)
    assert isinstance(principal, Principal)
    assert principal.role == "core"
    assert principal.communities == ("c1", "c2")
    assert principal.rate_limit == "20/minute"


async def test_wrong_secret_with_a_real_prefix_is_rejected(app: Quart, api_key: KeyFactory) -> None:
    plaintext = await api_key("admin")
    prefix = plaintext.split("_")[1]
    forged, _ = generate_key()
    forged = f"rh_{prefix}_{forged.split('_', 2)[2]}"
    assert await _state(app).keys.authenticator.authenticate(forged) is None


async def test_garbage_keys_are_rejected(app: Quart) -> None:
    authenticator = _state(app).keys.authenticator
    for garbage in ("x", "rh_zz_zz", "\x00" * 10, "é" * 600, "rh_" + "a" * 12 + "_" + "b" * 43):
        assert await authenticator.authenticate(garbage) is None


async def test_stored_hash_is_not_the_key(app: Quart, api_key: KeyFactory) -> None:
    plaintext = await api_key("user", communities=["c1"])
    rows = await _state(app).dal.fetch("SELECT key_hash, prefix FROM api_keys")
    assert len(rows) == 1
    assert plaintext.encode() not in bytes(rows[0]["key_hash"])
    assert len(bytes(rows[0]["key_hash"])) == 32


async def test_last_use_is_stamped_in_memory_then_flushed(app: Quart, api_key: KeyFactory) -> None:
    state = _state(app)
    plaintext = await api_key("core")
    await state.keys.authenticator.authenticate(plaintext)
    assert await state.dal.fetchval("SELECT last_used_at FROM api_keys") is None
    await state.keys.flush_last_used()
    assert await state.dal.fetchval("SELECT last_used_at FROM api_keys") is not None


async def test_revocation_reaches_another_instance_through_pubsub(
    app: Quart, api_key: KeyFactory
) -> None:
    state = _state(app)
    state.keys.authenticator.ttl = 1.0
    plaintext = await api_key("core")
    assert await state.keys.authenticator.authenticate(plaintext) is not None
    key_id = str(await state.dal.fetchval("SELECT id FROM api_keys"))
    await state.dal.execute("UPDATE api_keys SET revoked_at = now()")  # behind the cache's back
    assert await state.keys.authenticator.authenticate(plaintext) is not None  # still cached
    await state.redis.publish("keys.invalidate", plaintext.split("_")[1])

    async def evicted() -> bool:
        return await state.keys.authenticator.authenticate(plaintext) is None

    await eventually(evicted, timeout=1.0)
    assert await state.keys.authenticator.authenticate(plaintext) is None
    assert key_id

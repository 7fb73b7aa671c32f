from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router.events.models import Envelope, build_envelope
from router.events.spool import EventSpool


def _envelopes(count: int, community: str = "c1") -> list[Envelope]:
    event = {"platform": "kick", "type": "channel.follow", "payload": {}}
    return [build_envelope(event, community, "kick") for _ in range(count)]


class Flaky:
    """A replay target that goes away after ``ok`` envelopes, like Redis dropping mid-drain."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.seen: list[str] = []

    async def __call__(self, envelope: Envelope) -> None:
        if len(self.seen) >= self.ok:
            raise ConnectionError("still down")
        self.seen.append(envelope.event_id)


async def test_drain_replays_in_order_and_resumes_after_a_failure(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path)
    await spool.open()
    envelopes = _envelopes(5)
    await spool.append(envelopes[:3])
    await spool.append(envelopes[3:])
    assert spool.pending
    target = Flaky(ok=2)
    with pytest.raises(ConnectionError):
        await spool.drain(target)
    assert spool.pending
    target.ok = 100
    assert await spool.drain(target) == 3
    assert target.seen == [e.event_id for e in envelopes]
    assert not spool.pending
    await spool.close()
    assert list(tmp_path.iterdir()) == []


async def test_a_new_process_adopts_what_a_dead_one_spooled(tmp_path: Path) -> None:
    first = EventSpool(tmp_path)
    await first.open()
    envelopes = _envelopes(4)
    await first.append(envelopes)
    await first.close()  # as if the process died with Redis still down: the file stays
    assert len(list(tmp_path.glob("events-*.ndjson"))) == 1

    second = EventSpool(tmp_path)
    await second.open()
    assert second.pending
    target = Flaky(ok=100)
    assert await second.drain(target) == 4
    assert target.seen == [e.event_id for e in envelopes]
    await second.close()
    assert list(tmp_path.glob("events-*.ndjson")) == []


async def test_a_live_spool_is_not_adopted_by_another_process(tmp_path: Path) -> None:
    first = EventSpool(tmp_path)
    await first.open()
    await first.append(_envelopes(2))
    second = EventSpool(tmp_path)
    await second.open()
    assert not second.pending
    await second.close()
    assert await first.drain(Flaky(ok=100)) == 2
    await first.close()


async def test_workers_starting_together_never_adopt_each_others_live_spools(
    tmp_path: Path,
) -> None:
    for _ in range(5):
        spools = [EventSpool(tmp_path) for _ in range(24)]
        await asyncio.gather(*(spool.open() for spool in spools))
        assert not any(spool.pending for spool in spools)
        for spool in spools:
            await spool.append(_envelopes(1))
            assert await spool.drain(Flaky(ok=100)) == 1
        await asyncio.gather(*(spool.close() for spool in spools))
    assert list(tmp_path.glob("*events-*")) == []

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from router.events.models import build_envelope
from router.events.spool import EventSpool, SpooledEvent


def _envelopes(count: int, community: str = "c1") -> list[SpooledEvent]:
    event = {"platform": "kick", "type": "channel.follow", "payload": {}}
    return [SpooledEvent(build_envelope(event, community, "kick")) for _ in range(count)]


class Flaky:
    """A replay target that goes away after ``ok`` envelopes, like Redis dropping mid-drain."""

    def __init__(self, ok: int) -> None:
        self.ok = ok
        self.seen: list[str] = []

    async def __call__(self, item: SpooledEvent) -> None:
        if len(self.seen) >= self.ok:
            raise ConnectionError("still down")
        self.seen.append(item.envelope.event_id)


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
    assert target.seen == [e.envelope.event_id for e in envelopes]
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
    assert target.seen == [e.envelope.event_id for e in envelopes]
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


async def test_a_line_keeps_its_claim_and_old_bare_envelopes_still_replay(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path)
    await spool.open()
    [item] = _envelopes(1)
    await spool.append([item])
    old = _envelopes(1)[0].envelope
    with spool.path.open("ab") as handle:  # a line written before lines carried claims
        handle.write(old.to_json().encode() + b"\n")
    replayed: list[SpooledEvent] = []

    async def keep(line: SpooledEvent) -> None:
        replayed.append(line)

    assert await spool.drain(keep) == 2
    assert replayed[0] == item
    assert replayed[1].envelope == old
    assert replayed[1].claim and replayed[1].claim != item.claim
    await spool.close()


async def test_queueing_behind_the_spool_stops_once_a_drain_emptied_it(tmp_path: Path) -> None:
    spool = EventSpool(tmp_path)
    await spool.open()
    first, waiting, later = _envelopes(3)
    assert not await spool.append_behind([first])  # nothing spooled: nothing to queue behind
    await spool.append([first])
    release = asyncio.Event()

    async def slow(item: SpooledEvent) -> None:
        await release.wait()

    draining = asyncio.create_task(spool.drain(slow))
    await asyncio.sleep(0)
    queued = asyncio.create_task(spool.append_behind([waiting]))  # waits on the drain
    await asyncio.sleep(0)
    assert not queued.done()
    release.set()
    assert await draining == 1
    assert await queued is False  # drained meanwhile: it must not re-arm the spool
    assert not spool.pending
    await spool.append([later])
    assert await spool.append_behind([waiting])
    seen = Flaky(ok=100)
    assert await spool.drain(seen) == 2
    assert seen.seen == [later.envelope.event_id, waiting.envelope.event_id]
    await spool.close()

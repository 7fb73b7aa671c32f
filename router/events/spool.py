"""Envelopes accepted while Redis was unreachable or while older ones wait, replayed in order
later (a router_only spool).

The trigger gets its 202 only once the append is fsynced. Each line carries the claim token its
replay presents to the accept script (``EventStore``), so a spooled event whose id was claimed
in Redis is appended once, by the replay of the line that claimed it.
"""

from __future__ import annotations

import json
import secrets
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from flask_core.api import dumps
from flask_core.router_only.spool import Spool

from .models import Envelope


def new_claim() -> str:
    """A token naming one attempt to accept an event (48 random bits: ids rarely repeat)."""
    return secrets.token_hex(6)


@dataclass(frozen=True, slots=True)
class SpooledEvent:
    envelope: Envelope
    claim: str = field(default_factory=new_claim)


def _encode(item: SpooledEvent) -> bytes:
    return dumps({"envelope": item.envelope.as_dict(), "claim": item.claim}).encode()


def _decode(line: bytes) -> SpooledEvent:
    data: dict[str, Any] = json.loads(line)
    if "envelope" not in data:  # a line written before claims: the bare envelope
        return SpooledEvent(Envelope.from_dict(data), new_claim())
    return SpooledEvent(Envelope.from_dict(data["envelope"]), str(data["claim"]))


class EventSpool(Spool[SpooledEvent]):
    """Envelopes and their claims, in ``events-{pid}-{rand}.ndjson``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "events", _encode, _decode)

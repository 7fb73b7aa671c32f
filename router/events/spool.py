"""Envelopes accepted while Redis was unreachable, replayed in order later (a router_only spool).

The trigger gets its 202 only once the append is fsynced.
"""

from __future__ import annotations

import json
from pathlib import Path

from flask_core.router_only.spool import Spool

from .models import Envelope


def _encode(envelope: Envelope) -> bytes:
    return envelope.to_json().encode()


def _decode(line: bytes) -> Envelope:
    return Envelope.from_dict(json.loads(line))


class EventSpool(Spool[Envelope]):
    """Envelopes accepted while Redis was unreachable, in ``events-{pid}-{rand}.ndjson``."""

    def __init__(self, directory: Path) -> None:
        super().__init__(directory, "events", _encode, _decode)

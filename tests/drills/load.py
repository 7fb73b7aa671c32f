"""The drills' load: a fixed-rate, open-loop mix of events, re-sent chat commands, admin writes,
bad-key requests and action calls, with every answer counted by kind and status.

Open loop: a request is sent on its tick whether or not earlier ones have been answered, so an
outage shows up as failures and late answers, not as a quieter client.
"""

from __future__ import annotations

import asyncio
import secrets
import time
import uuid
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx

COMMUNITY = "drill"
# One cycle of the mix, 20 requests: at 80 req/s that is 48 chat messages, 8 chat commands,
# 4 re-sent commands, 4 admin writes, 4 bad-key requests and 12 action calls a second.
MIX = (
    *("event",) * 12,
    *("command",) * 2,
    "resend",
    "admin",
    "badkey",
    *("action",) * 3,
)
EVENT_KINDS = ("event", "command")
AUDITED_KINDS = ("admin", "badkey")
PROBE_RATE = 5.0  # requests a second once the load is over and a kind has not recovered yet
SUCCESS = {"event": 202, "command": 202, "resend": 200, "admin": 201, "badkey": 401, "action": 200}


@dataclass(frozen=True)
class Keys:
    admin: str
    trigger: str  # posts events for COMMUNITY
    user: str  # calls actions in COMMUNITY


@dataclass(frozen=True)
class Answer:
    kind: str
    sent_at: float  # seconds since the load started
    done_at: float
    status: int | None  # None: no HTTP answer (connection refused, reset, timeout)

    @property
    def ok(self) -> bool:
        return self.status == SUCCESS[self.kind]


@dataclass
class Tally:
    """Everything the load saw; the checks compare it with what the servers hold."""

    answers: list[Answer] = field(default_factory=list)
    accepted: set[str] = field(default_factory=set)  # event ids answered 202
    sent_events: set[str] = field(default_factory=set)
    commands: dict[str, dict[str, Any]] = field(default_factory=dict)  # accepted, by id
    resent: int = 0
    accepted_again: set[str] = field(default_factory=set)  # re-sent command ids answered 202
    audited: set[str] = field(default_factory=set)  # request ids of answered audited requests

    def statuses(self) -> dict[str, Counter[str]]:
        by_kind: dict[str, Counter[str]] = {}
        for answer in self.answers:
            label = str(answer.status) if answer.status is not None else "no answer"
            by_kind.setdefault(answer.kind, Counter())[label] += 1
        return by_kind

    def count(self, predicate: Any) -> int:
        return sum(1 for answer in self.answers if predicate(answer))


class Load:
    """Send the mix at ``rate`` requests a second for ``seconds`` against ``base_url``."""

    def __init__(self, base_url: str, keys: Keys, rate: float, seconds: float) -> None:
        self.base_url = base_url
        self.keys = keys
        self.rate = rate
        self.seconds = seconds
        self.tally = Tally()
        self.started = time.monotonic()
        self._serial = 0

    def now(self) -> float:
        return time.monotonic() - self.started

    async def run(self) -> Tally:
        limits = httpx.Limits(max_connections=400, max_keepalive_connections=50)
        timeout = httpx.Timeout(10.0, pool=10.0)
        async with httpx.AsyncClient(base_url=self.base_url, limits=limits, timeout=timeout) as c:
            pending: set[asyncio.Task[None]] = set()
            ticks = int(self.rate * self.seconds)
            for tick in range(ticks):
                await asyncio.sleep(max(0.0, tick / self.rate - self.now()))
                task = asyncio.create_task(self._send(c, MIX[tick % len(MIX)]))
                pending.add(task)
                task.add_done_callback(pending.discard)
            if pending:
                await asyncio.wait(pending)
        return self.tally

    async def probe(self, kind: str, seconds: float) -> list[Answer]:
        """After the load: one request of ``kind`` every 0.2 s until one succeeds or ``seconds``
        pass, on the load's clock. Times a recovery that outlasts the load; not in the tally."""
        probe = Load(self.base_url, self.keys, rate=PROBE_RATE, seconds=seconds)
        probe.started = self.started
        probe.tally.commands = dict(self.tally.commands)
        deadline = self.now() + seconds
        async with httpx.AsyncClient(base_url=self.base_url, timeout=10.0) as client:
            while self.now() < deadline:
                await probe._send(client, kind)
                if probe.tally.answers[-1].ok:
                    break
                await asyncio.sleep(1 / PROBE_RATE)
        return probe.tally.answers

    async def _send(self, client: httpx.AsyncClient, kind: str) -> None:
        if kind == "resend" and not self.tally.commands:
            kind = "command"  # nothing accepted yet to send again
        request_id = f"drill-{uuid.uuid4().hex}"
        method, path, body, headers = self._request(kind, request_id)
        sent_at = self.now()
        try:
            answer = await client.request(method, path, json=body, headers=headers)
            status: int | None = answer.status_code
        except httpx.TransportError:
            status = None
        self.tally.answers.append(Answer(kind, sent_at, self.now(), status))
        if status is not None:
            self._note(kind, status, body, request_id)

    def _request(
        self, kind: str, request_id: str
    ) -> tuple[str, str, dict[str, Any] | None, dict[str, str]]:
        self._serial += 1
        scoped = {"X-Community-ID": COMMUNITY, "X-Request-ID": request_id}
        if kind in EVENT_KINDS:
            return (
                "POST",
                "/api/v1/events",
                self._event(kind),
                {
                    **scoped,
                    "X-API-Key": self.keys.trigger,
                },
            )
        if kind == "resend":
            self.tally.resent += 1
            body = self.tally.commands[secrets.choice(list(self.tally.commands))]
            return "POST", "/api/v1/events", body, {**scoped, "X-API-Key": self.keys.trigger}
        if kind == "admin":
            body = {"id": f"d{uuid.uuid4().hex[:20]}", "name": "drill write"}
            headers = {"X-Request-ID": request_id, "X-API-Key": self.keys.admin}
            return "POST", "/api/v1/admin/communities", body, headers
        if kind == "badkey":
            # A fresh prefix each time, so no two failures fold into one audit record.
            bad = f"rh_{secrets.token_hex(6)}_{secrets.token_urlsafe(32)}"
            return "GET", "/api/v1/modules", None, {"X-Request-ID": request_id, "X-API-Key": bad}
        body = {"user_id": f"twitch:u{self._serial % 40}", "context": {}, "params": {"n": 1}}
        return "POST", "/api/v1/action/drill.echo", body, {**scoped, "X-API-Key": self.keys.user}

    def _event(self, kind: str) -> dict[str, Any]:
        text = f"!drill {self._serial}" if kind == "command" else f"hello {self._serial}"
        event_id = str(uuid.uuid4())
        self.tally.sent_events.add(event_id)
        return {
            "event_id": event_id,
            "platform": "twitch",
            "type": "chat.message",
            "user_id": f"twitch:u{self._serial % 40}",
            "channel_id": "drill-channel",
            "payload": {"text": text},
        }

    def _note(self, kind: str, status: int, body: dict[str, Any] | None, request_id: str) -> None:
        tally = self.tally
        if kind in AUDITED_KINDS:
            tally.audited.add(request_id)
        if body is None or status != 202:
            return
        event_id = str(body["event_id"])
        if kind == "resend":
            tally.accepted_again.add(event_id)
            return
        tally.accepted.add(event_id)
        if kind == "command":
            tally.commands[event_id] = body

"""The router's services, as the assembly opened them: a plain typed container."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import httpx

from flask_core.database import AsyncDAL
from flask_core.tokens import SigningKey

from .audit.folding import AuthFailureFolding
from .audit.store import AuditStore
from .audit.trail import AuditTrail
from .communities.store import CommunityStore
from .epoch.watcher import EpochWatcher
from .events.service import EventService
from .keys.service import KeyService
from .ratelimits.limits import RouterLimits
from .registry.live import Registry
from .routing.breakers import InstanceBreakers
from .routing.dispatch import Dispatcher
from .settings import RouterSettings

if TYPE_CHECKING:
    import redis.asyncio as aioredis


@dataclass(frozen=True)
class RouterState:
    """Every service of one router process; ``router.assembly.assemble`` opens and closes them.

    Views never see this whole: each domain reads the one service it needs from its own slot.
    """

    settings: RouterSettings
    started_at: float
    dal: AsyncDAL
    redis: aioredis.Redis
    http: httpx.AsyncClient
    audit: AuditTrail
    auth_folding: AuthFailureFolding
    audit_store: AuditStore
    communities: CommunityStore
    keys: KeyService
    signing_key: SigningKey
    registry: Registry
    breakers: InstanceBreakers
    dispatcher: Dispatcher
    limits: RouterLimits
    events: EventService
    epoch: EpochWatcher

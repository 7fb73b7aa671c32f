"""What an admin request may see and change: the key's communities, narrowed by X-Community-ID.

A global admin (scope ``["*"]``) sees everything unless it sends X-Community-ID; a
community-scoped admin sees only its own communities. A view refuses with
``errors.Forbidden(reason=...)``, audited as AUTHZ like the guard's own refusals.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from flask_core import errors
from flask_core.auth import GLOBAL_SCOPE, Principal, current_community_or_none, current_principal


@dataclass(frozen=True, slots=True)
class AdminScope:
    principal: Principal
    communities: tuple[str, ...] | None  # None: every community

    @classmethod
    def current(cls) -> AdminScope:
        principal = current_principal()
        narrowed = current_community_or_none()
        if narrowed is not None:
            return cls(principal, (narrowed,))
        return cls(principal, None if principal.is_global else principal.communities)

    @property
    def is_unrestricted(self) -> bool:
        return self.communities is None

    def sees(self, community: str | None) -> bool:
        if self.communities is None:
            return True
        return community is not None and community in self.communities

    def covers(self, communities: Iterable[str]) -> bool:
        """Whether a key scoped to ``communities`` lies wholly inside this scope."""
        wanted = set(communities)
        if self.communities is None:
            return True
        return GLOBAL_SCOPE not in wanted and wanted <= set(self.communities)

    def require_unrestricted(self, reason: str) -> None:
        if not self.is_unrestricted:
            raise errors.Forbidden(reason=reason)

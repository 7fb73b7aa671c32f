"""The router's app factory: routes and hooks; the lifespan assembles the services behind them."""

from __future__ import annotations

from collections.abc import AsyncGenerator

from quart import Quart

from flask_core.api import install_request_plumbing
from flask_core.auth import check_guards
from flask_core.metrics import RequestMetrics

from .assembly import assemble
from .audit.hooks import AUDIT, AUTH_FOLDING
from .audit.views import AUDIT_STORE
from .audit.views import blueprint as audit_blueprint
from .communities.views import COMMUNITIES
from .communities.views import blueprint as communities_blueprint
from .console.views import install_console
from .database_outage import install_database_outage_answer
from .events.admin_views import DEADLETTERS
from .events.admin_views import blueprint as events_admin_blueprint
from .events.views import EVENTS
from .events.views import blueprint as events_blueprint
from .health.views import DEPENDENCIES, Dependencies
from .health.views import blueprint as health_blueprint
from .keys.access import KEYS, install_access_control
from .keys.views import blueprint as keys_blueprint
from .ratelimits.limits import LIMITS, install_rate_limits
from .registry.views import BREAKERS, REGISTRY
from .registry.views import blueprint as registry_blueprint
from .routing.views import DISPATCHER, SIGNING_KEY
from .routing.views import blueprint as routing_blueprint
from .settings import RouterSettings
from .state import RouterState

BLUEPRINTS = (
    health_blueprint,
    registry_blueprint,
    routing_blueprint,
    events_blueprint,
    events_admin_blueprint,
    keys_blueprint,
    communities_blueprint,
    audit_blueprint,
)


def create_app(settings: RouterSettings) -> Quart:
    """Build the router for ``settings``; its lifespan assembles the services."""
    app = Quart("router", static_folder=None)
    install_request_plumbing(app)
    install_database_outage_answer(app)
    metrics = RequestMetrics("router")
    metrics.install(app)
    app.extensions["metrics"] = metrics
    install_access_control(app)
    install_rate_limits(app)
    for blueprint in BLUEPRINTS:
        app.register_blueprint(blueprint)
    install_console(app)

    @app.while_serving
    async def _lifespan() -> AsyncGenerator[None, None]:
        async with assemble(settings, metrics.registry) as router:
            _provide(app, router)
            yield
            # Requests are over: the services close in reverse order on leaving the block.

    check_guards(app)
    return app


def _provide(app: Quart, router: RouterState) -> None:
    """Hand each domain's routes and hooks the one service they use."""
    app.extensions["router"] = router  # the whole, for tools and tests; views use their slot
    AUDIT.fill(app, router.audit)
    AUTH_FOLDING.fill(app, router.auth_folding)
    AUDIT_STORE.fill(app, router.audit_store)
    COMMUNITIES.fill(app, router.communities)
    KEYS.fill(app, router.keys)
    LIMITS.fill(app, router.limits)
    REGISTRY.fill(app, router.registry)
    BREAKERS.fill(app, router.breakers)
    DISPATCHER.fill(app, router.dispatcher)
    SIGNING_KEY.fill(app, router.signing_key)
    EVENTS.fill(app, router.events)
    DEADLETTERS.fill(app, router.events.deadletters)
    DEPENDENCIES.fill(app, Dependencies(router.dal, router.redis, router.started_at))

"""The router's app factory: no import-time side effects, everything wired here."""

from __future__ import annotations

from quart import Quart

from flask_core.api import install_request_plumbing
from flask_core.auth import check_guards
from flask_core.metrics import RequestMetrics

from .audit.views import blueprint as audit_blueprint
from .communities.views import blueprint as communities_blueprint
from .events.admin_views import blueprint as events_admin_blueprint
from .events.views import blueprint as events_blueprint
from .health.views import blueprint as health_blueprint
from .keys.access import install_access_control
from .keys.views import blueprint as keys_blueprint
from .ratelimits.limits import install_rate_limits
from .registry.views import blueprint as registry_blueprint
from .routing.views import blueprint as routing_blueprint
from .settings import RouterSettings
from .state import RouterState


def create_app(settings: RouterSettings) -> Quart:
    """Build the router for ``settings``; the lifespan opens its resources."""
    app = Quart("router", static_folder=None)
    state = RouterState(settings)
    app.extensions["router"] = state
    install_request_plumbing(app)
    metrics = RequestMetrics("router")
    metrics.install(app)
    app.extensions["metrics"] = metrics
    install_access_control(app, state)
    install_rate_limits(app, lambda: state.limits)

    app.register_blueprint(health_blueprint)
    app.register_blueprint(registry_blueprint)
    app.register_blueprint(routing_blueprint)
    app.register_blueprint(events_blueprint)
    app.register_blueprint(events_admin_blueprint)
    app.register_blueprint(keys_blueprint)
    app.register_blueprint(communities_blueprint)
    app.register_blueprint(audit_blueprint)

    @app.before_serving
    async def _open() -> None:
        await state.open()

    @app.after_serving
    async def _close() -> None:
        await state.close()

    check_guards(app)
    return app

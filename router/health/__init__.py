"""Liveness, readiness, metrics, OpenAPI and JWKS: the router's public routes."""

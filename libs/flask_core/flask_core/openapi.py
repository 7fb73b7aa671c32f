"""An OpenAPI 3.1 description built from a Quart app's routes and their declared guards."""

from __future__ import annotations

import inspect
import re
from collections.abc import Mapping
from typing import Any

from quart import Quart

from .auth import API_KEY_HEADER, COMMUNITY_HEADER
from .routes import Answer, meta_of

_PARAM = re.compile(r"<(?:[a-z_]+:)?([a-zA-Z_][a-zA-Z0-9_]*)>")
_PROBLEM = {"$ref": "#/components/schemas/Problem"}


_TYPES = {
    "string": "string",
    "integer": "integer",
    "float": "number",
    "number": "number",
    "boolean": "boolean",
    "dict": "object",
    "list": "array",
}


def json_schema(cerberus: Mapping[str, Any]) -> dict[str, Any]:
    """The JSON Schema of a body validated by the cerberus ``cerberus`` schema."""
    properties = {name: _field(rules) for name, rules in cerberus.items()}
    required = sorted(name for name, rules in cerberus.items() if rules.get("required"))
    # validate_input refuses unknown members, so the description says so.
    schema: dict[str, Any] = {
        "type": "object",
        "properties": properties,
        "additionalProperties": False,
    }
    if required:
        schema["required"] = required
    return schema


def _field(rules: Mapping[str, Any]) -> dict[str, Any]:
    field: dict[str, Any] = {}
    kinds = rules.get("type")
    names = [kinds] if isinstance(kinds, str) else list(kinds or [])
    types = [_TYPES[name] for name in names if name in _TYPES]
    if rules.get("nullable"):
        types.append("null")
    if types:
        field["type"] = types[0] if len(types) == 1 else types
    array = "array" in types
    for rule, key in (
        ("regex", "pattern"),
        ("allowed", "enum"),
        ("min", "minimum"),
        ("max", "maximum"),
        ("default", "default"),
    ):
        if rule in rules:
            field[key] = rules[rule]
    if "minlength" in rules:
        field["minItems" if array else "minLength"] = rules["minlength"]
    if "maxlength" in rules:
        field["maxItems" if array else "maxLength"] = rules["maxlength"]
    nested = rules.get("schema")
    if isinstance(nested, Mapping):
        if array:
            field["items"] = _field(nested)
        else:
            field.update(json_schema(nested))
    return field


def _operation(app: Quart, endpoint: str, path_params: list[str], method: str) -> dict[str, Any]:
    view = app.view_functions[endpoint]
    doc = inspect.getdoc(view) or endpoint
    summary, _, description = doc.partition("\n")
    meta = meta_of(app, endpoint)
    guard = meta.guard
    parameters: list[dict[str, Any]] = [
        {"name": name, "in": "path", "required": True, "schema": {"type": "string"}}
        for name in path_params
    ]
    parameters += [
        {"name": name, "in": "query", "description": param.description, "schema": param.schema()}
        for name, param in (meta.query or {}).items()
    ]
    operation: dict[str, Any] = {
        "operationId": f"{endpoint}.{method.lower()}",
        "summary": summary.strip(),
        "responses": {
            "default": {
                "description": "Problem details (RFC 9457)",
                "content": {"application/problem+json": {"schema": _PROBLEM}},
            }
        },
    }
    if description.strip():
        operation["description"] = description.strip()
    for answer in meta.answers:  # one status may come in several media types
        described = operation["responses"].setdefault(str(answer.status), _answer(answer))
        if answer.schema is not None:
            described.setdefault("content", {})[answer.media_type] = {"schema": answer.schema}
    if guard is not None and not guard.is_public:
        operation["security"] = [{"ApiKey": []}]
        operation["x-roles"] = sorted(guard.roles or ())
        if guard.scoped or guard.optional_scope:
            parameters.append(
                {
                    "name": COMMUNITY_HEADER,
                    "in": "header",
                    "required": guard.scoped,
                    "schema": {"type": "string", "pattern": "^[A-Za-z0-9_-]{1,64}$"},
                }
            )
    else:
        operation["security"] = []
    if parameters:
        operation["parameters"] = parameters
    if method in ("POST", "PUT", "PATCH") and meta.body is not None:
        body = json_schema(meta.body)
        operation["requestBody"] = {
            "required": "required" in body,
            "content": {"application/json": {"schema": body}},
        }
    return operation


def _answer(answer: Answer) -> dict[str, Any]:
    return {"description": f"{answer.status} answer"}


def build_openapi(app: Quart, title: str, version: str) -> dict[str, Any]:
    paths: dict[str, dict[str, Any]] = {}
    for rule in sorted(app.url_map.iter_rules(), key=lambda r: r.rule):
        if rule.endpoint == "static":
            continue
        path = _PARAM.sub(r"{\1}", rule.rule)
        params = _PARAM.findall(rule.rule)
        for method in sorted((rule.methods or set()) - {"HEAD", "OPTIONS"}):
            paths.setdefault(path, {})[method.lower()] = _operation(
                app, rule.endpoint, params, method
            )
    return {
        "openapi": "3.1.0",
        "info": {"title": title, "version": version},
        "paths": paths,
        "components": {
            "securitySchemes": {
                "ApiKey": {"type": "apiKey", "in": "header", "name": API_KEY_HEADER}
            },
            "schemas": {
                "Problem": {
                    "type": "object",
                    "required": [
                        "type",
                        "title",
                        "status",
                        "detail",
                        "error",
                        "message",
                        "correlation_id",
                        "timestamp",
                    ],
                    "properties": {
                        "type": {"type": "string"},
                        "title": {"type": "string"},
                        "status": {"type": "integer"},
                        "detail": {"type": "string"},
                        "error": {"type": "string"},
                        "message": {"type": "string"},
                        "correlation_id": {"type": ["string", "null"]},
                        "timestamp": {"type": "string", "format": "date-time"},
                    },
                }
            },
        },
    }

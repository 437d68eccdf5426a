"""The OpenAPI document as LGO vendors consume it: problems under ``application/problem+json``.

FastAPI documents every declared response under the route's media type (``application/json``)
and adds its own ``HTTPValidationError`` for 422. The API answers every error as RFC 9457
problem details (``hostd.api.problems``), so this moves the error schemas where the answers
are and drops FastAPI's validation schemas: a generated client then types errors as
``ProblemDetails``, the shape it will actually receive.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.openapi.utils import get_openapi

from hostd.api.problems import MEDIA_TYPE

_FASTAPI_VALIDATION = ("HTTPValidationError", "ValidationError")


def document(app: FastAPI) -> dict[str, Any]:
    spec = get_openapi(
        title=app.title, version=app.version, summary=app.summary, routes=app.routes,
    )
    for path_item in spec.get("paths", {}).values():
        for operation in path_item.values():
            for status, response in operation.get("responses", {}).items():
                if not str(status).startswith(("4", "5")):
                    continue
                # FastAPI files the model under the route's own media type (JSON, HTML, text):
                # errors are answered as problem+json whatever the route answers on success.
                content = response.get("content", {})
                problem = content.get(MEDIA_TYPE, {})
                problem["schema"] = {"$ref": "#/components/schemas/ProblemDetails"}
                response["content"] = {MEDIA_TYPE: problem}
    schemas = spec.get("components", {}).get("schemas", {})
    for name in _FASTAPI_VALIDATION:
        schemas.pop(name, None)
    return spec


def install(app: FastAPI) -> None:
    """Builds the document once, on first request, like FastAPI's own ``app.openapi``."""

    def cached() -> dict[str, Any]:
        if app.openapi_schema is None:
            app.openapi_schema = document(app)
        return app.openapi_schema

    app.openapi = cached  # type: ignore[method-assign]

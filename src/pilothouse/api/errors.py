"""Every failure becomes ``{"error": {"code", "message", "details"}}``.

The status follows the stable code, never the message. Bad input of any kind —
a malformed body, a wrong type, an unknown route — gets a 4xx with a code; a 500
(``internal``) means a bug in Pilothouse and is logged with the request id.
"""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from pilothouse.core.errors import PilothouseError

log = logging.getLogger("pilothouse.api")

STATUS: dict[str, int] = {
    "not_found": 404,
    "unauthenticated": 401,
    "forbidden": 403,
    "version_conflict": 409,
    "lock_held": 423,
    "lock_not_held": 409,
    "invalid_path": 422,
    "invalid_argument": 422,
    "quota_exceeded": 413,
    "too_large": 413,
    "conflict": 409,
    "range_not_satisfiable": 416,
    "method_not_allowed": 405,
    "internal": 500,
    # pipeline and integrations
    "invalid_signature": 401,
    "invalid_payload": 400,
    "invalid_pipeline": 422,
    "invalid_duration": 422,
    "no_pipeline": 409,
    "no_repository": 404,
    "unknown_agent": 422,
    "git_not_found": 404,
    "git_conflict": 409,
    "git_unreachable": 422,  # the URL given does not answer: bad input, not our outage
    "git_auth_failed": 422,
    "github_unavailable": 502,
    "github_unauthorized": 502,  # our token, not the caller's: the upstream refused us
    "github_forbidden": 502,
    "github_not_found": 502,
    "github_invalid": 502,
    "github_rate_limited": 503,
    "git_error": 502,
    "pipeline_error": 422,
    "invalid_image": 422,
    "invalid_settings": 500,
    "invalid_policies": 422,
}

HTTP_CODES: dict[int, str] = {
    400: "invalid_argument",
    401: "unauthenticated",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    413: "too_large",
    415: "invalid_argument",
    416: "range_not_satisfiable",
    422: "invalid_argument",
}


def body(code: str, message: str, details: dict[str, Any] | None = None) -> dict[str, Any]:
    return {"error": {"code": code, "message": message, "details": details or {}}}


def response(code: str, message: str, details: dict[str, Any] | None = None) -> JSONResponse:
    headers = {"WWW-Authenticate": "Bearer"} if code == "unauthenticated" else None
    return JSONResponse(
        body(code, message, details), status_code=STATUS.get(code, 400), headers=headers
    )


async def _domain(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, PilothouseError)
    return response(exc.code, exc.message, exc.details)


async def _validation(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, RequestValidationError)
    problems = [
        {
            "field": ".".join(str(p) for p in err.get("loc", ()) if p != "body"),
            "problem": err.get("msg", "invalid"),
        }
        for err in exc.errors()
    ]
    summary = "; ".join(f"{p['field'] or 'body'}: {p['problem']}" for p in problems[:5])
    return response("invalid_argument", f"invalid request: {summary}", {"problems": problems})


async def _http(_request: Request, exc: Exception) -> JSONResponse:
    assert isinstance(exc, StarletteHTTPException)
    code = HTTP_CODES.get(exc.status_code, "invalid_argument")
    detail = exc.detail if isinstance(exc.detail, str) else code.replace("_", " ")
    return JSONResponse(
        body(code, detail), status_code=exc.status_code, headers=getattr(exc, "headers", None)
    )


async def _unexpected(request: Request, exc: Exception) -> JSONResponse:
    request_id = getattr(request.state, "request_id", None)
    log.error("unhandled error on request %s", request_id, exc_info=exc)
    return JSONResponse(
        body("internal", "internal error; it has been logged", {"request_id": request_id}),
        status_code=500,
    )


def install(app: FastAPI) -> None:
    app.add_exception_handler(PilothouseError, _domain)
    app.add_exception_handler(RequestValidationError, _validation)
    app.add_exception_handler(StarletteHTTPException, _http)
    app.add_exception_handler(Exception, _unexpected)

"""Every failure becomes a plain JSON `{"detail": ...}` with the right status; never a trace."""

from __future__ import annotations

import json
import logging
import math
from typing import Any

from fastapi import FastAPI, Request
from fastapi.encoders import jsonable_encoder
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from services.orders import OrderError, OrderPending

log = logging.getLogger("xigua.api")

# How the workflow's and the service's refusals map to HTTP (rule A1).
STATUS_FOR_KIND = {
    "InvalidState": 409,
    "Refused": 409,
    "PriceChanged": 409,
    "NotOrderable": 409,
    "Forbidden": 403,
    "NotFound": 404,
    "InvalidInput": 422,
    "RequestIdReused": 422,
    "Conflict": 422,
    "VideoNotFound": 422,
    "VideoLinkedElsewhere": 409,
}
UNAVAILABLE_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


# Seconds a 503 asks the caller to wait before trying again (the Retry-After header).
RETRY_AFTER_S = 5


class ApiError(Exception):
    def __init__(
        self,
        status_code: int,
        detail: str,
        headers: dict[str, str] | None = None,
        order_id: str | None = None,
    ) -> None:
        super().__init__(detail)
        self.status_code = status_code
        self.detail = detail
        self.headers = headers or {}
        self.order_id = order_id


class Unavailable(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(
            503,
            f"{what} is unavailable right now; please retry shortly",
            {"Retry-After": str(RETRY_AFTER_S)},
        )


class FieldErrors(JSONResponse):
    """A 422's list of field errors. Each quotes the input it refused, which can be what JSON
    may carry but an answer cannot: a lone surrogate ("\\ud800", not encodable as UTF-8), or
    NaN and Infinity, which Python's JSON parser takes and strict JSON has no word for."""

    def render(self, content: Any) -> bytes:
        return json.dumps(_finite(content), separators=(",", ":"), allow_nan=False).encode()


def _finite(value: Any) -> Any:
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _finite(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_finite(v) for v in value]
    return value


def from_order_error(error: OrderError) -> ApiError:
    return ApiError(STATUS_FOR_KIND.get(error.kind, 409), error.message)


def from_pending(error: OrderPending, keyed: bool) -> ApiError:
    """A 503 that is not a refusal: the request may still be applied, and the caller must be
    able to learn whether it was without risking a second effect (rule A2)."""
    order_id = error.order_id
    how = (
        "repeat the request with the same Idempotency-Key: it returns the outcome once there "
        "is one, and is never applied twice"
        if keyed
        else f"read GET /orders/{order_id} to see whether it was before acting again, and send "
        "an Idempotency-Key to make a repeat safe"
    )
    return ApiError(
        503,
        f"order {order_id}: the order service took the request but gave no answer in time "
        f"(a worker is stalled or being deployed); it may still be applied: {how}",
        {"Retry-After": str(RETRY_AFTER_S), "Location": f"/orders/{order_id}"},
        order_id,
    )


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.status_code == 401 else {}
        body: dict[str, str] = {"detail": exc.detail}
        if exc.order_id is not None:
            body["order_id"] = exc.order_id
        return JSONResponse(body, status_code=exc.status_code, headers={**headers, **exc.headers})

    @app.exception_handler(RequestValidationError)
    async def invalid_request(_: Request, exc: RequestValidationError) -> JSONResponse:
        return FieldErrors({"detail": jsonable_encoder(exc.errors())}, status_code=422)

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        # A body that cannot be decoded is a malformed request like any other (rule A1).
        status = 422 if exc.status_code == 400 else exc.status_code
        return JSONResponse({"detail": exc.detail}, status_code=status, headers=exc.headers)

    @app.exception_handler(OrderError)
    async def order_error(request: Request, exc: OrderError) -> JSONResponse:
        return await api_error(request, from_order_error(exc))

    @app.exception_handler(OrderPending)
    async def order_pending(request: Request, exc: OrderPending) -> JSONResponse:
        # Routes say how to retry (they know whether a key was sent); this is the fallback.
        return await api_error(request, from_pending(exc, keyed=False))

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def rpc_timeout(request: Request, exc: RPCTimeoutOrCancelledError) -> JSONResponse:
        return await api_error(request, Unavailable("the order service (Temporal)"))

    @app.exception_handler(RPCError)
    async def rpc_error(request: Request, exc: RPCError) -> JSONResponse:
        if exc.status in UNAVAILABLE_RPC:
            return await api_error(request, Unavailable("the order service (Temporal)"))
        log.error("Temporal call failed: %s %s", exc.status, exc.message)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def db_error(request: Request, exc: DBAPIError) -> JSONResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return await api_error(request, Unavailable("the database"))
        log.exception("database error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

    @app.exception_handler(Exception)
    async def unexpected(_: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error", exc_info=exc)
        return JSONResponse({"detail": "internal error"}, status_code=500)

"""Every failure becomes one shape, RFC 9457 problem details (`application/problem+json`), with
the status its kind maps to here and nowhere else; never a trace.

A problem has `type` (which kind of problem: `urn:xigua-tasks:problem:<Kind>`, or `about:blank`
for a bare HTTP status), `title` (the kind, in words), `status`, `detail` (this occurrence, a
sentence for people) and `instance` (the path asked for); a malformed request adds `errors`,
one entry per field, and some problems a member of their own (`order_id` on a pending order).
"""

from __future__ import annotations

import json
import logging
import math
from dataclasses import dataclass
from http import HTTPStatus
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from sqlalchemy.exc import DBAPIError, OperationalError
from starlette.exceptions import HTTPException as StarletteHTTPException
from temporalio.client import RPCTimeoutOrCancelledError
from temporalio.service import RPCError, RPCStatusCode

from services.orders import OrderPending
from workflows.errors import ErrorKind, Refusal

log = logging.getLogger("xigua.api")

PROBLEM_JSON = "application/problem+json"
TYPE_PREFIX = "urn:xigua-tasks:problem:"
# Seconds a 503 asks the caller to wait before trying again (the Retry-After header).
RETRY_AFTER_S = 5


@dataclass(frozen=True)
class ProblemType:
    status: int
    title: str


# What each kind of refusal is in HTTP (rule A1: 409 for the wrong state, 403/404 for the wrong
# actor, 422 for a malformed request). A test checks that every kind is here.
PROBLEMS: dict[ErrorKind, ProblemType] = {
    ErrorKind.INVALID_STATE: ProblemType(409, "Not possible in the current state"),
    ErrorKind.FORBIDDEN: ProblemType(403, "Not allowed to you"),
    # Someone else's order does not exist, as far as this caller may learn.
    ErrorKind.NOT_A_PARTY: ProblemType(404, "Not found"),
    ErrorKind.NOT_FOUND: ProblemType(404, "Not found"),
    ErrorKind.INVALID_INPUT: ProblemType(422, "Malformed request"),
    ErrorKind.REQUEST_ID_REUSED: ProblemType(422, "Request id already used for another request"),
    ErrorKind.CONFLICT: ProblemType(409, "Conflicts with an earlier request"),
    ErrorKind.INSUFFICIENT_FUNDS: ProblemType(409, "Insufficient balance"),
    ErrorKind.NOT_ORDERABLE: ProblemType(409, "The creator cannot be ordered"),
    ErrorKind.REFUSED: ProblemType(409, "The order was refused"),
    ErrorKind.PRICE_CHANGED: ProblemType(409, "The price has changed"),
    ErrorKind.PAYMENT_DECLINED: ProblemType(402, "The payment was declined"),
    ErrorKind.LIMIT_REACHED: ProblemType(409, "A limit is reached"),
    ErrorKind.AD_LAW_TERMS: ProblemType(422, "Wording that advertising law forbids"),
    ErrorKind.VIDEO_NOT_FOUND: ProblemType(422, "No such video"),
    ErrorKind.VIDEO_LINKED_ELSEWHERE: ProblemType(409, "The video serves another order"),
    ErrorKind.ESCROW_ALREADY_SETTLED: ProblemType(409, "The escrow is already settled"),
    ErrorKind.TRANSFER_CONFLICT: ProblemType(500, "Internal error"),
    ErrorKind.LEDGER_ERROR: ProblemType(500, "Internal error"),
    ErrorKind.UNAUTHENTICATED: ProblemType(401, "Not authenticated"),
    ErrorKind.METHOD_NOT_ALLOWED: ProblemType(405, "Method not allowed"),
    ErrorKind.TOO_LARGE: ProblemType(413, "Request too large"),
    ErrorKind.TOO_MANY_REQUESTS: ProblemType(429, "Too many requests"),
    ErrorKind.UNAVAILABLE: ProblemType(503, "Temporarily unavailable"),
    ErrorKind.PENDING: ProblemType(503, "No answer yet"),
    ErrorKind.INTERNAL: ProblemType(500, "Internal error"),
}
# A bare HTTP error (Starlette's own) as a kind, where there is one.
KIND_FOR_STATUS = {
    400: ErrorKind.INVALID_INPUT,
    404: ErrorKind.NOT_FOUND,
    405: ErrorKind.METHOD_NOT_ALLOWED,
}
UNAVAILABLE_RPC = {
    RPCStatusCode.UNAVAILABLE,
    RPCStatusCode.DEADLINE_EXCEEDED,
    RPCStatusCode.CANCELLED,
    RPCStatusCode.RESOURCE_EXHAUSTED,
}


def problem_type(kind: ErrorKind) -> str:
    return f"{TYPE_PREFIX}{kind.value}"


def problem(
    kind: ErrorKind | None, detail: str, instance: str | None, status: int | None = None
) -> dict[str, Any]:
    """A problem's standard members. Without a kind, a bare HTTP status (`about:blank`)."""
    if kind is None:
        code = status or 500
        return {
            "type": "about:blank",
            "title": HTTPStatus(code).phrase,
            "status": code,
            "detail": detail,
            "instance": instance,
        }
    known = PROBLEMS[kind]
    return {
        "type": problem_type(kind),
        "title": known.title,
        "status": known.status,
        "detail": detail,
        "instance": instance,
    }


class ProblemResponse(JSONResponse):
    """A problem as `application/problem+json`. Encoded as ASCII JSON: a field error may quote
    a key that JSON may carry but UTF-8 cannot (a lone surrogate, "\\ud800"), and NaN or
    Infinity, which Python's JSON parser takes and strict JSON has no word for."""

    media_type = PROBLEM_JSON

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


class ApiError(Exception):
    """A request refused, or not answered, for a reason of `kind`; rendered as a problem."""

    def __init__(
        self,
        kind: ErrorKind | None,
        detail: str,
        headers: dict[str, str] | None = None,
        *,
        status: int | None = None,
        **extensions: Any,
    ) -> None:
        super().__init__(detail)
        self.kind = kind
        self.status_code = PROBLEMS[kind].status if kind is not None else (status or 500)
        self.detail = detail
        self.headers = headers or {}
        self.extensions = extensions

    def body(self, instance: str | None) -> dict[str, Any]:
        return {
            **problem(self.kind, self.detail, instance, self.status_code),
            **self.extensions,
        }

    @classmethod
    def replayed(cls, status: int, body: Any, headers: dict[str, str]) -> ApiError:
        """A problem answered before and stored (api/idempotency.py), to be answered again.
        Answers stored before problem details had only a `detail`; they keep their words."""
        stored = body if isinstance(body, dict) else {}
        try:
            kind: ErrorKind | None = ErrorKind(str(stored.get("type")).removeprefix(TYPE_PREFIX))
        except ValueError:
            kind = None
        detail = stored.get("detail")
        standard = {"type", "title", "status", "detail", "instance"}
        extensions = {k: v for k, v in stored.items() if k not in standard}
        return cls(
            kind if kind is not None and PROBLEMS[kind].status == status else None,
            detail if isinstance(detail, str) else HTTPStatus(status).phrase,
            headers,
            status=status,
            **extensions,
        )


class Unavailable(ApiError):
    def __init__(self, what: str) -> None:
        super().__init__(
            ErrorKind.UNAVAILABLE,
            f"{what} is unavailable right now; please retry shortly",
            {"Retry-After": str(RETRY_AFTER_S)},
        )


def from_refusal(error: Refusal) -> ApiError:
    return ApiError(error.kind, error.message)


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
        ErrorKind.PENDING,
        f"order {order_id}: the order service took the request but gave no answer in time "
        f"(a worker is stalled or being deployed); it may still be applied: {how}",
        {"Retry-After": str(RETRY_AFTER_S), "Location": f"/orders/{order_id}"},
        order_id=order_id,
    )


def field_errors(exc: RequestValidationError) -> ApiError:
    """A malformed request: one entry per field, with where it is and what is wrong. The
    refused input is not quoted back (it may be a password)."""
    errors = [
        {
            "loc": [part if isinstance(part, int) else str(part) for part in e.get("loc", ())],
            "msg": str(e.get("msg", "")),
            "type": str(e.get("type", "")),
        }
        for e in exc.errors()
    ]
    first = errors[0] if errors else {"loc": [], "msg": "malformed"}
    where = ".".join(str(part) for part in first["loc"]) or "the request"
    more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
    return ApiError(
        ErrorKind.INVALID_INPUT,
        f"the request is malformed: {where}: {first['msg']}{more}",
        errors=errors,
    )


def render(request: Request, error: ApiError) -> ProblemResponse:
    headers = dict(error.headers)
    if error.status_code == 401:
        headers.setdefault("WWW-Authenticate", "Bearer")
    return ProblemResponse(
        error.body(request.url.path), status_code=error.status_code, headers=headers
    )


INTERNAL = "internal error"


def install(app: FastAPI) -> None:
    @app.exception_handler(ApiError)
    async def api_error(request: Request, exc: ApiError) -> ProblemResponse:
        return render(request, exc)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError) -> ProblemResponse:
        return render(request, field_errors(exc))

    @app.exception_handler(StarletteHTTPException)
    async def http_error(request: Request, exc: StarletteHTTPException) -> ProblemResponse:
        # A body that cannot be decoded is a malformed request like any other (rule A1).
        kind = KIND_FOR_STATUS.get(exc.status_code)
        detail = exc.detail if isinstance(exc.detail, str) else HTTPStatus(exc.status_code).phrase
        if exc.status_code == 404 and detail == "Not Found":
            detail = f"there is no {request.url.path}"
        elif exc.status_code == 405:
            detail = f"{request.url.path} does not take {request.method}"
        error = ApiError(kind, detail, dict(exc.headers or {}), status=exc.status_code)
        return render(request, error)

    @app.exception_handler(Refusal)
    async def refusal(request: Request, exc: Refusal) -> ProblemResponse:
        return render(request, from_refusal(exc))

    @app.exception_handler(OrderPending)
    async def order_pending(request: Request, exc: OrderPending) -> ProblemResponse:
        # Routes say how to retry (they know whether a key was sent); this is the fallback.
        return render(request, from_pending(exc, keyed=False))

    @app.exception_handler(RPCTimeoutOrCancelledError)
    async def rpc_timeout(request: Request, exc: RPCTimeoutOrCancelledError) -> ProblemResponse:
        return render(request, Unavailable("the order service (Temporal)"))

    @app.exception_handler(RPCError)
    async def rpc_error(request: Request, exc: RPCError) -> ProblemResponse:
        if exc.status in UNAVAILABLE_RPC:
            return render(request, Unavailable("the order service (Temporal)"))
        log.error("Temporal call failed: %s %s", exc.status, exc.message)
        return render(request, ApiError(ErrorKind.INTERNAL, INTERNAL))

    @app.exception_handler(OperationalError)
    @app.exception_handler(DBAPIError)
    async def db_error(request: Request, exc: DBAPIError) -> ProblemResponse:
        if isinstance(exc, OperationalError) or exc.connection_invalidated:
            return render(request, Unavailable("the database"))
        log.exception("database error", exc_info=exc)
        return render(request, ApiError(ErrorKind.INTERNAL, INTERNAL))

    @app.exception_handler(Exception)
    async def unexpected(request: Request, exc: Exception) -> ProblemResponse:
        log.exception("unhandled error", exc_info=exc)
        return render(request, ApiError(ErrorKind.INTERNAL, INTERNAL))

    _document(app)


def _document(app: FastAPI) -> None:
    """Every error response in the OpenAPI document is a Problem, as problem+json: FastAPI
    files a route's `responses` models, and its own 422, under application/json."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            ref = {"$ref": "#/components/schemas/Problem"}
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if not isinstance(operation, dict):
                        continue
                    for code, response in operation.get("responses", {}).items():
                        if code.isdigit() and int(code) >= 400:
                            response["content"] = {PROBLEM_JSON: {"schema": ref}}
            components = schema.get("components", {}).get("schemas", {})
            for unused in ("HTTPValidationError", "ValidationError"):
                components.pop(unused, None)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]

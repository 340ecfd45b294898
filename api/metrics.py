"""Prometheus request metrics, labelled by route template (not raw path, to bound cardinality)."""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable

from fastapi import FastAPI, Request, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "xigua_api_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "xigua_api_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )

    def route_of(request: Request) -> str:
        # The matched route's template (FastAPI records it in the scope), not the raw path.
        route = request.scope.get("route")
        return str(getattr(route, "path", "unmatched"))

    @app.middleware("http")
    async def measure(
        request: Request, call_next: Callable[[Request], Awaitable[Response]]
    ) -> Response:
        started = time.perf_counter()
        response = await call_next(request)
        route = route_of(request)
        requests.labels(request.method, route, str(response.status_code)).inc()
        latency.labels(request.method, route).observe(time.perf_counter() - started)
        return response

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

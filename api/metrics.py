"""Prometheus request metrics, labelled by route template (not raw path, to bound cardinality)."""

from __future__ import annotations

import time

from fastapi import FastAPI, Response
from prometheus_client import (
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Histogram,
    generate_latest,
)
from starlette.types import ASGIApp, Message, Receive, Scope, Send


class RequestMetrics:
    """Counts and times every HTTP request. Plain ASGI rather than `@app.middleware("http")`,
    whose BaseHTTPMiddleware runs each request in a task of its own with a stream between the
    two: a measurable share of the API's CPU per request (docs/PERFORMANCE.md)."""

    def __init__(self, app: ASGIApp, requests: Counter, latency: Histogram) -> None:
        self.app = app
        self.requests = requests
        self.latency = latency

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500  # what the client gets if the app fails before it answers

        async def send_noting_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_noting_status)
        finally:
            # The matched route's template (the router records it in the scope), not the
            # raw path.
            route = str(getattr(scope.get("route"), "path", "unmatched"))
            self.requests.labels(scope["method"], route, str(status)).inc()
            self.latency.labels(scope["method"], route).observe(time.perf_counter() - started)


def install(app: FastAPI) -> None:
    registry = CollectorRegistry()
    requests = Counter(
        "xigua_api_requests", "HTTP requests", ["method", "route", "status"], registry=registry
    )
    latency = Histogram(
        "xigua_api_request_seconds", "HTTP request latency", ["method", "route"], registry=registry
    )
    app.add_middleware(RequestMetrics, requests=requests, latency=latency)

    @app.get("/metrics", include_in_schema=False)
    async def metrics() -> Response:
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

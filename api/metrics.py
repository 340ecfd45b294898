"""Prometheus request metrics, labelled by route template (not raw path, to bound cardinality).

Served on a port of their own (`XIGUA_API_METRICS_ADDRESS`), as the worker serves the SDK's,
never on the API's public port: they tell anyone who can read them the traffic of every route.
"""

from __future__ import annotations

import time
from wsgiref.simple_server import WSGIServer

from fastapi import FastAPI
from prometheus_client import CollectorRegistry, Counter, Histogram, start_wsgi_server
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
    app.state.metrics_registry = registry


def serve(app: FastAPI, address: str) -> WSGIServer:
    """Serve the app's metrics at http://<address>/metrics (host:port; port 0 picks a free
    one), from a daemon thread of this process."""
    host, _, port = address.rpartition(":")
    server, _thread = start_wsgi_server(
        int(port), host.strip("[]"), registry=app.state.metrics_registry
    )
    return server

"""Limits on bad or hostile input: the request body size, and failed logins.

Page sizes (`limit` ≤ 100) and string lengths are bounded where they are declared (the route
signatures, `api/schemas.py`, `workflows/messages.py`); this module adds what a schema cannot
express: how many bytes a request may send, and how often one may guess a password.
"""

from __future__ import annotations

import hashlib
import json
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import ApiError

# The largest body any route needs is a script (5,000 characters, up to 20 KB of UTF-8) in JSON;
# 64 KiB leaves room for that and refuses anything that would only cost memory and parsing time.
DEFAULT_MAX_BODY_BYTES = 64 * 1024

# Login throttling: failures per username and per client address within the window.
DEFAULT_MAX_FAILURES_PER_USERNAME = 5
DEFAULT_MAX_FAILURES_PER_IP = 20
DEFAULT_LOGIN_WINDOW_S = 5 * 60.0
# How many usernames (and, separately, addresses) are remembered at most; the least recently
# failed ones are forgotten first, so a flood of made-up usernames cannot exhaust memory.
DEFAULT_MAX_TRACKED = 10_000

Clock = Callable[[], float]


# --- the request body ---


def _problem(status: int, detail: str) -> tuple[Message, Message]:
    body = json.dumps({"detail": detail}).encode()
    start: Message = {
        "type": "http.response.start",
        "status": status,
        "headers": [
            (b"content-type", b"application/json"),
            (b"content-length", str(len(body)).encode()),
            # The rest of an oversized body is never read, so the connection cannot be reused.
            (b"connection", b"close"),
        ],
    }
    return start, {"type": "http.response.body", "body": body}


class BodySizeLimit:
    """Answer 413 to a request whose body is larger than `max_bytes`, before any route runs.

    A declared Content-Length is judged without reading a byte. A body without one (chunked)
    is read up to the limit and refused as soon as it passes it; otherwise the bytes read are
    handed to the app unchanged. Routes therefore never see a partial or oversized body, and
    nothing is created for a refused request.
    """

    def __init__(self, app: ASGIApp, max_bytes: int = DEFAULT_MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes
        self.detail = f"the request body is larger than the limit of {max_bytes} bytes"

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = _content_length(scope)
        if declared == -1:
            await self._refuse(send, 400, "the Content-Length header is not a valid length")
            return
        if declared is not None and declared > self.max_bytes:
            await self._refuse(send, 413, self.detail)
            return

        # Read the body (at most the limit plus one chunk) before the app sees any of it.
        chunks: list[Message] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                chunks.append(message)  # a disconnect: let the app see it as usual
                break
            size += len(message.get("body", b""))
            if size > self.max_bytes:
                await self._refuse(send, 413, self.detail)
                return
            chunks.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(send: Send, status: int, detail: str) -> None:
        start, body = _problem(status, detail)
        await send(start)
        await send(body)


def _content_length(scope: Scope) -> int | None:
    """The declared length; None when there is none, -1 when it is not a number."""
    for name, value in scope["headers"]:
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() else -1
    return None


# --- failed logins ---


class TooManyAttempts(ApiError):
    def __init__(self, retry_after_s: float) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(429, f"too many failed logins; try again in {self.retry_after} seconds")


@dataclass(frozen=True)
class Attempt:
    """A login attempt that holds a slot in both counters until it is known to succeed."""

    user_key: str
    ip_key: str
    at: float


class LoginRateLimiter:
    """At most `per_username` failed logins for one username, and `per_ip` from one client
    address, within a sliding `window_s`; further attempts get 429 until the oldest failure
    leaves the window. A successful login clears the username's failures.

    Each attempt takes its slot *before* the password is checked (`begin`), and gives it back
    only on success (`succeeded`) or when the check could not run (`abandon`), so concurrent
    guesses cannot all pass the check before any of them is counted.

    The counters live in this process: behind several API instances an attacker gets the
    limit once per instance, and a restart forgets them. A multi-instance deployment needs a
    shared store for them (a table in the app database, or Redis with expiring keys).
    """

    def __init__(
        self,
        *,
        per_username: int = DEFAULT_MAX_FAILURES_PER_USERNAME,
        per_ip: int = DEFAULT_MAX_FAILURES_PER_IP,
        window_s: float = DEFAULT_LOGIN_WINDOW_S,
        max_tracked: int = DEFAULT_MAX_TRACKED,
        clock: Clock = time.monotonic,
    ) -> None:
        self.per_username = per_username
        self.per_ip = per_ip
        self.window_s = window_s
        self.max_tracked = max_tracked
        self.clock = clock
        # key -> times of its recent failures, oldest first; the dict is ordered by last failure.
        self._users: OrderedDict[str, list[float]] = OrderedDict()
        self._ips: OrderedDict[str, list[float]] = OrderedDict()
        # The handler runs on the event loop, but a lock keeps check-and-take atomic whatever
        # thread calls it (a sync route, a test).
        self._lock = threading.Lock()

    def begin(self, username: str, ip: str) -> Attempt:
        """Take a slot for this attempt, or raise TooManyAttempts."""
        user_key = self._user_key(username)
        with self._lock:
            now = self.clock()
            self._forget_expired(now)
            waits = [
                self._wait(table, key, limit, now)
                for table, key, limit in (
                    (self._users, user_key, self.per_username),
                    (self._ips, ip, self.per_ip),
                )
            ]
            if max(waits) > 0:
                raise TooManyAttempts(max(waits))
            for table, key in ((self._users, user_key), (self._ips, ip)):
                table.setdefault(key, []).append(now)
                table.move_to_end(key)
                while len(table) > self.max_tracked:
                    table.popitem(last=False)
            return Attempt(user_key=user_key, ip_key=ip, at=now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the username starts afresh. The address keeps its earlier
        failures (one valid account must not reset the counter of someone guessing others)."""
        with self._lock:
            self._users.pop(attempt.user_key, None)
            self._release(self._ips, attempt.ip_key, attempt.at)

    def abandon(self, attempt: Attempt) -> None:
        """The password could not be checked (the database is down): not a failure."""
        with self._lock:
            self._release(self._users, attempt.user_key, attempt.at)
            self._release(self._ips, attempt.ip_key, attempt.at)

    def _wait(
        self, table: OrderedDict[str, list[float]], key: str, limit: int, now: float
    ) -> float:
        """Seconds until `key` may try again (0: now), dropping failures older than the window."""
        stamps = table.get(key)
        if not stamps:
            return 0.0
        stamps[:] = [t for t in stamps if t > now - self.window_s]
        if len(stamps) < limit:
            return 0.0
        # The attempt is allowed again when enough old failures leave the window.
        return stamps[len(stamps) - limit] + self.window_s - now

    def _forget_expired(self, now: float) -> None:
        # Entries are ordered by their latest failure, so the expired ones are at the front.
        for table in (self._users, self._ips):
            while table:
                key, stamps = next(iter(table.items()))
                if stamps and stamps[-1] > now - self.window_s:
                    break
                del table[key]

    @staticmethod
    def _release(table: OrderedDict[str, list[float]], key: str, at: float) -> None:
        stamps = table.get(key)
        if stamps is not None and at in stamps:
            stamps.remove(at)
            if not stamps:
                del table[key]

    @staticmethod
    def _user_key(username: str) -> str:
        # A fixed-size key however long the submitted name, and one counter for spellings
        # that differ only in case or surrounding spaces.
        return hashlib.sha256(username.strip().casefold().encode()).hexdigest()

    def tracked(self) -> tuple[int, int]:
        """How many usernames and addresses are remembered (for tests and metrics)."""
        with self._lock:
            return len(self._users), len(self._ips)


def login_limiter(app: FastAPI) -> LoginRateLimiter:
    limiter: LoginRateLimiter | None = getattr(app.state, "login_limiter", None)
    if limiter is None:  # an app built without install(): still throttle logins
        limiter = app.state.login_limiter = LoginRateLimiter()
    return limiter


def client_address(request: Request) -> str:
    # Behind a reverse proxy this is the proxy unless uvicorn runs with --proxy-headers and
    # --forwarded-allow-ips naming it, which puts the X-Forwarded-For client here.
    return request.client.host if request.client else "unknown"


# --- wiring ---


def install(
    app: FastAPI,
    *,
    max_body_bytes: int = DEFAULT_MAX_BODY_BYTES,
    limiter: LoginRateLimiter | None = None,
) -> None:
    app.add_middleware(BodySizeLimit, max_bytes=max_body_bytes)
    app.state.login_limiter = limiter or LoginRateLimiter()

    @app.exception_handler(TooManyAttempts)
    async def too_many(_: Request, exc: TooManyAttempts) -> JSONResponse:
        return JSONResponse(
            {"detail": exc.detail},
            status_code=429,
            headers={"Retry-After": str(exc.retry_after)},
        )

    _document_413(app)


def _document_413(app: FastAPI) -> None:
    """Add the 413 answer to every operation that takes a body, so the schema tells the truth
    (and schemathesis's status-code check holds)."""
    build = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema is None:
            schema = build()
            for operations in schema.get("paths", {}).values():
                for operation in operations.values():
                    if isinstance(operation, dict) and "requestBody" in operation:
                        operation.setdefault("responses", {}).setdefault("413", _PROBLEM_413)
            app.openapi_schema = schema
        return app.openapi_schema

    app.openapi = openapi  # type: ignore[method-assign]


_PROBLEM_413: dict[str, Any] = {
    "description": "The request body is larger than the limit",
    "content": {
        "application/json": {
            "schema": {
                "type": "object",
                "properties": {"detail": {"type": "string"}},
                "required": ["detail"],
            }
        }
    },
}

"""Limits on bad or hostile input: the request body size, and failed logins.

Page sizes (`limit` ≤ 100) and string lengths are bounded where they are declared (the route
signatures, `api/schemas.py`, `workflows/messages.py`); this module adds what a schema cannot
express: how many bytes a request may send, and how often one may guess a password.
"""

from __future__ import annotations

import hashlib
import ipaddress
import math
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from fastapi import FastAPI, Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from api.errors import PROBLEM_JSON, ApiError, ProblemResponse
from services import usernames
from workflows.errors import ErrorKind

# The largest body any route needs is a script (5,000 characters, up to 20 KB of UTF-8) in JSON;
# 64 KiB leaves room for that and refuses anything that would only cost memory and parsing time.
DEFAULT_MAX_BODY_BYTES = 64 * 1024

# Login throttling, per (username, address): free failures, then a wait that doubles from the
# base up to the cap (3 free, then 1 s, 2 s, 4 s ... 15 min: about 12 guesses in the first
# 5 minutes, then 4 an hour); a pair quiet for an hour starts afresh.
DEFAULT_FREE_FAILURES = 3
DEFAULT_BACKOFF_BASE_S = 1.0
DEFAULT_BACKOFF_MAX_S = 15 * 60.0
DEFAULT_FORGET_AFTER_S = 60 * 60.0
# Per address, across usernames: a looser cap on failures within a sliding window (an office
# behind one NAT address must not be stopped by one colleague's typos).
DEFAULT_MAX_FAILURES_PER_IP = 50
DEFAULT_IP_WINDOW_S = 5 * 60.0
# How many pairs (and, separately, addresses) are remembered at most; the least recently
# failed ones are forgotten first, so a flood of made-up usernames cannot exhaust memory.
DEFAULT_MAX_TRACKED = 10_000

Clock = Callable[[], float]


# --- the request body ---


def _problem(scope: Scope, kind: ErrorKind, detail: str) -> tuple[Message, Message]:
    """The same problem the app's handlers answer (api/errors.py), from before the app runs."""
    error = ApiError(kind, detail)
    body = ProblemResponse(error.body(scope.get("path"))).body
    start: Message = {
        "type": "http.response.start",
        "status": error.status_code,
        "headers": [
            (b"content-type", PROBLEM_JSON.encode()),
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
            await self._refuse(
                scope,
                send,
                ErrorKind.INVALID_INPUT,
                "the Content-Length header is not a valid length",
            )
            return
        if declared is not None and declared > self.max_bytes:
            await self._refuse(scope, send, ErrorKind.TOO_LARGE, self.detail)
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
                await self._refuse(scope, send, ErrorKind.TOO_LARGE, self.detail)
                return
            chunks.append(message)
            if not message.get("more_body", False):
                break

        async def replay() -> Message:
            return chunks.pop(0) if chunks else await receive()

        await self.app(scope, replay, send)

    @staticmethod
    async def _refuse(scope: Scope, send: Send, kind: ErrorKind, detail: str) -> None:
        start, body = _problem(scope, kind, detail)
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
    def __init__(self, retry_after_s: float, why: str) -> None:
        self.retry_after = max(1, math.ceil(retry_after_s))
        super().__init__(
            ErrorKind.TOO_MANY_REQUESTS,
            f"{why}; try again in {self.retry_after} seconds",
            {"Retry-After": str(self.retry_after)},
        )


@dataclass
class _Backoff:
    """The consecutive failures of one username from one address, and the latest one's time."""

    failures: int
    last: float


@dataclass(frozen=True)
class Attempt:
    """A login attempt that counts as a failure until it is known to succeed."""

    pair: tuple[str, str]
    ip_key: str
    at: float


class LoginRateLimiter:
    """Throttle password guessing without letting anyone lock a user out.

    - Per (username, address): the first `free_failures` consecutive failures cost nothing;
      after that each attempt waits `backoff_base_s`, doubled for every further failure, up to
      `backoff_max_s`. A success clears the pair; a pair with no failure for `forget_after_s`
      is forgotten. Guesses from one address therefore slow down exponentially, while the real
      user, from any other address, is not slowed at all: nothing ever locks a username.
    - Per address: at most `per_ip` failures across all usernames within a sliding `window_s`,
      a looser cap that stops one address from spraying guesses over many usernames.

    Each attempt counts *before* the password is checked (`begin`), and is given back only on
    success (`succeeded`) or when the check could not run (`abandon`), so concurrent guesses
    cannot all pass the check before any of them is counted.

    The state lives in this process (see docs/OPERATIONS.md, "Login throttling"): behind N API
    replicas a guesser gets up to N times the budget, and a restart forgets it. Neither can
    lock anyone out; both only loosen the throttle.
    """

    def __init__(
        self,
        *,
        free_failures: int = DEFAULT_FREE_FAILURES,
        backoff_base_s: float = DEFAULT_BACKOFF_BASE_S,
        backoff_max_s: float = DEFAULT_BACKOFF_MAX_S,
        forget_after_s: float = DEFAULT_FORGET_AFTER_S,
        per_ip: int = DEFAULT_MAX_FAILURES_PER_IP,
        window_s: float = DEFAULT_IP_WINDOW_S,
        max_tracked: int = DEFAULT_MAX_TRACKED,
        clock: Clock = time.monotonic,
    ) -> None:
        self.free_failures = free_failures
        self.backoff_base_s = backoff_base_s
        self.backoff_max_s = backoff_max_s
        self.forget_after_s = forget_after_s
        self.per_ip = per_ip
        self.window_s = window_s
        self.max_tracked = max_tracked
        self.clock = clock
        # Both ordered by latest failure, oldest first, so expiry and eviction take the front.
        self._pairs: OrderedDict[tuple[str, str], _Backoff] = OrderedDict()
        self._ips: OrderedDict[str, list[float]] = OrderedDict()
        # The handler runs on the event loop, but a lock keeps check-and-take atomic whatever
        # thread calls it (a sync route, a test).
        self._lock = threading.Lock()

    def delay_after(self, failures: int) -> float:
        """Seconds one username must wait, from one address, after this many failures."""
        if failures < self.free_failures:
            return 0.0
        exponent = min(failures - self.free_failures, 62)  # 2**62 s is past any cap
        return float(min(self.backoff_max_s, self.backoff_base_s * 2**exponent))

    def begin(self, username: str, ip: str) -> Attempt:
        """Count this attempt as a failure until told otherwise, or raise TooManyAttempts."""
        ip_key = _address_key(ip)
        pair = (_user_key(username), ip_key)
        with self._lock:
            now = self.clock()
            self._forget_expired(now)
            backoff = self._pairs.get(pair)
            pair_wait = backoff.last + self.delay_after(backoff.failures) - now if backoff else 0.0
            if pair_wait > 0:
                raise TooManyAttempts(
                    pair_wait, "too many failed logins for this username from your address"
                )
            ip_wait = self._ip_wait(ip_key, now)
            if ip_wait > 0:
                raise TooManyAttempts(ip_wait, "too many failed logins from your address")
            if backoff is None:
                backoff = self._pairs[pair] = _Backoff(failures=0, last=now)
            backoff.failures += 1
            backoff.last = now
            self._pairs.move_to_end(pair)
            self._ips.setdefault(ip_key, []).append(now)
            self._ips.move_to_end(ip_key)
            for table in (self._pairs, self._ips):
                while len(table) > self.max_tracked:
                    table.popitem(last=False)
            return Attempt(pair=pair, ip_key=ip_key, at=now)

    def succeeded(self, attempt: Attempt) -> None:
        """The password was right: the pair starts afresh. The address keeps its earlier
        failures (one valid account must not reset the counter of someone guessing others)."""
        with self._lock:
            self._pairs.pop(attempt.pair, None)
            self._release_ip(attempt)

    def abandon(self, attempt: Attempt) -> None:
        """The password could not be checked (the database is down): not a failure."""
        with self._lock:
            backoff = self._pairs.get(attempt.pair)
            if backoff is not None:
                backoff.failures -= 1
                if backoff.failures <= 0:
                    del self._pairs[attempt.pair]
            self._release_ip(attempt)

    def _ip_wait(self, ip_key: str, now: float) -> float:
        """Seconds until the address may try again (0: now), dropping failures out of the window."""
        stamps = self._ips.get(ip_key)
        if not stamps:
            return 0.0
        stamps[:] = [t for t in stamps if t > now - self.window_s]
        if len(stamps) < self.per_ip:
            return 0.0
        return stamps[len(stamps) - self.per_ip] + self.window_s - now

    def _forget_expired(self, now: float) -> None:
        while self._pairs:
            pair, backoff = next(iter(self._pairs.items()))
            if backoff.last > now - self.forget_after_s:
                break
            del self._pairs[pair]
        while self._ips:
            ip_key, stamps = next(iter(self._ips.items()))
            if stamps and stamps[-1] > now - self.window_s:
                break
            del self._ips[ip_key]

    def _release_ip(self, attempt: Attempt) -> None:
        stamps = self._ips.get(attempt.ip_key)
        if stamps is not None and attempt.at in stamps:
            stamps.remove(attempt.at)
            if not stamps:
                del self._ips[attempt.ip_key]

    def tracked(self) -> tuple[int, int]:
        """How many (username, address) pairs and addresses are remembered."""
        with self._lock:
            return len(self._pairs), len(self._ips)


def _user_key(username: str) -> str:
    # Folded as sign-up and login fold it, so every spelling of a name shares one counter;
    # hashed to a fixed size however long the submitted name.
    return hashlib.sha256(usernames.fold(username).encode()).hexdigest()


def _address_key(ip: str) -> str:
    """One key per IPv4 address, and per IPv6 /64: one subscriber holds a whole /64, so
    counting its addresses one by one would give a guesser 2**64 fresh budgets."""
    try:
        address = ipaddress.ip_address(ip)
    except ValueError:
        return ip
    if isinstance(address, ipaddress.IPv6Address):
        if address.ipv4_mapped is not None:
            return str(address.ipv4_mapped)
        return str(ipaddress.ip_network(f"{address}/64", strict=False))
    return str(address)


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
    "content": {PROBLEM_JSON: {"schema": {"$ref": "#/components/schemas/Problem"}}},
}

"""Limits on bad input: body size, page size, string lengths, and login attempts."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass

import httpx
import pytest
from fastapi import FastAPI
from sqlalchemy import Engine, select

from api import limits
from api.limits import DEFAULT_MAX_BODY_BYTES, LoginRateLimiter
from api.main import create_app
from db import ledger
from db.schema import orders
from services import auth
from tests.api.conftest import PASSWORD, Api, api_settings
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, OTHER_CLIENT, REVIEWER
from workflows.messages import Role

WINDOW_S = limits.DEFAULT_LOGIN_WINDOW_S
PER_USERNAME = limits.DEFAULT_MAX_FAILURES_PER_USERNAME
PER_IP = limits.DEFAULT_MAX_FAILURES_PER_IP
ORDER = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}


@dataclass
class FakeClock:
    """The limiter's clock, moved by hand so a five-minute window passes without sleeping."""

    now: float = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class Throttled:
    """An app of the test's stack whose login limiter runs on a fake clock."""

    app: FastAPI
    clock: FakeClock

    @asynccontextmanager
    async def client_from(self, ip: str) -> AsyncIterator[httpx.AsyncClient]:
        transport = httpx.ASGITransport(app=self.app, client=(ip, 40000))
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            yield http


@pytest.fixture
def throttled(api: Api) -> Throttled:
    app = create_app(api_settings(api.stack), engine=api.stack.engine, temporal=api.stack.client)
    clock = FakeClock()
    app.state.login_limiter = LoginRateLimiter(clock=clock)
    return Throttled(app=app, clock=clock)


async def log_in(http: httpx.AsyncClient, username: str, password: str) -> httpx.Response:
    return await http.post("/auth/token", data={"username": username, "password": password})


def _orders(api: Api) -> list[str]:
    with api.stack.engine.connect() as conn:
        return list(conn.execute(select(orders.c.id)).scalars())


# --- the request body ---


async def test_a_body_over_the_limit_answers_413_and_creates_nothing(api: Api) -> None:
    # rule A1: an oversized request changes nothing
    oversized = {**ORDER, "requirements": "x" * (DEFAULT_MAX_BODY_BYTES + 1)}
    response = await api.http.post("/orders", json=oversized, headers=api.keyed(CLIENT))
    assert response.status_code == 413
    assert response.json() == {
        "detail": f"the request body is larger than the limit of {DEFAULT_MAX_BODY_BYTES} bytes"
    }
    assert _orders(api) == []
    assert ledger.balance(api.stack.engine, ledger.client_account(CLIENT.id)) == CLIENT_FUNDS


async def test_a_chunked_body_over_the_limit_is_refused_before_it_is_read_whole(api: Api) -> None:
    # rule A1
    chunk = b"x" * 8192
    sent: list[int] = []

    async def endless_json() -> AsyncIterator[bytes]:
        yield b'{"creator_id": "creator-1", "product": "p", "requirements": "'
        for _ in range(1000):  # 8 MB if anyone read it all
            sent.append(len(chunk))
            yield chunk
        yield b'"}'

    response = await api.http.post(
        "/orders",
        content=endless_json(),
        headers=api.keyed(CLIENT) | {"Content-Type": "application/json"},
    )
    assert response.request.headers.get("Content-Length") is None
    assert response.request.headers["Transfer-Encoding"] == "chunked"
    assert response.status_code == 413
    assert "larger than the limit" in response.json()["detail"]
    # Reading stopped at the first chunk past the limit.
    assert sum(sent) <= DEFAULT_MAX_BODY_BYTES + len(chunk)
    assert _orders(api) == []


async def test_a_chunked_body_within_the_limit_reaches_the_route_intact(api: Api) -> None:
    body = b'{"creator_id": "creator-1", "product": "Tea", "requirements": "Pour it"}'

    async def in_pieces() -> AsyncIterator[bytes]:
        for i in range(0, len(body), 10):
            yield body[i : i + 10]

    response = await api.http.post(
        "/orders",
        content=in_pieces(),
        headers=api.keyed(CLIENT) | {"Content-Type": "application/json"},
    )
    assert response.status_code == 201, response.text
    api.stack.placed.append(response.json()["id"])
    assert response.json()["brief"]["product"] == "Tea"


async def test_a_declared_length_over_the_limit_is_refused_without_reading(api: Api) -> None:
    # The header alone decides: the body below is never read.
    response = await api.http.post(
        "/auth/signup",
        content=b"{}",
        headers={"Content-Type": "application/json", "Content-Length": str(10**9)},
    )
    assert response.status_code == 413
    assert response.headers["Connection"] == "close"


async def test_the_schema_documents_413_for_every_operation_with_a_body(api: Api) -> None:
    schema = (await api.http.get("/openapi.json")).json()
    with_body = [
        (method, path, "413" in op["responses"])
        for path, ops in schema["paths"].items()
        for method, op in ops.items()
        if "requestBody" in op
    ]
    assert with_body
    assert all(documented for _, _, documented in with_body), with_body
    assert "429" in schema["paths"]["/auth/token"]["post"]["responses"]


# --- page sizes and string lengths ---


async def test_page_size_over_100_answers_422(api: Api) -> None:
    # rule A1
    for url in ("/orders?limit=101", "/reviews/queue?kind=script&limit=101"):
        response = await api.http.get(url, headers=api.auth(REVIEWER))
        assert response.status_code == 422, url
        assert response.json()["detail"][0]["loc"] == ["query", "limit"]
        fine = await api.http.get(url.replace("101", "100"), headers=api.auth(REVIEWER))
        assert fine.status_code == 200, url


async def test_over_long_strings_answer_422_and_change_nothing(api: Api) -> None:
    # rule A1
    order_id = str((await api.place())["id"])
    too_long = {
        "product": "p" * 201,
        "requirements": "r" * 5001,
        "creator_id": "c" * 65,
    }
    cases: list[tuple[str, str, object, dict[str, str], list[str]]] = [
        ("POST", "/orders", {**ORDER, field: value}, api.keyed(CLIENT), ["body", field])
        for field, value in too_long.items()
    ]
    cases += [
        (
            "POST",
            "/orders",
            ORDER,
            api.auth(CLIENT) | {"Idempotency-Key": "k" * 201},
            ["header", "Idempotency-Key"],
        ),
        (
            "POST",
            f"/orders/{order_id}/cancel",
            {"reason": "r" * 1001},
            api.auth(CLIENT),
            ["body", "reason"],
        ),
        (
            "POST",
            f"/orders/{order_id}/script",
            {"text": "t" * 5001},
            api.auth(CREATOR),
            ["body", "text"],
        ),
        (
            "POST",
            f"/orders/{order_id}/video",
            {"video_id": "v" * 65},
            api.auth(CREATOR),
            ["body", "video_id"],
        ),
        ("GET", f"/orders/{'o' * 65}", None, api.auth(CLIENT), ["path", "order_id"]),
        ("GET", f"/orders?cursor={'c' * 201}", None, api.auth(CLIENT), ["query", "cursor"]),
    ]
    signup = {"username": "newuser", "password": "long enough pw", "role": "client"}
    long_signup = {"username": "u" * 65, "password": "p" * 201, "display_name": "d" * 101}
    for field, value in long_signup.items():
        body = {**signup, "display_name": "New", field: value}
        cases.append(("POST", "/auth/signup", body, {}, ["body", field]))

    for method, url, payload, headers, loc in cases:
        response = await api.http.request(method, url, json=payload, headers=headers)
        assert response.status_code == 422, (url, payload, response.text)
        assert response.json()["detail"][0]["loc"] == loc, (url, response.text)
    assert _orders(api) == [order_id]
    view = (await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))).json()
    assert view["status"] == "awaiting_acceptance"
    assert (await log_in(api.http, "newuser", "long enough pw")).status_code == 401


# --- login attempts ---


async def test_the_sixth_failure_for_a_username_answers_429_until_the_window_passes(
    throttled: Throttled,
) -> None:
    async with throttled.client_from("10.0.0.1") as http:
        for _ in range(PER_USERNAME):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        refused = await log_in(http, CLIENT.id, "wrong password")
        assert refused.status_code == 429
        assert refused.headers["Retry-After"] == str(int(WINDOW_S))
        assert refused.json() == {
            "detail": f"too many failed logins; try again in {int(WINDOW_S)} seconds"
        }

        # The right password does not help while the window lasts, nor does the case of the name.
        throttled.clock.advance(WINDOW_S - 60)
        right = await log_in(http, CLIENT.id, PASSWORD)
        assert right.status_code == 429
        assert right.headers["Retry-After"] == "60"
        assert (await log_in(http, CLIENT.id.upper(), PASSWORD)).status_code == 429
        # Another user from the same address is not affected.
        assert (await log_in(http, OTHER_CLIENT.id, PASSWORD)).status_code == 200

        throttled.clock.advance(60)
        allowed = await log_in(http, CLIENT.id, PASSWORD)
        assert allowed.status_code == 200, allowed.text
        assert allowed.json()["access_token"]


async def test_a_successful_login_resets_the_usernames_count(throttled: Throttled) -> None:
    async with throttled.client_from("10.0.0.2") as http:
        for _ in range(PER_USERNAME - 1):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        assert (await log_in(http, CLIENT.id, PASSWORD)).status_code == 200
        for _ in range(PER_USERNAME):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 429


async def test_failures_from_one_address_are_limited_across_usernames(
    throttled: Throttled,
) -> None:
    usernames = [f"guess-{i}" for i in range(PER_IP)]  # each under the per-username limit
    async with throttled.client_from("10.0.0.3") as attacker:
        for username in usernames:
            assert (await log_in(attacker, username, "password1")).status_code == 401
        refused = await log_in(attacker, CLIENT.id, PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == int(WINDOW_S)
    # The same user from another address logs in; the attacker's address is still refused.
    async with throttled.client_from("10.0.0.4") as other:
        assert (await log_in(other, CLIENT.id, PASSWORD)).status_code == 200
    async with throttled.client_from("10.0.0.3") as attacker:
        assert (await log_in(attacker, OTHER_CLIENT.id, PASSWORD)).status_code == 429
        throttled.clock.advance(WINDOW_S)
        assert (await log_in(attacker, OTHER_CLIENT.id, PASSWORD)).status_code == 200


async def test_concurrent_guesses_cannot_overtake_the_limit(throttled: Throttled) -> None:
    async with throttled.client_from("10.0.0.5") as http:
        responses = await asyncio.gather(
            *(log_in(http, CLIENT.id, f"guess {i}") for i in range(3 * PER_USERNAME))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * PER_USERNAME + [429] * (2 * PER_USERNAME)


async def test_a_login_that_could_not_be_checked_is_not_counted(api: Api) -> None:
    from tests.api.test_api_errors import api_settings_for_missing_db

    app = create_app(api_settings_for_missing_db(), temporal=api.stack.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a"
    ) as http:
        for _ in range(2 * PER_USERNAME):
            assert (await log_in(http, CLIENT.id, "whatever")).status_code == 503
    assert limits.login_limiter(app).tracked() == (0, 0)


# --- the limiter alone ---


def clocked(
    max_tracked: int = limits.DEFAULT_MAX_TRACKED, per_ip: int = PER_IP
) -> tuple[LoginRateLimiter, FakeClock]:
    clock = FakeClock()
    return LoginRateLimiter(clock=clock, max_tracked=max_tracked, per_ip=per_ip), clock


def fail(limiter: LoginRateLimiter, username: str, ip: str = "ip") -> None:
    limiter.begin(username, ip)  # a failure is an attempt that never reports success


def test_memory_stays_bounded_under_a_flood_of_usernames() -> None:
    limiter, clock = clocked(max_tracked=100, per_ip=10**9)
    for i in range(5_000):
        fail(limiter, f"user-{i}", ip=f"ip-{i % 300}")
    users, ips = limiter.tracked()
    assert users <= 100
    assert ips <= 100
    # Expired entries go at the next attempt, whatever the cap.
    clock.advance(WINDOW_S + 1)
    fail(limiter, "someone")
    assert limiter.tracked() == (1, 1)


def test_retry_after_counts_from_the_oldest_failure_in_the_window() -> None:
    limiter, clock = clocked()
    for _ in range(PER_USERNAME):
        fail(limiter, "alice")
        clock.advance(10)
    with pytest.raises(limits.TooManyAttempts) as refused:
        fail(limiter, "alice")
    # The first failure was 50 s ago; it leaves the window in WINDOW_S - 50 s.
    assert refused.value.retry_after == int(WINDOW_S) - 50
    clock.advance(WINDOW_S - 50)
    fail(limiter, "alice")  # one slot freed: allowed once more
    with pytest.raises(limits.TooManyAttempts):
        fail(limiter, "alice")


def test_threads_racing_on_one_username_get_exactly_the_limit() -> None:
    limiter, _ = clocked()
    allowed: list[int] = []
    barrier = threading.Barrier(8)

    def guess(n: int) -> None:
        barrier.wait()  # all threads start guessing at once
        for i in range(25):
            try:
                limiter.begin("alice", ip=f"ip-{n}")
            except limits.TooManyAttempts:
                continue
            allowed.append(i)

    threads = [threading.Thread(target=guess, args=(n,)) for n in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == PER_USERNAME


def test_password_hashing_runs_at_most_a_few_at_once(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch
) -> None:
    # Each argon2id hash holds 64 MiB: a flood of logins must queue, not take the memory.
    auth.sign_up(sqlite_engine, "flood", "a long password", Role.CLIENT, "Flood")
    inside, peak, guard = 0, 0, threading.Lock()
    entered, release = threading.Semaphore(0), threading.Event()
    real = auth._hasher

    class CountingHasher:
        def verify(self, stored: str, password: str) -> bool:
            nonlocal inside, peak
            with guard:
                inside += 1
                peak = max(peak, inside)
            entered.release()
            release.wait()
            with guard:
                inside -= 1
            return real.verify(stored, password)

    monkeypatch.setattr(auth, "_hasher", CountingHasher())
    results: list[auth.User | None] = []
    logins = [
        threading.Thread(
            target=lambda: results.append(
                auth.authenticate(sqlite_engine, "flood", "a long password")
            )
        )
        for _ in range(3 * auth.MAX_CONCURRENT_HASHES)
    ]
    for t in logins:
        t.start()
    for _ in range(auth.MAX_CONCURRENT_HASHES):
        assert entered.acquire(timeout=30)
    # The limit is full: no other login gets to hash until one of these finishes.
    assert not entered.acquire(timeout=0.2)
    release.set()
    for t in logins:
        t.join(timeout=60)
    assert peak == auth.MAX_CONCURRENT_HASHES
    assert len(results) == len(logins)
    assert all(user is not None and user.username == "flood" for user in results)

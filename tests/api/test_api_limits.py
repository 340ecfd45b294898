"""Limits on bad input: body size, page size, string lengths, and login attempts."""

from __future__ import annotations

import asyncio
import io
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
from config import Settings
from db import ledger
from db.schema import orders
from services import auth
from tests.api.conftest import PASSWORD, Api, api_settings
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, OTHER_CLIENT, REVIEWER
from workflows.messages import Role

FREE = limits.DEFAULT_FREE_FAILURES
IP_WINDOW_S = limits.DEFAULT_IP_WINDOW_S
# Lower than the default so the per-address test needs fewer (argon2-priced) logins.
PER_IP = 12
ORDER = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}


@dataclass
class FakeClock:
    """The limiter's clock, moved by hand so backoffs and windows pass without sleeping."""

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
    app.state.login_limiter = LoginRateLimiter(clock=clock, per_ip=PER_IP)
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
    assert response.json()["detail"] == (
        f"the request body is larger than the limit of {DEFAULT_MAX_BODY_BYTES} bytes"
    )
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
        assert response.json()["errors"][0]["loc"] == ["query", "limit"]
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
        assert response.json()["errors"][0]["loc"] == loc, (url, response.text)
    assert _orders(api) == [order_id]
    view = (await api.http.get(f"/orders/{order_id}", headers=api.auth(CLIENT))).json()
    assert view["status"] == "awaiting_acceptance"
    assert (await log_in(api.http, "newuser", "long enough pw")).status_code == 401


# --- login attempts ---


async def test_an_attackers_wrong_passwords_from_one_address_do_not_lock_the_user_out(
    throttled: Throttled,
) -> None:
    # rule A1: a throttle that anyone could turn on against a user would be a lockout
    async with throttled.client_from("203.0.113.66") as attacker:
        for _ in range(FREE):
            assert (await log_in(attacker, CLIENT.id, "wrong password")).status_code == 401
        throttled_guess = await log_in(attacker, CLIENT.id, "another guess")
        assert throttled_guess.status_code == 429
        assert throttled_guess.json()["detail"] == (
            "too many failed logins for this username from your address; try again in 1 seconds"
        )
        # The attacker keeps guessing as fast as it is let, in every spelling of the name.
        for guess in range(10):
            throttled.clock.advance(limits.DEFAULT_BACKOFF_MAX_S)
            name = CLIENT.id.upper() if guess % 2 else CLIENT.id
            assert (await log_in(attacker, name, f"guess {guess}")).status_code == 401
    # The real user, from home, is not slowed at all, and never was.
    async with throttled.client_from("198.51.100.7") as user:
        response = await log_in(user, CLIENT.id, PASSWORD)
        assert response.status_code == 200, response.text
        assert response.json()["access_token"]
    async with throttled.client_from("203.0.113.66") as attacker:
        assert (await log_in(attacker, CLIENT.id, "again")).status_code == 429


async def test_each_further_failure_from_an_address_doubles_the_wait(
    throttled: Throttled,
) -> None:
    # rule A1
    async with throttled.client_from("10.0.0.1") as http:
        for _ in range(FREE):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        waits = []
        for _ in range(12):
            refused = await log_in(http, CLIENT.id, "wrong password")
            assert refused.status_code == 429
            wait = int(refused.headers["Retry-After"])
            waits.append(wait)
            throttled.clock.advance(wait - 0.5)
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 429
            throttled.clock.advance(0.5)
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        cap = int(limits.DEFAULT_BACKOFF_MAX_S)
        assert waits == [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, cap, cap]
        # Once the wait is over, the right password is let in: never a lockout.
        throttled.clock.advance(cap)
        assert (await log_in(http, CLIENT.id, PASSWORD)).status_code == 200
        # ... and the pair starts afresh.
        for _ in range(FREE):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401


async def test_a_successful_login_resets_the_count(throttled: Throttled) -> None:
    async with throttled.client_from("10.0.0.2") as http:
        for _ in range(FREE - 1):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        assert (await log_in(http, CLIENT.id, PASSWORD)).status_code == 200
        for _ in range(FREE):
            assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 401
        assert (await log_in(http, CLIENT.id, "wrong password")).status_code == 429
        # Another user from the same address is not affected.
        assert (await log_in(http, OTHER_CLIENT.id, PASSWORD)).status_code == 200


async def test_failures_from_one_address_are_capped_across_usernames(
    throttled: Throttled,
) -> None:
    usernames = [f"guess-{i}" for i in range(PER_IP)]  # each one under its own backoff
    async with throttled.client_from("10.0.0.3") as attacker:
        for username in usernames:
            assert (await log_in(attacker, username, "password1")).status_code == 401
        refused = await log_in(attacker, CLIENT.id, PASSWORD)
        assert refused.status_code == 429
        assert int(refused.headers["Retry-After"]) == int(IP_WINDOW_S)
        assert "from your address" in refused.json()["detail"]
    # The same user from another address logs in; the attacker's address is still refused.
    async with throttled.client_from("10.0.0.4") as other:
        assert (await log_in(other, CLIENT.id, PASSWORD)).status_code == 200
    async with throttled.client_from("10.0.0.3") as attacker:
        assert (await log_in(attacker, OTHER_CLIENT.id, PASSWORD)).status_code == 429
        throttled.clock.advance(IP_WINDOW_S)
        assert (await log_in(attacker, OTHER_CLIENT.id, PASSWORD)).status_code == 200


async def test_concurrent_guesses_cannot_overtake_the_backoff(throttled: Throttled) -> None:
    async with throttled.client_from("10.0.0.5") as http:
        responses = await asyncio.gather(
            *(log_in(http, CLIENT.id, f"guess {i}") for i in range(5 * FREE))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [401] * FREE + [429] * (4 * FREE)


async def test_a_login_that_could_not_be_checked_is_not_counted(api: Api) -> None:
    from tests.api.test_api_errors import api_settings_for_missing_db

    app = create_app(api_settings_for_missing_db(), temporal=api.stack.client)
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://a"
    ) as http:
        for _ in range(3 * FREE):
            assert (await log_in(http, CLIENT.id, "whatever")).status_code == 503
    assert limits.login_limiter(app).tracked() == (0, 0)


# --- usernames ---


async def test_usernames_differing_only_in_case_or_width_are_one_name(
    throttled: Throttled,
) -> None:
    # rule A1: one person, one account, one throttle, however the name is typed
    body = {"password": "long enough pw", "role": "client", "display_name": "Alice"}
    async with throttled.client_from("10.0.0.6") as http:
        created = await http.post("/auth/signup", json={**body, "username": " Alice.Wong "})
        assert created.status_code == 201, created.text
        assert created.json()["username"] == "alice.wong"
        for variant in ("alice.wong", "ALICE.WONG", "Ａｌｉｃｅ.Ｗｏｎｇ"):
            taken = await http.post("/auth/signup", json={**body, "username": variant})
            assert taken.status_code == 409, variant
            assert taken.json()["detail"] == "the username 'alice.wong' is taken"
        for variant in ("alice.wong", "ALICE.WONG", " Ａｌｉｃｅ.Ｗｏｎｇ "):
            response = await log_in(http, variant, "long enough pw")
            assert response.status_code == 200, (variant, response.text)
        # The limiter counts every spelling as the same name.
        for variant in ("Alice.Wong", "ALICE.WONG", "alice.wong")[:FREE]:
            assert (await log_in(http, variant, "wrong")).status_code == 401
        assert (await log_in(http, "Ａｌｉｃｅ.Ｗｏｎｇ", "long enough pw")).status_code == 429
        for bad in ("al", "alice wong", "alice\u0000", "алиса", "a" * 65):
            refused = await http.post("/auth/signup", json={**body, "username": bad})
            assert refused.status_code == 422, bad
            assert refused.json()["errors"][0]["loc"] == ["body", "username"]


def test_the_admin_command_folds_usernames_as_sign_up_does(
    sqlite_engine: Engine, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule A1
    from scripts import admin

    monkeypatch.setattr(admin, "get_settings", lambda: Settings(database_url="sqlite://"))
    monkeypatch.setattr(admin, "upgrade", lambda url: None)
    monkeypatch.setattr(admin, "make_engine", lambda url: sqlite_engine)
    monkeypatch.setattr(sqlite_engine, "dispose", lambda: None)
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        admin.main(
            ["create-user", "--role", "ops", "--username", "Ops.Lead", "--password-file", "-"]
        )
        == 0
    )
    assert "created ops ops.lead" in capsys.readouterr().out
    monkeypatch.setattr("sys.stdin", io.StringIO("a long password\n"))
    assert (
        admin.main(
            ["create-user", "--role", "ops", "--username", "OPS.LEAD", "--password-file", "-"]
        )
        == 1
    )
    assert "the username 'ops.lead' is taken" in capsys.readouterr().err
    assert auth.authenticate(sqlite_engine, "Ops.Lead", "a long password") is not None


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
        fail(limiter, f"user-{i}", ip=f"10.0.{i % 300 // 256}.{i % 300 % 256}")
    pairs, ips = limiter.tracked()
    assert pairs <= 100
    assert ips <= 100
    # Expired entries go at the next attempt, whatever the cap.
    clock.advance(limits.DEFAULT_FORGET_AFTER_S + 1)
    fail(limiter, "someone")
    assert limiter.tracked() == (1, 1)


def test_an_ipv6_subscriber_is_one_address_whatever_its_interface_id() -> None:
    limiter, _ = clocked()
    for i in range(FREE):
        fail(limiter, "alice", ip=f"2001:db8:1:2::{i + 1:x}")
    with pytest.raises(limits.TooManyAttempts):
        fail(limiter, "alice", ip="2001:db8:1:2:ffff::1")
    fail(limiter, "alice", ip="2001:db8:1:3::1")  # another subscriber's /64
    fail(limiter, "alice", ip="::ffff:192.0.2.1")
    for _ in range(FREE - 1):
        fail(limiter, "alice", ip="192.0.2.1")  # the same IPv4 address, written plainly
    with pytest.raises(limits.TooManyAttempts):
        fail(limiter, "alice", ip="192.0.2.1")


def test_threads_racing_on_one_username_and_address_get_exactly_the_free_failures() -> None:
    limiter, _ = clocked()
    allowed: list[int] = []
    barrier = threading.Barrier(8)

    def guess() -> None:
        barrier.wait()  # all threads start guessing at once
        for i in range(25):
            try:
                limiter.begin("alice", ip="10.9.9.9")
            except limits.TooManyAttempts:
                continue
            allowed.append(i)

    threads = [threading.Thread(target=guess) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(allowed) == FREE


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

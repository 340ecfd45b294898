"""Integer boundaries and forged cursors through the OpenAPI schema, on SQLite and PostgreSQL.

For every integer a route takes (a query or path parameter, a field of a JSON body, the items
of a list of integers), each role sends requests that schemathesis makes valid, with that one
integer replaced by each of the int64 edges (2^63, 2^63 - 1, -2^63, 0, -1, 2^64) and by the
edges of the integer's own documented range (its minimum and maximum, and one past each). Every
cursor parameter gets cursors forged by hypothesis: well-formed base64 of positions with values
of the wrong type, out of range, naive or unrepresentable datetimes, NUL bytes, the old
`value|id` format, and plain noise. No answer may be a server error; a cursor is either taken
(200) or refused (422). Derandomized, so CI sends the same requests on every run.
"""

from __future__ import annotations

import asyncio
import base64
import json
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

import hypothesis
import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, Verbosity
from hypothesis import strategies as st
from schemathesis import APIOperation, Case, GenerationMode
from schemathesis.core import NOT_SET
from schemathesis.core.result import Ok
from sqlalchemy import select

from api.main import create_app
from db.schema import orders
from tests.api.conftest import OPS, Api, api_settings
from tests.fuzz.test_openapi_fuzz import request_line
from tests.stack import CLIENT, CREATOR, REVIEWER
from workflows.messages import Actor

INT64_EDGES = (2**63, 2**63 - 1, -(2**63), 0, -1, 2**64)
ROLES: tuple[Actor, ...] = (CLIENT, CREATOR, REVIEWER, OPS)
# Requests per (operation, integer, value, role); each is a different valid request around it.
EXAMPLES_PER_VALUE = 1
FORGED_CURSORS_PER_OPERATION = 60


@dataclass(frozen=True)
class Slot:
    """Where an integer goes in a request: ("query", name), ("path", name), ("body", name)."""

    location: str
    name: str
    minimum: int | None
    maximum: int | None
    is_list: bool = False

    def values(self) -> list[int]:
        edges = set(INT64_EDGES)
        for bound, step in ((self.minimum, -1), (self.maximum, 1)):
            if bound is not None:
                edges |= {bound, bound + step}
        return sorted(edges)

    def put(self, case: Case[Any], value: int) -> None:
        sent: Any = [value] if self.is_list else value
        if self.location == "body":
            body = case.body if isinstance(case.body, dict) else {}
            case.body = {**body, self.name: sent}
        elif self.location == "query":
            case.query = {**(case.query or {}), self.name: sent}
        else:
            case.path_parameters = {**(case.path_parameters or {}), self.name: sent}


def _integer(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any] | None:
    """The integer schema in `schema` (itself, or one of its anyOf options), if any."""
    if "$ref" in schema:
        return _integer(_component(schema, spec), spec)
    if schema.get("type") == "integer":
        return schema
    return next(
        (found for o in schema.get("anyOf", []) if (found := _integer(o, spec)) is not None),
        None,
    )


def _component(schema: dict[str, Any], spec: dict[str, Any]) -> dict[str, Any]:
    found: dict[str, Any] = spec["components"]["schemas"][schema["$ref"].rsplit("/", 1)[-1]]
    return found


def _slot(location: str, name: str, schema: dict[str, Any], spec: dict[str, Any]) -> Slot | None:
    is_list = schema.get("type") == "array"
    integer = _integer(schema["items"] if is_list else schema, spec)
    if integer is None:
        return None
    return Slot(location, name, integer.get("minimum"), integer.get("maximum"), is_list)


def integer_slots(spec: dict[str, Any], method: str, path: str) -> list[Slot]:
    operation = spec["paths"][path][method.lower()]
    slots = [_slot(p["in"], p["name"], p["schema"], spec) for p in operation.get("parameters", [])]
    body = operation.get("requestBody", {}).get("content", {}).get("application/json")
    if body is not None:
        schema = body["schema"]
        schema = _component(schema, spec) if "$ref" in schema else schema
        for name, field_schema in schema.get("properties", {}).items():
            slots.append(_slot("body", name, field_schema, spec))
    return [s for s in slots if s is not None]


def cursor_parameters(spec: dict[str, Any], method: str, path: str) -> list[str]:
    operation = spec["paths"][path][method.lower()]
    return [
        p["name"]
        for p in operation.get("parameters", [])
        if p["in"] == "query" and p["name"] == "cursor" and _integer(p["schema"], spec) is None
    ]


# --- forged cursors ---

_ZONES = st.builds(
    timezone, st.timedeltas(min_value=timedelta(hours=-23), max_value=timedelta(hours=23))
)
_TIMES = st.datetimes(
    min_value=datetime(1, 1, 1),
    max_value=datetime(9999, 12, 31),
    timezones=st.one_of(st.none(), _ZONES),
).map(datetime.isoformat)
_HOSTILE = st.one_of(
    st.sampled_from(INT64_EDGES),
    st.integers(),
    st.text(max_size=20),
    st.sampled_from(["o\x00", "", "creator-1", "\ud800", "2026-01-01T00:00:00"]),
    _TIMES,
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.lists(st.integers(), max_size=2),
)
_POSITIONS = st.one_of(
    st.fixed_dictionaries({"created_at": _HOSTILE | _TIMES, "id": _HOSTILE}),
    st.fixed_dictionaries({"submitted_at": _HOSTILE | _TIMES, "id": _HOSTILE}),
    st.fixed_dictionaries(
        {
            "sort": st.sampled_from(["price", "fans", "plays"]) | _HOSTILE,
            "descending": st.booleans() | _HOSTILE,
            "value": _HOSTILE,
            "id": _HOSTILE,
        }
    ),
    st.dictionaries(st.text(max_size=10), _HOSTILE, max_size=4),
    _HOSTILE,
)


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode()


# Values a forged position may hold in any of its fields: each cursor below puts one of them in
# one field of an otherwise well-formed position, in today's format and in the old `value|id`.
EDGE_VALUES: tuple[object, ...] = (
    *INT64_EDGES,
    "o\x00",
    "2026-01-01T00:00:00",  # no timezone
    "0001-01-01T00:00:00+01:00",  # before the first UTC instant
    "9999-12-31T23:59:59-01:00",  # after the last
    None,
    True,
    1.5,
    [],
)


def forged_catalog() -> list[str]:
    at, sort = "2026-01-01T00:00:00+00:00", {"sort": "price", "descending": False}
    cursors = []
    for value in EDGE_VALUES:
        for position in (
            {"created_at": value, "id": "o"},
            {"created_at": at, "id": value},
            {"submitted_at": value, "id": "o"},
            {"submitted_at": at, "id": value},
            {**sort, "value": value, "id": "creator-1"},
            {**sort, "value": 1, "id": value},
            {**sort, "descending": value, "value": 1, "id": "creator-1"},
        ):
            cursors.append(_b64(json.dumps(position).encode()))
        for old in (f"{value}|o", f"{at}|{value}", f"{value}|creator-1", f"1|{value}"):
            cursors.append(_b64(old.encode()))
    return cursors


FORGED_CURSORS = st.one_of(
    _POSITIONS.map(lambda p: _b64(json.dumps(p).encode())),
    st.tuples(_HOSTILE, _HOSTILE).map(lambda t: _b64(f"{t[0]}|{t[1]}".encode())),
    st.binary(max_size=120).map(_b64),
    st.text(max_size=200),
)


# --- the sweep ---


@dataclass
class Tally:
    requests: int = 0
    statuses: Counter[int] = field(default_factory=Counter)
    integers: set[str] = field(default_factory=set)
    failures: list[str] = field(default_factory=list)


def _settings(max_examples: int) -> Callable[[Any], Any]:
    return hypothesis.settings(
        max_examples=max_examples,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        verbosity=Verbosity.quiet,
    )


def _send(
    tally: Tally, case: Case[Any], actor: Actor, token: str, allowed: Callable[[int], bool]
) -> None:
    tally.requests += 1
    try:
        response = case.call(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    except Exception as e:  # the app raised: the ASGI transport re-raises after its 500
        tally.statuses[500] += 1
        tally.failures.append(f"[{actor.role}] {request_line(case, actor.role)}\n  500 {e!r}")
        return
    tally.statuses[response.status_code] += 1
    if not allowed(response.status_code):
        tally.failures.append(
            f"[{actor.role}] {request_line(case, actor.role)}\n"
            f"  {response.status_code} {response.text[:300]}"
        )


def sweep_integers(
    tally: Tally, operation: APIOperation[Any, Any, Any, Any], slot: Slot, actor: Actor, token: str
) -> None:
    strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    tally.integers.add(f"{operation.label} {slot.location} {slot.name}")
    for value in slot.values():
        _sweep_value(tally, strategy, slot, value, actor, token)


def _sweep_value(
    tally: Tally, strategy: Any, slot: Slot, value: int, actor: Actor, token: str
) -> None:
    @_settings(EXAMPLES_PER_VALUE)
    @hypothesis.given(case=strategy)
    def run(case: Case[Any]) -> None:
        if slot.location == "body" and case.body is NOT_SET:
            return
        if case.query:  # a random cursor would be refused before the integer is used
            case.query = {k: v for k, v in case.query.items() if k != "cursor" or k == slot.name}
        slot.put(case, value)
        _send(tally, case, actor, token, lambda status: status < 500)

    run()


def sweep_cursors(
    tally: Tally,
    operation: APIOperation[Any, Any, Any, Any],
    name: str,
    actor: Actor,
    token: str,
) -> None:
    strategy = operation.as_strategy(generation_mode=GenerationMode.POSITIVE)
    # A page of something named in the path (a webhook endpoint's log): an id nobody has
    # answers 404 whatever the cursor.
    taken = (200, 404, 422) if "{" in operation.path else (200, 422)

    def send(case: Case[Any], cursor: str) -> None:
        case.query = {**(case.query or {}), name: cursor}
        _send(tally, case, actor, token, lambda status: status in taken)

    for forged in forged_catalog():
        _around_one(strategy, send, forged)

    @_settings(FORGED_CURSORS_PER_OPERATION)
    @hypothesis.given(case=strategy, cursor=FORGED_CURSORS)
    def run(case: Case[Any], cursor: str) -> None:
        send(case, cursor)

    run()


def _around_one(strategy: Any, send: Callable[[Case[Any], str], None], cursor: str) -> None:
    """One valid request of the operation, with this cursor."""

    @_settings(1)
    @hypothesis.given(case=strategy)
    def run(case: Case[Any]) -> None:
        send(case, cursor)

    run()


def sweep(app: Any, tokens: dict[str, str]) -> Tally:
    """Runs in a thread: schemathesis calls the app synchronously, on its own event loop."""
    spec = app.openapi()
    schema = schemathesis.openapi.from_asgi("/openapi.json", app)
    tally = Tally()
    for result in schema.get_all_operations():
        assert isinstance(result, Ok), result
        operation = result.ok()
        if operation.label == "POST /auth/logout":
            continue  # it would revoke the token the rest of the sweep is sent with
        for slot in integer_slots(spec, operation.method, operation.path):
            for actor in ROLES:
                sweep_integers(tally, operation, slot, actor, tokens[actor.id])
        # The review queues are staff's: a client's cursor would be refused (403) unread.
        reader = OPS if operation.path.startswith("/reviews") else CLIENT
        for name in cursor_parameters(spec, operation.method, operation.path):
            sweep_cursors(tally, operation, name, reader, tokens[reader.id])
    return tally


async def test_integer_edges_and_forged_cursors_never_answer_5xx(
    api_on_every_db: Api, capsys: pytest.CaptureFixture[str]
) -> None:
    # rule A1
    api = api_on_every_db
    # Pages to walk, so that a forged cursor is compared with real rows.
    for _ in range(3):
        await api.place()
    target = api.stack.client.service_client.config.target_host
    settings = api_settings(api.stack).model_copy(update={"temporal_address": target})
    app = create_app(settings, engine=api.stack.engine)
    tally = await asyncio.to_thread(sweep, app, api.tokens)

    with api.stack.engine.connect() as conn:
        placed = set(conn.execute(select(orders.c.id)).scalars())
    api.stack.placed.extend(sorted(placed - set(api.stack.placed)))
    with capsys.disabled():
        print(
            f"\nbounds fuzz ({api.stack.engine.dialect.name}): {tally.requests} requests, "
            f"{len(tally.integers)} integers; statuses {dict(sorted(tally.statuses.items()))}"
        )
    assert {
        "GET /creators query max_price_fen",
        "GET /creators query min_fans",
        "GET /creators query min_avg_plays",
        "GET /wallet/statement query cursor",
        "PUT /simulator/accounts/{xigua_account_id} body recent_plays",
    } <= tally.integers
    assert tally.failures == [], "\n\n".join(tally.failures)

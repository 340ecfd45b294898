"""Idempotency-Key handling (rule A2): the first response to a key is stored and replayed.

Temporal does the deduplication that matters for money and orders (the order id and the update
id derive from the key), so two concurrent requests with one key are both safe to run; this
table adds the replay of the first response and the refusal of a key reused for another body.

Only an answer is stored. A request that got none (503: the order service took it and did not
say in time what became of it, or a crash) leaves its key open, so that a repeat with the key
runs again, re-attaches to the same workflow update and returns the eventual outcome.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime
from typing import Any

from fastapi.responses import JSONResponse
from sqlalchemy import Engine, Row, select, update
from starlette.concurrency import run_in_threadpool

from api.errors import ApiError
from db.schema import idempotency_keys
from db.sql import insert_ignore
from workflows.errors import ErrorKind

REPLAYED_HEADER = "Idempotent-Replayed"


def request_hash(*parts: Any) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, default=str).encode()).hexdigest()


def derived_id(user_id: str, key: str) -> str:
    """A stable id for what a keyed request creates, unique per user and key."""
    return hashlib.sha256(f"{user_id}\0{key}".encode()).hexdigest()[:24]


async def run_once(
    engine: Engine,
    user_id: str,
    key: str | None,
    fingerprint: str,
    handle: Callable[[], Awaitable[tuple[int, Any]]],
) -> JSONResponse:
    """Run `handle` (which returns status and body, or raises ApiError) unless this key
    already has an answer; a refusal is an answer like any other, and is replayed too."""
    if key is None:
        status, body = await handle()
        return JSONResponse(body, status_code=status)

    # Off the event loop: a write may wait for SQLite's write lock, and the loop must not.
    row = await run_in_threadpool(_claim, engine, user_id, key, fingerprint)
    if row is not None:
        if row.request_hash != fingerprint:
            raise ApiError(
                ErrorKind.REQUEST_ID_REUSED,
                "this Idempotency-Key was already used for a different request",
            )
        replayed = {REPLAYED_HEADER: "true"}
        if row.status_code is not None and row.status_code >= 400:
            raise ApiError.replayed(row.status_code, row.response, replayed)
        if row.status_code is not None:
            return JSONResponse(row.response, status_code=row.status_code, headers=replayed)
        # The first request is still running or died before answering: running again is safe.

    try:
        status, body = await handle()
    except ApiError as e:
        if e.status_code < 500:  # a server error is no answer to replay (see the docstring)
            stored = {k: v for k, v in e.body(None).items() if k != "instance"}
            await run_in_threadpool(_record, engine, user_id, key, e.status_code, stored)
        raise
    await run_in_threadpool(_record, engine, user_id, key, status, body)
    return JSONResponse(body, status_code=status)


def _claim(engine: Engine, user_id: str, key: str, fingerprint: str) -> Row[Any] | None:
    """Claim the key; if another request claimed it first, return its row."""
    with engine.begin() as conn:
        first = insert_ignore(
            conn,
            idempotency_keys,
            {
                "user_id": user_id,
                "key": key,
                "request_hash": fingerprint,
                "created_at": datetime.now(UTC),
            },
        )
        if first:
            return None
        return conn.execute(
            select(idempotency_keys).where(
                idempotency_keys.c.user_id == user_id, idempotency_keys.c.key == key
            )
        ).first()


def _record(engine: Engine, user_id: str, key: str, status: int, body: Any) -> None:
    with engine.begin() as conn:
        conn.execute(
            update(idempotency_keys)
            .where(
                idempotency_keys.c.user_id == user_id,
                idempotency_keys.c.key == key,
                idempotency_keys.c.status_code.is_(None),
            )
            .values(status_code=status, response=body)
        )

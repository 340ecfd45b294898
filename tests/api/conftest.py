"""The API over ASGI, on a worker and the dev server, with every party able to log in."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator, Callable, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from sqlalchemy import Engine
from temporalio.testing import WorkflowEnvironment

from api.main import create_app
from config import Settings
from services.auth import set_password
from tests.stack import (
    CLIENT,
    CREATOR,
    MCN,
    MCN_CREATOR,
    OTHER_CLIENT,
    OTHER_CREATOR,
    REVIEWER,
    Stack,
    running_stack,
)
from workflows.messages import Actor, Role

PASSWORD = "correct horse battery"
OPS = Actor(id="ops-1", role=Role.OPS)
EVERYONE = (CLIENT, OTHER_CLIENT, CREATOR, OTHER_CREATOR, MCN_CREATOR, MCN, REVIEWER, OPS)


@dataclass
class Api:
    http: httpx.AsyncClient
    stack: Stack
    tokens: dict[str, str]

    def auth(self, actor: Actor) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.tokens[actor.id]}"}

    def keyed(self, actor: Actor) -> dict[str, str]:
        """The token and a fresh Idempotency-Key, as placing an order needs."""
        return self.auth(actor) | {"Idempotency-Key": uuid.uuid4().hex}

    async def place(self, **fields: object) -> dict[str, object]:
        body = {"creator_id": CREATOR.id, "product": "Soy sauce", "requirements": "Cook with it"}
        response = await self.http.post(
            "/orders", json={**body, **fields}, headers=self.keyed(CLIENT)
        )
        assert response.status_code == 201, response.text
        order: dict[str, object] = response.json()
        self.stack.placed.append(str(order["id"]))
        return order

    async def act(
        self, actor: Actor, order_id: object, path: str, json: object = None, key: str | None = None
    ) -> httpx.Response:
        headers = self.auth(actor) | ({"Idempotency-Key": key} if key else {})
        return await self.http.post(f"/orders/{order_id}/{path}", json=json, headers=headers)


def api_settings(stack: Stack) -> Settings:
    return Settings(task_queue=stack.task_queue, database_url="sqlite://", service_fee_bps=500)


@asynccontextmanager
async def serving(
    env: WorkflowEnvironment,
    engine: Engine,
    clock: Callable[[], datetime] | None = None,
    settings: Mapping[str, Any] | None = None,
) -> AsyncIterator[Api]:
    """The API and a worker on `env`; `clock` is the API's "now", `settings` replace some of
    the API's (durations for the orders it places, say)."""
    async with running_stack(env.client, engine) as stack:
        from services.users import create_user

        create_user(engine, OPS.id, Role.OPS, "ops")
        configured = api_settings(stack).model_copy(update=dict(settings or {}))
        app = create_app(configured, engine=engine, temporal=env.client, clock=clock)
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://api") as http:
            tokens = {}
            for actor in EVERYONE:
                set_password(engine, actor.id, actor.id, PASSWORD)
                response = await http.post(
                    "/auth/token", data={"username": actor.id, "password": PASSWORD}
                )
                assert response.status_code == 200, response.text
                tokens[actor.id] = response.json()["access_token"]
            yield Api(http=http, stack=stack, tokens=tokens)


@pytest.fixture
async def api(dev_server_env: WorkflowEnvironment, sqlite_engine: Engine) -> AsyncIterator[Api]:
    async with serving(dev_server_env, sqlite_engine) as api:
        yield api


@pytest.fixture
async def api_on_every_db(
    dev_server_env: WorkflowEnvironment, engine: Engine
) -> AsyncIterator[Api]:
    """The same stack on each app database: SQLite and PostgreSQL."""
    async with serving(dev_server_env, engine) as api:
        yield api

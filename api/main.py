"""The FastAPI application. `create_app()` builds it; nothing is created at import time."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from datetime import datetime

from fastapi import FastAPI
from sqlalchemy import Engine
from temporalio.client import Client

from api import errors, limits, metrics, web
from api.context import AppContext, utc_now
from api.routes import (
    actions,
    auth,
    creators,
    health,
    mcn,
    notifications,
    orders,
    prereview,
    reviews,
    simulator,
    wallet,
)
from bootstrap import Adapters, simulated_adapters
from config import Settings, get_settings
from db.engine import make_engine


def create_app(
    settings: Settings | None = None,
    engine: Engine | None = None,
    temporal: Client | None = None,
    adapters: Adapters | None = None,
    clock: Callable[[], datetime] | None = None,
) -> FastAPI:
    """The API over the given settings; tests pass their own engine and Temporal client, and
    may pass adapters (the simulators otherwise) and a clock (the system's otherwise)."""
    settings = settings or get_settings()
    owns_engine = engine is None
    engine = engine or make_engine(settings.database_url)
    context = AppContext(
        settings=settings,
        engine=engine,
        adapters=adapters or simulated_adapters(engine),
        temporal=temporal,
        clock=clock or utc_now,
    )

    @asynccontextmanager
    async def lifespan(_: FastAPI) -> AsyncIterator[None]:
        yield
        if owns_engine:
            context.engine.dispose()

    app = FastAPI(
        title="xigua-tasks",
        summary="Orders of Xigua propagation tasks: clients, creators, reviewers and ops.",
        version="0.1.0",
        lifespan=lifespan,
    )
    app.state.context = context
    errors.install(app)
    limits.install(app)
    metrics.install(app)
    for router in (
        health.router,
        auth.router,
        orders.router,
        actions.router,
        reviews.router,
        prereview.router,
        creators.router,
        mcn.router,
        wallet.router,
        notifications.router,
    ):
        app.include_router(router)
    if settings.simulator_routes:
        app.include_router(simulator.router)
    web.install(app)
    return app

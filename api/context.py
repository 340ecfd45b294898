"""What every request needs: settings, the database, Temporal (connected lazily, so the API
starts and answers 503 while Temporal is down), the adapters, and the order service over them,
all wired by bootstrap.py."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import Engine
from temporalio.client import Client

from adapters.video_platform import SimulatedVideoPlatform
from api.errors import Unavailable
from bootstrap import Adapters, connect_temporal, order_service
from config import Settings
from services.creators import Thresholds
from services.orders import OrderService

CONNECT_TIMEOUT_S = 5.0


def utc_now() -> datetime:
    return datetime.now(UTC)


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    # What lies outside the system, typed by its Protocol (bootstrap.simulated_adapters
    # unless the caller wires in others).
    adapters: Adapters
    temporal: Client | None = None
    # What "now" is for answers that say how long something has waited; tests on the
    # time-skipping server pass the server's time.
    clock: Callable[[], datetime] = utc_now
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)
    # The simulator's own controls, for the simulator routes (settings.simulator_routes).
    simulator: SimulatedVideoPlatform = field(init=False)

    def __post_init__(self) -> None:
        self.simulator = SimulatedVideoPlatform(self.engine)

    @property
    def thresholds(self) -> Thresholds:
        s = self.settings
        return Thresholds(
            min_fans=s.min_fans, min_avg_plays=s.min_avg_plays, recent_videos=s.recent_videos
        )

    async def client(self) -> Client:
        if self.temporal is None:
            async with self._connecting:
                if self.temporal is None:
                    try:
                        self.temporal = await asyncio.wait_for(
                            connect_temporal(self.settings), CONNECT_TIMEOUT_S
                        )
                    except Exception as e:
                        raise Unavailable("the order service (Temporal)") from e
        return self.temporal

    async def orders(self) -> OrderService:
        return order_service(await self.client(), self.engine, self.settings)

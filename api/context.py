"""What every request needs: settings, the database, Temporal (connected lazily, so the API
starts and answers 503 while Temporal is down), and the order service over them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import Engine
from temporalio.client import Client

from adapters.payments import SimulatedPaymentRails
from adapters.telephony import NumberProvider, SimulatedNumberProvider
from adapters.video_platform import SimulatedVideoPlatform
from api.errors import Unavailable
from bootstrap import connect_temporal
from config import Settings
from services.creators import Thresholds
from services.orders import OrderPolicy, OrderService

CONNECT_TIMEOUT_S = 5.0


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    temporal: Client | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)
    # Adapters for what lies outside: the local simulators unless a real one is wired in.
    platform: SimulatedVideoPlatform = field(init=False)
    rails: SimulatedPaymentRails = field(init=False)
    numbers: NumberProvider = field(default_factory=SimulatedNumberProvider)

    def __post_init__(self) -> None:
        self.platform = SimulatedVideoPlatform(self.engine)
        self.rails = SimulatedPaymentRails(self.engine)

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
        s = self.settings
        return OrderService(
            await self.client(),
            self.engine,
            s.task_queue,
            OrderPolicy(service_fee_bps=s.service_fee_bps, timings=s.timings()),
            rpc_timeout=s.temporal_rpc_timeout,
        )

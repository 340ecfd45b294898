"""What every request needs: settings, the database, Temporal (connected lazily, so the API
starts and answers 503 while Temporal is down), and the order service over them."""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from sqlalchemy import Engine
from temporalio.client import Client

from api.errors import Unavailable
from bootstrap import connect_temporal
from config import Settings
from services.orders import OrderPolicy, OrderService

CONNECT_TIMEOUT_S = 5.0


@dataclass
class AppContext:
    settings: Settings
    engine: Engine
    temporal: Client | None = None
    _connecting: asyncio.Lock = field(default_factory=asyncio.Lock)

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

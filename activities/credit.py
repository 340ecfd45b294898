"""The creator's credit score, lowered by a retention violation (O9)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from services.creators import lower_credit
from workflows.messages import CreditPenalty


class CreditActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="lower_credit_score")
    def lower(self, penalty: CreditPenalty) -> None:
        """Once per order, however often it is retried."""
        lower_credit(self._engine, penalty.creator_id, penalty.order_id, penalty.reason)

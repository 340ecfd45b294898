"""Writes each order transition to the app database (rule A4)."""

from __future__ import annotations

from sqlalchemy import Engine
from temporalio import activity

from db import orders
from workflows.messages import ProjectionWrite


class ProjectionActivities:
    def __init__(self, engine: Engine) -> None:
        self._engine = engine

    @activity.defn(name="record_transition")
    def record(self, write: ProjectionWrite) -> None:
        """Order row, timeline entry and notifications of one transition, in one transaction."""
        orders.record_transition(self._engine, write)

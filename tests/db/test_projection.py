"""The order projection: one transaction per transition, idempotent on its sequence number."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import Engine

from db import orders
from workflows.messages import (
    SYSTEM,
    Action,
    Brief,
    NextStep,
    Notification,
    OrderStatus,
    OrderTerms,
    ProjectionWrite,
    Role,
    Transition,
)

T0 = datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
TERMS = OrderTerms(
    order_id="o-1",
    client_id="c-1",
    creator_id="k-1",
    price_fen=100,
    fee_fen=5,
    brief=Brief(product="tea", requirements="show it"),
)


def write(
    seq: int, to: OrderStatus, action: Action, notify: list[Notification] | None = None
) -> ProjectionWrite:
    return ProjectionWrite(
        transition=Transition(
            order_id="o-1",
            seq=seq,
            at=T0 + timedelta(minutes=seq),
            actor=SYSTEM,
            action=action,
            from_status=None,
            to_status=to,
            reason=f"step {seq}",
        ),
        terms=TERMS,
        placed_at=T0,
        next=[
            NextStep(actor=Role.CREATOR, actions=[Action.ACCEPT], deadline=T0 + timedelta(hours=24))
        ],
        notifications=notify or [],
    )


def test_a_transition_writes_row_timeline_and_notifications(engine: Engine) -> None:
    # rule A4
    note = Notification(recipient="k-1", kind="new_order", body="tea")
    assert orders.record_transition(
        engine, write(1, OrderStatus.AWAITING_ACCEPTANCE, Action.PLACE, [note])
    )
    row = orders.order_row(engine, "o-1")
    assert row is not None
    assert (row["status"], row["next_actor"], row["deadline"]) == (
        "awaiting_acceptance",
        "creator",
        T0 + timedelta(hours=24),
    )
    [entry] = orders.timeline(engine, "o-1")
    assert (entry.seq, entry.actor_id, entry.action, entry.reason) == (
        1,
        "system",
        "place",
        "step 1",
    )
    assert entry.at == T0 + timedelta(minutes=1)
    assert [n["recipient"] for n in orders.notifications_for(engine, "o-1")] == ["k-1"]


def test_a_retried_write_changes_nothing(engine: Engine) -> None:
    # rules A2 A4
    first = write(
        1,
        OrderStatus.AWAITING_ACCEPTANCE,
        Action.PLACE,
        [Notification(recipient="k-1", kind="n", body="b")],
    )
    assert orders.record_transition(engine, first)
    assert not orders.record_transition(engine, first)
    assert len(orders.timeline(engine, "o-1")) == 1
    assert len(orders.notifications_for(engine, "o-1")) == 1


def test_a_late_write_never_rolls_the_order_back(engine: Engine) -> None:
    # rule A4
    orders.record_transition(engine, write(2, OrderStatus.SCRIPT_PENDING, Action.ACCEPT))
    orders.record_transition(engine, write(1, OrderStatus.AWAITING_ACCEPTANCE, Action.PLACE))
    row = orders.order_row(engine, "o-1")
    assert row is not None
    assert (row["status"], row["last_seq"]) == ("script_pending", 2)
    assert [e.seq for e in orders.timeline(engine, "o-1")] == [1, 2]

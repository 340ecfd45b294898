"""Orders stranded by a workflow that stopped without settling them, and their one settlement.

A workflow terminated (the Web UI's Terminate), failed, timed out, cancelled before it
answered cancellation requests, or missing from Temporal (a restore, see docs/OPERATIONS.md)
leaves its order's money in escrow and its row at the status it stopped in. Ops list such
orders and settle each one: a full refund under the order's own refund key, so that the
workflow's refund (after a reset) or a second settlement moves nothing, recorded in the
timeline as an ops cancellation; or, for an order stopped after its delivery was accepted,
the release it is owed, under the order's own release key (P2 refunds only before).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.workflowservice.v1 import DescribeWorkflowExecutionRequest
from temporalio.client import Client, WorkflowExecutionStatus
from temporalio.service import RPCError, RPCStatusCode

from db import ledger
from db.orders import order_row, record_transition, terms_of
from services.orders import workflow_id
from workflows.messages import (
    OPS_ADMIN,
    Action,
    Actor,
    Notification,
    OrderInput,
    OrderStatus,
    OrderTerms,
    ProjectionWrite,
    Transition,
)

MISSING = "missing"


@dataclass(frozen=True)
class StrandedOrder:
    order_id: str
    # How its workflow ended: "terminated", "failed", "timed_out", "canceled", "completed"
    # or "missing" (no workflow of that id in Temporal).
    workflow: str
    escrow_fen: int
    # As its row records it; None when the workflow stopped before writing the row.
    status: OrderStatus | None


async def find_stranded(
    client: Client, engine: Engine, concurrency: int = 16
) -> list[StrandedOrder]:
    """Every order with money in escrow, or refunded but not recorded as ended, whose
    workflow is not running. One describe call per such order: visibility lists lag, and
    only a running workflow settles its own escrow."""
    held = await asyncio.to_thread(ledger.held_in_escrow, engine)
    for order_id in await asyncio.to_thread(ledger.refunded_unrecorded, engine):
        held.setdefault(order_id, 0)
    calls = asyncio.Semaphore(concurrency)

    async def check(order_id: str, amount: int) -> StrandedOrder | None:
        async with calls:
            ended = await workflow_end(client, order_id)
        if ended is None:
            return None
        row = await asyncio.to_thread(order_row, engine, order_id)
        status = OrderStatus(row["status"]) if row else None
        return StrandedOrder(order_id, ended, amount, status)

    found = await asyncio.gather(*(check(o, amount) for o, amount in sorted(held.items())))
    return [order for order in found if order is not None]


async def workflow_end(client: Client, order_id: str) -> str | None:
    """How the order's latest workflow run ended, or None while it runs."""
    request = DescribeWorkflowExecutionRequest(
        namespace=client.namespace, execution=WorkflowExecution(workflow_id=workflow_id(order_id))
    )
    try:
        # The raw call: the SDK's describe also decodes search attributes, which the
        # time-skipping test server sends in a form it cannot read.
        described = await client.workflow_service.describe_workflow_execution(request)
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return MISSING
        raise
    status = WorkflowExecutionStatus(described.workflow_execution_info.status)
    return None if status is WorkflowExecutionStatus.RUNNING else status.name.lower()


async def settle(
    client: Client, engine: Engine, order: StrandedOrder, by: Actor = OPS_ADMIN
) -> int:
    """Settle the order's escrow as its record says it is owed: released to the payee after
    acceptance, divided as agreed when it was cancelled with a split (X4), else refunded in
    full and recorded cancelled by ops. The fen moved, 0 if that had already been done."""
    # Asked again: a workflow reset since the listing runs and settles its own escrow.
    if await workflow_end(client, order.order_id) is None:
        return 0
    terms = await _terms(client, engine, order.order_id)
    return await asyncio.to_thread(_settle_and_record, engine, order, terms, by)


async def _terms(client: Client, engine: Engine, order_id: str) -> OrderTerms | None:
    row = await asyncio.to_thread(order_row, engine, order_id)
    if row is not None:
        return terms_of(row)
    # Stopped before its first transition was written: the terms are in the workflow's input.
    try:
        history = await client.get_workflow_handle(workflow_id(order_id)).fetch_history()
    except RPCError as e:
        if e.status == RPCStatusCode.NOT_FOUND:
            return None
        raise
    started = history.events[0].workflow_execution_started_event_attributes
    [order_input] = await client.data_converter.decode(started.input.payloads, [OrderInput])
    assert isinstance(order_input, OrderInput)
    return order_input.terms


def _settle_and_record(
    engine: Engine, order: StrandedOrder, terms: OrderTerms | None, by: Actor
) -> int:
    # Money first: if recording fails, the next run finds the order by its refund.
    row = order_row(engine, order.order_id)
    status = OrderStatus(row["status"]) if row else OrderStatus.PLACING
    ended = order.workflow.replace("_", " ")
    if status is OrderStatus.IN_RETENTION and terms is not None:
        # The delivery was accepted: the creator is owed the price (P2 refunds only before).
        moved = ledger.release_frozen(engine, terms)
        _record(
            engine,
            row,
            terms,
            by,
            status,
            OrderStatus.COMPLETED,
            Action.OPS_SETTLE,
            f"settled by ops: its workflow ended ({ended}) in retention, after the "
            "delivery was accepted; the escrow released to the payee; retention no "
            "longer watched",
        )
        return order.escrow_fen if moved.created else 0
    split = row["split_refund_fen"] if row else None
    if status is OrderStatus.CANCELLED and split is not None and terms is not None:
        # Cancelled with a split (X1, X3) that never moved: the escrow is divided as agreed,
        # not refunded in full; the cancellation is recorded already.
        try:
            moved = ledger.settle_split(engine, terms, split)
        except ledger.InsufficientFunds:
            return 0  # settled meanwhile, by a run of the workflow after a reset
        return order.escrow_fen if moved.created else 0
    try:
        refund = ledger.refund_frozen(engine, order.order_id)
    except ledger.InsufficientFunds:
        return 0  # released meanwhile, by a run of the workflow after a reset: not stranded
    if terms is not None and not status.is_final:
        _record(
            engine,
            row,
            terms,
            by,
            status,
            OrderStatus.CANCELLED,
            Action.OPS_CANCEL,
            f"settled by ops: its workflow ended ({ended}) while it was {status}; full refund",
        )
    return order.escrow_fen if refund is not None and refund.created else 0


def _record(
    engine: Engine,
    row: Mapping[str, Any] | None,
    terms: OrderTerms,
    by: Actor,
    status: OrderStatus,
    to: OrderStatus,
    action: Action,
    reason: str,
) -> None:
    now = datetime.now(UTC)
    write = ProjectionWrite(
        transition=Transition(
            order_id=terms.order_id,
            seq=row["last_seq"] + 1 if row else 1,
            at=now,
            actor=by,
            action=action,
            from_status=status,
            to_status=to,
            reason=reason,
        ),
        terms=terms,
        placed_at=row["created_at"] if row else now,
        next=[],
        notifications=[
            Notification(recipient=who, kind=to.value, body=reason)
            for who in (terms.client_id, terms.creator_id)
        ],
    )
    record_transition(engine, write)

"""The Web UI's Reset on the dev server: a reset run re-executes from a point of the order's
history, and meets a ledger that may already have settled the order."""

from __future__ import annotations

import io
import uuid

from sqlalchemy import Engine
from temporalio.api.common.v1 import WorkflowExecution
from temporalio.api.enums.v1 import EventType
from temporalio.api.workflowservice.v1 import ResetWorkflowExecutionRequest
from temporalio.testing import WorkflowEnvironment

from db import ledger, orders
from scripts.admin import stranded_orders
from tests.stack import CLIENT, CLIENT_FUNDS, CREATOR, Stack, eventually, running_stack
from workflows.messages import Action, OrderStatus

S = OrderStatus


async def reset_to_last_workflow_task(stack: Stack, order_id: str) -> str:
    """What the Web UI's Reset does with "reset to the last workflow task"."""
    handle = stack.handle(order_id)
    history = await handle.fetch_history()
    point = max(
        e.event_id
        for e in history.events
        if e.event_type == EventType.EVENT_TYPE_WORKFLOW_TASK_COMPLETED
    )
    reset = await stack.client.workflow_service.reset_workflow_execution(
        ResetWorkflowExecutionRequest(
            namespace=stack.client.namespace,
            workflow_execution=WorkflowExecution(workflow_id=handle.id),
            reason="reset by ops in the Web UI",
            workflow_task_finish_event_id=point,
            request_id=str(uuid.uuid4()),
        )
    )
    return reset.run_id


async def test_a_reset_after_ops_settled_a_terminated_order_never_pays_twice(
    dev_server_env: WorkflowEnvironment, sqlite_engine: Engine
) -> None:
    # rules A2 A3 P2 O12
    async with running_stack(dev_server_env.client, sqlite_engine) as stack:
        order_id = (await stack.place()).terms.order_id
        await stack.to_published(order_id)
        await stack.handle(order_id).terminate("pressed Terminate in the Web UI")
        assert await stranded_orders(stack.client, stack.engine, True, io.StringIO()) > 0

        # The reset run is alive again at `published`, unaware that ops refunded the client.
        await reset_to_last_workflow_task(stack, order_id)

        # The reset run re-executes the task it resets to, the publish reapplied: a query may
        # be answered before that task has run, at awaiting_publish.
        async def published_again() -> bool:
            return (await stack.view(order_id)).status is S.PUBLISHED

        await eventually(published_again, "the reset run is back at published")
        view = await stack.act(order_id, Action.ACCEPT_DELIVERY, CLIENT)

        # The release finds the escrow refunded: nothing moves, the order ends cancelled.
        assert view.status is S.CANCELLED
        assert (await stack.handle(order_id).result()).status is S.CANCELLED
        money = stack.balances(order_id)
        assert money[ledger.client_account(CLIENT.id)] == CLIENT_FUNDS
        assert money[ledger.creator_account(CREATOR.id)] == 0
        assert ledger.transfer_count(stack.engine, order_id, "refund") == 1
        assert ledger.transfer_count(stack.engine, order_id, "release") == 0
        row = orders.order_row(stack.engine, order_id)
        assert row is not None
        assert row["status"] == "cancelled"
        assert orders.timeline(stack.engine, order_id)[-1].action == "escrow_already_settled"
        # Nothing is stranded any more, and a second settlement moves nothing.
        assert await stranded_orders(stack.client, stack.engine, True, io.StringIO()) == 0

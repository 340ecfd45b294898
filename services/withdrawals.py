"""Starting a withdrawal's workflow and waiting a little for its outcome."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta

from temporalio.client import Client
from temporalio.common import WorkflowIDConflictPolicy, WorkflowIDReusePolicy
from temporalio.exceptions import WorkflowAlreadyStartedError

from workflows.messages import WithdrawalInput, WithdrawalResult
from workflows.withdrawal import WithdrawalWorkflow


async def withdraw(
    client: Client, task_queue: str, request: WithdrawalInput, wait: timedelta
) -> WithdrawalResult | None:
    """Run the withdrawal once per id; its outcome, or None if it is still under way."""
    workflow_id = f"withdrawal-{request.withdrawal_id}"
    # Requested before and finished: the result awaited below is that one.
    with contextlib.suppress(WorkflowAlreadyStartedError):
        await client.start_workflow(
            WithdrawalWorkflow.run,
            request,
            id=workflow_id,
            task_queue=task_queue,
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
        )
    handle = client.get_workflow_handle_for(WithdrawalWorkflow.run, workflow_id)
    try:
        return await asyncio.wait_for(handle.result(), wait.total_seconds())
    except TimeoutError:
        return None

"""Every recorded order path replays against the current workflow code (docs/WORKFLOW_CHANGES.md).

A change to OrderWorkflow, OrderWorkflowV1 or WithdrawalWorkflow that would break running
workflows (a new activity, timer or wait in an existing path, without `workflow.patched`)
fails here. `order_*.v1.json` are orders of the old type (`OrderWorkflow`, issue 9 and before),
replayed on workflows/legacy/order_v1.py; the others run the `Order` type.
"""

from __future__ import annotations

from pathlib import Path

import pytest
from temporalio.client import WorkflowHistory
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.worker import Replayer

import sandbox_runner
from bootstrap import WORKFLOWS
from sandbox_runner import CompiledOnceSandboxedWorkflowRunner

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))
# Read at collection, not inside the async test, so no file I/O blocks the event loop.
RECORDED = {path.stem: path.read_text() for path in HISTORIES}


OLD_PATHS = {
    "order_accepted",
    "order_auto_accepted_after_republish",
    "order_republication_rejected",
    "order_auto_cancelled",
    "order_cancel_refused",
    "order_cancel_requested",
    "order_declined",
    "order_refused",
    "order_rejected_loops",
    "order_retention_violation",
}


def test_a_history_of_every_path_is_checked_in() -> None:
    names = set(RECORDED)
    assert {f"{name}.v1" for name in OLD_PATHS} <= names
    assert {
        "order_accepted",
        "order_auto_accepted_after_republish",
        "order_republication_rejected",
        "order_auto_cancelled",
        "order_cancel_refused",
        "order_cancel_requested",
        "order_declined",
        "order_refused",
        "order_rejected_loops",
        "order_retention_violation",
        "withdrawal_paid",
        "withdrawal_returned",
        # The deadline outcomes (D2, D4).
        "order_overdue_cancelled",
        "order_overdue_cancelled_by_client",
        "order_silent_client",
        "order_extension_granted",
        # The ways out (X1-X4, P2).
        "order_cancelled_by_agreement",
        "order_proposals_then_ops_cancel",
        "order_dispute_continued",
        "order_dispute_split",
        "order_dispute_accepted",
    } <= names


@pytest.mark.parametrize("name", sorted(n for n in RECORDED if n.startswith("order_")))
def test_orders_before_issue_10_replay_on_the_old_type_and_new_ones_on_the_new(name: str) -> None:
    history = WorkflowHistory.from_json(name, RECORDED[name])
    started = history.events[0].workflow_execution_started_event_attributes
    expected = "OrderWorkflow" if name.endswith(".v1") else "Order"
    assert started.workflow_type.name == expected


@pytest.mark.parametrize("name", sorted(RECORDED))
async def test_recorded_history_replays_with_the_current_code(name: str) -> None:
    history = WorkflowHistory.from_json(name, RECORDED[name])
    # The worker's own sandbox runner: the histories must replay on what production runs.
    replayer = Replayer(
        workflows=WORKFLOWS,
        data_converter=pydantic_data_converter,
        workflow_runner=CompiledOnceSandboxedWorkflowRunner(),
    )
    await replayer.replay_workflow(history)


async def test_the_worker_runner_compiles_the_sandbox_glue_once() -> None:
    # sandbox_runner overrides a private method of the SDK; if an upgrade renamed it, the
    # override would quietly stop working, and nothing else would fail.
    sandbox_runner._compiled.clear()
    await test_recorded_history_replays_with_the_current_code(min(RECORDED))
    assert any("__temporal_in_sandbox.activate" in code for code in sandbox_runner._compiled)

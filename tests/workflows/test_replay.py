"""Every recorded order path replays against the current workflow code (docs/WORKFLOW_CHANGES.md).

A change to OrderWorkflow or WithdrawalWorkflow that would break running workflows (a new
activity, timer or wait in an existing path, without `workflow.patched`) fails here.
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


def test_a_history_of_every_path_is_checked_in() -> None:
    names = set(RECORDED)
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
    } <= names


# Read at collection, not inside the async test, so no file I/O blocks the event loop.
RECORDED = {path.stem: path.read_text() for path in HISTORIES}


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

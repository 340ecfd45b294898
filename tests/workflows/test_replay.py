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

from workflows.order import OrderWorkflow
from workflows.withdrawal import WithdrawalWorkflow

HISTORIES = sorted((Path(__file__).resolve().parents[1] / "histories").glob("*.json"))


def test_a_history_of_every_path_is_checked_in() -> None:
    names = {path.stem for path in HISTORIES}
    assert {
        "order_accepted",
        "order_auto_accepted_after_republish",
        "order_auto_cancelled",
        "order_declined",
        "order_refused",
        "order_rejected_loops",
        "order_retention_violation",
        "withdrawal_paid",
        "withdrawal_returned",
    } <= names


@pytest.mark.parametrize("path", HISTORIES, ids=[p.stem for p in HISTORIES])
async def test_recorded_history_replays_with_the_current_code(path: Path) -> None:
    history = WorkflowHistory.from_json(path.stem, path.read_text())
    replayer = Replayer(
        workflows=[OrderWorkflow, WithdrawalWorkflow], data_converter=pydantic_data_converter
    )
    await replayer.replay_workflow(history)

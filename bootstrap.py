"""The one place where the parts are wired: Temporal client, worker, activities, adapters.

Used by worker.py, the service layer, scripts and tests alike, so they cannot drift apart.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta
from typing import Any

from sqlalchemy import Engine
from temporalio.api.enums.v1 import IndexedValueType
from temporalio.api.operatorservice.v1 import AddSearchAttributesRequest
from temporalio.client import Client
from temporalio.contrib.pydantic import pydantic_data_converter
from temporalio.runtime import Runtime
from temporalio.service import RPCError, RPCStatusCode
from temporalio.worker import Worker

from activities.credit import CreditActivities
from activities.ledger import LedgerActivities
from activities.projection import ProjectionActivities
from activities.video import VideoActivities
from activities.wallet import WithdrawalActivities
from adapters.payments import PayoutProvider
from adapters.video_platform import VideoPlatform
from config import Settings
from sandbox_runner import CompiledOnceSandboxedWorkflowRunner
from workflows.legacy.order_v1 import OrderWorkflowV1
from workflows.order import OrderWorkflow
from workflows.withdrawal import WithdrawalWorkflow

SEARCH_ATTRIBUTES = {
    "OrderStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "ClientId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CreatorId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "NextDeadline": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Escalated": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}
# Every workflow type a worker runs: the order workflow, and the type orders placed before
# issue 10 still run on until they end (docs/WORKFLOW_CHANGES.md).
WORKFLOWS = [OrderWorkflow, OrderWorkflowV1, WithdrawalWorkflow]


async def connect_temporal(settings: Settings, runtime: Runtime | None = None) -> Client:
    return await Client.connect(
        settings.temporal_address,
        namespace=settings.temporal_namespace,
        data_converter=pydantic_data_converter,
        runtime=runtime,
    )


async def register_search_attributes(client: Client) -> None:
    """Register the order search attributes; a server that has them already is fine."""
    try:
        await client.operator_service.add_search_attributes(
            AddSearchAttributesRequest(
                namespace=client.namespace, search_attributes=SEARCH_ATTRIBUTES
            )
        )
    except RPCError as e:
        if e.status != RPCStatusCode.ALREADY_EXISTS:
            raise


def worker_activities(
    engine: Engine, platform: VideoPlatform, payouts: PayoutProvider
) -> dict[str, Callable[..., Any]]:
    """Every activity of the workflows by its registered name; tests swap entries by name."""
    ledger = LedgerActivities(engine)
    projection = ProjectionActivities(engine)
    video = VideoActivities(platform, engine)
    credit = CreditActivities(engine)
    withdrawal = WithdrawalActivities(engine, payouts)
    return {
        "freeze_escrow": ledger.freeze,
        "refund_escrow": ledger.refund,
        "release_escrow": ledger.release,
        "record_transition": projection.record,
        "link_video": video.link,
        "publish_video": video.publish,
        "take_down_video": video.take_down,
        "collect_video_stats": video.collect,
        "lower_credit_score": credit.lower,
        "hold_withdrawal": withdrawal.hold,
        "pay_out": withdrawal.pay_out,
        "close_withdrawal": withdrawal.close,
    }


def build_worker(
    client: Client,
    task_queue: str,
    activities: dict[str, Callable[..., Any]],
    executor: ThreadPoolExecutor,
    max_concurrent_activities: int = 16,
    graceful_shutdown_timeout: timedelta = timedelta(0),
) -> Worker:
    return Worker(
        client,
        task_queue=task_queue,
        workflows=WORKFLOWS,
        workflow_runner=CompiledOnceSandboxedWorkflowRunner(),
        activities=list(activities.values()),
        activity_executor=executor,
        max_concurrent_activities=max_concurrent_activities,
        graceful_shutdown_timeout=graceful_shutdown_timeout,
    )

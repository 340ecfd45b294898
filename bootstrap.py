"""The one place where the parts are wired: Temporal client, worker, activities, adapters,
and the order service over them.

Used by worker.py, the API (api/context.py), scripts and tests alike, so they cannot drift
apart. What lies outside the system (the video platform, payment rails, telephony) comes in as
`Adapters`, typed by each one's Protocol: the local simulators unless a caller passes others.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
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
from adapters.email import SmtpMailer
from adapters.payments import PaymentProvider, PayoutProvider, SimulatedPaymentRails
from adapters.telephony import SimulatedTelephony, Telephony
from adapters.video_platform import SimulatedVideoPlatform, VideoPlatform
from adapters.webhooks import HttpWebhookSender, Resolver, system_resolver
from config import Settings
from sandbox_runner import CompiledOnceSandboxedWorkflowRunner
from services.orders import OrderPolicy, OrderService, RevisionRounds
from services.relay import Channels, Clock, Relay, RelayPolicy, utc_now
from workflows.legacy.order_v1 import OrderWorkflowV1
from workflows.messages import Timings
from workflows.order import OrderWorkflow
from workflows.withdrawal import WithdrawalWorkflow

SEARCH_ATTRIBUTES = {
    "OrderStatus": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "ClientId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "CreatorId": IndexedValueType.INDEXED_VALUE_TYPE_KEYWORD,
    "NextDeadline": IndexedValueType.INDEXED_VALUE_TYPE_DATETIME,
    "Escalated": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
    "Disputed": IndexedValueType.INDEXED_VALUE_TYPE_BOOL,
}
# Every workflow type a worker runs: the order workflow, and the type orders placed before
# issue 10 still run on until they end (docs/WORKFLOW_CHANGES.md).
WORKFLOWS = [OrderWorkflow, OrderWorkflowV1, WithdrawalWorkflow]


@dataclass(frozen=True)
class Adapters:
    """The systems outside ours, each behind its Protocol (adapters/)."""

    platform: VideoPlatform
    payments: PaymentProvider
    payouts: PayoutProvider
    # Virtual numbers (C4, O3) and text messages (N1).
    telephony: Telephony
    # How webhook hosts are resolved, at registration and at each delivery (N2).
    resolver: Resolver = system_resolver


def simulated_adapters(engine: Engine) -> Adapters:
    """The local simulators, which keep their state in the app database."""
    rails = SimulatedPaymentRails(engine)
    return Adapters(
        platform=SimulatedVideoPlatform(engine),
        payments=rails,
        payouts=rails,
        telephony=SimulatedTelephony(engine),
    )


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


def order_service(
    client: Client, engine: Engine, settings: Settings, timings: Timings | None = None
) -> OrderService:
    """The order service on the settings' task queue, fee and RPC bound; `timings` replaces
    the settings' durations (the demo's minutes, a test's seconds)."""
    policy = OrderPolicy(
        service_fee_bps=settings.service_fee_bps,
        timings=timings or settings.timings(),
        revision_rounds=RevisionRounds(
            settings.revision_rounds, settings.min_revision_rounds, settings.max_revision_rounds
        ),
    )
    return OrderService(
        client, engine, settings.task_queue, policy, rpc_timeout=settings.temporal_rpc_timeout
    )


def relay_policy(settings: Settings) -> RelayPolicy:
    return RelayPolicy(
        lease=settings.relay_lease,
        batch=settings.relay_batch,
        retry_first=settings.delivery_retry_first,
        retry_cap=settings.delivery_retry_cap,
        give_up_after=settings.delivery_give_up_after,
    )


def channels(settings: Settings, adapters: Adapters) -> Channels:
    """SMS through the telephony adapter, e-mail over SMTP, webhooks over HTTP(S)."""
    return Channels(
        telephony=adapters.telephony,
        mailer=SmtpMailer(
            host=settings.smtp_host,
            port=settings.smtp_port,
            sender=settings.smtp_sender,
            timeout_s=settings.smtp_timeout.total_seconds(),
            starttls=settings.smtp_starttls,
            username=settings.smtp_username,
            password=settings.smtp_password,
        ),
        webhooks=HttpWebhookSender(
            resolver=adapters.resolver,
            allow_loopback_http=settings.webhook_allow_loopback_http,
            timeout_s=settings.webhook_timeout.total_seconds(),
        ),
    )


def relay(
    engine: Engine,
    settings: Settings,
    adapters: Adapters,
    clock: Clock = utc_now,
    relay_id: str | None = None,
) -> Relay:
    """The notification relay on the settings' channels and policy (relay.py, tests)."""
    return Relay(
        engine, channels(settings, adapters), relay_policy(settings), clock, relay_id=relay_id
    )


def worker_activities(engine: Engine, adapters: Adapters) -> dict[str, Callable[..., Any]]:
    """Every activity of the workflows by its registered name; tests swap entries by name."""
    ledger = LedgerActivities(engine)
    projection = ProjectionActivities(engine)
    video = VideoActivities(adapters.platform, engine)
    credit = CreditActivities(engine)
    withdrawal = WithdrawalActivities(engine, adapters.payouts)
    return {
        "freeze_escrow": ledger.freeze,
        "refund_escrow": ledger.refund,
        "release_escrow": ledger.release,
        "split_escrow": ledger.split,
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

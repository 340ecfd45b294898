"""Placing orders and acting on them: the seam between callers (API, demo, tests) and the
order workflows. No business rule lives here; the workflow decides, this module translates."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Engine, Row
from temporalio.client import (
    Client,
    WithStartWorkflowOperation,
    WorkflowHandle,
    WorkflowQueryFailedError,
    WorkflowUpdateFailedError,
    WorkflowUpdateRPCTimeoutOrCancelledError,
)
from temporalio.common import (
    SearchAttributePair,
    TypedSearchAttributes,
    WorkflowIDConflictPolicy,
    WorkflowIDReusePolicy,
)
from temporalio.exceptions import ApplicationError, WorkflowAlreadyStartedError
from temporalio.service import RPCError, RPCStatusCode
from temporalio.workflow import UpdateMethodMultiParam

from db.orders import order_row, terms_of
from services.creators import orderable_creator
from workflows.deadlines import due_date_problem
from workflows.errors import ErrorKind, Refusal
from workflows.messages import (
    Action,
    ActionInput,
    Actor,
    Brief,
    OrderInput,
    OrderResult,
    OrderStatus,
    OrderTerms,
    OrderView,
    Timings,
    VideoRemoved,
    is_stranger,
)
from workflows.order import CLIENT_ID, CREATOR_ID, ORDER_STATUS, OrderWorkflow

# The workflow's update for each user action, by reference: a renamed or retyped update
# fails in mypy, not at run time.
ActionUpdate = UpdateMethodMultiParam[[OrderWorkflow, Any], OrderView]
UPDATES: dict[Action, ActionUpdate] = {
    Action.ACCEPT: OrderWorkflow.accept,
    Action.DECLINE: OrderWorkflow.decline,
    Action.CANCEL: OrderWorkflow.cancel,
    Action.SUBMIT_SCRIPT: OrderWorkflow.submit_script,
    Action.REVIEW_SCRIPT: OrderWorkflow.review_script,
    Action.CONFIRM_SCRIPT: OrderWorkflow.confirm_script,
    Action.REJECT_SCRIPT: OrderWorkflow.reject_script,
    Action.SUBMIT_VIDEO: OrderWorkflow.submit_video,
    Action.REVIEW_VIDEO: OrderWorkflow.review_video,
    Action.CONFIRM_VIDEO: OrderWorkflow.confirm_video,
    Action.REJECT_VIDEO: OrderWorkflow.reject_video,
    Action.PUBLISH: OrderWorkflow.publish,
    Action.REPUBLISH: OrderWorkflow.republish,
    Action.REVIEW_PUBLICATION: OrderWorkflow.review_publication,
    Action.ACCEPT_DELIVERY: OrderWorkflow.accept_delivery,
    Action.CANCEL_OVERDUE: OrderWorkflow.cancel_overdue,
    Action.REQUEST_EXTENSION: OrderWorkflow.request_extension,
    Action.ANSWER_EXTENSION: OrderWorkflow.answer_extension,
    Action.MOVE_DEADLINE: OrderWorkflow.move_deadline,
    Action.PROPOSE_CANCELLATION: OrderWorkflow.propose_cancellation,
    Action.ANSWER_CANCELLATION: OrderWorkflow.answer_cancellation,
    Action.OPEN_DISPUTE: OrderWorkflow.open_dispute,
    Action.RESOLVE_DISPUTE: OrderWorkflow.resolve_dispute,
    Action.OPS_CANCEL: OrderWorkflow.ops_cancel,
}


class OrderError(Refusal):
    """An order request that was not carried out; `kind` says why, for the API to map."""


class OrderNotFound(OrderError):
    def __init__(self, order_id: str) -> None:
        super().__init__(ErrorKind.NOT_FOUND, f"order {order_id} not found")


class OrderFinished(OrderError):
    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(ErrorKind.INVALID_STATE, f"order {order_id} is over: it is {status}")


class OrderPending(Exception):
    """No worker answered in time (stalled, or being deployed). Not a refusal: the request is
    with the order's workflow and may still be applied; the same request again, with the same
    order and request ids, reaches that same outcome and never applies twice."""

    def __init__(self, order_id: str) -> None:
        super().__init__(f"order {order_id}: no answer from the order service in time")
        self.order_id = order_id


class OrderStopped(OrderError):
    """The order's workflow ended without ending the order (terminated in the Web UI,
    failed): nothing can act on it until ops settle it (services/stranded.py)."""

    def __init__(self, order_id: str, status: OrderStatus) -> None:
        super().__init__(
            ErrorKind.INVALID_STATE,
            f"order {order_id} takes no more actions: it was stopped by operations while "
            f"{status}, and operations settle its money",
        )


@dataclass(frozen=True)
class PlaceOrder:
    client_id: str
    creator_id: str
    brief: Brief
    skip_script: bool = False
    retention_days: int = 30
    # Given by the caller to make placement idempotent (the API derives it from the
    # Idempotency-Key); a fresh one otherwise.
    order_id: str | None = None
    # The price the client saw; the order is refused if the quote is no longer that (O1).
    price_fen: int | None = None
    # How many scripts and videos the client may reject (X2); the policy's default if None.
    revision_rounds: int | None = None


@dataclass(frozen=True)
class RevisionRounds:
    """X2: the rounds an order gets unless it chooses, and the bounds of its choice."""

    default: int = 3
    min: int = 1
    max: int = 10


@dataclass(frozen=True)
class OrderPolicy:
    service_fee_bps: int
    timings: Timings
    revision_rounds: RevisionRounds = RevisionRounds()

    def revision_rounds_for(self, asked: int | None) -> int:
        rounds = self.revision_rounds
        if asked is None:
            return rounds.default
        if not rounds.min <= asked <= rounds.max:
            raise OrderError(
                ErrorKind.INVALID_INPUT,
                f"revision_rounds must be {rounds.min} to {rounds.max}, not {asked} (rule X2)",
            )
        return asked

    def fee_for(self, price_fen: int) -> int:
        # Round half up, in integers: money never passes through a float.
        return (price_fen * self.service_fee_bps + 5_000) // 10_000


def workflow_id(order_id: str) -> str:
    return f"order-{order_id}"


class OrderService:
    def __init__(
        self,
        client: Client,
        engine: Engine,
        task_queue: str,
        policy: OrderPolicy,
        rpc_timeout: timedelta | None = None,
    ):
        self._client = client
        self._engine = engine
        self._task_queue = task_queue
        self._policy = policy
        # Bounds each call, so a caller is told the service is unavailable instead of waiting
        # for ever (an update waits for a worker to take it).
        self._rpc_timeout = rpc_timeout

    async def place(self, request: PlaceOrder) -> OrderView:
        """Start the order's workflow and wait until its escrow is frozen or it is refused:
        one call to Temporal, which starts the workflow and sends it the placement update."""
        try:
            # A database read, off the caller's event loop (on PostgreSQL, a network round trip).
            terms = await asyncio.to_thread(self._terms_for, request)
        except Refusal as e:
            # A retry of an order already placed (its first attempt may have had no answer)
            # joins it: the quote and switches it was placed under count, not today's.
            if request.order_id is None or not await self._started(request.order_id):
                raise OrderError(e.kind, e.message) from e
            view = await self._placed(self._handle(request.order_id))
        else:
            view = await self._start(terms)
        order_id = view.terms.order_id
        if not _same_request(view.terms, request):
            raise OrderError(ErrorKind.CONFLICT, f"order id {order_id} was used for another order")
        if view.status is OrderStatus.REFUSED:
            raise OrderError(ErrorKind.REFUSED, view.refusal or "the order was refused")
        return view

    async def _start(self, terms: OrderTerms) -> OrderView:
        order_id = terms.order_id
        start = WithStartWorkflowOperation(
            OrderWorkflow.run,
            OrderInput(terms=terms, timings=self._policy.timings),
            id=workflow_id(order_id),
            task_queue=self._task_queue,
            # The same order id again joins the running order; once it has ended, it is
            # never started a second time (its ledger keys are spent).
            id_conflict_policy=WorkflowIDConflictPolicy.USE_EXISTING,
            id_reuse_policy=WorkflowIDReusePolicy.REJECT_DUPLICATE,
            search_attributes=TypedSearchAttributes(
                [
                    SearchAttributePair(ORDER_STATUS, OrderStatus.PLACING.value),
                    SearchAttributePair(CLIENT_ID, terms.client_id),
                    SearchAttributePair(CREATOR_ID, terms.creator_id),
                ]
            ),
        )
        try:
            return await self._answer(
                order_id,
                lambda: self._client.execute_update_with_start_workflow(
                    OrderWorkflow.placed,
                    start_workflow_operation=start,
                    id=_placement_update_id(order_id),
                    rpc_timeout=self._rpc_timeout,
                ),
            )
        except (WorkflowAlreadyStartedError, RPCError) as e:
            # The time-skipping test server says ALREADY_EXISTS without saying which operation.
            if isinstance(e, RPCError) and e.status != RPCStatusCode.ALREADY_EXISTS:
                raise
            return await self.view(order_id)  # the order has already ended
        finally:
            _read_start_outcome(start)

    async def _placed(self, handle: WorkflowHandle[OrderWorkflow, OrderResult]) -> OrderView:
        """The outcome of a placement already started; the update id is the order's, so
        every attempt at placing one order waits on the one update."""
        order_id = handle.id.removeprefix("order-")
        try:
            return await self._answer(
                order_id,
                lambda: handle.execute_update(
                    OrderWorkflow.placed,
                    id=_placement_update_id(order_id),
                    rpc_timeout=self._rpc_timeout,
                ),
            )
        except OrderFinished:
            return await self.view(order_id)

    async def _started(self, order_id: str) -> bool:
        try:
            await self._handle(order_id).describe(rpc_timeout=self._rpc_timeout)
        except RPCError as e:
            if e.status == RPCStatusCode.NOT_FOUND:
                return False
            raise
        return True

    def _terms_for(self, request: PlaceOrder) -> OrderTerms:
        creator = orderable_creator(self._engine, request.creator_id)
        price = int(creator.quote_fen)
        if request.price_fen is not None and request.price_fen != price:
            raise OrderError(
                ErrorKind.PRICE_CHANGED,
                f"creator {request.creator_id}'s quote is now {price} fen, not the "
                f"{request.price_fen} fen you saw: nothing was frozen; order again at the new "
                "quote if it suits you",
            )
        # The brief's due dates drive the creator's deadlines (D2): refused before anything
        # is frozen when they cannot be met.
        if problem := due_date_problem(request.brief, datetime.now(UTC), self._policy.timings):
            raise OrderError(ErrorKind.INVALID_INPUT, f"the brief's due dates: {problem}")
        rounds = self._policy.revision_rounds_for(request.revision_rounds)
        return _terms(request, creator, price, self._policy.fee_for(price), rounds)

    async def act(self, order_id: str, action: Action, request: ActionInput) -> OrderView:
        """Apply one user action; raises OrderError with the workflow's reason if refused."""
        handle = self._handle(order_id)
        update_id = f"{request.actor.id}:{action}:{request.request_id}"
        return await self._answer(
            order_id,
            lambda: handle.execute_update(
                UPDATES[action], request, id=update_id, rpc_timeout=self._rpc_timeout
            ),
            request.actor,
        )

    async def view(self, order_id: str, recorded: OrderStatus | None = None) -> OrderView:
        """The workflow's view of the order. `recorded` is the status in the order's row,
        when the caller has read it: final there but not in the workflow, the order was
        settled by ops after its workflow stopped, and the row has the last word."""
        try:
            view = await self._handle(order_id).query(
                OrderWorkflow.view, rpc_timeout=self._rpc_timeout
            )
        except WorkflowQueryFailedError as e:
            # A workflow that cannot answer (its code fails on its history): what was recorded.
            return await self._recorded_view(order_id, e)
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            # Gone from Temporal (its history past the namespace's retention, or lost in a
            # restore) while its row remains.
            return await self._recorded_view(order_id, e)
        if recorded is not None and recorded.is_final and not view.status.is_final:
            return view.model_copy(update={"status": recorded, "next": [], "allowed": {}})
        return view

    async def _recorded_view(self, order_id: str, error: Exception) -> OrderView:
        row = await asyncio.to_thread(order_row, self._engine, order_id)
        if row is None:
            raise OrderNotFound(order_id) from error
        return OrderView(
            terms=terms_of(row),
            status=OrderStatus(row["status"]),
            next=[],
            placed_at=row["created_at"],
        )

    async def video_removed(self, order_id: str, video_id: str, reason: str) -> None:
        """What the video platform's webhook reports: the order's video went down (O9, O10)."""
        try:
            await self._handle(order_id).signal(
                OrderWorkflow.video_removed,
                VideoRemoved(video_id=video_id, reason=reason),
                rpc_timeout=self._rpc_timeout,
            )
        except RPCError as e:
            raise _rpc_error(order_id, e) from e

    def _handle(self, order_id: str) -> WorkflowHandle[OrderWorkflow, OrderResult]:
        return self._client.get_workflow_handle_for(OrderWorkflow.run, workflow_id(order_id))

    async def _answer(
        self,
        order_id: str,
        call: Callable[[], Awaitable[OrderView]],
        actor: Actor | None = None,
    ) -> OrderView:
        """The outcome of one update of the order, or why there is none."""
        # rpc_timeout bounds each call, but once the update is accepted the SDK polls for its
        # outcome without one: bound the whole wait, so a worker that stalls mid-update
        # cannot hold the caller for ever either.
        bound = self._rpc_timeout.total_seconds() if self._rpc_timeout else None
        try:
            async with asyncio.timeout(bound):
                return await call()
        except (WorkflowUpdateRPCTimeoutOrCancelledError, TimeoutError) as e:
            raise OrderPending(order_id) from e
        except WorkflowUpdateFailedError as e:
            cause = e.cause
            if isinstance(cause, ApplicationError):
                kind = _kind(cause.type)
                if kind is ErrorKind.NOT_A_PARTY:
                    # Someone else's order does not exist, as far as this caller may learn.
                    raise OrderNotFound(order_id) from e
                raise OrderError(kind, cause.message) from e
            raise
        except RPCError as e:
            if e.status != RPCStatusCode.NOT_FOUND:
                raise
            # No such workflow, or it has ended (servers word this differently). The
            # projection has every order's parties and last status: one indexed read, where
            # asking the ended workflow would replay its history, for anyone who asks.
            row = await asyncio.to_thread(order_row, self._engine, order_id)
            if row is None or (
                actor is not None and is_stranger(actor, row["client_id"], row["creator_id"])
            ):
                raise OrderNotFound(order_id) from e
            status = OrderStatus(row["status"])
            if status.is_final:
                raise OrderFinished(order_id, status) from e
            raise OrderStopped(order_id, status) from e


def _kind(error_type: str | None) -> ErrorKind:
    """An update's error type as a kind; one this code does not know is a refusal of the
    action in the order's state, which is what every update refusal is at heart."""
    try:
        return ErrorKind(error_type or "")
    except ValueError:
        return ErrorKind.INVALID_STATE


def _read_start_outcome(start: WithStartWorkflowOperation[OrderWorkflow, OrderResult]) -> None:
    """The SDK keeps the start's outcome in a future for whoever asks for the workflow's
    handle. Nobody here does (the update's outcome says it all), and a failure left unread
    is logged as "Future exception was never retrieved"."""
    outcome = start._workflow_handle
    if outcome.done() and not outcome.cancelled():
        outcome.exception()


def _placement_update_id(order_id: str) -> str:
    return f"place:{order_id}"


def _terms(
    request: PlaceOrder, creator: Row[Any], price_fen: int, fee_fen: int, revision_rounds: int
) -> OrderTerms:
    return OrderTerms(
        order_id=request.order_id or uuid.uuid4().hex,
        client_id=request.client_id,
        creator_id=request.creator_id,
        mcn_id=creator.mcn_id,
        creator_xigua_account=creator.xigua_account_id,
        price_fen=price_fen,
        fee_fen=fee_fen,
        brief=request.brief,
        skip_script=request.skip_script,
        retention_days=request.retention_days,
        revision_rounds=revision_rounds,
    )


def _rpc_error(order_id: str, e: RPCError) -> Exception:
    if e.status == RPCStatusCode.NOT_FOUND:
        return OrderNotFound(order_id)
    return e


def _same_request(placed: OrderTerms, asked: PlaceOrder) -> bool:
    fields = ("client_id", "creator_id", "brief", "skip_script", "retention_days")
    same = all(getattr(placed, f) == getattr(asked, f) for f in fields)
    same = same and asked.revision_rounds in (None, placed.revision_rounds)
    return same and asked.price_fen in (None, placed.price_fen)

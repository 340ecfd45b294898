"""OrderWorkflowV1: the order workflow as it ran before issue 10, kept for the orders it started.

Registered under its old type name, `OrderWorkflow`, so running orders keep replaying on it
(tests/histories/order_*.json recorded before issue 10). New orders start the `Order` type
(workflows/order.py). Frozen: change nothing here that changes its commands; once no order
of this type is running, delete the module (docs/WORKFLOW_CHANGES.md)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from workflows.common import (
        ACTIVITY_TIMEOUT,
        ESCROW_ALREADY_SETTLED,
        FORBIDDEN,
        INSUFFICIENT_FUNDS,
        INVALID_INPUT,
        INVALID_STATE,
        NEXT_DEADLINE,
        NOT_A_PARTY,
        ORDER_STATUS,
        PERSISTENT,
        REQUEST_ID_REUSED,
    )
    from workflows.messages import (
        OPS_IN_TEMPORAL,
        SYSTEM,
        Action,
        ActionInput,
        Actor,
        CreditPenalty,
        LinkVideoRequest,
        NextStep,
        Notification,
        OrderInput,
        OrderResult,
        OrderStatus,
        OrderView,
        ProjectionWrite,
        Publication,
        PublicationReviewInput,
        PublishRequest,
        ReasonInput,
        Review,
        ReviewInput,
        Role,
        Script,
        ScriptInput,
        StatsRequest,
        TakeDownRequest,
        Transition,
        Video,
        VideoInput,
        VideoRemoved,
        VideoSample,
        is_stranger,
    )

S = OrderStatus
_Reviewable = TypeVar("_Reviewable", Script, Video, Publication)

# Who may take each action in each status. Everything else is rejected by the validators.
# In `published` the current publication narrows it (`_allowed`): while a republished video
# awaits its post-publication review the reviewer judges it and the delivery cannot be accepted;
# otherwise there is nothing to review.
ALLOWED: dict[OrderStatus, dict[Action, Role]] = {
    S.AWAITING_ACCEPTANCE: {
        Action.ACCEPT: Role.CREATOR,
        Action.DECLINE: Role.CREATOR,
        Action.CANCEL: Role.CLIENT,
    },
    S.SCRIPT_PENDING: {Action.SUBMIT_SCRIPT: Role.CREATOR},
    S.SCRIPT_IN_REVIEW: {Action.REVIEW_SCRIPT: Role.REVIEWER},
    S.SCRIPT_AWAITING_CLIENT: {
        Action.CONFIRM_SCRIPT: Role.CLIENT,
        Action.REJECT_SCRIPT: Role.CLIENT,
    },
    S.VIDEO_PENDING: {Action.SUBMIT_VIDEO: Role.CREATOR},
    S.VIDEO_IN_REVIEW: {Action.REVIEW_VIDEO: Role.REVIEWER},
    S.VIDEO_AWAITING_CLIENT: {Action.CONFIRM_VIDEO: Role.CLIENT, Action.REJECT_VIDEO: Role.CLIENT},
    S.AWAITING_PUBLISH: {Action.PUBLISH: Role.CLIENT},
    S.PUBLISHED: {
        Action.ACCEPT_DELIVERY: Role.CLIENT,
        Action.REPUBLISH: Role.CREATOR,
        Action.REVIEW_PUBLICATION: Role.REVIEWER,
    },
}

# The roles that take any action; the others (ops, MCNs, the system) are refused outright.
ACTING_ROLES = frozenset(role for allowed in ALLOWED.values() for role in allowed.values())

# Orders started with this patch answer a cancellation request in Temporal as an ops
# cancellation (docs/WORKFLOW_CHANGES.md).
CANCEL_REQUESTS_PATCH = "cancel-request-as-ops-action"

# Patches (docs/WORKFLOW_CHANGES.md). A republish links the video, as a submission does, and
# leaves it awaiting its post-publication review (O10).
REVIEWED_REPUBLISH = "republish-linked-and-reviewed"


@workflow.defn(name="OrderWorkflow")
class OrderWorkflowV1:
    """One order's whole lifecycle (SPEC O1-O12); the source of truth for its state.

    Updates: placed (waits for the escrow freeze, for the placing caller), and one per user
    action, each validated against the status and the acting user:
      accept, decline, cancel, submit_script, review_script, confirm_script, reject_script,
      submit_video, review_video, confirm_video, reject_video, publish, republish,
      review_publication, accept_delivery. Each returns the order's view after the action.
    Signals: video_removed (from the video-platform adapter).
    Queries: view.
    """

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._terms = input.terms
        self._timings = input.timings
        self._status = S.PLACING
        self._placed_at = workflow.now()
        self._seq = 0
        self._lock = asyncio.Lock()
        # (actor id, request id) -> the action it applied; replays answer without applying.
        self._requests: dict[tuple[str, str], Action] = {}
        self._accepted_at: datetime | None = None
        self._scripts: list[Script] = []
        self._videos: list[Video] = []
        self._publications: list[Publication] = []
        self._video_public: bool | None = None
        self._delivery_accepted_at: datetime | None = None
        self._violation: str | None = None
        self._refusal: str | None = None
        self._deadline_attr: datetime | None = None
        self._placement_recorded = False
        self._samples = 0
        self._next_check = workflow.now()  # set for real at the first publication

    # ------------------------------------------------------------------ the lifecycle

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        if workflow.patched(CANCEL_REQUESTS_PATCH):
            await self._shielded_from_cancel_requests()
        else:
            # Orders started before: a cancellation request still stops them where they
            # wait, and `scripts.admin stranded-orders` settles them (docs/OPERATIONS.md).
            await self._lifecycle()
            await workflow.wait_condition(workflow.all_handlers_finished)
        return OrderResult(
            order_id=self._terms.order_id, status=self._status, violation=self._violation
        )

    async def _lifecycle(self) -> None:
        async with self._lock:
            await self._place()
        if self._status is S.AWAITING_ACCEPTANCE:
            await self._await_acceptance()
        # Every step between acceptance and publishing is driven by updates, without timers.
        await workflow.wait_condition(
            lambda: self._status in (S.PUBLISHED, S.IN_RETENTION) or self._status.is_final
        )
        while self._status in (S.PUBLISHED, S.IN_RETENTION):
            await self._watch_video()

    async def _shielded_from_cancel_requests(self) -> None:
        """Run the lifecycle where a cancellation request cannot reach it, and answer each
        request as an ops action. Temporal delivers a cancellation request (the Web UI's
        "Request Cancellation") as CancelledError to run's own task only: raised inside
        the lifecycle it would abandon whatever step it interrupted, a freeze or a release
        half-awaited, the lock held. Here it interrupts only this wait, and the answer takes
        the lock like any action, after the step that holds it."""
        tasks = [asyncio.create_task(self._lifecycle())]

        def over() -> bool:
            if any(t.done() and not t.cancelled() and t.exception() for t in tasks):
                return True  # failed: raised below, as when run awaited the lifecycle itself
            # The handlers too: a request arriving while the last one finishes is answered.
            return all(t.done() for t in tasks) and workflow.all_handlers_finished()

        while not over():
            try:
                await workflow.wait_condition(over)
            except asyncio.CancelledError:
                if workflow.cancellation_reason() is None:
                    raise  # no request: the worker is evicting the workflow from its cache
                if (current := asyncio.current_task()) is not None:
                    current.uncancel()  # handled: the next wait must not fail again
                if len(tasks) == 1:
                    tasks.append(asyncio.create_task(self._answer_cancel_request()))
        for task in tasks:
            await task

    async def _answer_cancel_request(self) -> None:
        """Ops asked Temporal to cancel the order. Before the delivery is accepted it is
        cancelled with a full refund (P2); after, nothing moves: the refusal is recorded
        and the order runs on to completion."""
        reason = "cancellation requested in Temporal"
        if detail := workflow.cancellation_reason():
            reason = f"{reason}: {detail}"
        await workflow.wait_condition(lambda: self._placement_recorded)
        async with self._lock:
            if self._status.is_final:
                return  # ended meanwhile (cancelled by a party, refused): nothing left to do
            if self._status is S.IN_RETENTION:
                await self._move(
                    self._status,
                    Action.CANCEL_REFUSED,
                    OPS_IN_TEMPORAL,
                    f"{reason}; refused: the delivery was accepted and the creator paid",
                    [Notification(recipient="ops", kind="cancel_refused", body=reason)],
                )
            else:
                await self._cancel(OPS_IN_TEMPORAL, Action.OPS_CANCEL, reason)

    async def _place(self) -> None:
        """Freeze price and fee in escrow, or refuse the order and freeze nothing (O1)."""
        try:
            await self._activity("freeze_escrow", self._terms)
        except ActivityError as e:
            if not (isinstance(e.cause, ApplicationError) and e.cause.type == INSUFFICIENT_FUNDS):
                raise
            self._refusal = e.cause.message
            await self._move(S.REFUSED, Action.REFUSE, SYSTEM, reason=self._refusal)
            self._placement_recorded = True
            return
        client = Actor(id=self._terms.client_id, role=Role.CLIENT)
        await self._move(
            S.AWAITING_ACCEPTANCE,
            Action.PLACE,
            client,
            notify=[
                Notification(recipient=self._terms.creator_id, kind="new_order", body=self._brief())
            ],
        )
        # The placing caller's next read goes to the projection: answer only once it is written.
        self._placement_recorded = True

    async def _await_acceptance(self) -> None:
        """The creator has 24 h to accept; then the order is cancelled and refunded (O2)."""
        if await self._wait_until(
            self._accept_deadline(), lambda: self._status is not S.AWAITING_ACCEPTANCE
        ):
            return
        async with self._lock:
            if self._status is S.AWAITING_ACCEPTANCE:
                window = self._timings.accept_window
                await self._cancel(SYSTEM, Action.AUTO_CANCEL, f"not accepted within {window}")

    async def _watch_video(self) -> None:
        """One step of the watch from publishing to the end of retention. It wakes at the next
        check or deadline, or when something moves the order (an action, a republish, a
        removal), and then:
        - every check records the video's numbers (O11); during retention, a video found
          private is a violation (O9);
        - published: 7 days after the last publication the order is accepted (O7, O10);
        - in retention: at the end of the period the order completes (O9, O12)."""
        if self._status is S.IN_RETENTION and self._video_public is False:
            async with self._lock:
                await self._violate("the video was not public when the retention period began")
            return
        status, publications = self._status, len(self._publications)
        awaiting = self._awaiting_review()
        deadline = self._auto_accept_at() if status is S.PUBLISHED else self._retention_ends_at()

        def moved() -> bool:
            return (
                self._status is not status
                or len(self._publications) != publications
                or self._awaiting_review() != awaiting
            )

        # A republished video awaiting its review is not accepted automatically: the review
        # comes first (O10), and the order wakes only for its checks until then.
        wake = self._next_check if awaiting else min(deadline, self._next_check)
        if await self._wait_until(wake, moved):
            return
        if awaiting or workflow.now() < deadline:
            await self._check_video(judge=True)
            return
        async with self._lock:
            if (
                self._status is S.PUBLISHED
                and workflow.now() >= self._auto_accept_at()
                and not self._awaiting_review()
            ):
                await self._accept_delivery(SYSTEM, Action.AUTO_ACCEPT)
            elif self._status is S.IN_RETENTION and workflow.now() >= self._retention_ends_at():
                await self._check_video(judge=False)  # the final numbers
                await self._move(S.COMPLETED, Action.RETENTION_ENDED, SYSTEM)

    async def _check_video(self, judge: bool) -> None:
        self._samples += 1
        self._next_check = workflow.now() + self._timings.video_check_every
        request = StatsRequest(
            order_id=self._terms.order_id,
            video_id=self._current_video_id() or "",
            sample=self._samples,
            at=workflow.now(),
        )
        sample = await self._activity("collect_video_stats", request, result_type=VideoSample)
        assert isinstance(sample, VideoSample)
        if sample.public or not judge:
            return
        async with self._lock:
            if request.video_id != self._current_video_id():
                return  # about a video republished meanwhile (checked under the lock, which
                # a republish holds while it publishes)
            if self._status is S.IN_RETENTION:
                await self._violate("the periodic check found the video no longer public")
            elif self._status is S.PUBLISHED and self._video_public:
                await self._record_removal("the periodic check found the video no longer public")

    # ------------------------------------------------------------------ user actions

    @workflow.update
    async def placed(self) -> OrderView:
        """For the placing caller: waits until the escrow is frozen or the order refused, and
        the outcome is in the projection."""
        await workflow.wait_condition(lambda: self._placement_recorded)
        return self.view()

    @workflow.update
    async def accept(self, req: ActionInput) -> OrderView:
        return await self._act(Action.ACCEPT, req, self._do_accept)

    @workflow.update
    async def decline(self, req: ReasonInput) -> OrderView:
        return await self._act(
            Action.DECLINE, req, lambda: self._cancel(req.actor, Action.DECLINE, req.reason)
        )

    @workflow.update
    async def cancel(self, req: ReasonInput) -> OrderView:
        return await self._act(
            Action.CANCEL, req, lambda: self._cancel(req.actor, Action.CANCEL, req.reason)
        )

    @workflow.update
    async def submit_script(self, req: ScriptInput) -> OrderView:
        async def apply() -> None:
            script = Script(
                version=len(self._scripts) + 1, text=req.text, submitted_at=workflow.now()
            )
            self._scripts.append(script)
            await self._move(S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT, req.actor)

        return await self._act(Action.SUBMIT_SCRIPT, req, apply)

    @workflow.update
    async def review_script(self, req: ReviewInput) -> OrderView:
        async def apply() -> None:
            self._scripts[-1] = self._reviewed(
                self._scripts[-1], req.actor, req.approve, req.reason
            )
            if req.approve:
                await self._move(S.SCRIPT_AWAITING_CLIENT, Action.REVIEW_SCRIPT, req.actor)
            else:
                await self._move(
                    S.SCRIPT_PENDING,
                    Action.REVIEW_SCRIPT,
                    req.actor,
                    req.reason,
                    [self._to_creator("script_rejected", req.reason)],
                )

        return await self._act(Action.REVIEW_SCRIPT, req, apply)

    @workflow.update
    async def confirm_script(self, req: ActionInput) -> OrderView:
        async def apply() -> None:
            self._scripts[-1] = self._reviewed(self._scripts[-1], req.actor, True, None)
            await self._move(S.VIDEO_PENDING, Action.CONFIRM_SCRIPT, req.actor)

        return await self._act(Action.CONFIRM_SCRIPT, req, apply)

    @workflow.update
    async def reject_script(self, req: ReasonInput) -> OrderView:
        async def apply() -> None:
            self._scripts[-1] = self._reviewed(self._scripts[-1], req.actor, False, req.reason)
            await self._move(
                S.SCRIPT_PENDING,
                Action.REJECT_SCRIPT,
                req.actor,
                req.reason,
                [self._to_creator("script_rejected", req.reason)],
            )

        return await self._act(Action.REJECT_SCRIPT, req, apply)

    @workflow.update
    async def submit_video(self, req: VideoInput) -> OrderView:
        async def apply() -> None:
            await self._link(req.video_id)
            video = Video(
                version=len(self._videos) + 1, video_id=req.video_id, submitted_at=workflow.now()
            )
            self._videos.append(video)
            await self._move(S.VIDEO_IN_REVIEW, Action.SUBMIT_VIDEO, req.actor)

        return await self._act(Action.SUBMIT_VIDEO, req, apply)

    @workflow.update
    async def review_video(self, req: ReviewInput) -> OrderView:
        async def apply() -> None:
            self._videos[-1] = self._reviewed(self._videos[-1], req.actor, req.approve, req.reason)
            if req.approve:
                await self._move(S.VIDEO_AWAITING_CLIENT, Action.REVIEW_VIDEO, req.actor)
            else:
                await self._move(
                    S.VIDEO_PENDING,
                    Action.REVIEW_VIDEO,
                    req.actor,
                    req.reason,
                    [self._to_creator("video_rejected", req.reason)],
                )

        return await self._act(Action.REVIEW_VIDEO, req, apply)

    @workflow.update
    async def confirm_video(self, req: ActionInput) -> OrderView:
        async def apply() -> None:
            self._videos[-1] = self._reviewed(self._videos[-1], req.actor, True, None)
            await self._move(S.AWAITING_PUBLISH, Action.CONFIRM_VIDEO, req.actor)

        return await self._act(Action.CONFIRM_VIDEO, req, apply)

    @workflow.update
    async def reject_video(self, req: ReasonInput) -> OrderView:
        async def apply() -> None:
            self._videos[-1] = self._reviewed(self._videos[-1], req.actor, False, req.reason)
            await self._move(
                S.VIDEO_PENDING,
                Action.REJECT_VIDEO,
                req.actor,
                req.reason,
                [self._to_creator("video_rejected", req.reason)],
            )

        return await self._act(Action.REJECT_VIDEO, req, apply)

    @workflow.update
    async def publish(self, req: ActionInput) -> OrderView:
        async def apply() -> None:
            await self._publish(self._videos[-1].video_id)
            await self._move(S.PUBLISHED, Action.PUBLISH, req.actor)

        return await self._act(Action.PUBLISH, req, apply)

    @workflow.update
    async def republish(self, req: VideoInput) -> OrderView:
        async def apply() -> None:
            reason = f"republished as {req.video_id}; acceptance countdown restarted"
            # Orders that republished before the check existed replay without it.
            reviewed = workflow.patched(REVIEWED_REPUBLISH)
            if reviewed:
                await self._link(req.video_id)
                reason += "; it awaits its post-publication review"
            await self._publish(req.video_id, review_required=reviewed)
            await self._move(
                S.PUBLISHED,
                Action.REPUBLISH,
                req.actor,
                reason=reason,
                notify=[
                    Notification(
                        recipient=self._terms.client_id,
                        kind="republished",
                        body=f"the video was republished as {req.video_id}",
                    )
                ],
            )

        return await self._act(Action.REPUBLISH, req, apply)

    @workflow.update
    async def review_publication(self, req: PublicationReviewInput) -> OrderView:
        """The republished video's post-publication review (O10). A rejection takes the video
        down, which counts as a removal before acceptance: the creator may republish again."""

        async def apply() -> None:
            publication = self._reviewed(self._publications[-1], req.actor, req.approve, req.reason)
            self._publications[-1] = publication
            if req.approve:
                await self._move(
                    S.PUBLISHED,
                    Action.REVIEW_PUBLICATION,
                    req.actor,
                    notify=[
                        Notification(
                            recipient=self._terms.client_id,
                            kind="publication_approved",
                            body=f"the republished video {publication.video_id} passed review",
                        )
                    ],
                )
                return
            reason = req.reason or ""
            await self._move(
                S.PUBLISHED,
                Action.REVIEW_PUBLICATION,
                req.actor,
                reason,
                [
                    Notification(recipient=who, kind="publication_rejected", body=reason)
                    for who in self._parties()
                ],
            )
            take_down = TakeDownRequest(
                order_id=self._terms.order_id, video_id=publication.video_id, reason=reason
            )
            await self._activity("take_down_video", take_down)
            await self._record_removal(
                f"taken down: its post-publication review rejected it: {reason}"
            )

        return await self._act(Action.REVIEW_PUBLICATION, req, apply)

    @workflow.update
    async def accept_delivery(self, req: ActionInput) -> OrderView:
        return await self._act(
            Action.ACCEPT_DELIVERY,
            req,
            lambda: self._accept_delivery(req.actor, Action.ACCEPT_DELIVERY),
        )

    # Validators: synchronous, change nothing, reject by raising. A rejected update leaves
    # no event in the history (A1).

    @accept.validator
    def validate_accept(self, req: ActionInput) -> None:
        self._check(Action.ACCEPT, req)

    @decline.validator
    def validate_decline(self, req: ReasonInput) -> None:
        self._check(Action.DECLINE, req)

    @cancel.validator
    def validate_cancel(self, req: ReasonInput) -> None:
        self._check(Action.CANCEL, req)

    @submit_script.validator
    def validate_submit_script(self, req: ScriptInput) -> None:
        self._check(Action.SUBMIT_SCRIPT, req)

    @review_script.validator
    def validate_review_script(self, req: ReviewInput) -> None:
        self._check(Action.REVIEW_SCRIPT, req)

    @confirm_script.validator
    def validate_confirm_script(self, req: ActionInput) -> None:
        self._check(Action.CONFIRM_SCRIPT, req)

    @reject_script.validator
    def validate_reject_script(self, req: ReasonInput) -> None:
        self._check(Action.REJECT_SCRIPT, req)

    @submit_video.validator
    def validate_submit_video(self, req: VideoInput) -> None:
        self._check(Action.SUBMIT_VIDEO, req)

    @review_video.validator
    def validate_review_video(self, req: ReviewInput) -> None:
        self._check(Action.REVIEW_VIDEO, req)

    @confirm_video.validator
    def validate_confirm_video(self, req: ActionInput) -> None:
        self._check(Action.CONFIRM_VIDEO, req)

    @reject_video.validator
    def validate_reject_video(self, req: ReasonInput) -> None:
        self._check(Action.REJECT_VIDEO, req)

    @publish.validator
    def validate_publish(self, req: ActionInput) -> None:
        self._check(Action.PUBLISH, req)

    @republish.validator
    def validate_republish(self, req: VideoInput) -> None:
        self._check(Action.REPUBLISH, req)

    @review_publication.validator
    def validate_review_publication(self, req: PublicationReviewInput) -> None:
        # The API now names the video reviewed (PublicationReviewInput); this frozen type
        # takes the wider input and judges the latest publication, as it always did.
        self._check(Action.REVIEW_PUBLICATION, req)

    @accept_delivery.validator
    def validate_accept_delivery(self, req: ActionInput) -> None:
        self._check(Action.ACCEPT_DELIVERY, req)

    # ------------------------------------------------------------------ platform events, reads

    @workflow.signal
    async def video_removed(self, notice: VideoRemoved) -> None:
        async with self._lock:
            if notice.video_id != self._current_video_id():
                return  # an earlier publication, deleted on purpose before a republish (O10)
            if self._status is S.PUBLISHED:
                await self._record_removal(notice.reason)
            elif self._status is S.IN_RETENTION:
                await self._violate(notice.reason)

    @workflow.query
    def view(self) -> OrderView:
        return OrderView(
            terms=self._terms,
            status=self._status,
            next=self._next_steps(),
            placed_at=self._placed_at,
            accepted_at=self._accepted_at,
            scripts=self._scripts,
            videos=self._videos,
            publications=self._publications,
            delivery_accepted_at=self._delivery_accepted_at,
            retention_ends_at=self._retention_ends_at() if self._publications else None,
            video_public=self._video_public,
            violation=self._violation,
            refusal=self._refusal,
        )

    # ------------------------------------------------------------------ transitions

    async def _do_accept(self) -> None:
        self._accepted_at = workflow.now()
        creator = Actor(id=self._terms.creator_id, role=Role.CREATOR)
        to = S.VIDEO_PENDING if self._terms.skip_script else S.SCRIPT_PENDING
        await self._move(
            to,
            Action.ACCEPT,
            creator,
            notify=[
                Notification(
                    recipient=self._terms.client_id,
                    kind="accepted",
                    body="the creator accepted the order",
                )
            ],
        )

    async def _cancel(self, actor: Actor, action: Action, reason: str) -> None:
        await self._move(
            S.CANCELLED,
            action,
            actor,
            reason,
            [Notification(recipient=who, kind="cancelled", body=reason) for who in self._parties()],
        )
        await self._settle("refund_escrow")

    async def _link(self, video_id: str) -> None:
        """Only a video on the creator's own account and linked to no other order (O5, O10)."""
        link = LinkVideoRequest(
            order_id=self._terms.order_id,
            video_id=video_id,
            xigua_account=self._terms.creator_xigua_account,
        )
        await self._user_facing_activity("link_video", link)

    async def _publish(self, video_id: str, review_required: bool = False) -> None:
        request = PublishRequest(order_id=self._terms.order_id, video_id=video_id)
        await self._user_facing_activity("publish_video", request)
        if not self._publications:
            self._next_check = workflow.now() + self._timings.video_check_every
        publication = Publication(
            video_id=video_id, published_at=workflow.now(), review_required=review_required
        )
        self._publications.append(publication)
        self._video_public = True

    async def _accept_delivery(self, actor: Actor, action: Action) -> None:
        self._delivery_accepted_at = workflow.now()
        payee = self._terms.mcn_id or self._terms.creator_id
        await self._move(
            S.IN_RETENTION,
            action,
            actor,
            notify=[
                Notification(
                    recipient=payee,
                    kind="paid",
                    body=f"{self._terms.price_fen} fen released for order {self._terms.order_id}",
                )
            ],
        )
        await self._settle("release_escrow")

    async def _settle(self, activity: str) -> None:
        """Refund or release the escrow. If it was already settled the other way (ops
        refunded a stopped order, then someone reset its workflow to a point before), the
        money stays where it went and the order ends as that settlement says."""
        try:
            await self._activity(activity, self._terms)
        except ActivityError as e:
            cause = e.cause
            if not (isinstance(cause, ApplicationError) and cause.type == ESCROW_ALREADY_SETTLED):
                raise
            refunded = cause.details == ("refund",)
            await self._move(
                S.CANCELLED if refunded else S.COMPLETED,
                Action.ESCROW_ALREADY_SETTLED,
                SYSTEM,
                cause.message,
                [
                    Notification(recipient=who, kind="escrow_already_settled", body=cause.message)
                    for who in (*self._parties(), "ops")
                ],
            )

    async def _record_removal(self, reason: str) -> None:
        """Before acceptance a removal is no violation: the creator may republish (O10)."""
        self._video_public = False
        await self._move(S.PUBLISHED, Action.VIDEO_REMOVED, SYSTEM, reason)

    async def _violate(self, reason: str) -> None:
        if self._status is not S.IN_RETENTION:
            return
        self._violation = reason
        self._video_public = False
        await self._move(
            S.COMPLETED_WITH_VIOLATION,
            Action.RETENTION_VIOLATED,
            SYSTEM,
            reason,
            [
                Notification(recipient=who, kind="retention_violation", body=reason)
                for who in (self._terms.client_id, "ops", self._terms.creator_id)
            ],
        )
        penalty = CreditPenalty(
            order_id=self._terms.order_id, creator_id=self._terms.creator_id, reason=reason
        )
        await self._activity("lower_credit_score", penalty)

    async def _move(
        self,
        to: OrderStatus,
        action: Action,
        actor: Actor,
        reason: str | None = None,
        notify: Sequence[Notification] = (),
    ) -> None:
        """Change status, then record the transition in the projection and the search
        attributes. The status changes before the first await, so a validator running
        meanwhile already sees the new state."""
        from_status, self._status = self._status, to
        self._seq += 1
        transition = Transition(
            order_id=self._terms.order_id,
            seq=self._seq,
            at=workflow.now(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to,
            reason=reason,
        )
        next_steps = self._next_steps()
        self._upsert_search_attributes(from_status, next_steps)
        write = ProjectionWrite(
            transition=transition,
            terms=self._terms,
            placed_at=self._placed_at,
            next=next_steps,
            notifications=list(notify),
        )
        await workflow.execute_local_activity(
            "record_transition",
            write,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    def _upsert_search_attributes(self, from_status: OrderStatus, steps: list[NextStep]) -> None:
        deadline = next((s.deadline for s in steps if s.deadline), None)
        updates: list[SearchAttributeUpdate[Any]] = []
        if from_status is not self._status:
            updates.append(ORDER_STATUS.value_set(self._status.value))
        if deadline != self._deadline_attr:
            updates.append(
                NEXT_DEADLINE.value_set(deadline) if deadline else NEXT_DEADLINE.value_unset()
            )
            self._deadline_attr = deadline
        if updates:
            workflow.upsert_search_attributes(updates)

    # ------------------------------------------------------------------ checks and helpers

    async def _act(
        self, action: Action, req: ActionInput, apply: Callable[[], Awaitable[None]]
    ) -> OrderView:
        async with self._lock:
            key = (req.actor.id, req.request_id)
            if self._requests.get(key) is action:
                return self.view()  # the same request again: answer, apply nothing (A2)
            # Checked again under the lock: an update that held it may have moved the order.
            self._check(action, req)
            self._requests[key] = action
            try:
                await apply()
            except BaseException:
                del self._requests[key]
                raise
        return self.view()

    def _check(self, action: Action, req: ActionInput) -> None:
        actor = req.actor
        if is_stranger(actor, self._terms.client_id, self._terms.creator_id):
            raise ApplicationError(
                f"{actor.role} {actor.id} is not a party to order {self._terms.order_id}",
                type=NOT_A_PARTY,
                non_retryable=True,
            )
        if actor.role not in ACTING_ROLES:
            # Before the status checks below: their answers would tell the order's status.
            raise ApplicationError(
                f"the {actor.role} role takes no action on orders",
                type=FORBIDDEN,
                non_retryable=True,
            )
        seen = self._requests.get((actor.id, req.request_id))
        if seen is action:
            return
        if seen is not None:
            raise ApplicationError(
                f"request id {req.request_id} was already used for {seen}",
                type=REQUEST_ID_REUSED,
                non_retryable=True,
            )
        allowed = self._allowed()
        role = allowed.get(action)
        if role is None:
            state = str(self._status)
            if self._awaiting_review():
                state += ", its republished video awaiting review"
            raise ApplicationError(
                f"cannot {action} order {self._terms.order_id}: it is {state}; "
                f"allowed now: {self._describe(allowed)}",
                type=INVALID_STATE,
                non_retryable=True,
            )
        if actor.role is not role:
            raise ApplicationError(
                f"only the {role} may {action} order {self._terms.order_id}",
                type=FORBIDDEN,
                non_retryable=True,
            )
        if isinstance(req, ReviewInput) and not req.approve and not req.reason:
            raise ApplicationError(
                "a rejection needs a reason", type=INVALID_INPUT, non_retryable=True
            )

    def _allowed(self) -> dict[Action, Role]:
        """ALLOWED for the current status, narrowed by the current publication's review."""
        allowed = ALLOWED.get(self._status, {})
        if self._status is not S.PUBLISHED:
            return allowed
        ruled_out = Action.ACCEPT_DELIVERY if self._awaiting_review() else Action.REVIEW_PUBLICATION
        return {action: role for action, role in allowed.items() if action is not ruled_out}

    def _awaiting_review(self) -> bool:
        return bool(self._publications) and self._publications[-1].awaiting_review

    @staticmethod
    def _describe(allowed: dict[Action, Role]) -> str:
        if not allowed:
            return "nothing by a user"
        by_role: dict[Role, list[str]] = {}
        for action, role in allowed.items():
            by_role.setdefault(role, []).append(action.value)
        return "; ".join(f"{role} may {', '.join(actions)}" for role, actions in by_role.items())

    def _next_steps(self) -> list[NextStep]:
        status = self._status
        if status is S.IN_RETENTION:
            return [
                NextStep(
                    actor=Role.SYSTEM,
                    actions=[],
                    deadline=self._retention_ends_at(),
                    at_deadline="the retention period ends and the order completes",
                )
            ]
        deadlines: dict[Role, tuple[datetime, str]] = {}
        if status is S.AWAITING_ACCEPTANCE:
            deadlines[Role.CREATOR] = (
                self._accept_deadline(),
                "the order is cancelled and the client refunded in full",
            )
        elif status is S.PUBLISHED:
            deadlines[Role.CLIENT] = (
                self._auto_accept_at(),
                "the order is accepted automatically and the creator paid",
            )
        steps: dict[Role, list[Action]] = {}
        for action, role in self._allowed().items():
            steps.setdefault(role, []).append(action)
        # The party facing a deadline comes first: it is the one who must act; else a reviewer,
        # whose review the order waits for (the review queues list orders by it).
        ordered = sorted(
            steps.items(), key=lambda item: (item[0] not in deadlines, item[0] is not Role.REVIEWER)
        )
        return [
            NextStep(
                actor=role,
                actions=actions,
                deadline=deadlines[role][0] if role in deadlines else None,
                at_deadline=deadlines[role][1] if role in deadlines else None,
            )
            for role, actions in ordered
        ]

    def _accept_deadline(self) -> datetime:
        return self._placed_at + self._timings.accept_window

    def _auto_accept_at(self) -> datetime:
        return self._publications[-1].published_at + self._timings.auto_accept_after

    def _retention_ends_at(self) -> datetime:
        days = self._terms.retention_days * self._timings.retention_day
        return self._publications[-1].published_at + days

    def _current_video_id(self) -> str | None:
        return self._publications[-1].video_id if self._publications else None

    def _parties(self) -> tuple[str, str]:
        return (self._terms.client_id, self._terms.creator_id)

    def _to_creator(self, kind: str, reason: str | None) -> Notification:
        return Notification(recipient=self._terms.creator_id, kind=kind, body=reason or "")

    def _brief(self) -> str:
        return f"{self._terms.brief.product}: {self._terms.price_fen} fen"

    @staticmethod
    def _reviewed(item: _Reviewable, by: Actor, approved: bool, reason: str | None) -> _Reviewable:
        review = Review(by=by, at=workflow.now(), approved=approved, reason=reason)
        return item.model_copy(update={"reviews": [*item.reviews, review]})

    async def _activity(self, name: str, arg: object, result_type: type | None = None) -> object:
        return await workflow.execute_activity(
            name,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=PERSISTENT,
            result_type=result_type,
        )

    async def _user_facing_activity(self, name: str, arg: object) -> None:
        """An activity whose refusal (a video not on the creator's account, say) is the
        answer to the user's update, rather than a failure of the workflow."""
        try:
            await self._activity(name, arg)
        except ActivityError as e:
            if isinstance(e.cause, ApplicationError):
                raise ApplicationError(
                    e.cause.message, type=e.cause.type, non_retryable=True
                ) from e
            raise

    @staticmethod
    async def _wait_until(deadline: datetime, done: Callable[[], bool]) -> bool:
        """Wait for done() until the deadline; False if the deadline came first."""
        remaining = deadline - workflow.now()
        if remaining <= timedelta(0):
            return done()
        try:
            await workflow.wait_condition(done, timeout=remaining)
        except TimeoutError:
            return done()
        return True

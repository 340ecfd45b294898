"""OrderWorkflow: one Xigua propagation-task order, from placement to the end of retention.

Registered as the `Order` type; orders started before issue 10 run on `OrderWorkflow`
(workflows/legacy/order_v1.py). Same updates, query and signal under the same names, so
callers need not know which type an order runs.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any, TypeVar

from temporalio import workflow
from temporalio.common import SearchAttributeUpdate
from temporalio.exceptions import ActivityError, ApplicationError

with workflow.unsafe.imports_passed_through():
    from activities.credit import CreditActivities
    from activities.ledger import LedgerActivities
    from activities.projection import ProjectionActivities
    from activities.video import VideoActivities
    from workflows.actions import ACTING_ROLES, ACTIONS, allowed_now, why_not
    from workflows.common import (
        ACTIVITY_TIMEOUT,
        CLIENT_ID,
        CREATOR_ID,
        DISPUTED,
        ESCALATED,
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
    from workflows.deadlines import (
        CANCELLATION,
        DISPUTE,
        EXTENSION,
        GRACE,
        PUBLICATION_REVIEW,
        RULES,
        open_deadline,
    )
    from workflows.messages import (
        OPS_IN_TEMPORAL,
        SYSTEM,
        Action,
        ActionInput,
        Actor,
        CancellationAnswer,
        CancellationProposal,
        CancellationProposalInput,
        CreditPenalty,
        Deadline,
        DeadlineKind,
        Dispute,
        Extension,
        ExtensionAnswer,
        ExtensionInput,
        LinkVideoRequest,
        MoveDeadlineInput,
        Notification,
        OrderInput,
        OrderResult,
        OrderStatus,
        OrderTerms,
        OrderView,
        Outcome,
        ProjectionWrite,
        Publication,
        PublicationReviewInput,
        PublishRequest,
        ReasonInput,
        Resolution,
        ResolveDisputeInput,
        Review,
        ReviewInput,
        Role,
        Script,
        ScriptInput,
        SplitSettlement,
        StatsRequest,
        TakeDownRequest,
        Transition,
        Video,
        VideoInput,
        VideoRemoved,
        VideoSample,
        is_stranger,
    )
    from workflows.state import OrderState
    from workflows.view import describe, next_steps, view_of

S = OrderStatus
K = DeadlineKind
_Reviewable = TypeVar("_Reviewable", Script, Video, Publication)

# Re-exported for callers that name the order's search attributes and error types.
__all__ = [
    "ACTIONS",
    "CLIENT_ID",
    "CREATOR_ID",
    "DISPUTED",
    "ESCALATED",
    "NEXT_DEADLINE",
    "NOT_A_PARTY",
    "ORDER_STATUS",
    "OrderWorkflow",
]

# Who is told of a reminder or an escalation, by the party's role (D3).
_REVIEWERS = "reviewers"


@workflow.defn(name="Order")
class OrderWorkflow:
    """One order's whole lifecycle (SPEC O1-O12, D1-D5, X1-X4, P2); the source of truth for
    its state.

    Updates: placed (waits for the escrow freeze, for the placing caller), and one per user
    action of workflows/actions.py, each validated against the status and the acting user:
      accept, decline, cancel, submit_script, review_script, confirm_script, reject_script,
      submit_video, review_video, confirm_video, reject_video, publish, republish,
      review_publication, accept_delivery, cancel_overdue, request_extension,
      answer_extension, move_deadline, propose_cancellation, answer_cancellation,
      open_dispute, resolve_dispute, ops_cancel. Each returns the order's view after the
      action.
    Signals: video_removed (from the video-platform adapter).
    Queries: view.

    `run` waits on one condition: something changed, or the nearest deadline, reminder or
    video check is due; then applies what is due under the lock.
    """

    @workflow.init
    def __init__(self, input: OrderInput) -> None:
        self._state = OrderState(terms=input.terms, timings=input.timings, placed_at=workflow.now())
        self._lock = asyncio.Lock()

    # ------------------------------------------------------------------ the lifecycle

    @workflow.run
    async def run(self, input: OrderInput) -> OrderResult:
        await self._shielded_from_cancel_requests()
        s = self._state
        return OrderResult(order_id=s.terms.order_id, status=s.status, violation=s.violation)

    async def _lifecycle(self) -> None:
        async with self._lock:
            await self._place()
        while not self._state.status.is_final:
            await self._wait_for_change_or_due()
            await self._apply_due()

    async def _wait_for_change_or_due(self) -> None:
        s = self._state
        changes = s.changes
        wake = s.next_wake()

        def moved() -> bool:
            return s.changes != changes or s.status.is_final

        if wake is None:
            await workflow.wait_condition(moved)
            return
        remaining = wake - workflow.now()
        if remaining <= timedelta(0):
            return
        with contextlib.suppress(TimeoutError):
            await workflow.wait_condition(moved, timeout=remaining)

    async def _apply_due(self) -> None:
        """One thing that is due, if any: the loop comes back for the next at once."""
        s = self._state
        now = workflow.now()
        async with self._lock:
            if s.status.is_final:
                return
            if s.status is S.IN_RETENTION and s.video_public is False:
                await self._violate("the video was not public when the retention period began")
                return
            if (due := s.first_due(now)) is not None:
                await self._apply(due)
                return
            if reminders := s.reminders_due(now):
                deadline, offset = reminders[0]
                await self._remind(deadline, offset)
                return
        watched = s.status in (S.PUBLISHED, S.IN_RETENTION)
        if watched and s.next_check is not None and now >= s.next_check:
            await self._check_video(judge=True)

    async def _apply(self, deadline: Deadline) -> None:
        """The deadline's outcome (D2): a transition by the system, the rule as its reason."""
        s, t = self._state, self._state.timings
        match deadline.outcome:
            case Outcome.AUTO_CANCEL:
                reason = f"rule O2: not accepted within {t.accept_window}"
                await self._cancel(SYSTEM, Action.AUTO_CANCEL, reason)
            case Outcome.OVERDUE:
                await self._overdue(deadline)
            case Outcome.GRACE_CANCEL:
                reason = f"rule D2: overdue, and nobody acted within the grace of {t.overdue_grace}"
                await self._cancel(SYSTEM, Action.OVERDUE_CANCEL, reason)
            case Outcome.ESCALATE:
                await self._escalate(deadline)
            case Outcome.AUTO_CONFIRM_SCRIPT:
                reason = f"rule D2: the client did not answer within {t.client_confirm_within}"
                await self._confirm_script(SYSTEM, Action.AUTO_CONFIRM_SCRIPT, reason)
            case Outcome.AUTO_CONFIRM_VIDEO:
                reason = f"rule D2: the client did not answer within {t.client_confirm_within}"
                await self._confirm_video(SYSTEM, Action.AUTO_CONFIRM_VIDEO, reason)
            case Outcome.AUTO_PUBLISH:
                reason = f"rule D2: the client did not publish within {t.publish_within}"
                await self._publish_confirmed(SYSTEM, Action.AUTO_PUBLISH, reason)
            case Outcome.AUTO_ACCEPT:
                reason = f"rules O7 D2: not accepted within {t.auto_accept_after} of publishing"
                await self._accept_delivery(SYSTEM, Action.AUTO_ACCEPT, reason)
            case Outcome.RETENTION_END:
                await self._check_video(judge=False)  # the final numbers
                await self._move(S.COMPLETED, Action.RETENTION_ENDED, SYSTEM, "rule O9")
            case Outcome.LAPSE_CANCELLATION:
                s.proposal = None
                s.close(K.CANCELLATION)
                reason = f"rule X1: the proposal was not answered within {t.proposal_lapses_after}"
                await self._move(
                    s.status,
                    Action.CANCELLATION_LAPSED,
                    SYSTEM,
                    reason,
                    self._to_parties("cancellation_lapsed", reason),
                )
            case Outcome.ESCALATE_DISPUTE:
                assert s.dispute is not None  # its deadline closes with it
                s.dispute = s.dispute.model_copy(update={"escalated": True})
                # Escalated again every period ops leave it: the order always has a deadline
                # while it waits for them (D1), and NextDeadline says when.
                now = workflow.now()
                s.open(open_deadline(DISPUTE, now + t.dispute_escalates_after, now, t))
                reason = (
                    f"rule X3: the dispute has waited {t.dispute_escalates_after} for ops; "
                    "escalated again"
                )
                await self._move(
                    s.status,
                    Action.ESCALATE,
                    SYSTEM,
                    reason,
                    self._to_parties("dispute_escalated", reason, also_ops=True),
                )
            case Outcome.LAPSE_EXTENSION:
                s.extension = None
                s.close(K.EXTENSION)
                await self._move(
                    s.status,
                    Action.EXTENSION_LAPSED,
                    SYSTEM,
                    "rule D4: the client did not answer the extension request by the deadline",
                    [self._to_creator("extension_lapsed", "your extension request lapsed")],
                )

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
        s = self._state
        reason = "cancellation requested in Temporal"
        if detail := workflow.cancellation_reason():
            reason = f"{reason}: {detail}"
        await workflow.wait_condition(lambda: s.placement_recorded)
        async with self._lock:
            if s.status.is_final:
                return  # ended meanwhile (cancelled by a party, refused): nothing left to do
            if s.status is S.IN_RETENTION:
                await self._move(
                    s.status,
                    Action.CANCEL_REFUSED,
                    OPS_IN_TEMPORAL,
                    f"{reason}; refused: the delivery was accepted and the creator paid",
                    [Notification(recipient="ops", kind="cancel_refused", body=reason)],
                )
            else:
                await self._cancel(OPS_IN_TEMPORAL, Action.OPS_CANCEL, reason)

    async def _place(self) -> None:
        """Freeze price and fee in escrow, or refuse the order and freeze nothing (O1)."""
        s = self._state
        try:
            await self._money(LedgerActivities.freeze)
        except (ActivityError, ApplicationError) as e:
            refusal = _refusal(e)
            if refusal is None or refusal.type != INSUFFICIENT_FUNDS:
                raise
            s.refusal = refusal.message
            await self._move(S.REFUSED, Action.REFUSE, SYSTEM, reason=s.refusal)
            s.placement_recorded = True
            return
        client = Actor(id=s.terms.client_id, role=Role.CLIENT)
        brief = f"{s.terms.brief.product}: {s.terms.price_fen} fen"
        await self._move(
            S.AWAITING_ACCEPTANCE,
            Action.PLACE,
            client,
            notify=[Notification(recipient=s.terms.creator_id, kind="new_order", body=brief)],
        )
        # The placing caller's next read goes to the projection: answer only once it is written.
        s.placement_recorded = True

    async def _check_video(self, judge: bool) -> None:
        s = self._state
        s.samples += 1
        s.next_check = workflow.now() + s.timings.video_check_every
        request = StatsRequest(
            order_id=s.terms.order_id,
            video_id=s.current_video_id or "",
            sample=s.samples,
            at=workflow.now(),
        )
        sample = await self._local(VideoActivities.collect, request)
        assert isinstance(sample, VideoSample)
        if sample.public or not judge:
            return
        async with self._lock:
            if request.video_id != s.current_video_id:
                return  # about a video republished meanwhile (checked under the lock, which
                # a republish holds while it publishes)
            if s.status is S.IN_RETENTION:
                await self._violate("the periodic check found the video no longer public")
            elif s.status is S.PUBLISHED and s.video_public:
                await self._record_removal("the periodic check found the video no longer public")

    # ------------------------------------------------------------------ deadline outcomes

    async def _overdue(self, deadline: Deadline) -> None:
        s = self._state
        what = "script" if deadline.kind is K.SCRIPT else "video"
        s.close(deadline.kind)
        s.overdue = True
        grace_ends = workflow.now() + s.timings.overdue_grace
        s.open(open_deadline(GRACE, grace_ends, workflow.now(), s.timings))
        body = (
            f"the {what} is overdue: the client may cancel with a full refund; unless the "
            f"creator delivers, the order is cancelled at {grace_ends.isoformat()}"
        )
        await self._move(
            s.status,
            Action.OVERDUE,
            SYSTEM,
            f"rule D2: the {what} was due at {deadline.due_at.isoformat()}",
            [Notification(recipient=who, kind="overdue", body=body) for who in self._parties()],
        )

    async def _escalate(self, deadline: Deadline) -> None:
        """A review left past its deadline goes to ops; it is never approved by the system."""
        s = self._state
        s.close(deadline.kind)
        s.review_escalated = True
        reason = f"rule D2: no review within {s.timings.review_within}; escalated to ops"
        await self._move(
            s.status,
            Action.ESCALATE,
            SYSTEM,
            reason,
            [Notification(recipient="ops", kind="escalated", body=reason)],
        )

    async def _remind(self, deadline: Deadline, offset: timedelta) -> None:
        """D3: written once per deadline (again only if it is moved later)."""
        s = self._state
        s.mark_reminded(deadline.kind, offset)
        body = f"{RULES_TEXT.get(deadline.kind, 'a deadline')} at {deadline.due_at.isoformat()}"
        await self._move(
            s.status,
            Action.REMIND,
            SYSTEM,
            f"rule D3: {deadline.party} reminded {offset} before the {deadline.kind} deadline",
            [Notification(recipient=self._recipient(deadline.party), kind="reminder", body=body)],
        )

    # ------------------------------------------------------------------ user actions

    @workflow.update
    async def placed(self) -> OrderView:
        """For the placing caller: waits until the escrow is frozen or the order refused, and
        the outcome is in the projection."""
        await workflow.wait_condition(lambda: self._state.placement_recorded)
        return self.view()

    @workflow.update
    async def accept(self, req: ActionInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            s.accepted_at = workflow.now()
            to = S.VIDEO_PENDING if s.terms.skip_script else S.SCRIPT_PENDING
            accepted = Notification(
                recipient=s.terms.client_id, kind="accepted", body="the creator accepted the order"
            )
            await self._move(to, Action.ACCEPT, req.actor, notify=[accepted])

        return await self._act(Action.ACCEPT, req, apply)

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
    async def cancel_overdue(self, req: ReasonInput) -> OrderView:
        """D2: the delivery is overdue; the client leaves with a full refund."""
        return await self._act(
            Action.CANCEL_OVERDUE,
            req,
            lambda: self._cancel(req.actor, Action.CANCEL_OVERDUE, req.reason),
        )

    @workflow.update
    async def submit_script(self, req: ScriptInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            version = len(s.scripts) + 1
            s.scripts.append(Script(version=version, text=req.text, submitted_at=workflow.now()))
            await self._move(S.SCRIPT_IN_REVIEW, Action.SUBMIT_SCRIPT, req.actor)

        return await self._act(Action.SUBMIT_SCRIPT, req, apply)

    @workflow.update
    async def review_script(self, req: ReviewInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            s.scripts[-1] = self._reviewed(s.scripts[-1], req.actor, req.approve, req.reason)
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
        return await self._act(
            Action.CONFIRM_SCRIPT,
            req,
            lambda: self._confirm_script(req.actor, Action.CONFIRM_SCRIPT),
        )

    @workflow.update
    async def reject_script(self, req: ReasonInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            s.scripts[-1] = self._reviewed(s.scripts[-1], req.actor, False, req.reason)
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
            s = self._state
            await self._link(req.video_id)
            version = len(s.videos) + 1
            s.videos.append(
                Video(version=version, video_id=req.video_id, submitted_at=workflow.now())
            )
            await self._move(S.VIDEO_IN_REVIEW, Action.SUBMIT_VIDEO, req.actor)

        return await self._act(Action.SUBMIT_VIDEO, req, apply)

    @workflow.update
    async def review_video(self, req: ReviewInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            s.videos[-1] = self._reviewed(s.videos[-1], req.actor, req.approve, req.reason)
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
        return await self._act(
            Action.CONFIRM_VIDEO, req, lambda: self._confirm_video(req.actor, Action.CONFIRM_VIDEO)
        )

    @workflow.update
    async def reject_video(self, req: ReasonInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            s.videos[-1] = self._reviewed(s.videos[-1], req.actor, False, req.reason)
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
        return await self._act(
            Action.PUBLISH, req, lambda: self._publish_confirmed(req.actor, Action.PUBLISH)
        )

    @workflow.update
    async def republish(self, req: VideoInput) -> OrderView:
        async def apply() -> None:
            s = self._state
            await self._link(req.video_id)
            await self._publish(req.video_id, review_required=True)
            # The acceptance countdown waits for the post-publication review (O10).
            s.close(K.ACCEPTANCE)
            due = workflow.now() + s.timings.review_within
            s.open(open_deadline(PUBLICATION_REVIEW, due, workflow.now(), s.timings))
            republished = Notification(
                recipient=s.terms.client_id,
                kind="republished",
                body=f"the video was republished as {req.video_id}",
            )
            await self._move(
                S.PUBLISHED,
                Action.REPUBLISH,
                req.actor,
                reason=f"republished as {req.video_id}; acceptance countdown restarted; "
                "it awaits its post-publication review",
                notify=[republished],
            )

        return await self._act(Action.REPUBLISH, req, apply)

    @workflow.update
    async def review_publication(self, req: PublicationReviewInput) -> OrderView:
        """The republished video's post-publication review (O10). A rejection takes the video
        down, which counts as a removal before acceptance: the creator may republish again."""

        async def apply() -> None:
            s = self._state
            publication = self._reviewed(s.publications[-1], req.actor, req.approve, req.reason)
            s.publications[-1] = publication
            s.close(K.PUBLICATION_REVIEW)
            s.review_escalated = False
            acceptance = RULES[S.PUBLISHED]
            due = publication.published_at + s.timings.auto_accept_after
            s.open(open_deadline(acceptance, due, workflow.now(), s.timings))
            if req.approve:
                approved = Notification(
                    recipient=s.terms.client_id,
                    kind="publication_approved",
                    body=f"the republished video {publication.video_id} passed review",
                )
                await self._move(
                    S.PUBLISHED, Action.REVIEW_PUBLICATION, req.actor, notify=[approved]
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
                order_id=s.terms.order_id, video_id=publication.video_id, reason=reason
            )
            await self._local(VideoActivities.take_down, take_down)
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

    @workflow.update
    async def request_extension(self, req: ExtensionInput) -> OrderView:
        """D4: the creator asks for more time; the request lapses at the deadline it moves."""

        async def apply() -> None:
            s = self._state
            current = self._creator_deadline()
            s.extension = Extension(
                kind=current.kind, due_at=req.due_at, reason=req.reason, asked_at=workflow.now()
            )
            s.open(open_deadline(EXTENSION, current.due_at, workflow.now(), s.timings))
            body = f"the creator asks for time until {req.due_at.isoformat()}: {req.reason}"
            await self._move(
                s.status,
                Action.REQUEST_EXTENSION,
                req.actor,
                f"until {req.due_at.isoformat()}: {req.reason}",
                [Notification(recipient=s.terms.client_id, kind="extension_requested", body=body)],
            )

        return await self._act(Action.REQUEST_EXTENSION, req, apply)

    @workflow.update
    async def answer_extension(self, req: ExtensionAnswer) -> OrderView:
        async def apply() -> None:
            s = self._state
            asked = s.extension
            assert asked is not None  # checked: answer_extension is allowed only then
            s.extension = None
            s.close(K.EXTENSION)
            if req.grant:
                s.move(asked.kind, asked.due_at)
                reason = f"granted: the {asked.kind} is now due at {asked.due_at.isoformat()}"
            else:
                reason = "refused"
            if req.reason:
                reason += f": {req.reason}"
            await self._move(
                s.status,
                Action.ANSWER_EXTENSION,
                req.actor,
                reason,
                [self._to_creator("extension_answered", reason)],
            )

        return await self._act(Action.ANSWER_EXTENSION, req, apply)

    @workflow.update
    async def move_deadline(self, req: MoveDeadlineInput) -> OrderView:
        """D4, P2: ops move the order's current deadline; its timer follows at once."""

        async def apply() -> None:
            s = self._state
            current = self._main_deadline()
            s.move(current.kind, req.due_at)
            if s.extension is not None and s.extension.kind is current.kind:
                s.move(K.EXTENSION, req.due_at)  # the request still lapses with its deadline
            reason = (
                f"{req.reason}; the {current.kind} deadline moved from "
                f"{current.due_at.isoformat()} to {req.due_at.isoformat()}"
            )
            moved = Notification(
                recipient=self._recipient(current.party), kind="deadline_moved", body=reason
            )
            await self._move(s.status, Action.MOVE_DEADLINE, req.actor, reason, [moved])

        return await self._act(Action.MOVE_DEADLINE, req, apply)

    @workflow.update
    async def propose_cancellation(self, req: CancellationProposalInput) -> OrderView:
        """X1: either party proposes to cancel with a split; the other answers within the
        lapse time. The party's own deadline runs on meanwhile."""

        async def apply() -> None:
            s, now = self._state, workflow.now()
            s.proposal = CancellationProposal(
                by=req.actor, refund_fen=req.refund_fen, reason=req.reason, proposed_at=now
            )
            other = Role.CREATOR if req.actor.role is Role.CLIENT else Role.CLIENT
            due = now + s.timings.proposal_lapses_after
            s.open(open_deadline(CANCELLATION, due, now, s.timings, party=other))
            split = f"{req.refund_fen} of the {s.terms.price_fen} fen price back to the client"
            body = (
                f"the {req.actor.role} proposes to cancel the order, {split}: {req.reason}; "
                f"agree or refuse by {due.isoformat()}"
            )
            await self._move(
                s.status,
                Action.PROPOSE_CANCELLATION,
                req.actor,
                f"{split}: {req.reason}",
                [
                    Notification(
                        recipient=self._recipient(other), kind="cancellation_proposed", body=body
                    )
                ],
            )

        return await self._act(Action.PROPOSE_CANCELLATION, req, apply)

    @workflow.update
    async def answer_cancellation(self, req: CancellationAnswer) -> OrderView:
        """X1: the other party agrees (the order ends cancelled, the escrow split, X4) or
        refuses (the order runs on)."""

        async def apply() -> None:
            s = self._state
            proposal = s.proposal
            assert proposal is not None  # checked: answer_cancellation is allowed only then
            s.proposal = None
            s.close(K.CANCELLATION)
            said = f": {req.reason}" if req.reason else ""
            if req.agree:
                reason = (
                    f"agreed to cancel, {proposal.refund_fen} of the "
                    f"{s.terms.price_fen} fen price back to the client (rules X1 X4){said}"
                )
                await self._cancel_split(
                    req.actor, Action.ANSWER_CANCELLATION, reason, proposal.refund_fen
                )
                return
            reason = f"refused the cancellation proposal{said}"
            refused = Notification(
                recipient=self._recipient(proposal.by.role),
                kind="cancellation_refused",
                body=reason,
            )
            await self._move(s.status, Action.ANSWER_CANCELLATION, req.actor, reason, [refused])

        return await self._act(Action.ANSWER_CANCELLATION, req, apply)

    @workflow.update
    async def open_dispute(self, req: ReasonInput) -> OrderView:
        """X3, D5: every deadline of the order pauses; ops resolve. An open cancellation
        proposal or extension request is withdrawn: the dispute is ops' to decide now."""

        async def apply() -> None:
            s, now = self._state, workflow.now()
            reason = req.reason
            if s.proposal is not None:
                s.proposal = None
                s.close(K.CANCELLATION)
                reason += "; the open cancellation proposal is withdrawn"
            if s.extension is not None:
                # It asked for a date, which the pause would make wrong: the creator may ask
                # again once the dispute is resolved.
                s.extension = None
                s.close(K.EXTENSION)
                reason += "; the open extension request is withdrawn"
            s.pause_deadlines(now)
            s.dispute = Dispute(by=req.actor, reason=req.reason, opened_at=now)
            due = now + s.timings.dispute_escalates_after
            s.open(open_deadline(DISPUTE, due, now, s.timings))
            body = (
                f"the {req.actor.role} opened a dispute: {req.reason}; the order's deadlines "
                "are paused until ops resolve it"
            )
            await self._move(
                s.status,
                Action.OPEN_DISPUTE,
                req.actor,
                reason,
                self._to_parties("dispute_opened", body, also_ops=True),
            )

        return await self._act(Action.OPEN_DISPUTE, req, apply)

    @workflow.update
    async def resolve_dispute(self, req: ResolveDisputeInput) -> OrderView:
        """X3, D5: ops let the order continue (the deadlines with the time they had left, or
        a new date), cancel it with a split (X4), or accept the delivery (paid in full)."""

        async def apply() -> None:
            s, now = self._state, workflow.now()
            match req.resolution:
                case Resolution.CONTINUE:
                    s.dispute = None
                    s.close(K.DISPUTE)
                    s.resume_deadlines(now)
                    reason = f"continue: {req.reason}"
                    current = s.main_deadline()
                    if req.due_at is not None and current is not None:
                        s.move(current.kind, req.due_at)
                        reason += f"; the {current.kind} deadline is now {req.due_at.isoformat()}"
                    else:
                        reason += "; the deadlines run on with the time they had left"
                    await self._move(
                        s.status,
                        Action.RESOLVE_DISPUTE,
                        req.actor,
                        reason,
                        self._to_parties("dispute_resolved", reason),
                    )
                case Resolution.CANCEL:
                    assert req.refund_fen is not None  # checked
                    reason = (
                        f"cancelled, {req.refund_fen} of the {s.terms.price_fen} fen price back "
                        f"to the client (rules X3 X4): {req.reason}"
                    )
                    await self._cancel_split(
                        req.actor, Action.RESOLVE_DISPUTE, reason, req.refund_fen
                    )
                case Resolution.ACCEPT_DELIVERY:
                    reason = f"delivery accepted, the creator paid in full (rule X3): {req.reason}"
                    await self._accept_delivery(
                        req.actor,
                        Action.RESOLVE_DISPUTE,
                        reason,
                        self._to_parties("dispute_resolved", reason),
                    )

        return await self._act(Action.RESOLVE_DISPUTE, req, apply)

    @workflow.update
    async def ops_cancel(self, req: ReasonInput) -> OrderView:
        """P2: ops cancel an order before its delivery is accepted, with a full refund."""
        return await self._act(
            Action.OPS_CANCEL, req, lambda: self._cancel(req.actor, Action.OPS_CANCEL, req.reason)
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

    @cancel_overdue.validator
    def validate_cancel_overdue(self, req: ReasonInput) -> None:
        self._check(Action.CANCEL_OVERDUE, req)

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
        self._check(Action.REVIEW_PUBLICATION, req)

    @accept_delivery.validator
    def validate_accept_delivery(self, req: ActionInput) -> None:
        self._check(Action.ACCEPT_DELIVERY, req)

    @request_extension.validator
    def validate_request_extension(self, req: ExtensionInput) -> None:
        self._check(Action.REQUEST_EXTENSION, req)

    @answer_extension.validator
    def validate_answer_extension(self, req: ExtensionAnswer) -> None:
        self._check(Action.ANSWER_EXTENSION, req)

    @move_deadline.validator
    def validate_move_deadline(self, req: MoveDeadlineInput) -> None:
        self._check(Action.MOVE_DEADLINE, req)

    @propose_cancellation.validator
    def validate_propose_cancellation(self, req: CancellationProposalInput) -> None:
        self._check(Action.PROPOSE_CANCELLATION, req)

    @answer_cancellation.validator
    def validate_answer_cancellation(self, req: CancellationAnswer) -> None:
        self._check(Action.ANSWER_CANCELLATION, req)

    @open_dispute.validator
    def validate_open_dispute(self, req: ReasonInput) -> None:
        self._check(Action.OPEN_DISPUTE, req)

    @resolve_dispute.validator
    def validate_resolve_dispute(self, req: ResolveDisputeInput) -> None:
        self._check(Action.RESOLVE_DISPUTE, req)

    @ops_cancel.validator
    def validate_ops_cancel(self, req: ReasonInput) -> None:
        self._check(Action.OPS_CANCEL, req)

    # ------------------------------------------------------------------ platform events, reads

    @workflow.signal
    async def video_removed(self, notice: VideoRemoved) -> None:
        s = self._state
        async with self._lock:
            if notice.video_id != s.current_video_id:
                return  # an earlier publication, deleted on purpose before a republish (O10)
            if s.status is S.PUBLISHED:
                await self._record_removal(notice.reason)
            elif s.status is S.IN_RETENTION:
                await self._violate(notice.reason)

    @workflow.query
    def view(self) -> OrderView:
        return view_of(self._state)

    # ------------------------------------------------------------------ transitions

    async def _cancel(self, actor: Actor, action: Action, reason: str) -> None:
        await self._move(
            S.CANCELLED,
            action,
            actor,
            reason,
            [Notification(recipient=who, kind="cancelled", body=reason) for who in self._parties()],
        )
        await self._settle(LedgerActivities.refund)

    async def _cancel_split(
        self, actor: Actor, action: Action, reason: str, refund_fen: int
    ) -> None:
        """Cancelled with the escrow divided (X1, X3): one keyed split transfer (X4)."""
        s = self._state
        s.split_refund_fen = refund_fen  # what ops settle if the workflow stops before the split
        notes = self._to_parties("cancelled", reason)
        paid = s.terms.price_fen - refund_fen
        if s.terms.mcn_id is not None and paid > 0:  # the creator's MCN is paid its share (O8)
            body = f"{paid} fen paid for order {s.terms.order_id}, cancelled with a split"
            notes.append(Notification(recipient=s.terms.mcn_id, kind="paid", body=body))
        await self._move(S.CANCELLED, action, actor, reason, notes)
        await self._settle(
            LedgerActivities.split, SplitSettlement(terms=s.terms, refund_fen=refund_fen)
        )

    async def _confirm_script(
        self, actor: Actor, action: Action, reason: str | None = None
    ) -> None:
        s = self._state
        s.scripts[-1] = self._reviewed(s.scripts[-1], actor, True, reason)
        await self._move(S.VIDEO_PENDING, action, actor, reason)

    async def _confirm_video(self, actor: Actor, action: Action, reason: str | None = None) -> None:
        s = self._state
        s.videos[-1] = self._reviewed(s.videos[-1], actor, True, reason)
        await self._move(S.AWAITING_PUBLISH, action, actor, reason)

    async def _publish_confirmed(
        self, actor: Actor, action: Action, reason: str | None = None
    ) -> None:
        await self._publish(self._state.videos[-1].video_id)
        await self._move(S.PUBLISHED, action, actor, reason)

    async def _link(self, video_id: str) -> None:
        """Only a video on the creator's own account and linked to no other order (O5, O10)."""
        terms = self._state.terms
        link = LinkVideoRequest(
            order_id=terms.order_id, video_id=video_id, xigua_account=terms.creator_xigua_account
        )
        await self._user_facing(VideoActivities.link, link)

    async def _publish(self, video_id: str, review_required: bool = False) -> None:
        s = self._state
        request = PublishRequest(order_id=s.terms.order_id, video_id=video_id)
        await self._user_facing(VideoActivities.publish, request)
        if not s.publications:
            s.next_check = workflow.now() + s.timings.video_check_every
        publication = Publication(
            video_id=video_id, published_at=workflow.now(), review_required=review_required
        )
        s.publications.append(publication)
        s.video_public = True

    async def _accept_delivery(
        self,
        actor: Actor,
        action: Action,
        reason: str | None = None,
        notify: Sequence[Notification] = (),
    ) -> None:
        s = self._state
        s.delivery_accepted_at = workflow.now()
        payee = s.terms.mcn_id or s.terms.creator_id
        paid = Notification(
            recipient=payee,
            kind="paid",
            body=f"{s.terms.price_fen} fen released for order {s.terms.order_id}",
        )
        # One notification per recipient and transition: the payee told of the payment unless
        # told of the transition already.
        notes = [*notify, paid] if payee not in {n.recipient for n in notify} else [*notify]
        if (proposal := s.proposal) is not None:
            # Accepting the delivery ends the way out; its proposer hears why (A4, N1).
            dropped = "the open cancellation proposal lapses: the delivery is accepted"
            reason = f"{reason}; {dropped}" if reason else dropped
            told = next((n for n in notes if n.recipient == proposal.by.id), None)
            if told is None:
                lapsed = Notification(
                    recipient=proposal.by.id, kind="cancellation_lapsed", body=dropped
                )
                notes.append(lapsed)
            else:  # one notification per recipient and transition: it says both
                told_both = told.model_copy(update={"body": f"{told.body}; {dropped}"})
                notes[notes.index(told)] = told_both
        await self._move(S.IN_RETENTION, action, actor, reason, notes)
        await self._settle(LedgerActivities.release)

    async def _settle(
        self,
        transfer: Callable[[LedgerActivities, Any], None],
        settlement: SplitSettlement | None = None,
    ) -> None:
        """Refund, release or divide the escrow. If it was already settled otherwise (ops
        refunded a stopped order, then someone reset its workflow to a point before), the
        money stays where it went and the order ends as that settlement says."""
        try:
            if settlement is None:
                await self._money(transfer)
            else:
                await self._local(transfer, settlement)
        except (ActivityError, ApplicationError) as e:
            cause = _refusal(e)
            if cause is None or cause.type != ESCROW_ALREADY_SETTLED:
                raise
            refunded = cause.details in (("refund",), ("split",))
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
        self._state.video_public = False
        await self._move(S.PUBLISHED, Action.VIDEO_REMOVED, SYSTEM, reason)

    async def _violate(self, reason: str) -> None:
        s = self._state
        if s.status is not S.IN_RETENTION:
            return
        s.violation = reason
        s.video_public = False
        await self._move(
            S.COMPLETED_WITH_VIOLATION,
            Action.RETENTION_VIOLATED,
            SYSTEM,
            reason,
            [
                Notification(recipient=who, kind="retention_violation", body=reason)
                for who in (s.terms.client_id, "ops", s.terms.creator_id)
            ],
        )
        penalty = CreditPenalty(
            order_id=s.terms.order_id, creator_id=s.terms.creator_id, reason=reason
        )
        await self._local(CreditActivities.lower, penalty)

    async def _move(
        self,
        to: OrderStatus,
        action: Action,
        actor: Actor,
        reason: str | None = None,
        notify: Sequence[Notification] = (),
    ) -> None:
        """Change status (and the deadlines with it), then record the transition in the
        projection and the search attributes. The state changes before the first await, so
        a validator running meanwhile already sees it."""
        s = self._state
        from_status = s.status
        s.enter(to, workflow.now())
        s.seq += 1
        transition = Transition(
            order_id=s.terms.order_id,
            seq=s.seq,
            at=workflow.now(),
            actor=actor,
            action=action,
            from_status=from_status,
            to_status=to,
            reason=reason,
        )
        self._upsert_search_attributes(from_status)
        write = ProjectionWrite(
            transition=transition,
            terms=s.terms,
            placed_at=s.placed_at,
            next=next_steps(s),
            notifications=list(notify),
            escalated=s.escalated,
            disputed=s.disputed,
            overdue=s.overdue,
            split_refund_fen=s.split_refund_fen,
        )
        await self._local(ProjectionActivities.record, write)

    def _upsert_search_attributes(self, from_status: OrderStatus) -> None:
        s = self._state
        nearest = s.nearest_deadline()
        deadline = nearest.due_at if nearest else None
        updates: list[SearchAttributeUpdate[Any]] = []
        if from_status is not s.status:
            updates.append(ORDER_STATUS.value_set(s.status.value))
        if deadline != s.deadline_attr:
            updates.append(
                NEXT_DEADLINE.value_set(deadline) if deadline else NEXT_DEADLINE.value_unset()
            )
            s.deadline_attr = deadline
        if s.escalated != s.escalated_attr:
            updates.append(ESCALATED.value_set(s.escalated))
            s.escalated_attr = s.escalated
        if s.disputed != s.disputed_attr:
            updates.append(DISPUTED.value_set(s.disputed))
            s.disputed_attr = s.disputed
        if updates:
            workflow.upsert_search_attributes(updates)

    # ------------------------------------------------------------------ checks and helpers

    async def _act(
        self, action: Action, req: ActionInput, apply: Callable[[], Awaitable[None]]
    ) -> OrderView:
        s = self._state
        async with self._lock:
            key = f"{req.actor.id} {req.request_id}"
            if s.requests.get(key) is action:
                return self.view()  # the same request again: answer, apply nothing (A2)
            # Checked again under the lock: an update that held it may have moved the order.
            self._check(action, req)
            s.requests[key] = action
            try:
                await apply()
            except BaseException:
                del s.requests[key]
                raise
        return self.view()

    def _check(self, action: Action, req: ActionInput) -> None:
        s, actor = self._state, req.actor
        order_id = s.terms.order_id
        if is_stranger(actor, s.terms.client_id, s.terms.creator_id):
            raise _refused(
                f"{actor.role} {actor.id} is not a party to order {order_id}", NOT_A_PARTY
            )
        if actor.role not in ACTING_ROLES:
            # Before the status checks below: their answers would tell the order's status.
            raise _refused(f"the {actor.role} role takes no action on orders", FORBIDDEN)
        seen = s.requests.get(f"{actor.id} {req.request_id}")
        if seen is action:
            return
        if seen is not None:
            raise _refused(
                f"request id {req.request_id} was already used for {seen}", REQUEST_ID_REUSED
            )
        allowed = allowed_now(s)
        roles = allowed.get(action)
        if roles is None:
            state = str(s.status)
            if s.awaiting_review:
                state += ", its republished video awaiting review"
            if s.overdue:
                state += ", overdue"
            if s.disputed:
                state += ", in dispute"
            why = why_not(s, action)
            raise _refused(
                f"cannot {action} order {order_id}: it is {state}; "
                f"{why + '; ' if why else ''}allowed now: {describe(allowed)}",
                INVALID_STATE,
            )
        if actor.role not in roles:
            who = " or the ".join(roles)
            raise _refused(f"only the {who} may {action} order {order_id}", FORBIDDEN)
        if not isinstance(req, ACTIONS[action].input):
            raise _refused(f"{action} takes a {ACTIONS[action].input.__name__}", INVALID_INPUT)
        self._check_input(req)

    def _check_input(self, req: ActionInput) -> None:
        s, now = self._state, workflow.now()
        if isinstance(req, ReviewInput) and not req.approve and not req.reason:
            raise _refused("a rejection needs a reason", INVALID_INPUT)
        under_review = s.current_video_id
        if isinstance(req, PublicationReviewInput) and req.video_id not in (None, under_review):
            raise _refused(
                f"video {req.video_id} is no longer the one under review: the creator "
                f"republished as {under_review}; review that one",
                INVALID_STATE,
            )
        if isinstance(req, ExtensionInput):
            current = self._creator_deadline()
            if req.due_at <= current.due_at:
                raise _refused(
                    f"an extension must be later than the deadline, {current.due_at.isoformat()}",
                    INVALID_INPUT,
                )
        if isinstance(req, CancellationProposalInput) and req.refund_fen > s.terms.price_fen:
            raise _refused(
                f"refund_fen is at most the price, {s.terms.price_fen} fen (rule X1)",
                INVALID_INPUT,
            )
        if isinstance(req, ResolveDisputeInput):
            self._check_resolution(req)
        # An answer that reaches the workflow in the task its lapse timer fires in is handled
        # first (updates come before timers): the time decides, not the order of arrival.
        answered = _LAPSES_WITH.get(type(req))
        lapse = s.deadline(answered) if answered is not None else None
        if lapse is not None and lapse.due_at <= now:
            raise _refused(
                f"the {answered} request lapsed at {lapse.due_at.isoformat()} (rules X1 D4)",
                INVALID_STATE,
            )
        due_at = (
            req.due_at
            if isinstance(req, ExtensionInput | MoveDeadlineInput | ResolveDisputeInput)
            else None
        )
        if due_at is not None:
            if due_at <= now:
                raise _refused("a deadline must be in the future", INVALID_INPUT)
            if due_at - now > s.timings.max_due_ahead:
                raise _refused(
                    f"a deadline may be at most {s.timings.max_due_ahead} ahead", INVALID_INPUT
                )

    def _check_resolution(self, req: ResolveDisputeInput) -> None:
        """Each resolution takes its own fields only (X3)."""
        s = self._state
        refund, due = req.refund_fen is not None, req.due_at is not None
        match req.resolution:
            case Resolution.CANCEL:
                if not refund or due:
                    raise _refused("cancel takes refund_fen and no due_at", INVALID_INPUT)
                assert req.refund_fen is not None
                if req.refund_fen > s.terms.price_fen:
                    raise _refused(
                        f"refund_fen is at most the price, {s.terms.price_fen} fen", INVALID_INPUT
                    )
            case Resolution.CONTINUE:
                if refund:
                    raise _refused("continue takes no refund_fen", INVALID_INPUT)
                if due and s.main_deadline() is None:
                    raise _refused("no deadline of the order to set a date for", INVALID_STATE)
            case Resolution.ACCEPT_DELIVERY:
                if refund or due:
                    raise _refused(
                        "accept_delivery takes neither refund_fen nor due_at", INVALID_INPUT
                    )
                if s.status is not S.PUBLISHED:
                    raise _refused(
                        f"the delivery can be accepted only once the video is published; the "
                        f"order is {s.status}: continue, or cancel with a split",
                        INVALID_STATE,
                    )
                if s.awaiting_review or s.video_public is False:
                    why = "awaits its post-publication review" if s.awaiting_review else "is down"
                    raise _refused(
                        f"the published video {why} (rule O10): continue, or cancel with a split",
                        INVALID_STATE,
                    )

    def _creator_deadline(self) -> Deadline:
        """The delivery deadline an extension would move (allowed only while one runs)."""
        s = self._state
        current = s.deadline(K.SCRIPT) or s.deadline(K.VIDEO)
        if current is None:
            raise _refused("no delivery deadline runs to extend", INVALID_STATE)
        return current

    def _main_deadline(self) -> Deadline:
        """The deadline ops move: the status's own (or its grace), not an answer awaited."""
        current = self._state.main_deadline()
        if current is None:
            raise _refused("no deadline runs on this order", INVALID_STATE)
        return current

    def _parties(self) -> tuple[str, str]:
        return (self._state.terms.client_id, self._state.terms.creator_id)

    def _recipient(self, party: Role) -> str:
        terms = self._state.terms
        return {Role.CLIENT: terms.client_id, Role.CREATOR: terms.creator_id}.get(
            party, _REVIEWERS if party is Role.REVIEWER else "ops"
        )

    def _to_creator(self, kind: str, reason: str | None) -> Notification:
        return Notification(recipient=self._state.terms.creator_id, kind=kind, body=reason or "")

    def _to_parties(self, kind: str, body: str, also_ops: bool = False) -> list[Notification]:
        recipients = (*self._parties(), "ops") if also_ops else self._parties()
        return [Notification(recipient=who, kind=kind, body=body) for who in recipients]

    @staticmethod
    def _reviewed(item: _Reviewable, by: Actor, approved: bool, reason: str | None) -> _Reviewable:
        review = Review(by=by, at=workflow.now(), approved=approved, reason=reason)
        return item.model_copy(update={"reviews": [*item.reviews, review]})

    async def _money(self, transfer: Callable[[LedgerActivities, OrderTerms], None]) -> None:
        """A keyed escrow transfer, as a local activity: short and idempotent, so it needs
        no activity task of its own (fewer events and workflow tasks per order)."""
        await self._local(transfer, self._state.terms)

    async def _local(self, activity: Callable[..., Any], arg: object) -> Any:
        return await workflow.execute_local_activity_method(
            activity,
            arg,
            start_to_close_timeout=ACTIVITY_TIMEOUT,
            retry_policy=PERSISTENT,
        )

    async def _user_facing(self, activity: Callable[..., Any], arg: object) -> None:
        """An activity whose refusal (a video not on the creator's account, say) is the
        answer to the user's update, rather than a failure of the workflow."""
        try:
            await self._local(activity, arg)
        except (ActivityError, ApplicationError) as e:
            if (refusal := _refusal(e)) is not None:
                raise _refused(refusal.message, refusal.type or INVALID_INPUT) from e
            raise


RULES_TEXT: dict[DeadlineKind, str] = {
    K.ACCEPT: "accept or decline the order",
    K.SCRIPT: "deliver the script",
    K.SCRIPT_REVIEW: "review the script",
    K.SCRIPT_CONFIRM: "confirm or reject the script",
    K.VIDEO: "deliver the video",
    K.VIDEO_REVIEW: "review the video",
    K.VIDEO_CONFIRM: "confirm or reject the video",
    K.PUBLISH: "publish the video",
    K.PUBLICATION_REVIEW: "review the republished video",
    K.ACCEPTANCE: "accept the delivery",
    K.GRACE: "deliver, or the order is cancelled,",
    K.EXTENSION: "answer the extension request",
    K.CANCELLATION: "agree to or refuse the cancellation proposal",
}


# The answers whose request lapses at a deadline of this kind (X1, D4).
_LAPSES_WITH: dict[type[ActionInput], DeadlineKind] = {
    CancellationAnswer: K.CANCELLATION,
    ExtensionAnswer: K.EXTENSION,
}


def _refused(message: str, kind: str) -> ApplicationError:
    return ApplicationError(message, type=kind, non_retryable=True)


def _refusal(error: BaseException) -> ApplicationError | None:
    """The activity's own ApplicationError. A local activity's failure reaches the workflow
    as that error itself, a remote one's wrapped in ActivityError."""
    cause = error.cause if isinstance(error, ActivityError) else error
    return cause if isinstance(cause, ApplicationError) else None

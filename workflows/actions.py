"""Every user action, defined once: its input, the one role that may take it, the statuses in
which, and the deadlines it may open (who it puts on the clock). The workflow's checks, the
API's role checks (api/access.py), the authorization tests and docs/ARCHITECTURE.md read it.

"May act" is this table; "must act next" is the open deadline's party (workflows/state.py).
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.messages import (
    FINAL_STATUSES,
    Action,
    ActionInput,
    DeadlineKind,
    ExtensionAnswer,
    ExtensionInput,
    MoveDeadlineInput,
    OrderStatus,
    PublicationReviewInput,
    ReasonInput,
    ReviewInput,
    Role,
    ScriptInput,
    VideoInput,
)
from workflows.state import OrderState

S = OrderStatus
K = DeadlineKind


@dataclass(frozen=True)
class ActionSpec:
    input: type[ActionInput]
    role: Role
    statuses: frozenset[OrderStatus]
    # Where the API takes it (`POST /orders/{id}/<path>`) and what its OpenAPI page says: the
    # routes are generated from this table (api/routes/actions.py).
    path: str
    summary: str
    # The deadlines the action may open: whom it puts on the clock next (D2).
    opens: frozenset[DeadlineKind] = frozenset()


def _spec(
    input: type[ActionInput],
    role: Role,
    *statuses: OrderStatus,
    path: str,
    summary: str,
    opens: tuple[K, ...] = (),
) -> ActionSpec:
    return ActionSpec(input, role, frozenset(statuses), path, summary, frozenset(opens))


# Statuses in which some deadline runs: where ops may move it (D4, P2).
WAITING = frozenset(set(S) - FINAL_STATUSES - {S.PLACING})
CREATOR_DELIVERS = (S.SCRIPT_PENDING, S.VIDEO_PENDING)

ACTIONS: dict[Action, ActionSpec] = {
    Action.ACCEPT: _spec(
        ActionInput,
        Role.CREATOR,
        S.AWAITING_ACCEPTANCE,
        path="accept",
        summary="Creator: accept the order, within 24 hours of its placing.",
        opens=(K.SCRIPT, K.VIDEO),
    ),
    Action.DECLINE: _spec(
        ReasonInput,
        Role.CREATOR,
        S.AWAITING_ACCEPTANCE,
        path="decline",
        summary="Creator: decline the order before accepting it; the client is refunded in full.",
    ),
    Action.CANCEL: _spec(
        ReasonInput,
        Role.CLIENT,
        S.AWAITING_ACCEPTANCE,
        path="cancel",
        summary="Client: cancel the order before the creator accepts; refunded in full.",
    ),
    Action.SUBMIT_SCRIPT: _spec(
        ScriptInput,
        Role.CREATOR,
        S.SCRIPT_PENDING,
        path="script",
        summary="Creator: upload the script (again, after a rejection); it goes to platform "
        "review.",
        opens=(K.SCRIPT_REVIEW,),
    ),
    Action.REVIEW_SCRIPT: _spec(
        ReviewInput,
        Role.REVIEWER,
        S.SCRIPT_IN_REVIEW,
        path="script/review",
        summary="Reviewer: approve the script, or reject it with a reason.",
        opens=(K.SCRIPT_CONFIRM, K.SCRIPT),
    ),
    Action.CONFIRM_SCRIPT: _spec(
        ActionInput,
        Role.CLIENT,
        S.SCRIPT_AWAITING_CLIENT,
        path="script/confirm",
        summary="Client: confirm the approved script; this unlocks the video phase.",
        opens=(K.VIDEO,),
    ),
    Action.REJECT_SCRIPT: _spec(
        ReasonInput,
        Role.CLIENT,
        S.SCRIPT_AWAITING_CLIENT,
        path="script/reject",
        summary="Client: reject the approved script with a reason; the creator revises it.",
        opens=(K.SCRIPT,),
    ),
    Action.SUBMIT_VIDEO: _spec(
        VideoInput,
        Role.CREATOR,
        S.VIDEO_PENDING,
        path="video",
        summary="Creator: link the video uploaded on Xigua to the order; it goes to platform "
        "review.",
        opens=(K.VIDEO_REVIEW,),
    ),
    Action.REVIEW_VIDEO: _spec(
        ReviewInput,
        Role.REVIEWER,
        S.VIDEO_IN_REVIEW,
        path="video/review",
        summary="Reviewer: approve the video, or reject it with a reason.",
        opens=(K.VIDEO_CONFIRM, K.VIDEO),
    ),
    Action.CONFIRM_VIDEO: _spec(
        ActionInput,
        Role.CLIENT,
        S.VIDEO_AWAITING_CLIENT,
        path="video/confirm",
        summary="Client: confirm the approved video; it can then be published.",
        opens=(K.PUBLISH,),
    ),
    Action.REJECT_VIDEO: _spec(
        ReasonInput,
        Role.CLIENT,
        S.VIDEO_AWAITING_CLIENT,
        path="video/reject",
        summary="Client: reject the approved video with a reason; the creator revises it.",
        opens=(K.VIDEO,),
    ),
    Action.PUBLISH: _spec(
        ActionInput,
        Role.CLIENT,
        S.AWAITING_PUBLISH,
        path="publish",
        summary="Client: publish the confirmed video on the creator's Xigua account.",
        opens=(K.ACCEPTANCE,),
    ),
    Action.REPUBLISH: _spec(
        VideoInput,
        Role.CREATOR,
        S.PUBLISHED,
        path="republish",
        summary="Creator: publish a video of its own Xigua account again before acceptance, "
        "linked to no other order; the 7-day countdown restarts, and the video awaits its "
        "post-publication review.",
        opens=(K.PUBLICATION_REVIEW, K.ACCEPTANCE),
    ),
    Action.REVIEW_PUBLICATION: _spec(
        PublicationReviewInput,
        Role.REVIEWER,
        S.PUBLISHED,
        path="publication/review",
        summary="Reviewer: approve the republished video, or reject it with a reason (it is "
        "taken down).",
        opens=(K.ACCEPTANCE,),
    ),
    Action.ACCEPT_DELIVERY: _spec(
        ActionInput,
        Role.CLIENT,
        S.PUBLISHED,
        path="accept-delivery",
        summary="Client: accept the published video; the escrow is released to the creator at "
        "once.",
        opens=(K.RETENTION,),
    ),
    # D2: a late delivery lets the client out with a full refund.
    Action.CANCEL_OVERDUE: _spec(
        ReasonInput,
        Role.CLIENT,
        *CREATOR_DELIVERS,
        path="cancel-overdue",
        summary="Client: cancel an order whose delivery is overdue (rule D2); refunded in full.",
    ),
    # D4: the creator asks for more time; the client answers before the deadline it moves.
    Action.REQUEST_EXTENSION: _spec(
        ExtensionInput,
        Role.CREATOR,
        *CREATOR_DELIVERS,
        path="extension",
        summary="Creator: ask the client for more time on the delivery deadline (rule D4).",
        opens=(K.EXTENSION,),
    ),
    Action.ANSWER_EXTENSION: _spec(
        ExtensionAnswer,
        Role.CLIENT,
        *CREATOR_DELIVERS,
        path="extension/answer",
        summary="Client: grant or refuse the creator's extension request (rule D4).",
    ),
    Action.MOVE_DEADLINE: _spec(
        MoveDeadlineInput,
        Role.OPS,
        *WAITING,
        path="deadline",
        summary="Ops: move the order's current deadline, with a reason (rules D4, P2).",
    ),
}

# The roles that take any action; the others (MCNs, the system) are refused outright.
ACTING_ROLES = frozenset(spec.role for spec in ACTIONS.values())


def allowed_now(state: OrderState) -> dict[Action, Role]:
    """Who may take which action now: the table for the status, narrowed by what the order
    holds (a publication awaiting its review, an overdue delivery, an extension request)."""
    allowed = {a: spec.role for a, spec in ACTIONS.items() if state.status in spec.statuses}
    ruled_out: set[Action] = set()
    if state.status is S.PUBLISHED:
        ruled_out.add(
            Action.ACCEPT_DELIVERY if state.awaiting_review else Action.REVIEW_PUBLICATION
        )
    if not state.overdue:
        ruled_out.add(Action.CANCEL_OVERDUE)
    if state.extension is None:
        ruled_out.add(Action.ANSWER_EXTENSION)
    else:
        ruled_out.add(Action.REQUEST_EXTENSION)
    if not state.running():
        ruled_out.add(Action.MOVE_DEADLINE)
    return {a: role for a, role in allowed.items() if a not in ruled_out}

"""Every user action, defined once: its input, the roles that may take it, the statuses in
which, and the deadlines it may open (who it puts on the clock). The workflow's checks, the
API's role checks (api/access.py), the authorization tests and docs/ARCHITECTURE.md read it.

"May act" is this table; "must act next" is the open deadline's party (workflows/state.py).
Most actions belong to one role; the ways out of an order (X1, X3) to either party. Roles are
a tuple, not a set: the workflow iterates them, and the order of a set of strings differs
between processes.
"""

from __future__ import annotations

from dataclasses import dataclass

from workflows.messages import (
    EXIT_STATUSES,
    FINAL_STATUSES,
    Action,
    ActionInput,
    CancellationAnswer,
    CancellationProposalInput,
    DeadlineKind,
    ExtensionAnswer,
    ExtensionInput,
    MoveDeadlineInput,
    OrderStatus,
    PublicationReviewInput,
    ReasonInput,
    ResolveDisputeInput,
    ReviewInput,
    Role,
    ScriptInput,
    VideoInput,
)
from workflows.state import OrderState

S = OrderStatus
K = DeadlineKind


Roles = tuple[Role, ...]


@dataclass(frozen=True)
class ActionSpec:
    input: type[ActionInput]
    roles: Roles
    statuses: frozenset[OrderStatus]
    # Where the API takes it (`POST /orders/{id}/<path>`) and what its OpenAPI page says: the
    # routes are generated from this table (api/routes/actions.py).
    path: str
    summary: str
    # The deadlines the action may open: whom it puts on the clock next (D2).
    opens: frozenset[DeadlineKind] = frozenset()


def _spec(
    input: type[ActionInput],
    roles: Role | Roles,
    *statuses: OrderStatus,
    path: str,
    summary: str,
    opens: tuple[K, ...] = (),
) -> ActionSpec:
    roles = (roles,) if isinstance(roles, Role) else roles
    return ActionSpec(input, roles, frozenset(statuses), path, summary, frozenset(opens))


# Statuses in which some deadline runs: where ops may move it (D4, P2).
WAITING = frozenset(set(S) - FINAL_STATUSES - {S.PLACING})
CREATOR_DELIVERS = (S.SCRIPT_PENDING, S.VIDEO_PENDING)
PARTIES: Roles = (Role.CLIENT, Role.CREATOR)
# After acceptance, before the delivery is accepted (X1, X3); ops cancel from placement (P2).
EXITS = tuple(sorted(EXIT_STATUSES))
BEFORE_DELIVERY = (S.AWAITING_ACCEPTANCE, *EXITS)
# What is left to do while a dispute is open: ops decide (X3).
WHILE_DISPUTED = (Action.RESOLVE_DISPUTE, Action.OPS_CANCEL)

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
    # X1: either party proposes a split of the price; the other agrees or refuses.
    Action.PROPOSE_CANCELLATION: _spec(
        CancellationProposalInput,
        PARTIES,
        *EXITS,
        path="cancellation",
        summary="Client or creator: propose to cancel by agreement, `refund_fen` of the price "
        "back to the client and the rest paid to the creator; the other party answers within "
        "48 hours (rule X1).",
        opens=(K.CANCELLATION,),
    ),
    Action.ANSWER_CANCELLATION: _spec(
        CancellationAnswer,
        PARTIES,
        *EXITS,
        path="cancellation/answer",
        summary="Client or creator: agree to the other party's cancellation proposal (the "
        "order is cancelled and the escrow divided, rules X1, X4) or refuse it.",
    ),
    # X3: either party opens a dispute; the deadlines pause until ops resolve it.
    Action.OPEN_DISPUTE: _spec(
        ReasonInput,
        PARTIES,
        *EXITS,
        path="dispute",
        summary="Client or creator: open a dispute with a reason; every deadline of the order "
        "pauses until ops resolve it (rules X3, D5).",
        opens=(K.DISPUTE,),
    ),
    Action.RESOLVE_DISPUTE: _spec(
        ResolveDisputeInput,
        Role.OPS,
        *EXITS,
        path="dispute/resolve",
        summary="Ops: resolve the dispute with a reason: continue (optionally with a new "
        "deadline), cancel with a split, or accept the delivery (rule X3).",
    ),
    # P2: ops cancel any order before its delivery is accepted, with a full refund.
    Action.OPS_CANCEL: _spec(
        ReasonInput,
        Role.OPS,
        *BEFORE_DELIVERY,
        path="ops-cancel",
        summary="Ops: cancel the order before its delivery is accepted, with a reason; the "
        "client is refunded in full (rule P2).",
    ),
}

# The roles that take any action; the others (MCNs, the system) are refused outright.
ACTING_ROLES = frozenset(role for spec in ACTIONS.values() for role in spec.roles)


def allowed_now(state: OrderState) -> dict[Action, Roles]:
    """Who may take which action now: the table for the status, narrowed by what the order
    holds (a publication awaiting its review, an overdue delivery, an extension request, a
    cancellation proposal, a dispute, the rejections left)."""
    allowed = {a: spec.roles for a, spec in ACTIONS.items() if state.status in spec.statuses}
    if state.dispute is not None:
        return {a: roles for a, roles in allowed.items() if a in WHILE_DISPUTED}
    ruled_out: set[Action] = {Action.RESOLVE_DISPUTE}
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
    if state.main_deadline() is None:
        ruled_out.add(Action.MOVE_DEADLINE)
    if state.proposal is None:
        ruled_out.add(Action.ANSWER_CANCELLATION)
    else:
        ruled_out.add(Action.PROPOSE_CANCELLATION)
        if Action.ANSWER_CANCELLATION in allowed:  # by the other party
            other = tuple(r for r in PARTIES if r is not state.proposal.by.role)
            allowed[Action.ANSWER_CANCELLATION] = other
    revisions = state.revisions()
    if revisions.scripts_left == 0:
        ruled_out.add(Action.REJECT_SCRIPT)
    if revisions.videos_left == 0:
        ruled_out.add(Action.REJECT_VIDEO)
    return {a: roles for a, roles in allowed.items() if a not in ruled_out}


def why_not(state: OrderState, action: Action) -> str | None:
    """Why an action the status allows is ruled out now, with what to do instead; None
    when the status alone rules it out (the caller says what the status allows)."""
    spec = ACTIONS.get(action)
    if spec is None or state.status not in spec.statuses:
        return None
    dispute, proposal = state.dispute, state.proposal
    if dispute is not None and action not in WHILE_DISPUTED:
        return (
            f"the dispute the {dispute.by.role} opened at {dispute.opened_at.isoformat()} "
            "waits for ops, who decide how the order goes on (rule X3)"
        )
    match action:
        case Action.REJECT_SCRIPT | Action.REJECT_VIDEO:
            allowed = state.terms.revision_rounds
            phase = "script" if action is Action.REJECT_SCRIPT else "video"
            return (
                f"the client has rejected the {phase} {allowed} times, as many as the order "
                f"allows (rule X2); instead, confirm it, propose a cancellation (rule X1) or "
                "open a dispute (rule X3)"
            )
        case Action.PROPOSE_CANCELLATION if proposal is not None:
            return (
                f"a cancellation proposal is already open: the {proposal.by.role}'s, "
                f"{proposal.refund_fen} fen back; it must be answered or lapse first (rule X1)"
            )
        case Action.ANSWER_CANCELLATION:
            return "no cancellation proposal is open (rule X1)"
        case Action.RESOLVE_DISPUTE:
            return "no dispute is open (rule X3)"
    return None

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
    # The deadlines the action may open: whom it puts on the clock next (D2).
    opens: frozenset[DeadlineKind] = frozenset()


def _spec(
    input: type[ActionInput], role: Role, *statuses: OrderStatus, opens: tuple[K, ...] = ()
) -> ActionSpec:
    return ActionSpec(input, role, frozenset(statuses), frozenset(opens))


# Statuses in which some deadline runs: where ops may move it (D4, P2).
WAITING = frozenset(set(S) - FINAL_STATUSES - {S.PLACING})
CREATOR_DELIVERS = (S.SCRIPT_PENDING, S.VIDEO_PENDING)

ACTIONS: dict[Action, ActionSpec] = {
    Action.ACCEPT: _spec(
        ActionInput, Role.CREATOR, S.AWAITING_ACCEPTANCE, opens=(K.SCRIPT, K.VIDEO)
    ),
    Action.DECLINE: _spec(ReasonInput, Role.CREATOR, S.AWAITING_ACCEPTANCE),
    Action.CANCEL: _spec(ReasonInput, Role.CLIENT, S.AWAITING_ACCEPTANCE),
    Action.SUBMIT_SCRIPT: _spec(
        ScriptInput, Role.CREATOR, S.SCRIPT_PENDING, opens=(K.SCRIPT_REVIEW,)
    ),
    Action.REVIEW_SCRIPT: _spec(
        ReviewInput, Role.REVIEWER, S.SCRIPT_IN_REVIEW, opens=(K.SCRIPT_CONFIRM, K.SCRIPT)
    ),
    Action.CONFIRM_SCRIPT: _spec(
        ActionInput, Role.CLIENT, S.SCRIPT_AWAITING_CLIENT, opens=(K.VIDEO,)
    ),
    Action.REJECT_SCRIPT: _spec(
        ReasonInput, Role.CLIENT, S.SCRIPT_AWAITING_CLIENT, opens=(K.SCRIPT,)
    ),
    Action.SUBMIT_VIDEO: _spec(VideoInput, Role.CREATOR, S.VIDEO_PENDING, opens=(K.VIDEO_REVIEW,)),
    Action.REVIEW_VIDEO: _spec(
        ReviewInput, Role.REVIEWER, S.VIDEO_IN_REVIEW, opens=(K.VIDEO_CONFIRM, K.VIDEO)
    ),
    Action.CONFIRM_VIDEO: _spec(
        ActionInput, Role.CLIENT, S.VIDEO_AWAITING_CLIENT, opens=(K.PUBLISH,)
    ),
    Action.REJECT_VIDEO: _spec(ReasonInput, Role.CLIENT, S.VIDEO_AWAITING_CLIENT, opens=(K.VIDEO,)),
    Action.PUBLISH: _spec(ActionInput, Role.CLIENT, S.AWAITING_PUBLISH, opens=(K.ACCEPTANCE,)),
    Action.REPUBLISH: _spec(
        VideoInput, Role.CREATOR, S.PUBLISHED, opens=(K.PUBLICATION_REVIEW, K.ACCEPTANCE)
    ),
    Action.REVIEW_PUBLICATION: _spec(
        PublicationReviewInput, Role.REVIEWER, S.PUBLISHED, opens=(K.ACCEPTANCE,)
    ),
    Action.ACCEPT_DELIVERY: _spec(ActionInput, Role.CLIENT, S.PUBLISHED, opens=(K.RETENTION,)),
    # D2: a late delivery lets the client out with a full refund.
    Action.CANCEL_OVERDUE: _spec(ReasonInput, Role.CLIENT, *CREATOR_DELIVERS),
    # D4: the creator asks for more time; the client answers before the deadline it moves.
    Action.REQUEST_EXTENSION: _spec(
        ExtensionInput, Role.CREATOR, *CREATOR_DELIVERS, opens=(K.EXTENSION,)
    ),
    Action.ANSWER_EXTENSION: _spec(ExtensionAnswer, Role.CLIENT, *CREATOR_DELIVERS),
    Action.MOVE_DEADLINE: _spec(MoveDeadlineInput, Role.OPS, *WAITING),
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

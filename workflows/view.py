"""What an order tells about itself, derived from its state alone: the query's OrderView and
the next steps the projection lists (D1: who must act, by when, and what happens then)."""

from __future__ import annotations

from datetime import datetime

from workflows.actions import allowed_now
from workflows.deadlines import BY_KIND
from workflows.messages import Action, Deadline, NextStep, OrderView, Role
from workflows.state import OrderState


def view_of(state: OrderState) -> OrderView:
    allowed = allowed_now(state)
    return OrderView(
        terms=state.terms,
        status=state.status,
        next=next_steps(state, allowed),
        placed_at=state.placed_at,
        accepted_at=state.accepted_at,
        scripts=state.scripts,
        videos=state.videos,
        publications=state.publications,
        delivery_accepted_at=state.delivery_accepted_at,
        retention_ends_at=state.retention_ends_at,
        video_public=state.video_public,
        violation=state.violation,
        refusal=state.refusal,
        deadlines=state.deadlines,
        overdue=state.overdue,
        escalated=state.escalated,
        extension=state.extension,
        proposal=state.proposal,
        dispute=state.dispute,
        disputed=state.disputed,
        revisions=state.revisions(),
        allowed={a: list(roles) for a, roles in allowed.items()},
    )


def next_steps(
    state: OrderState, allowed: dict[Action, tuple[Role, ...]] | None = None
) -> list[NextStep]:
    """Who may act, the party who must act before a deadline first. Ops, who may move any
    deadline and cancel any order, are left out unless the order waits for them (a dispute)."""
    clocks: dict[Role, Deadline] = {}
    for deadline in sorted(state.running(), key=lambda d: d.due_at):
        clocks.setdefault(deadline.party, deadline)
    by_role: dict[Role, list[Action]] = {}
    for action, roles in (allowed if allowed is not None else allowed_now(state)).items():
        for role in roles:
            if role is not Role.OPS or role in clocks:
                by_role.setdefault(role, []).append(action)
    for role in clocks:
        by_role.setdefault(role, [])

    # The party facing the nearest deadline comes first: it must act; else a reviewer,
    # whose review the order waits for (the review queues list orders by it).
    def rank(role: Role) -> tuple[bool, datetime, bool]:
        due = clocks[role].due_at if role in clocks else state.placed_at
        return (role not in clocks, due, role is not Role.REVIEWER)

    ordered = sorted(by_role.items(), key=lambda item: rank(item[0]))
    return [_step(role, actions, clocks.get(role)) for role, actions in ordered]


def _step(role: Role, actions: list[Action], clock: Deadline | None) -> NextStep:
    if clock is None:
        return NextStep(actor=role, actions=actions)
    return NextStep(
        actor=role,
        actions=actions,
        deadline=clock.due_at,
        at_deadline=BY_KIND[clock.kind].at_deadline,
        outcome=clock.outcome,
    )


def describe(allowed: dict[Action, tuple[Role, ...]]) -> str:
    if not allowed:
        return "nothing by a user"
    by_role: dict[Role, list[str]] = {}
    for action, roles in allowed.items():
        for role in roles:
            by_role.setdefault(role, []).append(action.value)
    return "; ".join(f"{role} may {', '.join(actions)}" for role, actions in by_role.items())

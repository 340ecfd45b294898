"""Who may see which orders, and which roles each action belongs to."""

from __future__ import annotations

from sqlalchemy import ColumnElement, true

from db.orders import awaiting_review
from db.schema import orders
from services.auth import User
from workflows.actions import ACTIONS
from workflows.messages import Action, Role

# The roles that may take each user action, from the workflow's action table: one for most,
# either party for the ways out of an order (X1, X3).
ROLES_FOR_ACTION: dict[Action, tuple[Role, ...]] = {
    action: spec.roles for action, spec in ACTIONS.items()
}


def visible_to(user: User) -> ColumnElement[bool]:
    """A client sees its own orders, a creator those addressed to it, an MCN those of its
    creators, a reviewer what waits for review, ops everything."""
    match user.role:
        case Role.CLIENT:
            return orders.c.client_id == user.id
        case Role.CREATOR:
            return orders.c.creator_id == user.id
        case Role.MCN:
            return orders.c.mcn_id == user.id
        case Role.REVIEWER:
            return awaiting_review()
        case Role.OPS:
            return true()
    raise ValueError(f"no access rule for {user.role}")

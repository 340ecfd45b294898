"""Every user action's route, generated from the workflow's action table (workflows/actions.py):
`POST /orders/{order_id}/<spec.path>`, with the body its input takes, one workflow Update each.

Adding an action to the table adds its route; its body is the API model of its input
(`BODIES`), so an input without one fails at import, not at the first request.
"""

from __future__ import annotations

import inspect
import uuid
from collections.abc import Awaitable, Callable
from typing import Annotated, Any

from fastapi import APIRouter, Path
from fastapi.responses import JSONResponse
from pydantic import BaseModel

from api import idempotency
from api.access import ROLES_FOR_ACTION
from api.deps import ContextDep, CurrentUser, IdempotencyKey, OrdersDep, require
from api.errors import from_pending, from_refusal
from api.routes.prereview import PRE_CHECKS
from api.schemas import (
    CancellationAnswerBody,
    CancellationProposalBody,
    ExtensionAnswerBody,
    ExtensionBody,
    Input,
    MoveDeadlineBody,
    OrderPublic,
    PublicationReviewBody,
    ReasonBody,
    ResolveDisputeBody,
    ReviewBody,
    ScriptBody,
    VideoBody,
    problem_responses,
)
from services.auth import User
from services.orders import OrderError, OrderPending, OrderService
from workflows.actions import ACTIONS
from workflows.messages import (
    Action,
    ActionInput,
    Actor,
    CancellationAnswer,
    CancellationProposalInput,
    ExtensionAnswer,
    ExtensionInput,
    Id,
    MoveDeadlineInput,
    PublicationReviewInput,
    ReasonInput,
    ResolveDisputeInput,
    ReviewInput,
    ScriptInput,
    VideoInput,
)

router = APIRouter(tags=["order actions"])

OrderId = Annotated[Id, Path()]
ERRORS = problem_responses(401, 403, 404, 409, 422, 503)

# The request body of each action input: the input's fields less the actor and the request id,
# which the API fills in from the token and the Idempotency-Key. None: the action takes no body.
BODIES: dict[type[ActionInput], type[Input] | None] = {
    ActionInput: None,
    ReasonInput: ReasonBody,
    ScriptInput: ScriptBody,
    ReviewInput: ReviewBody,
    PublicationReviewInput: PublicationReviewBody,
    VideoInput: VideoBody,
    ExtensionInput: ExtensionBody,
    ExtensionAnswer: ExtensionAnswerBody,
    MoveDeadlineInput: MoveDeadlineBody,
    CancellationProposalInput: CancellationProposalBody,
    CancellationAnswer: CancellationAnswerBody,
    ResolveDisputeInput: ResolveDisputeBody,
}


async def act(
    action: Action,
    order_id: str,
    user: User,
    context: ContextDep,
    orders: OrderService,
    key: str | None,
    body: BaseModel | None = None,
) -> JSONResponse:
    """The one path of every action: the role (403) here, then the workflow: the order's
    own client or creator (404 to anyone else, as for an order that does not exist), the
    status (409). Ownership is the workflow's to judge, not the projection's: it holds the
    order's parties, and asking it costs no database read on the way."""
    require(user, *ROLES_FOR_ACTION[action])
    fields = body.model_dump() if body is not None else {}
    # Hashed: a key may hold any characters, a workflow request id only a few.
    request_id = idempotency.derived_id(user.id, key) if key else uuid.uuid4().hex
    actor = Actor(id=user.id, role=user.role)
    payload = ACTIONS[action].input(actor=actor, request_id=request_id, **fields)

    async def run() -> tuple[int, Any]:
        # Checks of the input alone (the B2 pre-review), inside: a refusal is the key's answer.
        if pre_check := PRE_CHECKS.get(action):
            pre_check(context.settings, payload)
        try:
            view = await orders.act(order_id, action, payload)
        except OrderPending as e:
            raise from_pending(e, keyed=key is not None) from e
        except OrderError as e:
            raise from_refusal(e) from e
        return 200, OrderPublic.from_view(view, user.role).model_dump(mode="json")

    fingerprint = idempotency.request_hash(
        action.value, order_id, body.model_dump(mode="json") if body else None
    )
    return await idempotency.run_once(context.engine, user.id, key, fingerprint, run)


def _endpoint(action: Action, body_type: type[Input] | None) -> Callable[..., Awaitable[Any]]:
    """The route function of one action. FastAPI reads its parameters from the signature, so
    the body's type, known only here, goes into `__signature__`."""

    async def endpoint(
        order_id: OrderId,
        user: CurrentUser,
        context: ContextDep,
        orders: OrdersDep,
        idempotency_key: IdempotencyKey = None,
        body: Any = None,
    ) -> JSONResponse:
        return await act(action, order_id, user, context, orders, idempotency_key, body)

    signature = inspect.signature(endpoint, eval_str=True)
    parameters = [p for name, p in signature.parameters.items() if name != "body"]
    if body_type is not None:
        parameters.insert(
            1,
            inspect.Parameter(
                "body", inspect.Parameter.POSITIONAL_OR_KEYWORD, annotation=body_type
            ),
        )
    endpoint.__signature__ = signature.replace(parameters=parameters)  # type: ignore[attr-defined]
    endpoint.__name__ = endpoint.__qualname__ = action.value
    return endpoint


for _action, _spec in ACTIONS.items():
    router.add_api_route(
        f"/orders/{{order_id}}/{_spec.path}",
        _endpoint(_action, BODIES[_spec.input]),
        methods=["POST"],
        name=_action.value,
        summary=_spec.summary.split(";")[0].rstrip("."),
        description=f"{_spec.summary} Allowed to the "
        + " or the ".join(role.value for role in _spec.roles)
        + " in: "
        + ", ".join(sorted(s.value for s in _spec.statuses))
        + ".",
        response_model=OrderPublic,
        responses=ERRORS,
    )

"""The machine pre-review of ad-law wording (rule B2) at the API: any text on request, and the
check an order action runs on its text before the order hears of it (refuse mode)."""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from api.deps import CurrentUser
from api.errors import ApiError
from api.schemas import PreReviewBody, problem_responses
from config import Settings
from services import prereview
from services.prereview import PreReview
from workflows.messages import Action, ActionInput, ScriptInput

router = APIRouter(tags=["pre-review"])


@router.post(
    "/prereview",
    response_model=PreReview,
    responses=problem_responses(401, 413, 422),
)
def review_text(body: PreReviewBody, user: CurrentUser) -> PreReview:
    """Any signed-in user: the terms of the ad-law list found in a text (up to a script's
    5,000 characters), each with its position (Python str indices: code points) and article,
    e.g. to highlight them before uploading. Nothing is stored."""
    return prereview.review(body.text)


def _script(settings: Settings, payload: ActionInput) -> None:
    if not isinstance(payload, ScriptInput):
        return
    try:
        prereview.check_upload(payload.text, settings.prereview_mode)
    except prereview.AdLawTerms as e:
        raise ApiError(e.kind, e.message, pre_review=e.review.model_dump(mode="json")) from e


# What an action's input must pass before it is sent to the order's workflow: raises ApiError
# (answered, and replayed for its Idempotency-Key, like any refusal), or returns to let it go.
PRE_CHECKS: dict[Action, Callable[[Settings, ActionInput], None]] = {
    Action.SUBMIT_SCRIPT: _script,
}

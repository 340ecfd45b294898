"""What a reviewer reads of an order waiting in a review queue: the texts under review, each
with its machine pre-review (rule B2). The script comes from the order's workflow (its one
store of scripts), a video's title and description from the video platform; the pre-review is
computed from them on every read, never stored, so it always names the term list in use."""

from __future__ import annotations

import asyncio

from adapters.video_platform import VideoNotFound, VideoPlatform
from services.orders import OrderService
from services.prereview import ReviewedText, TextSource, review
from workflows.messages import OrderView


def _reviewed(source: TextSource, text: str) -> ReviewedText:
    return ReviewedText(source=source, text=text, pre_review=review(text))


def _video_under_review(view: OrderView, kind: str) -> str | None:
    if kind == "publication":
        waiting = [p for p in view.publications if p.awaiting_review]
        return waiting[-1].video_id if waiting else None
    return view.videos[-1].video_id if view.videos else None


async def texts(
    orders: OrderService, platform: VideoPlatform, kind: str, order_id: str
) -> list[ReviewedText]:
    """The texts of what waits in the `kind` queue (script, video, publication) for an order:
    one workflow query, and for a video one read of the platform."""
    view = await orders.view(order_id)
    if kind == "script":
        return [_reviewed("script", view.scripts[-1].text)] if view.scripts else []
    video_id = _video_under_review(view, kind)
    if video_id is None:
        return []
    try:
        details = await asyncio.to_thread(platform.details, video_id)
    except VideoNotFound:
        # Gone from the platform (deleted by its creator): nothing of it to read.
        return []
    found: list[tuple[TextSource, str | None]] = [
        ("video_title", details.title),
        ("video_description", details.description),
    ]
    return [_reviewed(source, text) for source, text in found if text]


async def texts_of_queue(
    orders: OrderService, platform: VideoPlatform, kind: str, order_ids: list[str]
) -> list[list[ReviewedText]]:
    """`texts` for each order of a queue page (at most 100), asked all at once."""
    return list(
        await asyncio.gather(*(texts(orders, platform, kind, order_id) for order_id in order_ids))
    )

"""Which order each video belongs to: one order per video (rules O5, O10)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, select

from db.schema import video_links
from db.sql import insert_ignore


def claim(engine: Engine, video_id: str, order_id: str, xigua_account_id: str) -> str:
    """Link the video to the order unless another order holds it; returns the order that holds
    it now. The unique constraint decides a race: of two orders claiming one video, one wins."""
    with engine.begin() as conn:
        row = {
            "order_id": order_id,
            "video_id": video_id,
            "xigua_account_id": xigua_account_id,
            "linked_at": datetime.now(UTC),
        }
        if insert_ignore(conn, video_links, row):
            return order_id
        holder: str = conn.execute(
            select(video_links.c.order_id).where(video_links.c.video_id == video_id)
        ).scalar_one()
        return holder

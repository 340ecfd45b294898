"""Users and creator profiles: the minimum the order lifecycle needs to know about them."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine, update

from db.schema import creators, users
from db.sql import insert_ignore
from workflows.messages import Role


def create_user(engine: Engine, user_id: str, role: Role, display_name: str) -> None:
    """Create the user if it does not exist yet (seeding twice is harmless)."""
    if role is Role.SYSTEM:
        raise ValueError("the system is not a user")
    with engine.begin() as conn:
        insert_ignore(
            conn,
            users,
            {
                "id": user_id,
                "role": role.value,
                "display_name": display_name,
                "created_at": datetime.now(UTC),
            },
        )


def set_creator_profile(
    engine: Engine,
    user_id: str,
    quote_fen: int | None,
    *,
    accepting_orders: bool = True,
    mcn_id: str | None = None,
) -> None:
    if quote_fen is not None and (type(quote_fen) is not int or quote_fen <= 0):
        raise ValueError("a quote is a positive whole number of fen")
    values = {"quote_fen": quote_fen, "accepting_orders": accepting_orders, "mcn_id": mcn_id}
    with engine.begin() as conn:
        if not insert_ignore(conn, creators, {"user_id": user_id, **values}):
            conn.execute(update(creators).where(creators.c.user_id == user_id).values(**values))

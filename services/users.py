"""Users as the order lifecycle knows them: an id, a role, a name."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import Engine

from db.schema import users
from db.sql import insert_ignore
from services.creators import ensure_creator
from services.notifications import GROUPS
from workflows.messages import Role


def create_user(engine: Engine, user_id: str, role: Role, display_name: str) -> None:
    """Create the user if it does not exist yet (seeding twice is harmless)."""
    if role is Role.SYSTEM:
        raise ValueError("the system is not a user")
    if user_id in GROUPS:
        raise ValueError(f"{user_id} is the address of a group of users (N1), not a user id")
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
    if role is Role.CREATOR:
        ensure_creator(engine, user_id)

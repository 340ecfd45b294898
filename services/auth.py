"""Accounts that can log in, and the bearer tokens they log in with.

Passwords are hashed with argon2id. Tokens are opaque random strings; the database keeps only
an HMAC of each, keyed by the configured secret, so neither a leaked table nor a leaked secret
alone gives anyone a usable token.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import threading
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from sqlalchemy import Engine, Row, bindparam, delete, select, update
from sqlalchemy.exc import IntegrityError

from db.engine import reading
from db.schema import api_tokens, users
from services.creators import ensure_creator
from services.notifications import GROUPS
from services.usernames import canonical, fold
from workflows.messages import Role

SELF_SERVICE_ROLES = frozenset({Role.CLIENT, Role.CREATOR, Role.MCN})
_hasher = PasswordHasher()
# Each argon2id hash takes 64 MiB for its duration: a burst of logins or sign-ups waits here
# rather than taking the API's memory (the thread pool alone would admit 40 at once).
MAX_CONCURRENT_HASHES = 4
_hashing = threading.BoundedSemaphore(MAX_CONCURRENT_HASHES)
# Verified against when the username is unknown, so a login takes as long either way.
_DUMMY_HASH = _hasher.hash("not a real password")


def _hash(password: str) -> str:
    with _hashing:
        return _hasher.hash(password)


def _verify(stored: str, password: str) -> None:
    with _hashing:
        _hasher.verify(stored, password)


class UsernameTaken(Exception):
    """The name, as folded, belongs to someone else (the same name in other case, say)."""

    def __init__(self, username: str) -> None:
        super().__init__(username)
        self.username = username


@dataclass(frozen=True)
class User:
    id: str
    role: Role
    username: str | None
    display_name: str


def sign_up(
    engine: Engine,
    username: str,
    password: str,
    role: Role,
    display_name: str,
    user_id: str | None = None,
) -> User:
    """Create a user that can log in. The API lets only clients, creators and MCNs sign up;
    reviewer and ops accounts are made by `python -m scripts.admin`. The username is stored
    folded (services/usernames.py): InvalidUsername if it is not allowed, UsernameTaken if it
    differs from an existing one only in case or width."""
    username = canonical(username)
    if user_id in GROUPS:
        raise ValueError(f"{user_id} is the address of a group of users (N1), not a user id")
    user = User(
        id=user_id or f"u-{uuid.uuid4().hex[:16]}",
        role=role,
        username=username,
        display_name=display_name,
    )
    # Hashed before the transaction: on SQLite it holds the write lock until it commits.
    password_hash = _hash(password)
    try:
        with engine.begin() as conn:
            conn.execute(
                users.insert().values(
                    id=user.id,
                    role=role.value,
                    username=username,
                    password_hash=password_hash,
                    display_name=display_name,
                    created_at=datetime.now(UTC),
                )
            )
    except IntegrityError as e:
        raise UsernameTaken(username) from e
    if role is Role.CREATOR:
        ensure_creator(engine, user.id)
    return user


def set_password(engine: Engine, user_id: str, username: str, password: str) -> None:
    """Give an existing user (a seeded demo user, say) a login."""
    username = canonical(username)
    password_hash = _hash(password)
    with engine.begin() as conn:
        conn.execute(
            update(users)
            .where(users.c.id == user_id)
            .values(username=username, password_hash=password_hash)
        )


def authenticate(engine: Engine, username: str, password: str) -> User | None:
    # Folded, not checked against the pattern: any spelling of a stored name logs in.
    with reading(engine) as conn:
        row = conn.execute(select(users).where(users.c.username == fold(username))).first()
    stored = row.password_hash if row is not None and row.password_hash else _DUMMY_HASH
    try:
        _verify(stored, password)
    except (VerificationError, InvalidHashError):
        return None
    return _user(row) if row is not None and row.password_hash else None


def _token_hash(secret: str, token: str) -> str:
    return hmac.new(secret.encode(), token.encode(), hashlib.sha256).hexdigest()


def issue_token(engine: Engine, secret: str, user: User, ttl: timedelta) -> tuple[str, datetime]:
    token = secrets.token_urlsafe(32)
    now = datetime.now(UTC)
    expires_at = now + ttl
    with engine.begin() as conn:
        conn.execute(
            api_tokens.insert().values(
                token_hash=_token_hash(secret, token),
                user_id=user.id,
                created_at=now,
                expires_at=expires_at,
            )
        )
        # Housekeeping on the way: forget this user's expired tokens.
        conn.execute(
            delete(api_tokens).where(api_tokens.c.user_id == user.id, api_tokens.c.expires_at < now)
        )
    return token, expires_at


# Built once, the values bound at execution: every authenticated request runs it.
_USER_FOR_TOKEN = (
    select(users)
    .join(api_tokens, api_tokens.c.user_id == users.c.id)
    .where(
        api_tokens.c.token_hash == bindparam("token_hash"),
        api_tokens.c.expires_at > bindparam("now"),
    )
)


def user_for_token(engine: Engine, secret: str, token: str) -> User | None:
    with reading(engine) as conn:
        row = conn.execute(
            _USER_FOR_TOKEN, {"token_hash": _token_hash(secret, token), "now": datetime.now(UTC)}
        ).first()
    return _user(row) if row is not None else None


def revoke_token(engine: Engine, secret: str, token: str) -> None:
    with engine.begin() as conn:
        conn.execute(
            delete(api_tokens).where(api_tokens.c.token_hash == _token_hash(secret, token))
        )


def _user(row: Row[Any]) -> User:
    return User(
        id=row.id, role=Role(row.role), username=row.username, display_name=row.display_name
    )

"""accounts: folded usernames, owners of Xigua accounts, MCN join requests

Revision ID: 0004
Revises: 0003
Create Date: 2027-01-12 10:00:00.000000
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def _fold(name: str) -> str:
    # services/usernames.fold as of this revision; a migration keeps its own copy so that a
    # later change of the rule cannot change what this step did.
    return unicodedata.normalize("NFKC", unicodedata.normalize("NFKC", name).casefold()).strip()


def _fold_usernames() -> None:
    """Store every username folded, as sign-up now does; two that fold alike cannot both be
    kept, so the upgrade stops and names them rather than lock either user out."""
    users = sa.table("users", sa.column("username", sa.String))
    conn = op.get_bind()
    rows = conn.execute(sa.select(users.c.username).where(users.c.username.is_not(None)))
    folded: dict[str, list[str]] = {}
    for (username,) in rows:
        folded.setdefault(_fold(username), []).append(username)
    clashes = {key: names for key, names in folded.items() if len(names) > 1}
    if clashes:
        listed = "; ".join(", ".join(sorted(names)) for names in clashes.values())
        raise RuntimeError(
            f"usernames that differ only in case or width: {listed}. Rename all but one "
            "of each group (UPDATE users SET username = ...) and run the upgrade again."
        )
    too_long = [key for key in folded if len(key) > 64]
    if too_long:
        raise RuntimeError(f"usernames longer than 64 characters once folded: {too_long}")
    for key, (username,) in folded.items():
        if key != username:
            conn.execute(users.update().where(users.c.username == username).values(username=key))


def upgrade() -> None:
    _fold_usernames()


def downgrade() -> None:
    # Folding forgets the original case; the folded names still log in, so nothing to undo.
    pass

"""accounts: folded usernames, owners of Xigua accounts, MCN join requests

Revision ID: 0005
Revises: 0004_video_links
Create Date: 2027-01-12 10:00:00.000000
"""

import unicodedata

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0005"
down_revision = "0004_video_links"
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


def _own_bound_accounts() -> None:
    """A simulated account already bound belongs to the login its creator gave; the others
    get an owner when the simulator next sets them (seeding does, on every start)."""
    accounts = sa.table(
        "platform_accounts",
        sa.column("xigua_account_id", sa.String),
        sa.column("owner_platform", sa.String),
        sa.column("owner_account", sa.String),
    )
    creators = sa.table(
        "creators",
        sa.column("xigua_account_id", sa.String),
        sa.column("login_platform", sa.String),
        sa.column("login_account", sa.String),
    )
    bound = creators.c.xigua_account_id == accounts.c.xigua_account_id
    op.get_bind().execute(
        accounts.update()
        .where(sa.exists().where(bound, creators.c.login_account.is_not(None)))
        .values(
            owner_platform=sa.select(creators.c.login_platform).where(bound).scalar_subquery(),
            owner_account=sa.select(creators.c.login_account).where(bound).scalar_subquery(),
        )
    )


def upgrade() -> None:
    _fold_usernames()
    with op.batch_alter_table("platform_accounts", schema=None) as batch_op:
        batch_op.add_column(sa.Column("owner_platform", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("owner_account", sa.String(length=64), nullable=True))
    _own_bound_accounts()
    # Memberships made before consent existed stay as they are; from now on only an MCN's
    # acceptance of a request makes one.
    op.create_table(
        "mcn_requests",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("mcn_id", sa.String(length=64), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("decided_at", db.types.UTCDateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "status IN ('pending','accepted','refused','withdrawn')",
            name=op.f("ck_mcn_requests_status"),
        ),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_mcn_requests_creator_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["mcn_id"], ["users.id"], name=op.f("fk_mcn_requests_mcn_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_mcn_requests")),
    )
    with op.batch_alter_table("mcn_requests", schema=None) as batch_op:
        batch_op.create_index(
            "ix_mcn_requests_creator_created", ["creator_id", "created_at"], unique=False
        )
        batch_op.create_index(
            "ix_mcn_requests_mcn_status_created", ["mcn_id", "status", "created_at"], unique=False
        )
        batch_op.create_index(
            "uq_mcn_requests_pending_creator",
            ["creator_id"],
            unique=True,
            sqlite_where=sa.text("status = 'pending'"),
            postgresql_where=sa.text("status = 'pending'"),
        )


def downgrade() -> None:
    op.drop_table("mcn_requests")
    with op.batch_alter_table("platform_accounts", schema=None) as batch_op:
        batch_op.drop_column("owner_account")
        batch_op.drop_column("owner_platform")
    # Folding forgets the original case; the folded names still log in, so nothing to undo.

"""creators, wallets, contacts, marketing data

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-26 16:55:11.381048
"""

import sqlalchemy as sa
from alembic import op

import db.types

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

KINDS_BEFORE = "kind IN ('client','creator','mcn','escrow','platform','external')"
KINDS_WITH_PAYOUT = "kind IN ('client','creator','mcn','escrow','payout','platform','external')"


def upgrade() -> None:
    op.create_table(
        "platform_accounts",
        sa.Column("xigua_account_id", sa.String(length=64), nullable=False),
        sa.Column("fans_toutiao", sa.BigInteger(), nullable=False),
        sa.Column("fans_xigua", sa.BigInteger(), nullable=False),
        sa.Column("unhealthy", sa.Boolean(), nullable=False),
        sa.Column("original", sa.Boolean(), nullable=False),
        sa.Column("category", sa.String(length=32), nullable=True),
        sa.Column("recent_plays", sa.JSON(), nullable=False),
        sa.PrimaryKeyConstraint("xigua_account_id", name=op.f("pk_platform_accounts")),
    )
    op.create_table(
        "provider_requests",
        sa.Column("request_id", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("reference", sa.String(length=64), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("request_id", name=op.f("pk_provider_requests")),
    )
    op.create_table(
        "video_stats",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("sample", sa.Integer(), nullable=False),
        sa.Column("video_id", sa.String(length=64), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("public", sa.Boolean(), nullable=False),
        sa.Column("plays", sa.BigInteger(), nullable=False),
        sa.Column("likes", sa.BigInteger(), nullable=False),
        sa.Column("comments", sa.BigInteger(), nullable=False),
        sa.Column("shares", sa.BigInteger(), nullable=False),
        sa.Column("completion_rate", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "sample", name=op.f("pk_video_stats")),
    )
    op.create_table(
        "virtual_numbers",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("holder_id", sa.String(length=64), nullable=False),
        sa.Column("number", sa.String(length=20), nullable=False),
        sa.Column("forwards_to", sa.String(length=64), nullable=False),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("order_id", "holder_id", name=op.f("pk_virtual_numbers")),
        sa.UniqueConstraint("number", name=op.f("uq_virtual_numbers_number")),
    )
    op.create_table(
        "credit_events",
        sa.Column("order_id", sa.String(length=64), nullable=False),
        sa.Column("creator_id", sa.String(length=64), nullable=False),
        sa.Column("delta", sa.Integer(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["creator_id"], ["users.id"], name=op.f("fk_credit_events_creator_id_users")
        ),
        sa.PrimaryKeyConstraint("order_id", name=op.f("pk_credit_events")),
    )
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.create_index(
            batch_op.f("ix_credit_events_creator_id"), ["creator_id"], unique=False
        )

    op.create_table(
        "payments",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("user_id", sa.String(length=64), nullable=False),
        sa.Column("kind", sa.String(length=16), nullable=False),
        sa.Column("amount_fen", sa.BigInteger(), nullable=False),
        sa.Column("status", sa.String(length=16), nullable=False),
        sa.Column("bank_account", sa.String(length=34), nullable=True),
        sa.Column("provider_reference", sa.String(length=64), nullable=True),
        sa.Column("failure", sa.Text(), nullable=True),
        sa.Column("created_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.Column("updated_at", db.types.UTCDateTime(timezone=True), nullable=False),
        sa.CheckConstraint("kind IN ('top_up','withdrawal')", name=op.f("ck_payments_kind")),
        sa.CheckConstraint(
            "status IN ('pending','succeeded','failed')", name=op.f("ck_payments_status")
        ),
        sa.CheckConstraint("amount_fen > 0", name=op.f("ck_payments_amount_positive")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_payments_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_payments")),
    )
    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.create_index("ix_payments_user_created", ["user_id", "created_at"], unique=False)

    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.add_column(sa.Column("login_platform", sa.String(length=16), nullable=True))
        batch_op.add_column(sa.Column("login_account", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("xigua_account_id", sa.String(length=64), nullable=True))
        batch_op.add_column(
            sa.Column("task_opened_at", db.types.UTCDateTime(timezone=True), nullable=True)
        )
        batch_op.add_column(sa.Column("fans", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("avg_plays", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(sa.Column("category", sa.String(length=32), nullable=True))
        batch_op.add_column(
            sa.Column("credit_score", sa.Integer(), nullable=False, server_default="100")
        )
        batch_op.add_column(
            sa.Column("orderable", sa.Boolean(), nullable=False, server_default=sa.false())
        )
        batch_op.create_index(
            "ix_creators_square_category",
            ["orderable", "category", "quote_fen", "user_id"],
            unique=False,
        )
        batch_op.create_index(
            "ix_creators_square_fans", ["orderable", "fans", "user_id"], unique=False
        )
        batch_op.create_index(
            "ix_creators_square_plays", ["orderable", "avg_plays", "user_id"], unique=False
        )
        batch_op.create_index(
            "ix_creators_square_price", ["orderable", "quote_fen", "user_id"], unique=False
        )
        batch_op.create_unique_constraint(
            batch_op.f("uq_creators_xigua_account_id"), ["xigua_account_id"]
        )

    with op.batch_alter_table("platform_videos", schema=None) as batch_op:
        batch_op.add_column(sa.Column("xigua_account_id", sa.String(length=64), nullable=True))
        batch_op.add_column(sa.Column("plays", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(sa.Column("likes", sa.BigInteger(), nullable=False, server_default="0"))
        batch_op.add_column(
            sa.Column("comments", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("shares", sa.BigInteger(), nullable=False, server_default="0")
        )
        batch_op.add_column(
            sa.Column("completion_rate", sa.Float(), nullable=False, server_default="0")
        )

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("phone", sa.String(length=20), nullable=True))
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))

    # Withdrawals hold money in payout accounts (autogenerate does not see CHECK changes).
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_WITH_PAYOUT)


def downgrade() -> None:
    with op.batch_alter_table("accounts", schema=None) as batch_op:
        batch_op.drop_constraint(op.f("ck_accounts_kind"), type_="check")
        batch_op.create_check_constraint("kind", KINDS_BEFORE)

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_column("email")
        batch_op.drop_column("phone")

    with op.batch_alter_table("platform_videos", schema=None) as batch_op:
        batch_op.drop_column("completion_rate")
        batch_op.drop_column("shares")
        batch_op.drop_column("comments")
        batch_op.drop_column("likes")
        batch_op.drop_column("plays")
        batch_op.drop_column("xigua_account_id")

    with op.batch_alter_table("creators", schema=None) as batch_op:
        batch_op.drop_constraint(batch_op.f("uq_creators_xigua_account_id"), type_="unique")
        batch_op.drop_index("ix_creators_square_price")
        batch_op.drop_index("ix_creators_square_plays")
        batch_op.drop_index("ix_creators_square_fans")
        batch_op.drop_index("ix_creators_square_category")
        batch_op.drop_column("orderable")
        batch_op.drop_column("credit_score")
        batch_op.drop_column("category")
        batch_op.drop_column("avg_plays")
        batch_op.drop_column("fans")
        batch_op.drop_column("task_opened_at")
        batch_op.drop_column("xigua_account_id")
        batch_op.drop_column("login_account")
        batch_op.drop_column("login_platform")

    with op.batch_alter_table("payments", schema=None) as batch_op:
        batch_op.drop_index("ix_payments_user_created")

    op.drop_table("payments")
    with op.batch_alter_table("credit_events", schema=None) as batch_op:
        batch_op.drop_index(batch_op.f("ix_credit_events_creator_id"))

    op.drop_table("credit_events")
    op.drop_table("virtual_numbers")
    op.drop_table("video_stats")
    op.drop_table("provider_requests")
    op.drop_table("platform_accounts")
